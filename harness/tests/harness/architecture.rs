//! The harness's layering, checked on its sources: each top-level module uses only the
//! modules below it (ARCHITECTURE.md), nothing uses `cli`, and the subcommands never use
//! each other. A `use` that breaks a rule fails here with the file and the edge.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::support::repo;

/// Rank of each top-level module: a module may use modules of a lower rank only.
const LAYERS: &[(&str, u8)] = &[
    ("cli", 10),
    ("commands", 9),
    ("fuzzing", 9),
    ("certify", 8),
    ("report", 7),
    ("engine", 6),
    ("exit", 5),
    ("target", 4),
    ("host", 3),
    ("scenario", 2),
    ("profiles", 1),
];

fn rank(module: &str) -> u8 {
    LAYERS
        .iter()
        .find(|(m, _)| *m == module)
        .map(|(_, r)| *r)
        .unwrap_or_else(|| {
            panic!("module `{module}` has no layer in LAYERS: add it here and to ARCHITECTURE.md")
        })
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The `crate::a::b` paths a source file names, as (a, b).
fn crate_paths(text: &str) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    for (i, _) in text.match_indices("crate::") {
        let rest = &text[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            // `crate::{a, b::c}`
            let inner = &group[..group.find('}').unwrap_or(group.len())];
            for part in inner.split(',') {
                let part = part.trim();
                let top = ident(part);
                let sub = part
                    .get(top.len()..)
                    .and_then(|r| r.strip_prefix("::"))
                    .map(ident)
                    .unwrap_or_default();
                out.insert((top, sub));
            }
            continue;
        }
        let top = ident(rest);
        let sub = rest
            .get(top.len()..)
            .and_then(|r| r.strip_prefix("::"))
            .map(ident)
            .unwrap_or_default();
        out.insert((top, sub));
    }
    out
}

#[test]
fn every_module_uses_only_the_layers_below_it() {
    let src = repo().join("harness/src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut broken = Vec::new();
    for file in files {
        let relative = file.strip_prefix(&src).unwrap();
        let mut parts = relative.iter().map(|p| p.to_string_lossy().into_owned());
        let first = parts.next().unwrap();
        let module = first.trim_end_matches(".rs").to_owned();
        if module == "lib" || module == "main" {
            continue;
        }
        let submodule = parts
            .next()
            .map(|p| p.trim_end_matches(".rs").to_owned())
            .unwrap_or_default();
        // Code only: doc comments may point anywhere.
        let text: String = std::fs::read_to_string(&file)
            .unwrap()
            .lines()
            .filter(|l| !l.trim_start().starts_with("//"))
            .collect::<Vec<_>>()
            .join("\n");
        for (used, used_sub) in crate_paths(&text) {
            if used == module {
                // Within one module; but subcommands never use each other.
                if module == "commands" && !used_sub.is_empty() && used_sub != submodule {
                    broken.push(format!(
                        "{}: commands::{submodule} uses commands::{used_sub}",
                        relative.display()
                    ));
                }
                continue;
            }
            if used == "cli" {
                broken.push(format!("{}: uses cli (nothing may)", relative.display()));
                continue;
            }
            if rank(&used) >= rank(&module) {
                broken.push(format!(
                    "{}: {module} uses {used}, which is not below it",
                    relative.display()
                ));
            }
        }
    }
    assert!(broken.is_empty(), "layering broken:\n{}", broken.join("\n"));
}

/// The scanner itself finds the edges the rules are about.
#[test]
fn the_scanner_sees_plain_and_grouped_paths() {
    let found = crate_paths(
        "use crate::engine::{Outcome};\nuse crate::{exit::Error, scenario};\nlet x = crate::commands::run::run;",
    );
    assert!(found.contains(&("engine".into(), "".into())));
    assert!(found.contains(&("exit".into(), "Error".into())));
    assert!(found.contains(&("scenario".into(), "".into())));
    assert!(found.contains(&("commands".into(), "run".into())));
}
