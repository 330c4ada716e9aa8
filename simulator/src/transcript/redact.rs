//! Redaction: the secrets of VERIFY, CHANGE REFERENCE DATA and CHANGE KEY never reach a log,
//! a report or a file unless the user asks for them.
//!
//! A command is secret-bearing when its INS is one of those instructions' in *any* class
//! ([`Instruction::ins_carries_secret`]): a VERIFY the card refuses for its class (`80 20`)
//! still carries a PIN. Its data field is masked when the command parses; when it does not
//! (a wrong Lc, a case mismatch), everything after the header and the first length byte is
//! masked, since nobody can say where its data starts.

use crate::apdu::{Command, Instruction};
use crate::hex;

/// The byte that stands for a masked secret byte (`*`), shown as `**`.
pub const MASK: u8 = b'*';

/// Where a command's secret sits, or `None` for a command that carries none.
pub fn secret_range(apdu: &[u8]) -> Option<std::ops::Range<usize>> {
    let ins = *apdu.get(1)?;
    if !Instruction::ins_carries_secret(ins) {
        return None;
    }
    let Ok(cmd) = Command::parse(apdu) else {
        // Malformed: the header and one length byte stay visible, the rest is masked.
        return (apdu.len() > 5).then_some(5..apdu.len());
    };
    let data_len = cmd.data().len();
    if data_len == 0 {
        // A retry query (4 bytes) or a case-2 header carries nothing; anything longer that
        // parses without data (`00 20 80 80 00 30 00`: an extended Le, or a PIN behind a zero
        // Lc) is masked after the first length byte, as a malformed command is.
        return (apdu.len() > 5).then_some(5..apdu.len());
    }
    // The data field sits right after Lc; find it by length from the end.
    let le_len = match (cmd.case().has_le(), cmd.case().is_extended()) {
        (false, _) => 0,
        (true, false) => 1,
        (true, true) => 2,
    };
    let start = apdu.len().checked_sub(le_len + data_len)?;
    Some(start..start + data_len)
}

/// Overwrites a command's secret with [`MASK`]; whether there was one.
pub fn mask(apdu: &mut [u8]) -> bool {
    match secret_range(apdu).and_then(|range| apdu.get_mut(range)) {
        Some(secret) => {
            secret.fill(MASK);
            true
        }
        None => false,
    }
}

