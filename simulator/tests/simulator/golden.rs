//! Golden transcripts of the reference's typical command sequences (§2.10), byte-exact.
//!
//! Each `tests/golden/NAME.apdu` script runs against a fresh default card (cold, unpowered:
//! scripts start with `power-on`), and its transcript must equal `NAME.transcript`. After an
//! intended change, bless the new output with `ci/bless` (or `MYNASIM_BLESS=1 cargo test
//! -p mynasim-simulator --test simulator golden`) and review the diff.

use std::fs;

use super::support;

fn check(name: &str) {
    let dir = support::repo().join("simulator/tests/golden");
    let script = fs::read_to_string(dir.join(format!("{name}.apdu"))).expect("script exists");
    let mut card = support::default_issued().card.clone();
    let actual = support::run_script(&mut card, &script);
    let golden_path = dir.join(format!("{name}.transcript"));
    if std::env::var_os("MYNASIM_BLESS").is_some() {
        fs::write(&golden_path, &actual).expect("write golden");
        return;
    }
    let expected = fs::read_to_string(&golden_path)
        .unwrap_or_else(|_| panic!("{} is missing: run ci/bless", golden_path.display()));
    if expected != actual {
        let first = expected
            .lines()
            .zip(actual.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(expected.lines().count().min(actual.lines().count()));
        panic!(
            "{name}: transcript differs from {} at line {}:\n  expected: {}\n  actual:   {}\n\
             (run ci/bless if the change is intended)",
            golden_path.display(),
            first + 1,
            expected.lines().nth(first).unwrap_or("<end>"),
            actual.lines().nth(first).unwrap_or("<end>"),
        );
    }
}

#[test]
fn sequence_1_card_check() {
    check("seq01-card-check");
}

#[test]
fn sequence_2_opensc_pkcs15_bind() {
    check("seq02-opensc-bind");
}

#[test]
fn sequence_3_auth_signature() {
    check("seq03-auth-signature");
}

#[test]
fn sequence_4_signature_certificate_and_signing() {
    check("seq04-sign-certificate-and-sign");
}

#[test]
fn sequence_5_my_number() {
    check("seq05-my-number");
}

#[test]
fn sequence_6_basic_four_information() {
    check("seq06-basic-four-information");
}

#[test]
fn sequence_7_card_face_via_code_a() {
    check("seq07-card-face");
}

#[test]
fn sequence_10_common_card_serial() {
    check("seq10-common-card-serial");
}

#[test]
fn sequence_8_pin_status_sweep() {
    check("seq08-pin-status-sweep");
}

#[test]
fn sequence_9_pin_change() {
    check("seq09-pin-change");
}

#[test]
fn transcripts_are_deterministic() {
    let dir = support::repo().join("simulator/tests/golden");
    let script =
        fs::read_to_string(dir.join("seq04-sign-certificate-and-sign.apdu")).expect("script");
    let a = support::run_script(&mut support::default_issued().card.clone(), &script);
    let b = support::run_script(&mut support::default_issued().card.clone(), &script);
    assert_eq!(a, b);
}

/// The committed trust anchors under simulator/keys/ca/ are what the simulator uses.
#[test]
fn published_trust_anchors_match_the_test_pki() {
    use mynasim_simulator::pki::published;
    let dir = support::repo().join(published::DIRECTORY);
    for file in published::FILES {
        let content = file.content().expect("content");
        let path = dir.join(file.file);
        if std::env::var_os("MYNASIM_BLESS").is_some() {
            fs::write(&path, &content).expect("write anchor");
            continue;
        }
        let committed = fs::read_to_string(&path)
            .unwrap_or_else(|_| panic!("{} is missing: run ci/bless", path.display()));
        assert_eq!(
            committed,
            content,
            "{} is stale: run ci/bless",
            path.display()
        );
    }
}
