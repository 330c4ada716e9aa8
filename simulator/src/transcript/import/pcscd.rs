//! pcscd's APDU log (`pcscd --foreground --debug --apdu`, pcsc-lite 1.9): every line starts
//! with the microseconds since pcscd's previous line, and `SCardTransmit` logs the command
//! and the whole response (data and status word) on two lines of their own:
//!
//! ```text
//! 00000002 winscard.c:1596:SCardTransmit() Send Protocol: T=1
//! 00000002 APDU: 00 A4 04 00 07 62 76 01 FF 00 00 00
//! 00000251 SW: 6A 82
//! 00000003 Card ATR: 3B 88 80 01 00 00 05 E0 B3 81 A1 00 7F
//! ```
//!
//! An `APDU:` and the `SW:` after it are an exchange, its elapsed time the `SW:` line's delta;
//! an `APDU:` followed by another `APDU:` (the transmit failed, pcscd logs no `SW:`) is an
//! exchange the card did not answer. `Card ATR:` (logged when pcscd powers the card up) is a
//! power-on. Lines may carry a prefix before the delta (syslog, `journalctl`:
//! `Dec 01 10:00:00 host pcscd[42]: 00000002 APDU: …`) and colours (`--color`). Every other
//! line is skipped. pcscd's log does not say which reader an APDU went to: a log of several
//! readers imports as one interleaved transcript.

use std::time::Duration;

use super::{Entry, Event, ImportError, LineParser, MAX_APDU, exchange};
use crate::hex;

/// pcscd's line-level parser.
#[derive(Debug, Default)]
pub(super) struct Parser {
    /// A command waiting for its `SW:` line: its line and bytes.
    pending: Option<(usize, Vec<u8>)>,
}

impl LineParser for Parser {
    fn line(
        &mut self,
        line_no: usize,
        line: &str,
        out: &mut Vec<Entry>,
    ) -> Result<(), ImportError> {
        let err = |message: String| ImportError {
            line: line_no,
            message,
        };
        let Some((delta, key, value)) = message(line) else {
            return Ok(());
        };
        let bytes = |what: &str| -> Result<Vec<u8>, ImportError> {
            if value.len() > MAX_APDU * 3 {
                return Err(err(format!(
                    "{what} longer than any APDU ({MAX_APDU} bytes)"
                )));
            }
            hex::decode(value).map_err(|e| err(format!("{what}: {e}")))
        };
        match key {
            "APDU" => {
                let command = bytes("APDU")?;
                if command.is_empty() {
                    return Err(err("`APDU:` without bytes".to_owned()));
                }
                if let Some((_, unanswered)) = self.pending.take() {
                    out.push(exchange(unanswered, Vec::new(), Duration::ZERO));
                }
                self.pending = Some((line_no, command));
            }
            "SW" => {
                let Some((_, command)) = self.pending.take() else {
                    return Err(err("`SW:` without an `APDU:` line before it".to_owned()));
                };
                let response = bytes("SW")?;
                out.push(exchange(command, response, Duration::from_micros(delta)));
            }
            _ => {
                let atr = bytes("Card ATR")?;
                if let Some((_, unanswered)) = self.pending.take() {
                    out.push(exchange(unanswered, Vec::new(), Duration::ZERO));
                }
                out.push(Entry::new(Event::PowerOn { atr }));
            }
        }
        Ok(())
    }

    fn finish(&mut self, out: &mut Vec<Entry>) -> Result<(), ImportError> {
        if let Some((_, unanswered)) = self.pending.take() {
            out.push(exchange(unanswered, Vec::new(), Duration::ZERO));
        }
        Ok(())
    }
}

/// `… 00000251 SW: 6A 82` → (251, `SW`, `6A 82`): a message this importer reads, right
/// after pcscd's delta field.
fn message(line: &str) -> Option<(u64, &'static str, &str)> {
    for key in ["APDU", "SW", "Card ATR"] {
        let marker = match key {
            "APDU" => "APDU: ",
            "SW" => "SW: ",
            _ => "Card ATR: ",
        };
        let mut from = 0;
        while let Some(found) = line.get(from..).and_then(|rest| rest.find(marker)) {
            let at = from + found;
            from = at + marker.len();
            let before = line.get(..at).unwrap_or_default();
            let Some(delta) = before.strip_suffix(' ') else {
                continue;
            };
            let digits = delta.rsplit(' ').next().unwrap_or_default();
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                continue;
            }
            let Ok(delta) = digits.parse::<u64>() else {
                continue;
            };
            return Some((delta, key, line.get(from..).unwrap_or_default()));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::super::{Format, import_str};
    use super::*;

    /// A real capture: `pcscd --foreground --debug --apdu` while `pkcs15-tool --verify-pin
    /// --auth-id 01 --pin 1234 --read-certificate 01` ran against `mynasim serve` (trimmed).
    const CAPTURE: &str = include_str!("testdata/pcscd.log");

    #[test]
    fn a_real_capture_imports_every_apdu() {
        let t = import_str(Format::Pcscd, CAPTURE).unwrap();
        let apdus = CAPTURE.lines().filter(|l| l.contains(" APDU: ")).count();
        assert_eq!(t.exchanges().count(), apdus);
        assert!(
            t.exchanges().all(|x| x.sw().is_some()),
            "every APDU answered"
        );
        assert!(
            t.exchanges()
                .any(|x| x.command == [0x00, 0x20, 0x00, 0x80, 0x04, 0x31, 0x32, 0x33, 0x34])
        );
        assert!(t.exchanges().any(|x| x.response.len() > 200));
    }

    #[test]
    fn syslog_prefixes_and_failed_transmits() {
        let log = "Dec 01 10:00:00 host pcscd[42]: 00000002 APDU: 00 A4 04 0C\n\
                   Dec 01 10:00:00 host pcscd[42]: 00000002 APDU: 00 B0 00 00 02\n\
                   Dec 01 10:00:00 host pcscd[42]: 00000120 SW: 12 34 90 00\n\
                   00000001 winscard.c:1596:SCardTransmit() Send Protocol: T=1\n\
                   the word APDU: here is not a message\n\
                   00000003 Card ATR: 3B 88 80 01 \n";
        let t = import_str(Format::Pcscd, log).unwrap();
        assert_eq!(
            t.to_text(false),
            ">> 00 A4 04 0C\n<<\n>> 00 B0 00 00 02\n<< 12 34 90 00\n-- power on, ATR 3B 88 80 01\n"
        );
        assert_eq!(
            t.entries.get(1).map(|e| e.elapsed),
            Some(Duration::from_micros(120))
        );
    }

    #[test]
    fn broken_lines_name_their_line() {
        let cases = [
            ("00000001 SW: 90 00\n", 1, "without an `APDU:`"),
            ("00000001 APDU: 00 A4 0\n", 1, "odd number"),
            ("00000001 APDU: \n", 1, "without bytes"),
            ("00000001 APDU: 00\n00000001 SW: 9X\n", 2, "not a hex digit"),
        ];
        for (log, line, needle) in cases {
            let e = import_str(Format::Pcscd, log).unwrap_err();
            assert_eq!(e.line, line, "{log}: {e}");
            assert!(e.message.contains(needle), "{log}: {e}");
        }
    }
}
