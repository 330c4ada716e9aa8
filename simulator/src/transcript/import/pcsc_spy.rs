//! pcsc-spy's output (pcsc-lite, Debian `libpcsclite-dev`; `pcsc-spy [-n] [-t] [FIFO]`):
//! one block per PC/SC call, its name on a line of its own, then `i` (in) and `o` (out)
//! arguments, then a `=>` result line with the call's duration in seconds:
//!
//! ```text
//! SCardTransmit
//!  i hCard: 0x3DCF0BF4
//!  i bSendLength 0x0000000C (12)
//!  i bSendBuffer
//!  i  0000 00 A4 04 00 07 62 76 01 FF 00 00 00             .....bv.....
//!  o bRecvLength 0x00000002 (2)
//!  o bRecvBuffer
//!  o  0000 6A 82                                           j.
//!  => Command successful. (SCARD_S_SUCCESS [0x00000000])  [0.000469]
//! ```
//!
//! Only `SCardTransmit` blocks become entries (an exchange each, its elapsed time the call's
//! duration); a transmit whose result is not `SCARD_S_SUCCESS` is an exchange the card did not
//! answer. The buffers are hex dumps of 16 bytes a line followed by an ASCII column, so the
//! bytes are read by count (`bSendLength`, `bRecvLength`), never by guessing where the
//! ASCII starts. With `-t` every line starts with the thread (` (t0) `) and calls of different
//! threads interleave: each thread has its own pending call. Colours (without `-n`) are
//! stripped before parsing. Everything else (other calls, the closing statistics) is skipped.

use std::time::Duration;

use super::{Entry, ImportError, LineParser, bounded_length, dump_bytes, exchange, text};

/// The most threads tracked at once (pcscd's default limit is 200 client threads).
const MAX_THREADS: usize = 1024;

/// pcsc-spy's line-level parser.
#[derive(Debug, Default)]
pub(super) struct Parser {
    /// The open `SCardTransmit` of each thread (`""` without `-t`).
    threads: Vec<(String, Transmit)>,
}

/// Which buffer the dump lines that follow belong to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Buffer {
    Send,
    Recv,
}

/// An `SCardTransmit` block being read.
#[derive(Debug)]
struct Transmit {
    line: usize,
    send_len: Option<usize>,
    send: Vec<u8>,
    recv_len: Option<usize>,
    recv: Vec<u8>,
    reading: Option<Buffer>,
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
        let (thread, rest) = split_thread(line);
        if rest.trim().is_empty() {
            return Ok(());
        }
        let open = self.threads.iter().position(|(t, _)| t == thread);
        if !rest.starts_with(' ') {
            // A call's name (or the statistics at the end): any open transmit of this
            // thread is cut off.
            if let Some(at) = open {
                let (_, transmit) = self.threads.swap_remove(at);
                return Err(err(format!(
                    "the SCardTransmit on line {} has no `=>` result line before `{}`",
                    transmit.line,
                    text::shorten(rest.trim())
                )));
            }
            if rest.trim_end() == "SCardTransmit" {
                if self.threads.len() >= MAX_THREADS {
                    return Err(err(format!(
                        "more than {MAX_THREADS} threads with an open SCardTransmit"
                    )));
                }
                self.threads.push((
                    thread.to_owned(),
                    Transmit {
                        line: line_no,
                        send_len: None,
                        send: Vec::new(),
                        recv_len: None,
                        recv: Vec::new(),
                        reading: None,
                    },
                ));
            }
            return Ok(());
        }
        let Some(at) = open else {
            return Ok(());
        };
        let Some((_, transmit)) = self.threads.get_mut(at) else {
            return Ok(());
        };
        if let Some(result) = rest.trim_start().strip_prefix("=>") {
            let (_, transmit) = self.threads.swap_remove(at);
            out.push(transmit.finish(result).map_err(err)?);
            return Ok(());
        }
        transmit.argument(rest).map_err(err)
    }

    fn finish(&mut self, _out: &mut Vec<Entry>) -> Result<(), ImportError> {
        match self.threads.iter().map(|(_, t)| t.line).min() {
            Some(line) => Err(ImportError {
                line,
                message: "the log ends inside this SCardTransmit (no `=>` result line)".to_owned(),
            }),
            None => Ok(()),
        }
    }
}

/// ` (t3) rest` → (`t3`, `rest`); a line without a thread → (``, line).
fn split_thread(line: &str) -> (&str, &str) {
    let trimmed = line.trim_start();
    if let Some(inner) = trimmed.strip_prefix("(t")
        && let Some((id, rest)) = inner.split_once(')')
        && !id.is_empty()
        && id.bytes().all(|b| b.is_ascii_digit())
    {
        return (id, rest.strip_prefix(' ').unwrap_or(rest));
    }
    ("", line)
}

