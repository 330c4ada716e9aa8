//! The JSON Lines form of a transcript, version 1: what `serve --record` and
//! `exec --record` write and `mynasim import jsonl` reads back. One JSON object per line; the
//! first names the format and its version, every other line is one [`Entry`]:
//!
//! ```text
//! {"format":"mynasim-transcript","version":1}
//! {"event":"power_on","slot":0,"at_us":0,"atr":"3B 88 80 01 00 00 05 E0 B3 81 A1 00 7F"}
//! {"event":"exchange","slot":0,"at_us":1520,"elapsed_us":31,"command":"00 A4 02 0C 02 00 18","response":"90 00"}
//! {"event":"exchange","slot":0,"at_us":2210,"elapsed_us":40,"command":"00 20 00 80 04 ** ** ** **","response":"63 C2"}
//! ```
//!
//! | field | meaning |
//! |---|---|
//! | `event` | `power_on`, `power_off`, `reset`, `exchange`, `atr_poll`, `link`, `comment` ([`Event`]) |
//! | `slot` | the reader slot (optional; a record of several cards has one per line) |
//! | `at_us` | microseconds since the record started (optional) |
//! | `elapsed_us` | how long the event took at the card (optional, 0 when absent) |
//! | `atr` | `power_on` and `reset`: the ATR, hex |
//! | `command`, `response` | `exchange`: hex as in the text form, `**` a masked secret byte; an empty response is a card that answered nothing |
//! | `text` | `link` and `comment` |
//!
//! Unknown fields, fields that do not belong to the event, and a header of another version
//! are errors naming the line. A field that a later version adds will come with a new version
//! number, so an old mynasim refuses a newer record instead of misreading it.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::text::{ParseError, command_bytes, shorten};
use super::{Entry, Event, Exchange, Transcript};
use crate::hex;

/// The format name in the header line.
pub const FORMAT: &str = "mynasim-transcript";

/// The version this build writes and reads.
pub const VERSION: u32 = 1;

/// An entry as a record keeps it: which slot, and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stamped {
    /// The reader slot, when the record holds several (or names it).
    pub slot: Option<u16>,
    /// Time since the record started.
    pub at: Option<Duration>,
    /// What happened.
    pub entry: Entry,
}

