//! Every bundled scenario under `scenarios/` is its own test: compiled and run on the `sim`
//! target, and it must pass (`cargo nextest run -E 'binary(scenarios)'`).

use std::path::Path;

use mynasim_harness::scenario::report::{self, Style};
use mynasim_harness::scenario::{CardCache, SimTarget, Status, compile, load_file, run::run};

fn scenario(path: &Path) -> datatest_stable::Result<()> {
    let loaded = load_file(path).map_err(|e| e.to_string())?;
    let cache = CardCache::default();
    for one in loaded {
        let plan = compile(&one, &cache).map_err(|e| e.to_string())?;
        let mut target = SimTarget::new(plan.card.card.clone());
        let outcome = run(&plan, &mut target);
        if outcome.status != Status::Passed {
            let style = Style {
                colour: false,
                reveal: true,
            };
            return Err(format!(
                "{}\n{}",
                report::line(&outcome, style),
                report::details(&outcome, style)
            )
            .into());
        }
    }
    Ok(())
}

datatest_stable::harness! {
    { test = scenario, root = "../scenarios", pattern = r"^(?!profiles/).*\.ya?ml$" },
}
