//! Importing logs that other tools wrote into [`Transcript`] entries: what `mynasim import`
//! does with the log a user attaches to a bug report.
//!
//! | [`Format`] | what wrote it | module |
//! |---|---|---|
//! | `pcsc-spy` | pcsc-lite's `pcsc-spy` (with or without `-n`, `-t`) | [`pcsc_spy`] |
//! | `pcscd` | `pcscd --foreground --debug --apdu` (or its syslog/journal lines) | [`pcscd`] |
//! | `opensc` | OpenSC's debug log (`debug = 9` or `OPENSC_DEBUG=9`) | [`opensc`] |
//! | `jsonl` | mynasim's own records (`--record`, [`super::jsonl`]) | [`super::jsonl`] |
//! | `hex` | the `>>`/`<<` text form ([`super::text`]), what people paste into issues | [`super::text`] |
//!
//! Every importer streams: [`Entries`] reads one line at a time from a [`BufRead`], each line
//! at most [`MAX_LINE`] bytes and each APDU at most [`MAX_APDU`] bytes, and holds at most one
//! pending exchange per thread of the log, so a log of any size imports in bounded memory.
//! Whatever the input, the result is entries or an [`ImportError`] naming the line — never a
//! panic (each parser is a fuzz target: `crate::fuzzing::import`).
//!
//! Nothing is redacted here: the logs hold what was sent. The caller masks secrets
//! ([`super::Exchange::redact`]) before anything is shown or written.

pub mod opensc;
pub mod pcsc_spy;
pub mod pcscd;

use std::borrow::Cow;
use std::collections::VecDeque;
use std::io::{self, BufRead};

use super::jsonl::{self, Stamped};

use super::{Entry, Event, Exchange, Transcript, text};

/// The longest line read (256 KiB: an extended APDU as spaced hex is under 200 KiB).
pub const MAX_LINE: usize = 256 * 1024;

/// The longest APDU an importer accepts: an extended command (4 + 3 + 65 535 + 3 bytes).
pub const MAX_APDU: usize = 65_545;

/// A log format `mynasim import` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// pcsc-lite's `pcsc-spy` output.
    PcscSpy,
    /// pcscd's `--debug --apdu` log.
    Pcscd,
    /// OpenSC's debug log.
    Opensc,
    /// mynasim's JSON Lines record.
    Jsonl,
    /// The `>>`/`<<` text form.
    Hex,
}

impl Format {
    /// Every format, in the order the help lists them.
    pub const ALL: [Self; 5] = [
        Self::PcscSpy,
        Self::Pcscd,
        Self::Opensc,
        Self::Jsonl,
        Self::Hex,
    ];

    /// The name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Self::PcscSpy => "pcsc-spy",
            Self::Pcscd => "pcscd",
            Self::Opensc => "opensc",
            Self::Jsonl => "jsonl",
            Self::Hex => "hex",
        }
    }
}

impl std::str::FromStr for Format {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|f| f.name() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = Self::ALL.iter().map(|f| f.name()).collect();
                format!("unknown log format `{s}` (one of: {})", names.join(", "))
            })
    }
}

/// Why a log could not be imported: the line (1-based) and what is wrong there.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct ImportError {
    /// 1-based line number (the line being read when reading failed).
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

impl From<text::ParseError> for ImportError {
    fn from(e: text::ParseError) -> Self {
        Self {
            line: e.line,
            message: e.message,
        }
    }
}

/// One format's line-level parser: a state machine fed one line at a time.
trait LineParser {
    /// Reads line `line_no`; completed entries go to `out`.
    fn line(&mut self, line_no: usize, line: &str, out: &mut Vec<Entry>)
    -> Result<(), ImportError>;

    /// The end of the log; entries still pending go to `out`, or an error names where they
    /// began.
    fn finish(&mut self, out: &mut Vec<Entry>) -> Result<(), ImportError>;
}

/// The entries of a log, read as they are needed ([`entries`]).
pub struct Entries<R> {
    reader: R,
    parser: Box<dyn LineParser>,
    /// Whether lines are stripped of terminal colours first (every format but `jsonl`).
    plain: bool,
    buffer: Vec<u8>,
    line: usize,
    ready: VecDeque<Entry>,
    scratch: Vec<Entry>,
    done: bool,
}

impl<R> std::fmt::Debug for Entries<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Entries")
            .field("line", &self.line)
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

