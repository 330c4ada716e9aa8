//! Running compiled scenarios: on `jobs` threads, each on a link its target makes
//! ([`run_all`]); steps and their checks ([`steps`], [`check`]); golden transcripts
//! ([`golden`]). The engine returns [`Outcome`]s — never exit codes, never output.

pub mod check;
pub mod golden;
pub mod outcome;
pub mod program;
pub mod steps;
mod validation;

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

pub use outcome::{Outcome, Status, StepOutcome, StepStatus, Summary};
pub use program::ExecHost;

use mynasim_simulator::profile::files;

use crate::scenario::plan::Body;
use crate::scenario::{CardCache, Entry, Plan, compile};
use crate::target::{Link, TargetError};

/// Makes a link to run a plan on.
pub type LinkFactory<'a> = dyn Fn(&Plan) -> Result<Box<dyn Link>, TargetError> + Sync + 'a;

/// What to do with golden transcripts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Golden {
    /// Compare a passing scenario's transcript with `NAME.transcript` when that file exists.
    Check,
    /// Do not compare (the caller writes the files from the outcomes).
    Bless,
    /// Ignore golden files (targets other than the in-process card).
    Off,
}

/// How to run.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Parallel scenarios.
    pub jobs: usize,
    /// Draw a live progress line on stderr.
    pub progress: bool,
    /// Golden transcripts.
    pub golden: Golden,
}

/// The outcomes, in entry order, and the wall time.
#[derive(Debug)]
pub struct Run {
    /// One per entry.
    pub outcomes: Vec<Outcome>,
    /// Wall time in milliseconds.
    pub millis: u64,
}

/// Compiles and runs the entries; outcomes come back in entry order.
pub fn run_all(
    entries: Vec<Entry>,
    options: Options,
    make_link: &LinkFactory<'_>,
    exec: Option<&ExecHost>,
) -> Run {
    let started = Instant::now();
    let cache = CardCache::default();
    let total = entries.len();
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<Outcome>>> = Mutex::new((0..total).map(|_| None).collect());
    let bar = options.progress.then(|| {
        let bar = indicatif::ProgressBar::new(total as u64);
        bar.set_style(
            indicatif::ProgressStyle::with_template("{spinner} {pos}/{len} scenarios {wide_msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    });
    std::thread::scope(|scope| {
        for _ in 0..options.jobs.clamp(1, total.max(1)) {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(entry) = entries.get(i) else { break };
                    let outcome = one(entry, &cache, make_link, exec, options.golden);
                    if let Some(bar) = &bar {
                        bar.set_message(outcome.name.clone());
                        bar.inc(1);
                    }
                    if let Ok(mut r) = results.lock()
                        && let Some(slot) = r.get_mut(i)
                    {
                        *slot = Some(outcome);
                    }
                }
            });
        }
    });
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let outcomes = results
        .into_inner()
        .unwrap_or_default()
        .into_iter()
        .flatten()
        .collect();
    Run {
        outcomes,
        millis: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
    }
}

/// Compiles, runs and (on `Golden::Check`) compares one entry. Scenarios with steps run on
/// a link `make_link` makes; scenarios with a program under test (`exec:`) run with the
/// card in a PC/SC reader `exec` provides, and are not applicable without one.
pub fn one(
    entry: &Entry,
    cache: &CardCache,
    make_link: &LinkFactory<'_>,
    exec: Option<&ExecHost>,
    golden: Golden,
) -> Outcome {
    let loaded = match entry {
        Entry::Broken { path, error } => {
            return Outcome::without_run(
                path.display().to_string(),
                path.clone(),
                0,
                "(unreadable scenario)".to_owned(),
                Status::Invalid,
                error.clone(),
            );
        }
        Entry::Loaded(l) => l,
    };
    let plan = match compile(loaded, cache) {
        Ok(p) => p,
        Err(e) => {
            return Outcome::without_run(
                entry.id(),
                loaded.path.clone(),
                loaded.index,
                loaded.scenario.value.name.value.clone(),
                Status::Invalid,
                e.to_string(),
            );
        }
    };
    if let Body::Exec(body) = &plan.body {
        return match exec {
            Some(host) => program::run(&plan, body, host),
            None => {
                let mut outcome = steps::fresh(&plan, "exec".to_owned());
                outcome.status = Status::NotApplicable;
                outcome.message = Some(
                    "the scenario runs a program (`exec:`) with the card in a PC/SC reader, \
                     which this target does not provide (run it on `sim` or `vpcd`)"
                        .to_owned(),
                );
                outcome
            }
        };
    }
    let mut outcome = match make_link(&plan) {
        Ok(mut link) => steps::run(&plan, link.as_mut()),
        Err(e) => Outcome::without_run(
            plan.id(),
            plan.path.clone(),
            plan.index,
            plan.name.clone(),
            Status::Unreachable,
            format!("target: {e}"),
        ),
    };
    if golden == Golden::Check && outcome.status == Status::Passed {
        check_golden(&plan, &mut outcome);
    }
    outcome
}

/// The largest golden transcript read (16 MiB: the card-face photo read in 256-byte chunks
/// is the largest bundled one, about 40 KB).
const GOLDEN_LIMIT: u64 = 16 << 20;

/// Compares a passing outcome with its golden file, if there is one.
fn check_golden(plan: &Plan, outcome: &mut Outcome) {
    let path = plan.golden_path();
    let expected = match files::read_text(&path, GOLDEN_LIMIT) {
        Ok(text) => text,
        Err(files::ReadError::Io(e)) if e.kind() == std::io::ErrorKind::NotFound => return,
        Err(e) => {
            outcome.status = Status::Failed;
            outcome.message = Some(format!("transcript: cannot read {}: {e}", path.display()));
            return;
        }
    };
    let actual = golden::section(outcome);
    if let Err(e) = golden::compare(&expected, plan.index, &actual, &path.display().to_string()) {
        outcome.status = Status::Failed;
        outcome.message = Some(e);
    }
}

/// Whether to draw a live progress line: stderr is a terminal and `CI` is not set.
pub fn progress_wanted() -> bool {
    use std::io::IsTerminal as _;
    std::io::stderr().is_terminal() && std::env::var_os("CI").is_none()
}
