//! `mynasim run`: select scenarios, run them on a target, report, and keep golden transcripts.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::anyhow;

use crate::engine::{self, Golden, LinkFactory, Outcome, Status, Summary, golden};
use crate::exit::{Error, Worst};
use crate::report::{self, Style};
use crate::scenario::{self, Selection, Shard};
use crate::target::{SimLink, TargetSpec};

/// What to run and how to report it.
#[derive(Debug, Clone)]
pub struct Options {
    /// Scenario files or folders.
    pub paths: Vec<PathBuf>,
    /// Where to run.
    pub target: TargetSpec,
    /// Only scenarios whose path or name contains this text.
    pub filter: Option<String>,
    /// Only scenarios with any of these tags.
    pub tags: Vec<String>,
    /// One shard.
    pub shard: Option<Shard>,
    /// Write a JUnit XML report here.
    pub junit: Option<PathBuf>,
    /// Write a JSON report here.
    pub json: Option<PathBuf>,
    /// Write an HTML report here.
    pub html: Option<PathBuf>,
    /// For the vpcd target: pcscd's vpcd driver, slot 0.
    pub vpcd: String,
    /// Parallel scenarios (default: the CPUs on `sim`, 1 elsewhere).
    pub jobs: Option<usize>,
    /// Show PINs in failure transcripts and the JSON report.
    pub reveal: bool,
    /// List the selected scenarios instead of running them.
    pub list: bool,
    /// Print only failures and the summary.
    pub quiet: bool,
    /// Write each scenario file's golden transcript instead of comparing with it.
    pub bless: bool,
}

/// Where programs under test (`exec:` scenarios) get their card: a private pcscd per
/// scenario on the targets that host a simulated card; none on a real card's reader.
fn exec_host(target: &TargetSpec) -> Option<engine::ExecHost> {
    match target {
        TargetSpec::Sim | TargetSpec::Vpcd => {
            let probe = cfg!(feature = "pcsc")
                .then(|| std::env::current_exe().ok())
                .flatten();
            Some(engine::ExecHost::private(probe))
        }
        TargetSpec::Pcsc(_) => None,
    }
}

/// Runs the selected scenarios and reports.
///
/// # Errors
/// Bad arguments (2), an unreachable target (3), scenarios that did not pass (1, 2 or 3 by
/// the worst), a report that cannot be written (4).
pub fn run(options: &Options) -> Result<(), Error> {
    for path in &options.paths {
        if !path.exists() {
            return Err(Error::invalid(anyhow!(
                "{} does not exist (give scenario files or folders)",
                path.display()
            )));
        }
    }
    let parallel = options.target.allows_parallel_runs();
    if let Some(jobs) = options.jobs
        && jobs > 1
        && !options.target.allows_jobs()
    {
        return Err(Error::invalid(anyhow!(
            "--jobs {jobs}: the {} target drives one card at a time, so its scenarios run one \
             after another (leave --jobs out)",
            options.target
        )));
    }
    if options.bless && options.target != TargetSpec::Sim {
        return Err(Error::invalid(anyhow!(
            "--bless writes the transcripts of the in-process card: use it with --target sim"
        )));
    }
    let selection = Selection {
        paths: options.paths.clone(),
        filter: options.filter.clone(),
        tags: options.tags.clone(),
        shard: options.shard,
    };
    let entries = scenario::select(&selection)
        .map_err(|e| Error::invalid(anyhow!("cannot read the scenarios: {e}")))?;
    let out = std::io::stdout();
    let mut out = out.lock();
    if options.list {
        for e in &entries {
            writeln!(out, "{}", e.id()).map_err(stdout_error)?;
        }
        return Ok(());
    }
    if entries.is_empty() {
        return Err(Error::invalid(anyhow!("no scenario matches")));
    }
    let make_link = link_factory(options)?;
    let started = jiff::Timestamp::now();
    let jobs = options.jobs.unwrap_or_else(|| {
        if parallel {
            std::thread::available_parallelism().map_or(2, usize::from)
        } else {
            1
        }
    });
    let golden = match (&options.target, options.bless) {
        (TargetSpec::Sim, true) => Golden::Bless,
        (TargetSpec::Sim, false) => Golden::Check,
        _ => Golden::Off,
    };
    let run = engine::run_all(
        entries,
        engine::Options {
            jobs,
            progress: engine::progress_wanted(),
            golden,
        },
        make_link.as_ref(),
        exec_host(&options.target).as_ref(),
    );
    let outcomes = run.outcomes;
    let summary = Summary::of(&outcomes, run.millis);
    let style = Style {
        colour: std::io::IsTerminal::is_terminal(&std::io::stdout())
            && std::env::var_os("NO_COLOR").is_none(),
        reveal: options.reveal,
    };
    let mut text = String::new();
    for o in &outcomes {
        if !options.quiet || o.status != Status::Passed {
            text.push_str(&report::terminal::line(o, style));
            text.push('\n');
        }
        if o.status != Status::Passed {
            text.push_str(&report::terminal::details(o, style));
        }
    }
    let target = options.target.to_string();
    text.push_str(&report::terminal::summary_table(&summary, &target));
    out.write_all(text.as_bytes()).map_err(stdout_error)?;
    if let Some(path) = &options.junit {
        let xml = report::junit::render(&outcomes, &summary, &target)
            .map_err(|e| Error::io(anyhow!("cannot render the JUnit report: {e}")))?;
        write_file(path, &xml)?;
    }
    if options.json.is_some() || options.html.is_some() {
        let run =
            report::json::Report::of(&outcomes, &summary, &target, options.reveal, Some(started));
        if let Some(path) = &options.json {
            let json = report::json::render(&run)
                .map_err(|e| Error::io(anyhow!("cannot render the JSON report: {e}")))?;
            write_file(path, &json)?;
        }
        if let Some(path) = &options.html {
            write_file(
                path,
                &report::html::run::render(&run, jiff::Timestamp::now()),
            )?;
        }
    }
    if options.bless {
        let note = bless(&outcomes)?;
        out.write_all(note.as_bytes()).map_err(stdout_error)?;
    }
    let worst = match summary.worst() {
        None => return Ok(()),
        Some(Status::Unreachable) => Worst::Unreachable,
        Some(Status::Invalid) => Worst::Invalid,
        Some(_) => Worst::Failed,
    };
    Err(Error::Scenarios {
        worst,
        failed: summary.not_passed(),
        total: summary.total(),
    })
}

