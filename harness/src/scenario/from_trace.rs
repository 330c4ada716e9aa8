//! A transcript written as a host-side scenario (`mynasim import … --scenario OUT.yaml`,
//! issue 10 "Turn a trace into a test"): every exchange becomes a step that sends the
//! recorded command and expects the recorded status word and data, so the scenario fails
//! on a card (or a simulator) that answers differently.
//!
//! * Data that is random by nature — GET CHALLENGE, COMPUTE DIGITAL SIGNATURE, INTERNAL
//!   AUTHENTICATE (a signature by another key, a PSS salt) — is expected by length only.
//! * A VERIFY of a key this module knows (JPKI `0018` authentication PIN, `001B` signature
//!   password, input-support `0011`; the application from the last SELECT by DF name, the
//!   key from the last SELECT EF) becomes `verify: { pin: "${card.pin.NAME}" }`, so no secret
//!   is written and the step follows the scenario card's PIN. A VERIFY the card refused
//!   (`63 Cx`, `69 83`, `69 84`) was sent a wrong secret: a wrong one of the same length is
//!   written in its place. Any other secret-bearing command whose secret the trace masks
//!   cannot be written: that is an error naming the exchange (import with
//!   `--keep-secrets` to write the bytes as they were).
//! * Power events after the first become `power:` steps; an exchange the card did not
//!   answer is left out with a comment.
//!
//! The writer streams: one step is written per entry, nothing is kept but the current DF
//! and EF.

use std::io::{self, Write};

use mynasim_simulator::apps::AppId;
use mynasim_simulator::hex;
use mynasim_simulator::transcript::{Entry, Event, Exchange, redact};

/// Why a trace cannot become a scenario.
#[derive(Debug, thiserror::Error)]
pub enum FromTraceError {
    /// A secret-bearing command whose secret is masked and has no `${card.pin.*}` name.
    #[error(
        "exchange {exchange} ({name}) carries a masked secret that names no card PIN: import \
         with --keep-secrets to write the bytes as they were"
    )]
    MaskedSecret {
        /// 1-based exchange number.
        exchange: u64,
        /// The command's name.
        name: &'static str,
    },
    /// The scenario could not be written.
    #[error("cannot write the scenario: {0}")]
    Io(#[from] io::Error),
}

/// What the scenario says about itself.
#[derive(Debug, Clone)]
pub struct Header {
    /// `name:`.
    pub name: String,
    /// `description:`.
    pub description: String,
    /// `card.profile`.
    pub profile: String,
}

/// Writes a scenario one entry at a time.
#[derive(Debug)]
pub struct Writer<W> {
    out: W,
    df: Option<AppId>,
    ef: Option<[u8; 2]>,
    powered: bool,
    exchanges: u64,
    steps: u64,
}

impl<W: Write> Writer<W> {
    /// Writes the scenario's head (version, name, card) and opens its steps.
    ///
    /// # Errors
    /// `out` cannot be written.
    pub fn new(mut out: W, header: &Header) -> io::Result<Self> {
        let quote = |s: &str| serde_json::to_string(s).unwrap_or_else(|_| "\"\"".to_owned());
        writeln!(
            out,
            "# Written by `mynasim import --scenario`: each step sends a command of the trace\n\
             # and expects the answer the trace shows (docs/field-bugs.md).\n\
             version: 1\n\
             name: {}\n\
             description: {}\n\
             tags: [trace]\n\
             card: {{ profile: {} }}\n\
             steps:",
            quote(&header.name),
            quote(&header.description),
            quote(&header.profile)
        )?;
        Ok(Self {
            out,
            df: None,
            ef: None,
            powered: false,
            exchanges: 0,
            steps: 0,
        })
    }

