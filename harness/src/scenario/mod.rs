//! Scenarios: one YAML file describes a card situation and what should happen.
//!
//! Pipeline: [`select`] (find, [`load`], filter, shard) → [`compile`] (resolve the card,
//! check every value, build a [`Plan`]) → the [engine](crate::engine) runs it on a
//! [target](crate::target) → the [reports](crate::report). `docs/scenarios.md` documents
//! the format; [`model`] is its serde form, [`plan`] the checked form.

pub mod compile;
pub mod from_trace;
pub mod load;
pub mod model;
pub mod plan;
pub mod safety;

use std::path::PathBuf;

pub use compile::{CardCache, CardSecrets, compile, compile_with_secrets};
pub use load::{Loaded, discover, load_file};
pub use plan::Plan;

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