fn stdout_error(e: std::io::Error) -> Error {
    Error::io(anyhow!("cannot write standard output: {e}"))
}

fn write_file(path: &Path, content: &str) -> Result<(), Error> {
    report::write_atomic(path, content.as_bytes())
        .map_err(|e| Error::io(anyhow!("cannot write {}: {e}", path.display())))
}

/// Writes the golden transcript of every scenario file whose scenarios all ran and passed;
/// returns what it did, for the terminal.
fn bless(outcomes: &[Outcome]) -> Result<String, Error> {
    let mut by_file: BTreeMap<&Path, Vec<&Outcome>> = BTreeMap::new();
    // Programs under test (`exec:`) have no golden transcript: their exchanges are theirs.
    for o in outcomes.iter().filter(|o| o.target != "exec") {
        by_file.entry(o.path.as_path()).or_default().push(o);
    }
    let (mut written, mut unchanged) = (0, 0);
    let mut skipped = Vec::new();
    for (path, mut ran) in by_file {
        ran.sort_by_key(|o| o.index);
        let in_file = scenario::load_file(path).map_or(0, |l| l.len());
        if ran.len() != in_file || ran.iter().any(|o| o.status != Status::Passed) {
            skipped.push(format!(
                "  {}: not blessed (every scenario of the file must run and pass)",
                path.display()
            ));
            continue;
        }
        let sections: Vec<String> = ran.iter().map(|o| golden::section(o)).collect();
        let text = golden::file(&sections);
        let golden_path = path.with_extension("transcript");
        if std::fs::read_to_string(&golden_path).is_ok_and(|old| old == text) {
            unchanged += 1;
            continue;
        }
        write_file(&golden_path, &text)?;
        written += 1;
    }
    let mut note = format!(
        "\n  transcripts: {written} written, {unchanged} unchanged, {} not blessed\n",
        skipped.len()
    );
    for line in skipped {
        note.push_str(&line);
        note.push('\n');
    }
    Ok(note)
}

/// How each scenario gets its link.
fn link_factory(options: &Options) -> Result<Box<LinkFactory<'static>>, Error> {
    match &options.target {
        TargetSpec::Sim => Ok(Box::new(|plan: &scenario::Plan| {
            Ok(Box::new(SimLink::new(plan.virtual_card())) as Box<dyn crate::target::Link>)
        })),
        #[cfg(feature = "pcsc")]
        TargetSpec::Pcsc(reader) => {
            use crate::target::pcsc::PcscLink;
            // Fail fast, before any scenario, when the reader or its card is not there.
            drop(PcscLink::open(reader)?);
            let reader = reader.clone();
            Ok(Box::new(move |_plan: &scenario::Plan| {
                PcscLink::open(&reader).map(|l| Box::new(l) as Box<dyn crate::target::Link>)
            }))
        }
        #[cfg(feature = "pcsc")]
        TargetSpec::Vpcd => {
            use crate::target::vpcd::VpcdLink;
            let vpcd = crate::host::config::parse_addr(&options.vpcd)
                .map_err(|e| Error::invalid(anyhow!(e)))?;
            let jobs = options.jobs.unwrap_or(1);
            if jobs <= 1 {
                return Ok(Box::new(move |plan: &scenario::Plan| {
                    VpcdLink::insert(plan.virtual_card(), vpcd)
                        .map(|l| Box::new(l) as Box<dyn crate::target::Link>)
                }));
            }
            // A slot per job: each scenario's card goes into a free one (docs/readers.md).
            let slots = u16::try_from(jobs)
                .ok()
                .filter(|n| *n <= 16)
                .ok_or_else(|| {
                    Error::invalid(anyhow!(
                        "--jobs {jobs}: the vpcd target runs at most 16 cards at once (one \
                         pcscd's readers)"
                    ))
                })?;
            let pool = crate::target::vpcd::SlotPool::new(slots);
            Ok(Box::new(move |plan: &scenario::Plan| {
                let lease = pool.take().ok_or_else(|| {
                    crate::target::TargetError::Unreachable("every vpcd slot is taken".into())
                })?;
                VpcdLink::insert_leased(plan.virtual_card(), vpcd, lease)
                    .map(|l| Box::new(l) as Box<dyn crate::target::Link>)
            }))
        }
        #[cfg(not(feature = "pcsc"))]
        TargetSpec::Pcsc(_) | TargetSpec::Vpcd => Err(crate::target::TargetError::NotBuilt.into()),
    }
}
