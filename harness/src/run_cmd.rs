//! `mynasim run`.

use std::io::Write as _;

use anyhow::Context as _;

use crate::cli::RunArgs;
use crate::exit::Failure;
use crate::scenario::report::{self, Style, Summary};
use crate::scenario::{self, Selection, SimTarget, Target, TargetError, TargetSpec};

/// Runs the selected scenarios and reports.
pub fn run(args: &RunArgs) -> Result<(), Failure> {
    for path in &args.paths {
        if !path.exists() {
            return Err(Failure::invalid(anyhow::anyhow!(
                "{} does not exist (give scenario files or folders)",
                path.display()
            )));
        }
    }
    let selection = Selection {
        paths: args.paths.clone(),
        filter: args.filter.clone(),
        tags: args.tags.clone(),
        shard: args.shard,
    };
    let entries = scenario::select(&selection).context("cannot read the scenarios")?;
    let out = std::io::stdout();
    let mut out = out.lock();
    if args.list {
        for e in &entries {
            let _ = writeln!(out, "{}", e.id());
        }
        return Ok(());
    }
    if entries.is_empty() {
        return Err(Failure::invalid(anyhow::anyhow!("no scenario matches")));
    }
    let make_target = target_factory(args)?;
    let jobs = args.jobs.unwrap_or_else(|| match args.target {
        TargetSpec::Sim => std::thread::available_parallelism().map_or(2, usize::from),
        _ => 1,
    });
    let (outcomes, millis) = scenario::run_all(
        entries,
        jobs,
        make_target.as_ref(),
        scenario::progress_wanted(),
    );
    let summary = Summary::of(&outcomes, millis);
    let style = Style {
        colour: std::io::IsTerminal::is_terminal(&std::io::stdout())
            && std::env::var_os("NO_COLOR").is_none(),
        reveal: args.no_redact,
    };
    for o in &outcomes {
        let show_line = !args.quiet || o.status != scenario::Status::Passed;
        if show_line {
            let _ = writeln!(out, "{}", report::line(o, style));
        }
        if !matches!(o.status, scenario::Status::Passed) {
            let _ = write!(out, "{}", report::details(o, style));
        }
    }
    let target = args.target.to_string();
    let _ = write!(out, "{}", report::summary_table(&summary, &target));
    if let Some(path) = &args.junit {
        report::write_junit(path, &outcomes, &summary, &target)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    if let Some(path) = &args.json {
        report::write_json(path, &outcomes, &summary, &target, args.no_redact)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    match summary.exit_code() {
        0 => Ok(()),
        code => Err(Failure {
            code,
            error: anyhow::anyhow!(
                "{} of {} scenarios did not pass",
                summary.failed + summary.invalid + summary.unreachable,
                summary.total()
            ),
        }),
    }
}

type Factory = Box<dyn Fn(&scenario::Plan) -> Result<Box<dyn Target>, TargetError> + Sync>;

fn target_factory(args: &RunArgs) -> Result<Factory, Failure> {
    match &args.target {
        TargetSpec::Sim => Ok(Box::new(|plan: &scenario::Plan| {
            Ok(Box::new(SimTarget::new(plan.card.card.clone())) as Box<dyn Target>)
        })),
        #[cfg(feature = "pcsc")]
        TargetSpec::Pcsc(reader) => {
            // Fail fast, before any scenario, when the reader or its card is not there.
            scenario::target::PcscTarget::open(reader)
                .map_err(|e| Failure::unreachable(anyhow::anyhow!(e)))?;
            let reader = reader.clone();
            Ok(Box::new(move |_plan: &scenario::Plan| {
                scenario::target::PcscTarget::open(&reader).map(|t| Box::new(t) as Box<dyn Target>)
            }))
        }
        #[cfg(feature = "pcsc")]
        TargetSpec::Vpcd => {
            let vpcd = crate::serve::parse_vpcd(&args.vpcd).map_err(Failure::invalid)?;
            Ok(Box::new(move |plan: &scenario::Plan| {
                scenario::target::VpcdTarget::insert(plan.card.card.clone(), vpcd)
                    .map(|t| Box::new(t) as Box<dyn Target>)
            }))
        }
        #[cfg(not(feature = "pcsc"))]
        TargetSpec::Pcsc(_) | TargetSpec::Vpcd => Err(crate::pcsc_host::not_built()),
    }
}
