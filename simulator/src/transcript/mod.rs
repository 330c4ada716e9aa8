//! Transcripts: what passed between a host and a card, in one type for every place that
//! shows or keeps it — `mynasim card apdu --transcript`, `serve -v` logs, scenario failure
//! reports, JSON reports, golden files beside the bundled scenarios, and (next) recordings
//! and imported field traces.
//!
//! A [`Transcript`] is a list of [`Entry`]s: an [`Event`] and how long it took. Its text
//! form ([`text`]) is one line per event, `>>` command and `<<` response for exchanges:
//!
//! ```text
//! -- power on, ATR 3B 88 80 01 00 00 05 E0 B3 81 A1 00 7F
//! # step 2: verify 0018
//! >> 00 A4 02 0C 02 00 18
//! << 90 00
//! >> 00 20 00 80 04 ** ** ** **
//! << 63 C2
//! ```
//!
//! and [`Transcript::parse`] reads it back. The secrets of VERIFY, CHANGE REFERENCE DATA and
//! CHANGE KEY are masked (`**`) unless the caller asks to keep them ([`redact`]).
//!
//! Records keep the JSON Lines form ([`jsonl`]: versioned, with slots and timings), and
//! [`import`] reads the logs other tools write (pcsc-spy, pcscd `--apdu`, OpenSC's debug
//! log, the pasted `>>`/`<<` form) into entries, streaming; [`diff`] aligns two of them.

pub mod diff;
pub mod import;
pub mod jsonl;
pub mod redact;
pub mod text;

use std::time::Duration;

use crate::apdu::{Instruction, Response, SelectP1, StatusWord};

pub use redact::{format_command, secret_range};
pub use text::ParseError;

/// One thing that happened between a host and a card.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// Cold start; the card presents this ATR.
    PowerOn {
        /// The ATR.
        atr: Vec<u8>,
    },
    /// Power removed: the card's session ended.
    PowerOff,
    /// Warm reset; the card presents this ATR.
    Reset {
        /// The ATR.
        atr: Vec<u8>,
    },
    /// A command APDU and its response.
    Exchange(Exchange),
    /// The reader asked for the ATR and nothing changed (pcscd's presence poll over vpcd).
    AtrPoll,
    /// Something on the link that no card answered, or that the link answered for it
    /// (`unknown control byte 03 ignored`).
    Link(String),
    /// A line for readers: a scenario step's label, a note.
    Comment(String),
}

/// A command and the card's response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exchange {
    /// The command APDU.
    pub command: Vec<u8>,
    /// The response APDU (data, then SW1 SW2); empty when the card answered nothing.
    pub response: Vec<u8>,
    /// Whether the command's secret bytes are masked (`2A`, shown as `**`) rather than what
    /// was sent.
    pub redacted: bool,
}

impl Exchange {
    /// An exchange as it happened (nothing masked).
    pub fn new(command: Vec<u8>, response: Vec<u8>) -> Self {
        Self {
            command,
            response,
            redacted: false,
        }
    }

    /// Masks the command's secret, if it has one.
    pub fn redact(&mut self) {
        if redact::mask(&mut self.command) {
            self.redacted = true;
        }
    }

    /// The response's status word; `None` for a response shorter than two bytes.
    pub fn sw(&self) -> Option<StatusWord> {
        Response::parse(&self.response).map(|r| r.sw)
    }

    /// The response data without the status word.
    pub fn data(&self) -> &[u8] {
        self.response
            .split_last_chunk::<2>()
            .map_or(&[][..], |(data, _)| data)
    }

    /// The command's name for humans (`SELECT EF`, `VERIFY (retry query)`).
    pub fn name(&self) -> &'static str {
        command_name(&self.command)
    }

    /// The command as spaced hex, the secret shown as `**` when masked or when `redact`.
    pub fn format_command(&self, redact: bool) -> String {
        redact::format_command(&self.command, redact || self.redacted)
    }
}

/// An event and the time it took at the card (or the target; zero when not measured).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// What happened.
    pub event: Event,
    /// How long it took.
    pub elapsed: Duration,
}

impl Entry {
    /// An entry that took no measured time.
    pub fn new(event: Event) -> Self {
        Self {
            event,
            elapsed: Duration::ZERO,
        }
    }

    /// The exchange, if this entry is one.
    pub fn exchange(&self) -> Option<&Exchange> {
        match &self.event {
            Event::Exchange(x) => Some(x),
            _ => None,
        }
    }
}

/// A session between a host and a card.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Transcript {
    /// The events in order.
    pub entries: Vec<Entry>,
}

impl Transcript {
    /// An empty transcript.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends an event.
    pub fn push(&mut self, event: Event, elapsed: Duration) {
        self.entries.push(Entry { event, elapsed });
    }

