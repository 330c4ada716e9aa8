//! Entry points for the fuzz targets in `fuzz/` (cargo-fuzz). Each target is a one-liner
//! into this module, so the logic is compiled, linted and unit-tested with the crate.
//!
//! Every function must return normally on *any* input; a panic is a bug.

use crate::apdu::{Command, tlv};
use crate::card::{Card, CardEvent, EfBody};
use crate::profile::Profile;

/// APDU parser: never panics; whatever parses re-encodes to the same bytes.
pub fn apdu(data: &[u8]) {
    if let Ok(cmd) = Command::parse(data) {
        assert_eq!(cmd.encode(), data, "parse/encode round trip");
    }
}

/// BER-TLV and simple-TLV parsers: never panic; every parsed object re-encodes to its raw
/// bytes.
pub fn tlv(data: &[u8]) {
    if let Ok(objects) = tlv::parse_all(data, 0) {
        for object in objects {
            let again = tlv::encode_with(object.tag, object.length_form, object.value);
            assert_eq!(again, object.raw, "TLV round trip");
            let _ = object.children();
        }
    }
    let _ = tlv::simple::parse(data);
}

/// Profile loader: YAML to a checked personalisation, or an error — never a panic.
pub fn profile(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(profile) = Profile::from_yaml(text, "fuzz") {
        let _ = profile.personalise("fuzz");
    }
}

/// One step of the whole-card target, decoded from the input.
#[derive(Debug)]
pub enum Step<'a> {
    /// Send these bytes as an APDU.
    Apdu(&'a [u8]),
    /// Power off.
    PowerOff,
    /// Power on.
    PowerOn,
    /// Warm reset.
    Reset,
}

/// Splits fuzz input into steps: a length byte then that many APDU bytes; the length bytes
/// `FD`, `FE`, `FF` are warm reset, power off and power on.
pub fn steps(mut data: &[u8]) -> Vec<Step<'_>> {
    let mut out = Vec::new();
    while let Some((&len, rest)) = data.split_first() {
        match len {
            0xFD => {
                out.push(Step::Reset);
                data = rest;
            }
            0xFE => {
                out.push(Step::PowerOff);
                data = rest;
            }
            0xFF => {
                out.push(Step::PowerOn);
                data = rest;
            }
            n => {
                let n = usize::from(n).min(rest.len());
                let (apdu, rest) = rest.split_at(n);
                out.push(Step::Apdu(apdu));
                data = rest;
            }
        }
    }
    out
}

/// Encodes steps as fuzz input (for seeding the corpus from golden scripts).
pub fn encode_steps(steps: &[Step<'_>]) -> Vec<u8> {
    let mut out = Vec::new();
    for step in steps {
        match step {
            Step::Reset => out.push(0xFD),
            Step::PowerOff => out.push(0xFE),
            Step::PowerOn => out.push(0xFF),
            Step::Apdu(apdu) => {
                let n = apdu.len().min(0xFC);
                out.push(n as u8);
                out.extend_from_slice(apdu.get(..n).unwrap_or_default());
            }
        }
    }
    out
}

/// Counters of every PIN on the card: (app, fid, left, max).
fn counters(card: &Card) -> Vec<(String, u16, u8, u8)> {
    let mut out = Vec::new();
    for df in card.dfs() {
        for ef in &df.files {
            if let EfBody::Pin(pin) = &ef.body {
                let c = pin.counter();
                out.push((df.app.to_string(), ef.fid.0, c.left(), c.max()));
            }
        }
    }
    out
}

/// The whole card as a state machine, driven by a sequence of APDUs and power events, with
/// invariants checked after every step:
/// * a powered card always answers at least a status word, and never more than `Ne` data
///   bytes for a command that parses;
/// * no retry counter exceeds its maximum, and counters only go down except by a
///   successful VERIFY or CHANGE of that key;
/// * a blocked key never verifies.
pub fn card(card: &mut Card, data: &[u8]) {
    card.power_on();
    for step in steps(data) {
        let before = counters(card);
        match step {
            Step::PowerOff => card.power_off(),
            Step::PowerOn => {
                card.power_on();
            }
            Step::Reset => {
                card.reset();
            }
            Step::Apdu(apdu) => {
                let response = card.transmit(apdu);
                if card.is_powered() {
                    assert!(
                        response.len() >= 2,
                        "a powered card always answers a status word"
                    );
                    if let Ok(cmd) = Command::parse(apdu) {
                        let ne = cmd.le().unwrap_or(0);
                        assert!(response.len() - 2 <= ne, "more data than Le allows");
                    }
                }
            }
        }
        let after = counters(card);
        let events = card.take_events();
        for ((app, fid, left_before, _), (_, _, left, max)) in before.iter().zip(&after) {
            assert!(left <= max, "{app} {fid:04X}: {left} tries left of {max}");
            let restored = events.iter().any(|e| match e {
                CardEvent::PinVerified { app: a, key } | CardEvent::PinChanged { app: a, key } => {
                    a.to_string() == *app && key.0 == *fid
                }
                _ => false,
            });
            if *left_before == 0 {
                assert!(!restored, "{app} {fid:04X} was blocked and then verified");
                assert_eq!(*left, 0, "{app} {fid:04X} came back from blocked");
            }
            if left > left_before {
                assert!(
                    restored,
                    "{app} {fid:04X} counter rose without a successful VERIFY"
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_round_trip() {
        let input = [0xFF, 0x04, 0x00, 0xA4, 0x00, 0x00, 0xFE, 0xFD, 0x02, 0x01];
        let steps = steps(&input);
        assert_eq!(steps.len(), 5);
        assert_eq!(
            encode_steps(&steps),
            [0xFF, 0x04, 0x00, 0xA4, 0x00, 0x00, 0xFE, 0xFD, 0x01, 0x01]
        );
    }
}
