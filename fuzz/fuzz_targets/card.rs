#![no_main]
//! The whole card as a state machine: APDUs and power events, invariants after each step.

use std::sync::OnceLock;

use mynasim_simulator::Card;
use mynasim_simulator::profile::Profile;

fn issued() -> &'static Card {
    static CARD: OnceLock<Card> = OnceLock::new();
    CARD.get_or_init(|| {
        let yaml = include_str!("../../scenarios/profiles/default.yaml");
        Profile::from_yaml(yaml, "default.yaml")
            .and_then(|p| p.personalise("default.yaml"))
            .map(|p| p.issue().map(|i| i.card))
            .ok()
            .and_then(Result::ok)
            .unwrap_or_else(|| std::process::abort())
    })
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let mut card = issued().clone();
    mynasim_simulator::fuzzing::card(&mut card, data);
});
