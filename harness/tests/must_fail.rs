//! The must-fail corpus: every `tests/must-fail/*.yaml` is a scenario written so that one
//! expectation cannot hold on the default simulated card. Each must end as its
//! `# status:` line says (default `failed`) and report every `# must-fail:` text of its
//! header. If an expectation kind silently passed, its file here would turn green and this
//! test red (`cargo nextest run -E 'binary(must_fail)'`). Files with an `exec:` body run a
//! deliberately wrong program with the card in a private pcscd.

use std::path::Path;

use mynasim_harness::engine::{self, Golden, Status};
use mynasim_harness::report::{Style, terminal};
use mynasim_harness::scenario::{CardCache, Entry, Plan, load_file};
use mynasim_harness::target::{Link, SimLink, TargetError};

fn sim(plan: &Plan) -> Result<Box<dyn Link>, TargetError> {
    Ok(Box::new(SimLink::new(plan.virtual_card())))
}

/// Programs under test get a private pcscd each; the test fails (never skips) when this
/// machine cannot start one.
fn exec_host() -> engine::ExecHost {
    engine::ExecHost::private(Some(env!("CARGO_BIN_EXE_mynasim").into()))
}

fn must_fail(path: &Path) -> datatest_stable::Result<()> {
    let text = std::fs::read_to_string(path)?;
    let header = |key: &str| -> Vec<String> {
        text.lines()
            .take_while(|l| l.starts_with('#'))
            .filter_map(|l| l.strip_prefix(key))
            .map(|l| l.trim().to_owned())
            .collect()
    };
    let wanted = header("# must-fail:");
    if wanted.is_empty() {
        return Err("the file names no `# must-fail:` text".into());
    }
    let status = match header("# status:").first().map(String::as_str) {
        None | Some("failed") => Status::Failed,
        Some("invalid") => Status::Invalid,
        Some("unreachable") => Status::Unreachable,
        Some(other) => return Err(format!("unknown `# status: {other}`").into()),
    };
    let cache = CardCache::default();
    let entries: Vec<Entry> = match load_file(path) {
        Ok(loaded) => loaded
            .into_iter()
            .map(|l| Entry::Loaded(Box::new(l)))
            .collect(),
        Err(e) => vec![Entry::Broken {
            path: path.to_owned(),
            error: e.to_string(),
        }],
    };
    for entry in entries {
        let outcome = engine::one(&entry, &cache, &sim, Some(&exec_host()), Golden::Off);
        let report = format!(
            "{}\n{}{}",
            terminal::line(&outcome, Style::PLAIN),
            outcome.message.as_deref().unwrap_or_default(),
            terminal::details(&outcome, Style::PLAIN)
        );
        if outcome.status != status {
            return Err(format!("expected {}, got:\n{report}", status.name()).into());
        }
        for text in &wanted {
            if !report.contains(text.as_str()) {
                return Err(format!("the report does not say `{text}`:\n{report}").into());
            }
        }
    }
    Ok(())
}

datatest_stable::harness! {
    { test = must_fail, root = "tests/must-fail", pattern = r"\.ya?ml$" },
}
