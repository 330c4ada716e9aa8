//! Every bundled scenario under `scenarios/` is its own test: compiled and run on the `sim`
//! target, it must pass, and its transcript must match the golden `NAME.transcript` beside
//! it (`cargo nextest run -E 'binary(scenarios)'`; `ci/bless` rewrites the goldens).
//! Scenarios with a program under test (`exec:`, `scenarios/apps/`) run it with the card in
//! a private pcscd and have no golden transcript (the program's exchanges are its own); they
//! must pass too — "not applicable" because pcscd is missing fails the test.

use std::path::Path;

use mynasim_harness::engine::{self, Golden, Status};
use mynasim_harness::report::{Style, terminal};
use mynasim_harness::scenario::model::Scenario;
use mynasim_harness::scenario::{CardCache, Entry, Plan, load_file};
use mynasim_harness::target::{Link, SimLink, TargetError};

fn sim(plan: &Plan) -> Result<Box<dyn Link>, TargetError> {
    Ok(Box::new(SimLink::new(plan.virtual_card())))
}

fn scenario(path: &Path) -> datatest_stable::Result<()> {
    let loaded = load_file(path).map_err(|e| e.to_string())?;
    let cache = CardCache::default();
    let golden = path.with_extension("transcript");
    let has_steps = |s: &Scenario| s.exec.is_none();
    if loaded.iter().any(|l| has_steps(&l.scenario.value)) && !golden.is_file() {
        return Err(format!("{} is missing: run ci/bless", golden.display()).into());
    }
    let exec = engine::ExecHost::private(Some(env!("CARGO_BIN_EXE_mynasim").into()));
    for one in loaded {
        let outcome = engine::one(
            &Entry::Loaded(Box::new(one)),
            &cache,
            &sim,
            Some(&exec),
            Golden::Check,
        );
        if outcome.status != Status::Passed {
            let style = Style {
                colour: false,
                reveal: true,
            };
            return Err(format!(
                "{}\n{}",
                terminal::line(&outcome, style),
                terminal::details(&outcome, style)
            )
            .into());
        }
    }
    Ok(())
}

datatest_stable::harness! {
    { test = scenario, root = "../scenarios", pattern = r"^(?!profiles/).*\.ya?ml$" },
}
