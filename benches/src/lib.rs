//! Shared set-up for the benchmarks: cards are issued outside the timed closures; a private
//! pcscd and Debian's vicc for the `pcscd` benchmark ([`live`]).

pub mod live;

use mynasim_simulator::Card;
use mynasim_simulator::profile::Profile;

/// The default profile, as committed.
pub const DEFAULT_PROFILE: &str = include_str!("../../scenarios/profiles/default.yaml");

/// A powered default card.
///
/// # Panics
/// If the committed default profile is broken (a bug the tests catch first).
#[expect(
    clippy::expect_used,
    reason = "benchmark set-up on a committed profile"
)]
pub fn default_card() -> Card {
    let issued = Profile::from_yaml(DEFAULT_PROFILE, "default.yaml")
        .and_then(|p| p.personalise("default.yaml"))
        .expect("default profile is valid")
        .issue()
        .expect("default card issues");
    let mut card = issued.card;
    card.power_on();
    card
}

/// Decodes hex written in the benchmarks.
///
/// # Panics
/// On bad hex in a benchmark's source.
#[expect(clippy::expect_used, reason = "constant benchmark input")]
pub fn apdu(hex: &str) -> Vec<u8> {
    mynasim_simulator::hex::decode(hex).expect("benchmark APDU is hex")
}

/// Whether a response ends in `90 00`.
pub fn ok(response: &[u8]) -> bool {
    response.ends_with(&[0x90, 0x00])
}