impl Transmit {
    /// One ` i …` or ` o …` line.
    fn argument(&mut self, rest: &str) -> Result<(), String> {
        let (direction, body) = match rest.strip_prefix(" i ") {
            Some(body) => (Buffer::Send, body),
            None => match rest.strip_prefix(" o ") {
                Some(body) => (Buffer::Recv, body),
                None => return Ok(()),
            },
        };
        if let Some(dump) = body.strip_prefix(' ') {
            // ` i  0000 00 A4 …`: a dump line (or ` i  NULL`).
            if dump.trim() == "NULL" || self.reading != Some(direction) {
                return Ok(());
            }
            return self.dump(direction, dump);
        }
        let name = body.split([':', ' ']).next().unwrap_or_default();
        match (direction, name) {
            (Buffer::Send, "bSendLength") => self.send_len = Some(length(body, "bSendLength")?),
            (Buffer::Recv, "bRecvLength") => self.recv_len = Some(length(body, "bRecvLength")?),
            (Buffer::Send, "bSendBuffer") => self.reading = Some(Buffer::Send),
            (Buffer::Recv, "bRecvBuffer") => self.reading = Some(Buffer::Recv),
            _ => self.reading = None,
        }
        Ok(())
    }

    /// `0010 00 …  ascii`: the offset, then up to 16 bytes.
    fn dump(&mut self, direction: Buffer, dump: &str) -> Result<(), String> {
        let (declared, bytes, name) = match direction {
            Buffer::Send => (self.send_len, &mut self.send, "bSendBuffer"),
            Buffer::Recv => (self.recv_len, &mut self.recv, "bRecvBuffer"),
        };
        let Some(declared) = declared else {
            return Err(format!("{name} before its length"));
        };
        let dump = dump.trim_start();
        let (offset, rest) = dump.split_once(' ').unwrap_or((dump, ""));
        let offset = usize::from_str_radix(offset, 16)
            .map_err(|_| format!("`{}` is not a dump offset", text::shorten(offset)))?;
        if offset != bytes.len() {
            return Err(format!(
                "{name} dump line at offset {offset:04X}, but {} bytes were read before it",
                bytes.len()
            ));
        }
        let left = declared.saturating_sub(bytes.len());
        if left == 0 {
            return Err(format!(
                "{name} has more bytes than its length ({declared})"
            ));
        }
        dump_bytes(rest, left.min(16), bytes)
    }

    /// The `=>` line: `Command successful. (SCARD_S_SUCCESS [0x00000000])  [0.000469]`.
    fn finish(self, result: &str) -> Result<Entry, String> {
        let elapsed = result
            .rsplit_once('[')
            .and_then(|(_, t)| t.trim().strip_suffix(']'))
            .and_then(|t| t.parse::<f64>().ok())
            .and_then(|s| Duration::try_from_secs_f64(s).ok())
            .unwrap_or_default();
        let check = |name: &str, declared: Option<usize>, got: usize| match declared {
            Some(n) if n == got => Ok(()),
            Some(n) => Err(format!("{name} holds {got} bytes, its length says {n}")),
            None => Err(format!(
                "the SCardTransmit on line {} has no {name}",
                self.line
            )),
        };
        check("bSendBuffer", self.send_len, self.send.len())?;
        if self.send.is_empty() {
            return Err("an SCardTransmit with an empty command".to_owned());
        }
        if !result.contains("SCARD_S_SUCCESS") {
            // The call failed (card removed, reset, timeout): nothing came back.
            return Ok(exchange(self.send, Vec::new(), elapsed));
        }
        check("bRecvBuffer", self.recv_len, self.recv.len())?;
        Ok(exchange(self.send, self.recv, elapsed))
    }
}

/// `bSendLength 0x0000000C (12)`: the number in parentheses (or the hex before it).
fn length(body: &str, name: &str) -> Result<usize, String> {
    let value = body
        .rsplit_once('(')
        .and_then(|(_, n)| n.trim().strip_suffix(')'))
        .and_then(|n| n.parse::<u64>().ok())
        .or_else(|| {
            body.split_whitespace()
                .find_map(|t| t.strip_prefix("0x"))
                .and_then(|h| u64::from_str_radix(h, 16).ok())
        })
        .ok_or_else(|| format!("`{}` has no length", text::shorten(body)))?;
    bounded_length(value, name)
}

#[cfg(test)]
mod tests {
    use super::super::{Format, import_str};

