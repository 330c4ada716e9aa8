//! OpenSC's debug log (`debug = 9;` in opensc.conf, or `OPENSC_DEBUG=9`), its APDU lines.
//! OpenSC 0.20 and later (`sc_apdu_log` through `sc_debug_hex`, src/libopensc/apdu.c and
//! log.c) write a header line, then a hex dump of 16 bytes a line with an ASCII column:
//!
//! ```text
//! P:21727; T:0x1397… 19:54:41.767 [pkcs15-tool] reader-pcsc.c:326:pcsc_transmit:
//! Outgoing APDU (12 bytes):
//! 00 A4 04 00 07 62 76 01 FF 00 00 00 .....bv.....
//!
//! Incoming APDU (2 bytes):
//! 6A 82 j.
//! ```
//!
//! Older releases wrote `Outgoing APDU data [   12 bytes] =====…` and a line of `=` after
//! the dump; both headers read. An outgoing APDU and the incoming one after it are an
//! exchange; an outgoing APDU followed by another (the transmit failed) is an exchange the
//! card did not answer. The bytes are read by the header's count, so an ASCII column that
//! looks like hex is never read as bytes. OpenSC's log has no per-APDU timing here
//! (elapsed times are zero). Every other line is skipped.

use std::time::Duration;

use super::{Entry, ImportError, LineParser, bounded_length, dump_bytes, exchange};

/// OpenSC's line-level parser.
#[derive(Debug, Default)]
pub(super) struct Parser {
    /// A dump being read: its header's line, direction, byte count and the bytes so far.
    dump: Option<Dump>,
    /// A command waiting for its response: its line and bytes.
    pending: Option<(usize, Vec<u8>)>,
}

#[derive(Debug)]
struct Dump {
    line: usize,
    outgoing: bool,
    length: usize,
    bytes: Vec<u8>,
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
        if let Some(dump) = &mut self.dump {
            if line.trim().is_empty() {
                return Err(err(format!(
                    "the APDU dump of line {} ends after {} of its {} bytes",
                    dump.line,
                    dump.bytes.len(),
                    dump.length
                )));
            }
            let left = dump.length.saturating_sub(dump.bytes.len()).min(16);
            dump_bytes(line, left, &mut dump.bytes).map_err(err)?;
            if dump.bytes.len() >= dump.length {
                self.complete(out);
            }
            return Ok(());
        }
        let trimmed = line.trim_start();
        let (outgoing, rest) = if let Some(rest) = trimmed.strip_prefix("Outgoing APDU") {
            (true, rest)
        } else if let Some(rest) = trimmed.strip_prefix("Incoming APDU") {
            (false, rest)
        } else {
            return Ok(());
        };
        let digits: String = rest
            .chars()
            .skip_while(|c| !c.is_ascii_digit())
            .take_while(char::is_ascii_digit)
            .collect();
        let length = digits
            .parse::<u64>()
            .map_err(|_| err("an APDU header without its byte count".to_owned()))
            .and_then(|n| bounded_length(n, "an APDU").map_err(err))?;
        if outgoing && length == 0 {
            return Err(err("an outgoing APDU of 0 bytes".to_owned()));
        }
        if !outgoing && self.pending.is_none() {
            return Err(err(
                "an incoming APDU without an outgoing one before it".to_owned()
            ));
        }
        let dump = Dump {
            line: line_no,
            outgoing,
            length,
            bytes: Vec::new(),
        };
        if length == 0 {
            self.dump = Some(dump);
            self.complete(out);
        } else {
            self.dump = Some(dump);
        }
        Ok(())
    }

    fn finish(&mut self, out: &mut Vec<Entry>) -> Result<(), ImportError> {
        if let Some(dump) = self.dump.take() {
            return Err(ImportError {
                line: dump.line,
                message: format!(
                    "the log ends inside this APDU dump ({} of {} bytes)",
                    dump.bytes.len(),
                    dump.length
                ),
            });
        }
        if let Some((_, unanswered)) = self.pending.take() {
            out.push(exchange(unanswered, Vec::new(), Duration::ZERO));
        }
        Ok(())
    }
}

impl Parser {
    /// A dump is complete: an outgoing one waits for its answer, an incoming one ends the
    /// exchange.
    fn complete(&mut self, out: &mut Vec<Entry>) {
        let Some(dump) = self.dump.take() else {
            return;
        };
        if dump.outgoing {
            if let Some((_, unanswered)) = self.pending.take() {
                out.push(exchange(unanswered, Vec::new(), Duration::ZERO));
            }
            self.pending = Some((dump.line, dump.bytes));
        } else if let Some((_, command)) = self.pending.take() {
            out.push(exchange(command, dump.bytes, Duration::ZERO));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Format, import_str};

    /// A real capture: OpenSC 0.23's debug log (`debug = 9`) of `pkcs15-tool --verify-pin
    /// --auth-id 01 --pin 1234 --read-certificate 01` against `mynasim serve` (trimmed).
    const CAPTURE: &str = include_str!("testdata/opensc.log");

    #[test]
    fn a_real_capture_imports_every_apdu() {
        let t = import_str(Format::Opensc, CAPTURE).unwrap();
        let outgoing = CAPTURE
            .lines()
            .filter(|l| l.starts_with("Outgoing APDU"))
            .count();
        assert!(outgoing > 10);
        assert_eq!(t.exchanges().count(), outgoing);
        assert!(
            t.exchanges().all(|x| x.sw().is_some()),
            "every APDU answered"
        );
        assert!(
            t.exchanges()
                .any(|x| x.command == [0x00, 0x20, 0x00, 0x80, 0x04, 0x31, 0x32, 0x33, 0x34])
        );
        let long = t.exchanges().find(|x| x.response.len() > 200).unwrap();
        assert_eq!(long.response.get(..4), Some(&[0x30, 0x82, 0x06, 0x77][..]));
    }

    #[test]
    fn the_old_header_and_unanswered_commands() {
        let log = "Outgoing APDU data [    4 bytes] =====\n00 A4 04 0C ....\n=====\n\
                   Outgoing APDU (1 byte):\n00 .\n\nIncoming APDU (2 bytes):\n90 00 ..\n";
        let t = import_str(Format::Opensc, log).unwrap();
        assert_eq!(t.to_text(false), ">> 00 A4 04 0C\n<<\n>> 00\n<< 90 00\n");
    }

    #[test]
    fn broken_dumps_name_their_line() {
        let sixteen = "00 A4 04 0C 0A D3 92 F0 00 26 01 00 00 00 01 00 ................";
        let cut = format!("Outgoing APDU (20 bytes):\n{sixteen}\n");
        let cases = [
            (
                "Incoming APDU (2 bytes):\n90 00\n",
                1,
                "without an outgoing",
            ),
            (&format!("{cut}\n") as &str, 3, "ends after 16 of its 20"),
            (&cut, 1, "ends inside"),
            (
                "Outgoing APDU (4 bytes):\n00 A4\n",
                2,
                "ends after 2 bytes, 4 expected",
            ),
            ("Outgoing APDU (2 bytes):\n00 ZZ\n", 2, "not a hex byte"),
            ("Outgoing APDU (bytes):\n", 1, "without its byte count"),
            ("Outgoing APDU (0 bytes):\n", 1, "of 0 bytes"),
            (
                "Outgoing APDU (99999999 bytes):\n",
                1,
                "longer than any APDU",
            ),
        ];
        for (log, line, needle) in cases {
            let e = import_str(Format::Opensc, log).unwrap_err();
            assert_eq!(e.line, line, "{log}: {e}");
            assert!(e.message.contains(needle), "{log}: {e}");
        }
    }
}