    /// Writes the step of one entry (or nothing, for comments and polls).
    ///
    /// # Errors
    /// A masked secret without a name; `out` cannot be written.
    pub fn entry(&mut self, entry: &Entry) -> Result<(), FromTraceError> {
        match &entry.event {
            Event::PowerOn { .. } | Event::Reset { .. } | Event::PowerOff => {
                let first_power_on = !self.powered && matches!(entry.event, Event::PowerOn { .. });
                self.powered = true;
                self.df = None;
                self.ef = None;
                if first_power_on && self.steps == 0 {
                    // Every scenario starts with its card powered on.
                    return Ok(());
                }
                let step = match entry.event {
                    Event::PowerOn { .. } => "on",
                    Event::PowerOff => "off",
                    _ => "reset",
                };
                writeln!(self.out, "  - power: {step}")?;
                self.steps += 1;
            }
            Event::Exchange(x) => self.exchange(x)?,
            Event::AtrPoll | Event::Link(_) | Event::Comment(_) => {}
        }
        Ok(())
    }

    fn exchange(&mut self, x: &Exchange) -> Result<(), FromTraceError> {
        self.exchanges += 1;
        let number = self.exchanges;
        let Some(sw) = x.sw() else {
            writeln!(
                self.out,
                "  # exchange {number} ({}): the card did not answer in the trace",
                x.name()
            )?;
            return Ok(());
        };
        let action = self.action(x, number)?;
        let expect = expectation(x);
        writeln!(self.out, "  - {action}\n    expect: {{ {expect} }}")?;
        self.steps += 1;
        if sw == mynasim_simulator::StatusWord::Success {
            self.follow_selection(&x.command);
        }
        Ok(())
    }

    /// The step's action: a named VERIFY, or the command as hex.
    fn action(&self, x: &Exchange, number: u64) -> Result<String, FromTraceError> {
        let Some(range) = redact::secret_range(&x.command) else {
            return Ok(format!("apdu: \"{}\"", hex::compact(&x.command)));
        };
        let is_verify = x.command.get(..4) == Some(&[0x00, 0x20, 0x00, 0x80][..]);
        let refused = matches!(
            x.response.as_slice(),
            [0x63, 0xC0..=0xCF] | [0x69, 0x83 | 0x84]
        );
        if is_verify && let Some(pin) = self.pin_name() {
            if !refused {
                return Ok(format!("verify: {{ pin: \"${{card.pin.{pin}}}\" }}"));
            }
            // A wrong secret of the same length: digits for PINs, the password's alphabet
            // for the signature password.
            let mut command = x.command.clone();
            for (i, byte) in command
                .get_mut(range)
                .unwrap_or_default()
                .iter_mut()
                .enumerate()
            {
                *byte = match (pin, i) {
                    ("sign", 0) => b'Z',
                    ("sign", _) => b'9',
                    _ => b'0',
                };
            }
            return Ok(format!(
                "apdu: \"{}\"   # a wrong {pin} PIN, as in the trace",
                hex::compact(&command)
            ));
        }
        if x.redacted {
            return Err(FromTraceError::MaskedSecret {
                exchange: number,
                name: x.name(),
            });
        }
        Ok(format!("apdu: \"{}\"", hex::compact(&x.command)))
    }

    /// The `${card.pin.NAME}` of the current key, if known.
    fn pin_name(&self) -> Option<&'static str> {
        match (self.df?, self.ef?) {
            (AppId::Jpki, [0x00, 0x18]) => Some("auth"),
            (AppId::Jpki, [0x00, 0x1B]) => Some("sign"),
            (AppId::InputSupport, [0x00, 0x11]) => Some("text"),
            _ => None,
        }
    }

    /// Tracks the application and the EF a successful SELECT made current.
    fn follow_selection(&mut self, command: &[u8]) {
        match command {
            [0x00, 0xA4, 0x04, _, lc, name @ ..] => {
                let name = name.get(..usize::from(*lc)).unwrap_or_default();
                self.df = AppId::ALL.into_iter().find(|a| a.aid() == name);
                self.ef = None;
            }
            [0x00, 0xA4, 0x02, _, 0x02, a, b, ..] => self.ef = Some([*a, *b]),
            [0x00, 0xA4, ..] => self.ef = None,
            _ => {}
        }
    }

    /// Ends the scenario.
    ///
    /// # Errors
    /// `out` cannot be written.
    pub fn finish(mut self) -> io::Result<(W, u64)> {
        if self.steps == 0 {
            // A scenario needs steps; a trace of power events alone still loads.
            writeln!(self.out, "  - power: reset")?;
        }
        self.out.flush()?;
        Ok((self.out, self.steps))
    }
}