    /// Appends an exchange.
    pub fn push_exchange(&mut self, command: Vec<u8>, response: Vec<u8>, elapsed: Duration) {
        self.push(Event::Exchange(Exchange::new(command, response)), elapsed);
    }

    /// The exchanges, in order.
    pub fn exchanges(&self) -> impl Iterator<Item = &Exchange> {
        self.entries.iter().filter_map(Entry::exchange)
    }

    /// Masks every secret.
    pub fn redact(&mut self) {
        for entry in &mut self.entries {
            if let Event::Exchange(x) = &mut entry.event {
                x.redact();
            }
        }
    }

    /// The text form, secrets masked when `redact` ([`text::format`]).
    pub fn to_text(&self, redact: bool) -> String {
        text::format(self, redact)
    }

    /// Reads the text form ([`text::parse`]).
    ///
    /// # Errors
    /// A line that is not an event, with its number.
    pub fn parse(input: &str) -> Result<Self, ParseError> {
        text::parse(input)
    }
}

impl FromIterator<Entry> for Transcript {
    fn from_iter<I: IntoIterator<Item = Entry>>(iter: I) -> Self {
        Self {
            entries: iter.into_iter().collect(),
        }
    }
}

impl Extend<Entry> for Transcript {
    fn extend<I: IntoIterator<Item = Entry>>(&mut self, iter: I) {
        self.entries.extend(iter);
    }
}

/// A command's name for humans: `SELECT DF`, `READ BINARY`, `VERIFY (retry query)`, …
/// from the instruction table, with the P1 or case that changes what it does.
pub fn command_name(apdu: &[u8]) -> &'static str {
    let [cla, ins, rest @ ..] = apdu else {
        return if apdu.is_empty() {
            "(empty)"
        } else {
            "(too short)"
        };
    };
    if *cla == 0xFF {
        return "reader pseudo-APDU";
    }
    let Some(instruction) = Instruction::decode(*cla, *ins) else {
        return "unknown instruction";
    };
    match instruction {
        Instruction::Select => match rest.first().map(|p1| SelectP1::try_from(*p1)) {
            Some(Ok(SelectP1::DfName)) => "SELECT DF",
            Some(Ok(SelectP1::Ef)) => "SELECT EF",
            Some(Ok(SelectP1::Mf)) => "SELECT MF",
            _ => "SELECT",
        },
        Instruction::Verify if apdu.len() == 4 => "VERIFY (retry query)",
        other => other.name(),
    }
}

/// A short decoded note for a response: `63 C2 (verification failed / tries left)`.
pub fn describe_response(response: &[u8]) -> String {
    match Response::parse(response) {
        Some(r) => format!("{} ({})", r.sw, r.sw.meaning()),
        None => "no response".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_come_from_the_instruction_table() {
        assert_eq!(command_name(&[0x00, 0xA4, 0x04, 0x0C]), "SELECT DF");
        assert_eq!(command_name(&[0x00, 0xA4, 0x02, 0x0C]), "SELECT EF");
        assert_eq!(command_name(&[0x00, 0xA4, 0x00, 0x0C]), "SELECT MF");
        assert_eq!(command_name(&[0x00, 0xA4, 0x09, 0x0C]), "SELECT");
        assert_eq!(
            command_name(&[0x00, 0x20, 0x00, 0x80]),
            "VERIFY (retry query)"
        );
        assert_eq!(
            command_name(&[0x00, 0x20, 0x00, 0x80, 0x01, 0x31]),
            "VERIFY"
        );
        assert_eq!(
            command_name(&[0x80, 0x2A, 0x00, 0x80]),
            "COMPUTE DIGITAL SIGNATURE"
        );
        assert_eq!(
            command_name(&[0xFF, 0xCA, 0x00, 0x00]),
            "reader pseudo-APDU"
        );
        assert_eq!(
            command_name(&[0x00, 0x2A, 0x00, 0x80]),
            "unknown instruction"
        );
        assert_eq!(command_name(&[]), "(empty)");
        assert_eq!(command_name(&[0x00]), "(too short)");
    }

    #[test]
    fn exchanges_split_data_and_status() {
        let x = Exchange::new(
            vec![0x00, 0xB0, 0x00, 0x00, 0x02],
            vec![0xAB, 0xCD, 0x90, 0x00],
        );
        assert_eq!(x.data(), [0xAB, 0xCD]);
        assert_eq!(x.sw(), Some(StatusWord::Success));
        let mute = Exchange::new(vec![0x00, 0xB0, 0x00, 0x00, 0x02], vec![]);
        assert_eq!(mute.sw(), None);
        assert!(mute.data().is_empty());
        assert_eq!(
            describe_response(&[0x63, 0xC2]),
            "63 C2 (verification failed / tries left)"
        );
        assert_eq!(describe_response(&[]), "no response");
    }
}
