//! Reading scenario files: one scenario per file, or a list of them; strict YAML with file,
//! line, column and key path on every error.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_saphyr::Spanned;

use super::model::Scenario;
use mynasim_simulator::profile::{ProfileError, files, from_yaml_str};

/// What a scenario file holds: one scenario, or a list of them.
#[derive(Debug, Clone)]
pub struct ScenarioFile(pub Vec<Spanned<Scenario>>);

impl<'de> Deserialize<'de> for ScenarioFile {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct FileVisitor;

        impl<'de> serde::de::Visitor<'de> for FileVisitor {
            type Value = ScenarioFile;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a scenario (a mapping with version, name, steps) or a list of them")
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<ScenarioFile, A::Error> {
                let one = Scenario::deserialize(serde::de::value::MapAccessDeserializer::new(map))?;
                let at = serde_saphyr::Location::UNKNOWN;
                Ok(ScenarioFile(vec![Spanned::new(one, at, at)]))
            }

            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<ScenarioFile, A::Error> {
                let mut out = Vec::new();
                while let Some(one) = seq.next_element::<Spanned<Scenario>>()? {
                    out.push(one);
                }
                Ok(ScenarioFile(out))
            }
        }

        d.deserialize_any(FileVisitor)
    }
}

/// A scenario read from a file, not yet compiled.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The file.
    pub path: PathBuf,
    /// Position in a list file (0 for single-scenario files).
    pub index: usize,
    /// Whether the file holds a list.
    pub in_list: bool,
    /// The scenario.
    pub scenario: Spanned<Scenario>,
}

/// Reads one scenario file.
pub fn load_file(path: &Path) -> Result<Vec<Loaded>, ProfileError> {
    let origin = path.display().to_string();
    let text = files::read_text(path, files::MAX_TEXT_FILE).map_err(|e| ProfileError {
        origin: origin.clone(),
        line: 0,
        column: 0,
        path: String::new(),
        message: format!("cannot read the scenario: {e}"),
    })?;
    load_str(&text, path)
}

/// Parses scenario text that came from `path`.
pub fn load_str(text: &str, path: &Path) -> Result<Vec<Loaded>, ProfileError> {
    let origin = path.display().to_string();
    let file: ScenarioFile = from_yaml_str(text, &origin)?;
    let in_list = file.0.len() != 1 || text.trim_start().starts_with('-');
    Ok(file
        .0
        .into_iter()
        .enumerate()
        .map(|(index, scenario)| Loaded {
            path: path.to_owned(),
            index,
            in_list,
            scenario,
        })
        .collect())
}

/// Finds the scenario files under the given paths: files as given, folders recursively
/// (`*.yaml`/`*.yml`, skipping any `profiles/` folder). Sorted, so runs and shards are
/// deterministic. A folder or file reached twice — through a symbolic link, a link loop, or
/// two of the paths given — is taken once.
pub fn discover(paths: &[PathBuf]) -> std::io::Result<Vec<PathBuf>> {
    let mut seen = Seen::default();
    let mut out = Vec::new();
    for path in paths {
        if path.is_dir() {
            walk(path, &mut seen, &mut out)?;
        } else if seen.first_visit(path) {
            out.push(path.clone());
        }
    }
    out.sort();
    Ok(out)
}

/// The files and folders visited, by their canonical paths.
#[derive(Default)]
struct Seen(std::collections::HashSet<PathBuf>);

impl Seen {
    /// Whether `path` is met for the first time (a path that cannot be resolved counts as
    /// new, and its error shows when it is read).
    fn first_visit(&mut self, path: &Path) -> bool {
        match std::fs::canonicalize(path) {
            Ok(real) => self.0.insert(real),
            Err(_) => true,
        }
    }
}

fn walk(dir: &Path, seen: &mut Seen, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    if !seen.first_visit(dir) {
        return Ok(());
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    entries.sort();
    for path in entries {
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n == "profiles") {
                continue;
            }
            walk(&path, seen, out)?;
        } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml")
            && seen.first_visit(&path)
        {
            out.push(path);
        }
    }
    Ok(())
}