/// `sw: "9000", data: "…"` — the data by length where it is random by nature.
fn expectation(x: &Exchange) -> String {
    let sw = x
        .response
        .get(x.response.len().saturating_sub(2)..)
        .map(hex::compact)
        .unwrap_or_default();
    let data = x.data();
    if data.is_empty() {
        return format!("sw: \"{sw}\"");
    }
    let random = matches!(
        x.command.get(..2),
        Some([_, 0x84] | [0x80, 0x2A] | [_, 0x88])
    );
    if random {
        format!("sw: \"{sw}\", data_length: {}", data.len())
    } else {
        format!("sw: \"{sw}\", data: \"{}\"", hex::compact(data))
    }
}

#[cfg(test)]
mod tests {
    use mynasim_simulator::transcript::Transcript;

    use super::*;

    fn write(text: &str) -> Result<String, FromTraceError> {
        let mut t = Transcript::parse(text).unwrap();
        t.redact();
        let mut writer = Writer::new(
            Vec::new(),
            &Header {
                name: "trace \"x\"".into(),
                description: "from a test".into(),
                profile: "default".into(),
            },
        )?;
        for entry in &t.entries {
            writer.entry(entry)?;
        }
        let (out, _) = writer.finish()?;
        Ok(String::from_utf8(out).unwrap())
    }

    #[test]
    fn known_pins_become_references_and_random_data_a_length() {
        let yaml = write(
            "-- power on, ATR 3B\n\
             >> 00 A4 04 0C 0A D3 92 F0 00 26 01 00 00 00 01\n<< 90 00\n\
             >> 00 A4 02 0C 02 00 18\n<< 90 00\n\
             >> 00 20 00 80 04 31 31 31 31\n<< 63 C2\n\
             >> 00 20 00 80 04 31 32 33 34\n<< 90 00\n\
             >> 80 2A 00 80 02 AB CD 00\n<< 01 02 03 90 00\n\
             >> 00 B0 00 00 02\n<< 30 82 90 00\n\
             >> 00 84 00 00 08\n<<\n\
             -- warm reset, ATR 3B\n",
        )
        .unwrap();
        assert!(yaml.contains("name: \"trace \\\"x\\\"\""), "{yaml}");
        assert!(!yaml.contains("31323334"), "{yaml}");
        assert!(
            yaml.contains("verify: { pin: \"${card.pin.auth}\" }"),
            "{yaml}"
        );
        assert!(yaml.contains("apdu: \"002000800430303030\""), "{yaml}");
        assert!(yaml.contains("expect: { sw: \"63C2\" }"), "{yaml}");
        assert!(
            yaml.contains("expect: { sw: \"9000\", data_length: 3 }"),
            "{yaml}"
        );
        assert!(
            yaml.contains("expect: { sw: \"9000\", data: \"3082\" }"),
            "{yaml}"
        );
        assert!(
            yaml.contains("# exchange 7 (GET CHALLENGE): the card did not answer"),
            "{yaml}"
        );
        assert!(yaml.trim_end().ends_with("- power: reset"), "{yaml}");
        assert!(
            !yaml.contains("power: on"),
            "the first power-on is the scenario's own"
        );
    }

    #[test]
    fn a_masked_secret_without_a_name_is_an_error() {
        // CHANGE REFERENCE DATA: its new PIN has no reference.
        let e = write(
            ">> 00 A4 04 0C 0A D3 92 F0 00 26 01 00 00 00 01\n<< 90 00\n\
             >> 00 24 01 80 04 35 36 37 38\n<< 90 00\n",
        )
        .unwrap_err();
        assert!(
            e.to_string()
                .starts_with("exchange 2 (CHANGE REFERENCE DATA) carries a masked"),
            "{e}"
        );
        // A VERIFY before any SELECT EF names no key either.
        let e = write(">> 00 20 00 80 04 31 32 33 34\n<< 90 00\n").unwrap_err();
        assert!(e.to_string().contains("exchange 1 (VERIFY)"), "{e}");
    }
}