/// Reads a log of `format` from `reader`, one entry at a time. After the first error the
/// iterator ends.
pub fn entries<R: BufRead>(format: Format, reader: R) -> Entries<R> {
    entries_of_slot(format, reader, None)
}

/// [`entries`], keeping only the entries of `slot` where the log says which slot each entry
/// belongs to (mynasim's records); `None` keeps everything, and a record of several slots is
/// then an error.
pub fn entries_of_slot<R: BufRead>(format: Format, reader: R, slot: Option<u16>) -> Entries<R> {
    let parser: Box<dyn LineParser> = match format {
        Format::PcscSpy => Box::new(pcsc_spy::Parser::default()),
        Format::Pcscd => Box::new(pcscd::Parser::default()),
        Format::Opensc => Box::new(opensc::Parser::default()),
        Format::Jsonl => Box::new(Jsonl {
            only: slot,
            ..Jsonl::default()
        }),
        Format::Hex => Box::new(Hex::default()),
    };
    Entries {
        reader,
        parser,
        plain: format != Format::Jsonl,
        buffer: Vec::new(),
        line: 0,
        ready: VecDeque::new(),
        scratch: Vec::new(),
        done: false,
    }
}

/// Imports a whole log held in memory (tests, fuzzing, small pastes).
///
/// # Errors
/// The first line that is not part of the format, with its number.
pub fn import_str(format: Format, input: &str) -> Result<Transcript, ImportError> {
    entries(format, input.as_bytes()).collect()
}

impl<R: BufRead> Iterator for Entries<R> {
    type Item = Result<Entry, ImportError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(entry) = self.ready.pop_front() {
                return Some(Ok(entry));
            }
            if self.done {
                return None;
            }
            if let Err(e) = self.step() {
                self.done = true;
                self.ready.clear();
                return Some(Err(e));
            }
        }
    }
}

impl<R: BufRead> Entries<R> {
    /// Reads one line (or the end) and queues what it completes.
    fn step(&mut self) -> Result<(), ImportError> {
        self.line += 1;
        let line = self.line;
        let more = read_line(&mut self.reader, &mut self.buffer).map_err(|e| ImportError {
            line,
            message: match e {
                LineError::TooLong => format!("longer than {MAX_LINE} bytes"),
                LineError::Io(e) => format!("cannot read: {e}"),
            },
        })?;
        if !more {
            self.done = true;
            self.parser.finish(&mut self.scratch)?;
        } else {
            let raw = String::from_utf8_lossy(&self.buffer);
            let raw = raw.strip_suffix('\r').unwrap_or(&raw);
            let text = if self.plain {
                strip_colours(raw)
            } else {
                Cow::Borrowed(raw)
            };
            self.parser.line(line, &text, &mut self.scratch)?;
        }
        self.ready.extend(self.scratch.drain(..));
        Ok(())
    }
}

enum LineError {
    TooLong,
    Io(io::Error),
}

/// Reads one line without its `\n` into `buffer`; `false` at the end of the input. A line
/// longer than [`MAX_LINE`] is an error before more than that is held.
fn read_line<R: BufRead>(reader: &mut R, buffer: &mut Vec<u8>) -> Result<bool, LineError> {
    buffer.clear();
    let mut read_any = false;
    loop {
        let available = match reader.fill_buf() {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(LineError::Io(e)),
        };
        if available.is_empty() {
            return Ok(read_any);
        }
        read_any = true;
        let (chunk, used, end) = match available.iter().position(|b| *b == b'\n') {
            Some(at) => (available.get(..at).unwrap_or_default(), at + 1, true),
            None => (available, available.len(), false),
        };
        if buffer.len() + chunk.len() > MAX_LINE {
            return Err(LineError::TooLong);
        }
        buffer.extend_from_slice(chunk);
        reader.consume(used);
        if end {
            return Ok(true);
        }
    }
}

/// The line without ANSI terminal sequences (`ESC [ … letter`): pcsc-spy and pcscd colour
/// their output on a terminal, and users paste it as it was.
fn strip_colours(line: &str) -> Cow<'_, str> {
    if !line.contains('\u{1b}') {
        return Cow::Borrowed(line);
    }
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c != '\u{1b}' {
            out.push(c);
            continue;
        }
        if chars.clone().next() == Some('[') {
            chars.next();
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        }
    }
    Cow::Owned(out)
}

