//! The text form of a transcript, version 1: one event per line, for people to read and
//! diff, and for tools to read back.
//!
//! | line | event |
//! |---|---|
//! | `>> 00 A4 02 0C 02 00 18` then `<< 90 00` | an exchange (`<<` alone: the card answered nothing) |
//! | `-- power on, ATR 3B 88 …` | cold start |
//! | `-- power off` | power removed |
//! | `-- warm reset, ATR 3B 88 …` | warm reset |
//! | `-- get ATR` | the reader's presence poll |
//! | `-- link: …` | something on the link no card answered |
//! | `# …` | a comment |
//!
//! Bytes are hex, spaced or not (`00A4` and `00 A4` both read); in a command, `**` is a
//! masked secret byte. Blank lines are ignored. Timings are not part of the text form, so
//! a deterministic card gives byte-identical files.

use std::fmt::Write as _;

use super::{Entry, Event, Exchange, Transcript, redact};
use crate::hex;

/// Why a line is not part of a transcript.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct ParseError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

/// Writes a transcript; secrets are masked when `redact` (and always when already masked).
pub fn format(transcript: &Transcript, redact: bool) -> String {
    let mut out = String::new();
    for entry in &transcript.entries {
        push_event(&mut out, &entry.event, redact);
    }
    out
}

/// Appends one event's lines.
pub fn push_event(out: &mut String, event: &Event, redact: bool) {
    match event {
        Event::PowerOn { atr } => {
            let _ = writeln!(out, "-- power on, ATR {}", hex::spaced(atr));
        }
        Event::PowerOff => out.push_str("-- power off\n"),
        Event::Reset { atr } => {
            let _ = writeln!(out, "-- warm reset, ATR {}", hex::spaced(atr));
        }
        Event::AtrPoll => out.push_str("-- get ATR\n"),
        Event::Link(what) => {
            for line in what.split('\n') {
                push_marked(out, "-- link:", line);
            }
        }
        Event::Comment(text) => {
            for line in text.split('\n') {
                push_marked(out, "#", line);
            }
        }
        Event::Exchange(x) => {
            let _ = writeln!(out, ">> {}", x.format_command(redact));
            if x.response.is_empty() {
                out.push_str("<<\n");
            } else {
                let _ = writeln!(out, "<< {}", hex::spaced(&x.response));
            }
        }
    }
}

/// `mark text`, or `mark` alone for empty text (no trailing space).
fn push_marked(out: &mut String, mark: &str, text: &str) {
    out.push_str(mark);
    if !text.is_empty() {
        out.push(' ');
        out.push_str(text);
    }
    out.push('\n');
}

/// Reads a transcript's text form.
///
/// # Errors
/// The first line that is not an event, with its number: unknown markers, bad hex, a `>>`
/// without its `<<`.
pub fn parse(input: &str) -> Result<Transcript, ParseError> {
    let mut reader = Reader::default();
    let mut transcript = Transcript::new();
    for (index, raw) in input.lines().enumerate() {
        if let Some(entry) = reader.line(index + 1, raw)? {
            transcript.entries.push(entry);
        }
    }
    reader.finish()?;
    Ok(transcript)
}

/// The text form read one line at a time, holding at most one command: what [`parse`] and
/// the streaming importer (`transcript::import`, format `hex`) both use.
#[derive(Debug, Default)]
pub struct Reader {
    /// A `>>` command waiting for its `<<`: its line, bytes and whether it was masked.
    pending: Option<(usize, Vec<u8>, bool)>,
}

impl Reader {
    /// Reads line `line_no` (1-based); an entry when the line completes one.
    ///
    /// # Errors
    /// The line is not part of a transcript, or breaks a `>>`/`<<` pair.
    pub fn line(&mut self, line_no: usize, raw: &str) -> Result<Option<Entry>, ParseError> {
        let line = raw.trim();
        if line.is_empty() {
            return Ok(None);
        }
        let err = |message: String| ParseError {
            line: line_no,
            message,
        };
        if let Some(rest) = marker(line, "<<") {
            let Some((_, command, redacted)) = self.pending.take() else {
                return Err(err("`<<` without a `>>` command before it".to_owned()));
            };
            let response = hex::decode(rest).map_err(|e| err(format!("response: {e}")))?;
            return Ok(Some(Entry::new(Event::Exchange(Exchange {
                command,
                response,
                redacted,
            }))));
        }
        if let Some((open, _, _)) = &self.pending {
            return Err(err(format!(
                "the command on line {open} has no `<<` response line after it"
            )));
        }
        if let Some(rest) = marker(line, ">>") {
            let (command, redacted) = command_bytes(rest).map_err(err)?;
            if command.is_empty() {
                return Err(err("`>>` without a command".to_owned()));
            }
            self.pending = Some((line_no, command, redacted));
            Ok(None)
        } else if let Some(rest) = line.strip_prefix('#') {
            let text = rest.strip_prefix(' ').unwrap_or(rest);
            Ok(Some(Entry::new(Event::Comment(text.to_owned()))))
        } else if let Some(rest) = marker(line, "--") {
            Ok(Some(Entry::new(power_event(rest).map_err(err)?)))
        } else {
            Err(err(format!(
                "`{}` is not a transcript line (`>>`, `<<`, `--` or `#`)",
                shorten(line)
            )))
        }
    }

    /// The end of the input.
    ///
    /// # Errors
    /// A `>>` command is still waiting for its `<<` (named by its line).
    pub fn finish(&mut self) -> Result<(), ParseError> {
        match self.pending.take() {
            Some((open, _, _)) => Err(ParseError {
                line: open,
                message: "the command has no `<<` response line after it".to_owned(),
            }),
            None => Ok(()),
        }
    }
}