/// The command as spaced hex, the secret shown as `**` per byte when `redact`. Header, Lc
/// and Le stay visible.
pub fn format_command(apdu: &[u8], redact: bool) -> String {
    let Some(range) = redact.then(|| secret_range(apdu)).flatten() else {
        return hex::spaced(apdu);
    };
    let mut out = hex::spaced(apdu.get(..range.start).unwrap_or_default());
    for _ in range.clone() {
        out.push_str(" **");
    }
    let tail = apdu.get(range.end..).unwrap_or_default();
    if !tail.is_empty() {
        out.push(' ');
        out.push_str(&hex::spaced(tail));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_only_secrets() {
        let verify = [0x00, 0x20, 0x00, 0x80, 0x04, 0x31, 0x32, 0x33, 0x34];
        assert_eq!(format_command(&verify, true), "00 20 00 80 04 ** ** ** **");
        assert_eq!(format_command(&verify, false), "00 20 00 80 04 31 32 33 34");
        assert_eq!(
            format_command(&[0x00, 0x20, 0x00, 0x80], true),
            "00 20 00 80"
        );
        assert_eq!(
            format_command(&[0x80, 0x32, 0x00, 0x80, 0x02, 0x31, 0x32, 0x00], true),
            "80 32 00 80 02 ** ** 00"
        );
        assert_eq!(
            format_command(&[0x00, 0xA4, 0x02, 0x0C, 0x02, 0x00, 0x18], true),
            "00 A4 02 0C 02 00 18"
        );
    }

    /// A secret in a command the card refuses is still a secret: a wrong class, a wrong Lc.
    #[test]
    fn malformed_and_misclassed_commands_are_masked_too() {
        assert_eq!(
            format_command(
                &[0x80, 0x20, 0x00, 0x80, 0x04, 0x31, 0x32, 0x33, 0x34],
                true
            ),
            "80 20 00 80 04 ** ** ** **"
        );
        assert_eq!(
            format_command(
                &[0x00, 0x20, 0x00, 0x80, 0x05, 0x31, 0x32, 0x33, 0x34],
                true
            ),
            "00 20 00 80 05 ** ** ** **"
        );
        assert_eq!(
            format_command(&[0x00, 0x24, 0x01, 0x80, 0x31, 0x32], true),
            "00 24 01 80 31 **"
        );
        // Found by the property below: a zero Lc makes the rest parse as an extended Le.
        assert_eq!(
            format_command(&[0x00, 0x20, 0x80, 0x80, 0x00, 0x30, 0x00], true),
            "00 20 80 80 00 ** **"
        );
        assert_eq!(
            format_command(&[0x00, 0x20, 0x00, 0x80], true),
            "00 20 00 80"
        );
        assert_eq!(
            format_command(&[0x00, 0x20, 0x00, 0x80, 0x00], true),
            "00 20 00 80 00"
        );
        let mut apdu = vec![0x00, 0x20, 0x00, 0x80, 0x02, 0x31, 0x32];
        assert!(mask(&mut apdu));
        assert_eq!(apdu, [0x00, 0x20, 0x00, 0x80, 0x02, MASK, MASK]);
        assert!(!mask(&mut [0x00, 0xB0, 0x00, 0x00, 0x04]));
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;
    use crate::transcript::Exchange;

    /// A secret-bearing command of any shape: a VERIFY, CHANGE REFERENCE DATA or CHANGE KEY
    /// header in any class the card accepts (interindustry or proprietary, any channel and
    /// SM bits), P1/P2 outside the secret's alphabet, the secret (letters and digits, as
    /// PINs and passwords are), and a length byte that is right or wrong and an optional Le.
    fn command() -> impl Strategy<Value = (Vec<u8>, Vec<u8>)> {
        (
            prop_oneof![0x00u8..=0x1F, 0x80u8..=0x9F],
            prop_oneof![Just(0x20u8), Just(0x24), Just(0x32)],
            0x80u8..=0xFF,
            0x80u8..=0xFF,
            proptest::collection::vec(0x30u8..=0x5A, 1..=16),
            proptest::option::of(0x00u8..=0x2F),
            proptest::option::of(0x00u8..=0x2F),
        )
            .prop_map(|(cla, ins, p1, p2, secret, wrong_lc, le)| {
                let lc = wrong_lc.unwrap_or(u8::try_from(secret.len()).unwrap_or(0));
                let mut apdu = vec![cla, ins, p1, p2, lc];
                apdu.extend_from_slice(&secret);
                apdu.extend(le);
                (apdu, secret)
            })
    }

    proptest! {
        /// Whatever its shape, a secret-bearing command never shows its secret: not in the
        /// text form (logs, transcripts, reports), not in the bytes a JSON report writes.
        #[test]
        fn no_output_shows_a_secret((apdu, secret) in command()) {
            // From P1 on: INS `32` (CHANGE KEY) is itself a byte of the secrets' alphabet
            // (`2`), and no other header byte is.
            let after_ins = |text: &str| text.get(6..).unwrap_or_default().to_owned();
            let shown = format_command(&apdu, true);
            prop_assert!(!after_ins(&shown).contains(&hex::spaced(&secret)), "{shown}");
            let mut x = Exchange::new(apdu.clone(), vec![0x90, 0x00]);
            x.redact();
            prop_assert!(x.redacted);
            prop_assert!(
                !x.command
                    .get(2..)
                    .unwrap_or_default()
                    .windows(secret.len())
                    .any(|w| w == secret.as_slice()),
                "{}",
                hex::spaced(&x.command)
            );
            prop_assert!(!after_ins(&x.format_command(false)).contains(&hex::spaced(&secret)));
            // The header stays readable.
            prop_assert!(shown.starts_with(&hex::spaced(apdu.get(..4).unwrap_or_default())));
        }
    }
}