/// Hex bytes of a dump line (`00 A4 04 0C …` then maybe an ASCII column): the first `count`
/// whitespace-separated tokens, each exactly two hex digits. The count comes from the log's
/// own length field, so an ASCII column that looks like hex is never read as bytes.
fn dump_bytes(text: &str, count: usize, out: &mut Vec<u8>) -> Result<(), String> {
    let mut tokens = text.split_whitespace();
    for n in 0..count {
        let Some(token) = tokens.next() else {
            return Err(format!(
                "the dump line ends after {n} bytes, {count} expected"
            ));
        };
        out.push(hex_byte(token).ok_or_else(|| {
            format!(
                "`{}` is not a hex byte (byte {} of the line)",
                text::shorten(token),
                n + 1
            )
        })?);
    }
    Ok(())
}

/// Two hex digits as a byte.
fn hex_byte(token: &str) -> Option<u8> {
    if token.len() != 2 {
        return None;
    }
    u8::from_str_radix(token, 16).ok()
}

/// A byte count from a log, bounded by [`MAX_APDU`].
fn bounded_length(value: u64, what: &str) -> Result<usize, String> {
    usize::try_from(value)
        .ok()
        .filter(|n| *n <= MAX_APDU)
        .ok_or_else(|| format!("{what} of {value} bytes is longer than any APDU ({MAX_APDU})"))
}

/// An exchange entry.
fn exchange(command: Vec<u8>, response: Vec<u8>, elapsed: std::time::Duration) -> Entry {
    Entry {
        event: Event::Exchange(Exchange::new(command, response)),
        elapsed,
    }
}

/// The `hex` format: the transcript text form, line by line.
#[derive(Default)]
struct Hex(text::Reader);

impl LineParser for Hex {
    fn line(
        &mut self,
        line_no: usize,
        line: &str,
        out: &mut Vec<Entry>,
    ) -> Result<(), ImportError> {
        out.extend(self.0.line(line_no, line)?);
        Ok(())
    }

    fn finish(&mut self, _out: &mut Vec<Entry>) -> Result<(), ImportError> {
        Ok(self.0.finish()?)
    }
}

/// The `jsonl` format: mynasim's record. A record of several slots cannot become one
/// transcript (two cards' exchanges interleaved), so a second slot is an error.
#[derive(Default)]
struct Jsonl {
    reader: jsonl::Reader,
    /// The slot asked for.
    only: Option<u16>,
    /// The first slot seen, and its line.
    slot: Option<(u16, usize)>,
}

impl LineParser for Jsonl {
    fn line(
        &mut self,
        line_no: usize,
        line: &str,
        out: &mut Vec<Entry>,
    ) -> Result<(), ImportError> {
        let Some(Stamped { slot, entry, .. }) = self.reader.line(line_no, line)? else {
            return Ok(());
        };
        if let (Some(only), Some(slot)) = (self.only, slot) {
            if slot == only {
                out.push(entry);
            }
            return Ok(());
        }
        if let Some(slot) = slot {
            match self.slot {
                None => self.slot = Some((slot, line_no)),
                Some((first, first_line)) if first != slot => {
                    return Err(ImportError {
                        line: line_no,
                        message: format!(
                            "slot {slot}, but line {first_line} was slot {first}: a record of \
                             several cards imports one slot at a time (`mynasim import --slot N`)"
                        ),
                    });
                }
                Some(_) => {}
            }
        }
        out.push(entry);
        Ok(())
    }