/// The rest of a line that starts with `mark` (followed by a space or nothing).
fn marker<'a>(line: &'a str, mark: &str) -> Option<&'a str> {
    let rest = line.strip_prefix(mark)?;
    if rest.is_empty() {
        return Some("");
    }
    rest.strip_prefix(' ').map(str::trim)
}

/// Command bytes: hex, with `**` for a masked byte.
pub(crate) fn command_bytes(text: &str) -> Result<(Vec<u8>, bool), String> {
    let mut out = Vec::new();
    let mut redacted = false;
    for token in text.split_whitespace() {
        if token == "**" {
            out.push(redact::MASK);
            redacted = true;
        } else {
            out.extend(hex::decode(token).map_err(|e| format!("command: `{token}`: {e}"))?);
        }
    }
    Ok((out, redacted))
}

fn power_event(rest: &str) -> Result<Event, String> {
    let atr = |text: &str| hex::decode(text).map_err(|e| format!("ATR: {e}"));
    if rest == "power off" {
        return Ok(Event::PowerOff);
    }
    if rest == "get ATR" {
        return Ok(Event::AtrPoll);
    }
    if let Some(bytes) = rest.strip_prefix("power on, ATR") {
        return Ok(Event::PowerOn { atr: atr(bytes)? });
    }
    if let Some(bytes) = rest.strip_prefix("warm reset, ATR") {
        return Ok(Event::Reset { atr: atr(bytes)? });
    }
    if let Some(what) = rest.strip_prefix("link:") {
        return Ok(Event::Link(what.trim().to_owned()));
    }
    Err(format!(
        "`-- {}` is not an event (power on, ATR …; power off; warm reset, ATR …; get ATR; link: …)",
        shorten(rest)
    ))
}

/// The first 40 characters, for messages.
pub(crate) fn shorten(text: &str) -> String {
    match text.char_indices().nth(40) {
        Some((at, _)) => format!("{}…", text.get(..at).unwrap_or(text)),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn sample() -> Transcript {
        let mut t = Transcript::new();
        t.push(
            Event::PowerOn {
                atr: vec![0x3B, 0x88],
            },
            Duration::ZERO,
        );
        t.push(Event::Comment("step 1: verify 0018".into()), Duration::ZERO);
        t.push_exchange(
            vec![0x00, 0xA4, 0x02, 0x0C, 0x02, 0x00, 0x18],
            vec![0x90, 0x00],
            Duration::ZERO,
        );
        t.push_exchange(
            vec![0x00, 0x20, 0x00, 0x80, 0x04, 0x31, 0x32, 0x33, 0x34],
            vec![0x63, 0xC2],
            Duration::from_micros(7),
        );
        t.push_exchange(vec![0x00, 0xB0, 0x00, 0x00, 0x01], vec![], Duration::ZERO);
        t.push(Event::AtrPoll, Duration::ZERO);
        t.push(
            Event::Link("unknown control byte 03 ignored".into()),
            Duration::ZERO,
        );
        t.push(Event::Reset { atr: vec![0x3B] }, Duration::ZERO);
        t.push(Event::PowerOff, Duration::ZERO);
        t
    }

    #[test]
    fn the_text_form_reads_back_as_written() {
        let t = sample();
        let text = t.to_text(true);
        assert_eq!(
            text,
            "-- power on, ATR 3B 88\n# step 1: verify 0018\n>> 00 A4 02 0C 02 00 18\n<< 90 00\n\
             >> 00 20 00 80 04 ** ** ** **\n<< 63 C2\n>> 00 B0 00 00 01\n<<\n-- get ATR\n\
             -- link: unknown control byte 03 ignored\n-- warm reset, ATR 3B\n-- power off\n"
        );
        let back = Transcript::parse(&text).unwrap();
        assert_eq!(back.to_text(false), text, "masked stays masked");
        let secret = back.exchanges().nth(1).unwrap();
        assert!(secret.redacted);
        // Unredacted, the same events come back exactly (timings are not in the text).
        let clear = Transcript::parse(&t.to_text(false)).unwrap();
        let events = |t: &Transcript| {
            t.entries
                .iter()
                .map(|e| e.event.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(events(&clear), events(&t));
    }

    #[test]
    fn pasted_compact_hex_reads_too() {
        let t = Transcript::parse(">> 00A4020C020018\n<< 9000\n").unwrap();
        assert_eq!(t.to_text(false), ">> 00 A4 02 0C 02 00 18\n<< 90 00\n");
    }

    #[test]
    fn mistakes_name_their_line() {
        let cases = [
            ("<< 90 00\n", 1, "without a `>>`"),
            (">> 00 A4\n>> 00 A4\n<< 90 00\n", 2, "has no `<<`"),
            ("\n>> 00 A4\n", 2, "has no `<<`"),
            (">> 0G\n<< 90 00\n", 1, "not a hex digit"),
            (">> 00\n<< 9\n", 2, "odd number"),
            ("-- power up\n", 1, "is not an event"),
            ("hello\n", 1, "is not a transcript line"),
            (">>\n<< 90 00\n", 1, "without a command"),
            (">>00A4\n", 1, "is not a transcript line"),
        ];
        for (text, line, needle) in cases {
            let e = Transcript::parse(text).unwrap_err();
            assert_eq!(e.line, line, "{text:?}: {e}");
            assert!(e.to_string().contains(needle), "{text:?}: {e}");
        }
    }
}