impl Stamped {
    /// An entry without slot or time.
    pub fn new(entry: Entry) -> Self {
        Self {
            slot: None,
            at: None,
            entry,
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Header {
    format: String,
    version: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Kind {
    PowerOn,
    PowerOff,
    Reset,
    Exchange,
    AtrPoll,
    Link,
    Comment,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Record {
    event: Kind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    slot: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    at_us: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    elapsed_us: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    atr: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    command: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    response: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    text: Option<String>,
}

/// The header line (without its newline).
pub fn header() -> String {
    serde_json::to_string(&Header {
        format: FORMAT.to_owned(),
        version: VERSION,
    })
    .unwrap_or_default()
}

/// One entry as a line (without its newline); secrets masked when `redact` (and always when
/// already masked).
pub fn format_entry(stamped: &Stamped, redact: bool) -> String {
    let micros = |d: Duration| u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
    let entry = &stamped.entry;
    let mut record = Record {
        event: Kind::Comment,
        slot: stamped.slot,
        at_us: stamped.at.map(micros),
        elapsed_us: (!entry.elapsed.is_zero()).then(|| micros(entry.elapsed)),
        atr: None,
        command: None,
        response: None,
        text: None,
    };
    match &entry.event {
        Event::PowerOn { atr } => {
            record.event = Kind::PowerOn;
            record.atr = Some(hex::spaced(atr));
        }
        Event::PowerOff => record.event = Kind::PowerOff,
        Event::Reset { atr } => {
            record.event = Kind::Reset;
            record.atr = Some(hex::spaced(atr));
        }
        Event::Exchange(x) => {
            record.event = Kind::Exchange;
            record.command = Some(x.format_command(redact));
            record.response = Some(hex::spaced(&x.response));
        }
        Event::AtrPoll => record.event = Kind::AtrPoll,
        Event::Link(text) => {
            record.event = Kind::Link;
            record.text = Some(text.clone());
        }
        Event::Comment(text) => record.text = Some(text.clone()),
    }
    serde_json::to_string(&record).unwrap_or_default()
}

/// A whole transcript: the header and one line per entry, each ending in a newline.
pub fn format(transcript: &Transcript, redact: bool) -> String {
    let mut out = header();
    out.push('\n');
    for entry in &transcript.entries {
        out.push_str(&format_entry(&Stamped::new(entry.clone()), redact));
        out.push('\n');
    }
    out
}

/// Reads a whole record into a transcript (slots and times dropped).
///
/// # Errors
/// The first line that is not part of a version-1 record, with its number.
pub fn parse(input: &str) -> Result<Transcript, ParseError> {
    let mut reader = Reader::default();
    let mut transcript = Transcript::new();
    for (index, line) in input.lines().enumerate() {
        if let Some(stamped) = reader.line(index + 1, line)? {
            transcript.entries.push(stamped.entry);
        }
    }
    reader.finish()?;
    Ok(transcript)
}

/// The JSON Lines form read one line at a time.
#[derive(Debug, Default)]
pub struct Reader {
    header_seen: bool,
}

impl Reader {
    /// Reads line `line_no` (1-based): the header, then one entry per line (blank lines are
    /// skipped).
    ///
    /// # Errors
    /// A first line that is not the header of version 1, or a line that is not an entry.
    pub fn line(&mut self, line_no: usize, raw: &str) -> Result<Option<Stamped>, ParseError> {
        let line = raw.trim();
        if line.is_empty() {
            return Ok(None);
        }
        let err = |message: String| ParseError {
            line: line_no,
            message,
        };
        if !self.header_seen {
            let header: Header = serde_json::from_str(line).map_err(|e| {
                err(format!(
                    "not a mynasim transcript header (`{{\"format\":\"{FORMAT}\",\"version\":{VERSION}}}`): {}",
                    json_message(&e)
                ))
            })?;
            if header.format != FORMAT {
                return Err(err(format!(
                    "format `{}` is not `{FORMAT}`",
                    shorten(&header.format)
                )));
            }
            if header.version != VERSION {
                return Err(err(format!(
                    "version {} is not supported (this mynasim reads version {VERSION})",
                    header.version
                )));
            }
            self.header_seen = true;
            return Ok(None);
        }
        let record: Record = serde_json::from_str(line).map_err(|e| err(json_message(&e)))?;
        entry(record).map(Some).map_err(err)
    }

    /// The end of the input.
    ///
    /// # Errors
    /// The input had no header (an empty file is not a record).
    pub fn finish(&mut self) -> Result<(), ParseError> {
        if self.header_seen {
            Ok(())
        } else {
            Err(ParseError {
                line: 1,
                message: format!(
                    "empty: a record starts with `{{\"format\":\"{FORMAT}\",\"version\":{VERSION}}}`"
                ),
            })
        }
    }
}

/// serde_json's message with its position as a column (the line is ours).
fn json_message(e: &serde_json::Error) -> String {
    let text = e.to_string();
    let what = text
        .rsplit_once(" at line ")
        .map_or(text.as_str(), |(what, _)| what);
    format!("column {}: {what}", e.column())
}

fn entry(record: Record) -> Result<Stamped, String> {
    let Record {
        event,
        slot,
        at_us,
        elapsed_us,
        atr,
        command,
        response,
        text,
    } = record;
    let name = serde_json::to_string(&event).unwrap_or_default();
    let forbid = |field: &str, present: bool| {
        if present {
            Err(format!("`{field}` does not belong to a {name} event"))
        } else {
            Ok(())
        }
    };
    let need = |field: &str, value: Option<String>| {
        value.ok_or_else(|| format!("a {name} event needs `{field}`"))
    };
    let atr_bytes = |value: String| hex::decode(&value).map_err(|e| format!("`atr`: {e}"));
    let has_atr = atr.is_some();
    let has_exchange = command.is_some() || response.is_some();
    let has_text = text.is_some();
    let event = match event {
        Kind::PowerOn | Kind::Reset => {
            forbid("command", command.is_some())?;
            forbid("response", response.is_some())?;
            forbid("text", has_text)?;
            let atr = atr_bytes(need("atr", atr)?)?;
            if event == Kind::PowerOn {
                Event::PowerOn { atr }
            } else {
                Event::Reset { atr }
            }
        }
        Kind::PowerOff | Kind::AtrPoll => {
            forbid("atr", has_atr)?;
            forbid("command", has_exchange)?;
            forbid("text", has_text)?;
            if event == Kind::PowerOff {
                Event::PowerOff
            } else {
                Event::AtrPoll
            }
        }
        Kind::Exchange => {
            forbid("atr", has_atr)?;
            forbid("text", has_text)?;
            let (command, redacted) = command_bytes(&need("command", command)?)?;
            if command.is_empty() {
                return Err("`command` is empty".to_owned());
            }
            let response = hex::decode(&need("response", response)?)
                .map_err(|e| format!("`response`: {e}"))?;
            Event::Exchange(Exchange {
                command,
                response,
                redacted,
            })
        }
        Kind::Link | Kind::Comment => {
            forbid("atr", has_atr)?;
            forbid("command", has_exchange)?;
            let text = need("text", text)?;
            if event == Kind::Link {
                Event::Link(text)
            } else {
                Event::Comment(text)
            }
        }
    };
    Ok(Stamped {
        slot,
        at: at_us.map(Duration::from_micros),
        entry: Entry {
            event,
            elapsed: Duration::from_micros(elapsed_us.unwrap_or(0)),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Transcript {
        let mut t = Transcript::new();
        t.push(
            Event::PowerOn {
                atr: vec![0x3B, 0x88],
            },
            Duration::ZERO,
        );
        t.push(Event::Comment("step \"1\"\nnext".into()), Duration::ZERO);
        t.push_exchange(
            vec![0x00, 0x20, 0x00, 0x80, 0x04, 0x31, 0x32, 0x33, 0x34],
            vec![0x63, 0xC2],
            Duration::from_micros(7),
        );
        t.push_exchange(vec![0x00, 0xB0, 0x00, 0x00, 0x01], vec![], Duration::ZERO);
        t.push(Event::AtrPoll, Duration::ZERO);
        t.push(Event::Link("control byte 03".into()), Duration::ZERO);
        t.push(Event::Reset { atr: vec![0x3B] }, Duration::ZERO);
        t.push(Event::PowerOff, Duration::ZERO);
        t
    }

    #[test]
    fn records_read_back_as_written_with_timings() {
        let t = sample();
        let clear = format(&t, false);
        assert!(clear.starts_with("{\"format\":\"mynasim-transcript\",\"version\":1}\n"));
        assert!(clear.contains(
            "{\"event\":\"exchange\",\"elapsed_us\":7,\"command\":\"00 20 00 80 04 31 32 33 34\",\"response\":\"63 C2\"}"
        ));
        assert_eq!(parse(&clear).unwrap(), t, "timings and every event survive");
        let masked = format(&t, true);
        assert!(!masked.contains("31 32 33 34"), "{masked}");
        let back = parse(&masked).unwrap();
        let verify = back.exchanges().next().unwrap();
        assert!(verify.redacted);
        assert_eq!(format(&back, false), masked, "masked stays masked");
    }

    #[test]
    fn slots_and_times_are_kept() {
        let line = format_entry(
            &Stamped {
                slot: Some(1),
                at: Some(Duration::from_micros(1520)),
                entry: Entry::new(Event::PowerOff),
            },
            true,
        );
        assert_eq!(line, "{\"event\":\"power_off\",\"slot\":1,\"at_us\":1520}");
        let mut reader = Reader::default();
        assert_eq!(reader.line(1, &header()).unwrap(), None);
        let stamped = reader.line(2, &line).unwrap().unwrap();
        assert_eq!(stamped.slot, Some(1));
        assert_eq!(stamped.at, Some(Duration::from_micros(1520)));
    }

    #[test]
    fn mistakes_name_their_line_and_field() {
        let head = "{\"format\":\"mynasim-transcript\",\"version\":1}\n";
        let cases = [
            ("", 1, "empty"),
            (
                "{\"format\":\"mynasim-transcript\",\"version\":2}\n",
                1,
                "version 2 is not supported",
            ),
            (
                "{\"format\":\"other\",\"version\":1}\n",
                1,
                "`other` is not",
            ),
            (">> 00 A4\n", 1, "not a mynasim transcript header"),
            (
                "\n{\"event\":\"power_off\"}\n",
                2,
                "not a mynasim transcript header",
            ),
            ("{\"event\":\"power_of\"}", 2, "unknown variant `power_of`"),
            (
                "{\"event\":\"power_off\",\"colour\":1}",
                2,
                "unknown field `colour`",
            ),
            (
                "{\"event\":\"power_off\",\"atr\":\"3B\"}",
                2,
                "`atr` does not belong to a \"power_off\"",
            ),
            ("{\"event\":\"power_on\"}", 2, "needs `atr`"),
            (
                "{\"event\":\"exchange\",\"command\":\"00 A4\"}",
                2,
                "needs `response`",
            ),
            (
                "{\"event\":\"exchange\",\"command\":\"\",\"response\":\"\"}",
                2,
                "`command` is empty",
            ),
            (
                "{\"event\":\"exchange\",\"command\":\"0G\",\"response\":\"\"}",
                2,
                "not a hex digit",
            ),
            (
                "{\"event\":\"exchange\",\"command\":\"00\",\"response\":\"9\"}",
                2,
                "`response`: odd",
            ),
            ("{\"event\":\"comment\"}", 2, "needs `text`"),
            (
                "{\"event\":\"link\",\"text\":\"x\",\"command\":\"00\"}",
                2,
                "`command` does not belong",
            ),
            ("{\"event\":\"exchange\",\"slot\":70000}", 2, "column"),
            ("[1,2]", 2, "column"),
        ];
        for (body, line, needle) in cases {
            let input = if line == 1 || body.starts_with('\n') {
                body.to_owned()
            } else {
                format!("{head}{body}\n")
            };
            let e = parse(&input).unwrap_err();
            assert_eq!(e.line, line, "{input:?}: {e}");
            assert!(e.message.contains(needle), "{input:?}: {e}");
        }
    }
}