    fn finish(&mut self, _out: &mut Vec<Entry>) -> Result<(), ImportError> {
        Ok(self.reader.finish()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_have_names_for_the_command_line() {
        for format in Format::ALL {
            assert_eq!(format.name().parse::<Format>(), Ok(format));
        }
        let e = "pcsc_spy".parse::<Format>().unwrap_err();
        assert!(e.contains("pcsc-spy, pcscd, opensc, jsonl, hex"), "{e}");
    }

    #[test]
    fn lines_are_bounded_before_they_are_held() {
        let long = format!(">> {}\n<< 90 00\n", "00".repeat(MAX_LINE));
        let e = import_str(Format::Hex, &long).unwrap_err();
        assert_eq!(e.line, 1);
        assert!(e.message.contains("longer than"), "{e}");
        // A line of exactly the limit is fine (and so is a last line without a newline).
        let mut buffer = Vec::new();
        let exact = "a".repeat(MAX_LINE);
        let mut reader = exact.as_bytes();
        assert!(matches!(read_line(&mut reader, &mut buffer), Ok(true)));
        assert_eq!(buffer.len(), MAX_LINE);
        assert!(matches!(read_line(&mut reader, &mut buffer), Ok(false)));
    }

    #[test]
    fn hex_pastes_import_with_windows_line_ends_and_colours() {
        let t = import_str(
            Format::Hex,
            "\u{1b}[32m>> 00A4020C020018\u{1b}[0m\r\n<< 9000\r\n",
        )
        .unwrap();
        assert_eq!(t.to_text(false), ">> 00 A4 02 0C 02 00 18\n<< 90 00\n");
        let e = import_str(Format::Hex, "# fine\n>> 00 A4\n").unwrap_err();
        assert_eq!((e.line, e.message.contains("no `<<`")), (2, true), "{e}");
    }

    #[test]
    fn jsonl_imports_one_slot_at_a_time() {
        let record = format!(
            "{}\n{}\n{}\n",
            jsonl::header(),
            r#"{"event":"exchange","slot":0,"command":"00 A4","response":"90 00"}"#,
            r#"{"event":"exchange","slot":1,"command":"00 B0","response":"6A 82"}"#
        );
        let e = import_str(Format::Jsonl, &record).unwrap_err();
        assert_eq!(e.line, 3);
        assert!(e.message.contains("--slot"), "{e}");
        let one: Transcript = entries_of_slot(Format::Jsonl, record.as_bytes(), Some(1))
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(one.to_text(false), ">> 00 B0\n<< 6A 82\n");
    }

    #[test]
    fn dump_lines_read_only_the_counted_bytes() {
        let mut out = Vec::new();
        // The ASCII column "AB CD" looks like hex; the count stops before it.
        dump_bytes("41 42 20 43 44 AB CD", 5, &mut out).unwrap();
        assert_eq!(out, [0x41, 0x42, 0x20, 0x43, 0x44]);
        assert!(
            dump_bytes("41 4", 2, &mut out)
                .unwrap_err()
                .contains("not a hex byte")
        );
        assert!(
            dump_bytes("41", 2, &mut out)
                .unwrap_err()
                .contains("ends after 1")
        );
        assert!(bounded_length(70_000, "a command").is_err());
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    /// Lines that look like each format's own, shuffled and cut: the parsers' hard cases.
    fn log_line() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("SCardTransmit".to_owned()),
            Just(" i bSendLength 0x00000002 (2)".to_owned()),
            Just(" i bSendBuffer".to_owned()),
            Just(" i  0000 00 A4                   ..".to_owned()),
            Just(" o bRecvLength 0x00000002 (2)".to_owned()),
            Just(" o bRecvBuffer".to_owned()),
            Just(" o  0000 90 00                   ..".to_owned()),
            Just(" => Command successful. (SCARD_S_SUCCESS [0x00000000])  [0.000469]".to_owned()),
            Just(" (t1) SCardTransmit".to_owned()),
            Just("00000002 APDU: 00 A4 04 0C".to_owned()),
            Just("00000251 SW: 6A 82".to_owned()),
            Just("00000003 Card ATR: 3B 88".to_owned()),
            Just("Outgoing APDU (2 bytes):".to_owned()),
            Just("Incoming APDU (2 bytes):".to_owned()),
            Just("00 A4 ..".to_owned()),
            Just(">> 00 A4".to_owned()),
            Just("<< 90 00".to_owned()),
            Just(jsonl::header()),
            Just(r#"{"event":"exchange","command":"00 A4","response":"90 00"}"#.to_owned()),
            Just(String::new()),
            "[ -~]{0,40}",
        ]
    }

    proptest! {
        /// Any input gives a transcript or an error whose line is one of the input's (or
        /// the one after its end); writing what imports reads back (crate::fuzzing::import).
        #[test]
        fn any_input_gives_a_transcript_or_a_positioned_error(
            selector in 0u8..5,
            lines in proptest::collection::vec(log_line(), 0..24),
        ) {
            let log = lines.join("\n");
            let format = Format::ALL[usize::from(selector)];
            match import_str(format, &log) {
                Ok(_) => {}
                Err(e) => prop_assert!(
                    (1..=lines.len() + 1).contains(&e.line),
                    "{}: {e} for {} lines", format.name(), lines.len()
                ),
            }
            let mut data = vec![selector];
            data.extend_from_slice(log.as_bytes());
            crate::fuzzing::import(&data);
        }
    }
}