    /// A real capture: `pkcs15-tool --verify-pin --auth-id 01 --pin 1234 --read-certificate
    /// 01` against `mynasim serve` through a private pcscd, OpenSC loading libpcscspy in
    /// place of libpcsclite, written by `pcsc-spy -n` (trimmed to its first calls).
    const CAPTURE: &str = include_str!("testdata/pcsc-spy.log");

    #[test]
    fn a_real_capture_imports_every_transmit() {
        let t = import_str(Format::PcscSpy, CAPTURE).unwrap();
        let transmits = CAPTURE.lines().filter(|l| *l == "SCardTransmit").count();
        assert_eq!(t.exchanges().count(), transmits);
        let first = t.exchanges().next().unwrap();
        assert_eq!(
            first.command,
            [
                0x00, 0xA4, 0x04, 0x00, 0x07, 0x62, 0x76, 0x01, 0xFF, 0x00, 0x00, 0x00
            ]
        );
        assert_eq!(first.response, [0x6A, 0x82]);
        assert!(t.entries.iter().all(|e| !e.elapsed.is_zero()));
        // The PIN is in the log as sent; nothing here masks it (the caller does).
        assert!(
            t.exchanges()
                .any(|x| x.command == [0x00, 0x20, 0x00, 0x80, 0x04, 0x31, 0x32, 0x33, 0x34])
        );
        // A multi-line dump with an ASCII column full of hex-looking letters.
        let long = t.exchanges().find(|x| x.response.len() > 200).unwrap();
        assert_eq!(long.response.get(..4), Some(&[0x30, 0x82, 0x06, 0x77][..]));
    }

    #[test]
    fn threads_and_colours_are_understood() {
        let log = " (t0) \u{1b}[34mSCardTransmit\u{1b}[0m\n (t1) \u{1b}[34mSCardTransmit\u{1b}[0m\n\
                   (t1)  i bSendLength 0x00000002 (2)\n (t1)  i bSendBuffer\n (t1)  i  0000 00 B1   ..\n\
                   (t0)  i bSendLength 0x00000002 (2)\n (t0)  i bSendBuffer\n (t0)  i  0000 00 A0   ..\n\
                   (t0)  o bRecvLength 0x00000002 (2)\n (t0)  o bRecvBuffer\n (t0)  o  0000 90 00   ..\n\
                   (t0)  => Command successful. (SCARD_S_SUCCESS [0x00000000])  [0.000100]\n\
                   (t1)  => Card was removed. (SCARD_W_REMOVED_CARD [0x80100069])  [0.000200]\n";
        let t = import_str(Format::PcscSpy, log).unwrap();
        assert_eq!(t.to_text(false), ">> 00 A0\n<< 90 00\n>> 00 B1\n<<\n");
    }

    #[test]
    fn broken_blocks_name_their_line() {
        let head = "SCardTransmit\n i bSendLength 0x00000002 (2)\n i bSendBuffer\n";
        let cases = [
            (
                format!("{head} i  0000 00 A4\nSCardStatus\n"),
                5,
                "has no `=>`",
            ),
            (format!("{head} i  0000 00 A4\n"), 1, "ends inside"),
            (format!("{head} i  0000 00 G4\n"), 4, "not a hex byte"),
            (format!("{head} i  0000 00\n"), 4, "ends after 1"),
            (format!("{head} i  0010 00 A4\n"), 4, "offset 0010"),
            (
                format!("{head} i  0000 00 A4\n i  0002 00\n"),
                5,
                "more bytes than its length",
            ),
            (
                "SCardTransmit\n i bSendLength 0x00000000 (0)\n => (SCARD_E_TIMEOUT)\n".to_owned(),
                3,
                "empty command",
            ),
            (
                "SCardTransmit\n i bSendLength 0x01000000 (16777216)\n".to_owned(),
                2,
                "longer than any APDU",
            ),
            (
                "SCardTransmit\n i bSendBuffer\n i  0000 00\n".to_owned(),
                3,
                "before its length",
            ),
            (
                format!("{head} i  0000 00 A4\n => Command successful. (SCARD_S_SUCCESS)\n"),
                5,
                "has no bRecvBuffer",
            ),
            (
                format!(
                    "{head} i  0000 00 A4\n o bRecvLength 0x00000002 (2)\n o bRecvBuffer\n => (SCARD_S_SUCCESS)\n"
                ),
                7,
                "holds 0 bytes",
            ),
        ];
        for (log, line, needle) in cases {
            let e = import_str(Format::PcscSpy, &log).unwrap_err();
            assert_eq!(e.line, line, "{log}: {e}");
            assert!(e.message.contains(needle), "{log}: {e}");
        }
    }
}
