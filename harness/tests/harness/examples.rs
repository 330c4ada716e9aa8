//! The worked examples under `examples/` run as their users run them: `run-tests.sh` with the
//! `mynasim` under test. Needs what `mynasim exec` needs (root, pcscd, vsmartcard-vpcd) and
//! Debian's python3-pyscard; fails, never skips, without them.

use std::process::Command;

use crate::live::require_tools;
use crate::support::repo;

#[test]
fn the_python_app_example_passes_its_own_tests_and_its_scenarios() {
    require_tools();
    let o = Command::new(repo().join("examples/python-app/run-tests.sh"))
        .env("MYNASIM", env!("CARGO_BIN_EXE_mynasim"))
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .unwrap();
    let out = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(o.status.success(), "{out}");
    // The app's own unit tests ran under exec, and every scenario of the example passed.
    assert!(out.contains("Ran 3 tests") && out.contains("\nOK"), "{out}");
    let summary = out
        .lines()
        .find(|l| l.trim_start().starts_with("sim "))
        .unwrap_or_default();
    let counts: Vec<&str> = summary.split_whitespace().collect();
    assert_eq!(counts.get(1..3), Some(&["5", "0"][..]), "{out}");
}
