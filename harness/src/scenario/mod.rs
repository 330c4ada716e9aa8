//! Scenarios: one YAML file describes a card situation and what should happen; `mynasim run`
//! replays it against a target and says what differed.
//!
//! Pipeline: [`load`] (strict YAML, positions on every error) → [`compile`] (resolve the
//! card, check every value, build a [`Plan`]) → [`run`] (on a [`Target`]) → [`report`].
//! `docs/scenarios.md` documents the format.

pub mod check;
pub mod compile;
pub mod load;
pub mod model;
pub mod report;
pub mod run;
pub mod target;

use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

pub use compile::{CardCache, Plan, compile};
pub use load::{Loaded, discover, load_file};
pub use run::{Outcome, Status};
pub use target::{SimTarget, Target, TargetError};

/// Which implementation the scenarios run against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetSpec {
    /// The in-process simulator.
    Sim,
    /// A reader through PC/SC (feature `pcsc`).
    Pcsc(String),
    /// The scenario's card behind pcscd through the vpcd transport.
    Vpcd,
}

impl std::str::FromStr for TargetSpec {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "sim" => Ok(Self::Sim),
            "vpcd" => Ok(Self::Vpcd),
            other => match other.strip_prefix("pcsc:") {
                Some(reader) if !reader.is_empty() => Ok(Self::Pcsc(reader.to_owned())),
                _ => Err(format!(
                    "`{other}` is not a target: use sim, vpcd or pcsc:READER (a reader name, or a unique part of it)"
                )),
            },
        }
    }
}

impl std::fmt::Display for TargetSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Sim => f.write_str("sim"),
            Self::Vpcd => f.write_str("vpcd"),
            Self::Pcsc(r) => write!(f, "pcsc:{r}"),
        }
    }
}

/// A shard: this runner takes every N-th scenario starting at K.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// 1-based index.
    pub k: usize,
    /// Count.
    pub n: usize,
}

impl std::str::FromStr for Shard {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("`{s}` is not a shard: write K/N with 1 <= K <= N, e.g. 2/4");
        let (k, n) = s.split_once('/').ok_or_else(bad)?;
        let k: usize = k.trim().parse().map_err(|_| bad())?;
        let n: usize = n.trim().parse().map_err(|_| bad())?;
        if n == 0 || k == 0 || k > n {
            return Err(bad());
        }
        Ok(Self { k, n })
    }
}

/// What to run and how.
#[derive(Debug, Clone)]
pub struct Selection {
    /// Files and folders.
    pub paths: Vec<PathBuf>,
    /// Substring of the id or name.
    pub filter: Option<String>,
    /// Any of these tags.
    pub tags: Vec<String>,
    /// This shard only.
    pub shard: Option<Shard>,
}

/// An entry of the run: a loaded scenario, or a file that failed to load.
#[derive(Debug)]
pub enum Entry {
    /// Ready to compile.
    Loaded(Box<Loaded>),
    /// Could not be read or parsed.
    Broken {
        /// The file.
        path: PathBuf,
        /// Why.
        error: String,
    },
}

impl Entry {
    /// The id used for sorting, filters and shards.
    pub fn id(&self) -> String {
        match self {
            Self::Loaded(l) => {
                if l.in_list {
                    format!("{}#{}", l.path.display(), l.index + 1)
                } else {
                    l.path.display().to_string()
                }
            }
            Self::Broken { path, .. } => path.display().to_string(),
        }
    }
}

/// Finds, loads, filters and shards the scenarios.
pub fn select(sel: &Selection) -> std::io::Result<Vec<Entry>> {
    let files = discover(&sel.paths)?;
    let mut entries = Vec::new();
    for path in files {
        match load_file(&path) {
            Ok(loaded) => entries.extend(loaded.into_iter().map(|l| Entry::Loaded(Box::new(l)))),
            Err(e) => entries.push(Entry::Broken {
                path,
                error: e.to_string(),
            }),
        }
    }
    entries.retain(|e| {
        let id = e.id();
        let name_ok = match (&sel.filter, e) {
            (None, _) => true,
            (Some(f), Entry::Loaded(l)) => {
                id.contains(f.as_str()) || l.scenario.value.name.value.contains(f.as_str())
            }
            (Some(f), Entry::Broken { .. }) => id.contains(f.as_str()),
        };
        let tags_ok = match (sel.tags.is_empty(), e) {
            (true, _) => true,
            (false, Entry::Loaded(l)) => l.scenario.value.tags.iter().any(|t| sel.tags.contains(t)),
            (false, Entry::Broken { .. }) => false,
        };
        name_ok && tags_ok
    });
    if let Some(shard) = sel.shard {
        entries = entries
            .into_iter()
            .enumerate()
            .filter(|(i, _)| i % shard.n == shard.k - 1)
            .map(|(_, e)| e)
            .collect();
    }
    Ok(entries)
}

/// Makes a target for a plan.
pub type TargetFactory<'a> = dyn Fn(&Plan) -> Result<Box<dyn Target>, TargetError> + Sync + 'a;

/// Compiles and runs the entries on `jobs` threads; outcomes come back in entry order.
pub fn run_all(
    entries: Vec<Entry>,
    jobs: usize,
    make_target: &TargetFactory<'_>,
    progress: bool,
) -> (Vec<Outcome>, u64) {
    let started = Instant::now();
    let cache = CardCache::default();
    let total = entries.len();
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<Outcome>>> = Mutex::new((0..total).map(|_| None).collect());
    let bar = progress.then(|| {
        let bar = indicatif::ProgressBar::new(total as u64);
        bar.set_style(
            indicatif::ProgressStyle::with_template("{spinner} {pos}/{len} scenarios {wide_msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    });
    std::thread::scope(|scope| {
        for _ in 0..jobs.clamp(1, total.max(1)) {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(entry) = entries.get(i) else { break };
                    let outcome = one(entry, &cache, make_target);
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
    (
        outcomes,
        u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
    )
}

fn one(entry: &Entry, cache: &CardCache, make_target: &TargetFactory<'_>) -> Outcome {
    let loaded = match entry {
        Entry::Broken { path, error } => {
            return Outcome::invalid(
                path.display().to_string(),
                "(unreadable scenario)".to_owned(),
                error.clone(),
            );
        }
        Entry::Loaded(l) => l,
    };
    let plan = match compile(loaded, cache) {
        Ok(p) => p,
        Err(e) => {
            return Outcome::invalid(
                entry.id(),
                loaded.scenario.value.name.value.clone(),
                e.to_string(),
            );
        }
    };
    match make_target(&plan) {
        Ok(mut target) => run::run(&plan, target.as_mut()),
        Err(e) => {
            let mut o = Outcome::invalid(plan.id(), plan.name.clone(), format!("target: {e}"));
            o.status = Status::Unreachable;
            o
        }
    }
}

/// Whether to draw a live progress line: stderr is a terminal and `CI` is not set.
pub fn progress_wanted() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("CI").is_none()
}
