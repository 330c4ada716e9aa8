//! What a scenario can cost a card it runs on, decided from what it sends (not from what it
//! says): the safety class `mynasim certify` gates cases with, the secrets it needs and
//! whether it needs extended-length APDUs. A scenario's declared `safety:` may be stricter
//! than what its steps show, never looser (compile refuses that).
//!
//! The rule, per step (the scenario takes the most serious):
//!
//! * `read-only` — SELECT, READ BINARY/RECORD, GET DATA, GET CHALLENGE, GET RESPONSE,
//!   INTERNAL AUTHENTICATE, power, signing with an application's own key (`key: default`:
//!   P2 `00`, no credential), and raw APDUs of those instructions; reader pseudo-APDUs that
//!   only read (`FF CA`).
//! * `pin-query` — the retry query `00 20 00 80` (no data: ISO/IEC 7816-4 §11.5.6 says
//!   the card answers the counter without spending a try), `retries:` steps.
//! * `uses-secret` — VERIFY whose secret is exactly one `${card.pin.NAME}` (right on a
//!   simulated card; the user's own PIN on a real one: a wrong one costs a try), and COMPUTE
//!   DIGITAL SIGNATURE with a key.
//! * `destructive` — everything else: a VERIFY with a written secret (presumably wrong),
//!   CHANGE REFERENCE DATA, CHANGE KEY, and every instruction not named above — an unknown
//!   instruction is not known to be harmless on a real card (`00 FE` is ISO/IEC 7816-9
//!   TERMINATE CARD USAGE).

use std::collections::BTreeSet;

use mynasim_simulator::apdu::Command;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::model::{Action, Scenario, Step};

/// How much running a scenario can cost a card, least to most.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Safety {
    /// Reads only; nothing on the card changes.
    ReadOnly,
    /// Also asks PIN retry counters (no try spent).
    PinQuery,
    /// Presents the holder's secret or signs: a wrong secret costs a try.
    UsesSecret,
    /// Spends tries on purpose, changes a secret, or sends instructions not known to be
    /// harmless.
    Destructive,
}

impl Safety {
    /// The name scenarios and reports use (`read-only`).
    pub fn name(self) -> &'static str {
        match self {
            Self::ReadOnly => "read-only",
            Self::PinQuery => "pin-query",
            Self::UsesSecret => "uses-secret",
            Self::Destructive => "destructive",
        }
    }
}

impl std::fmt::Display for Safety {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// What a scenario needs from a card and a reader.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Needs {
    /// The most serious step.
    pub safety: Safety,
    /// The `${card.NAME}` values it refers to (`pin.auth`).
    pub card_values: BTreeSet<String>,
    /// Whether it sends an extended-length APDU (Lc or Le in three bytes).
    pub extended: bool,
}

/// What a scenario's steps (and setup) need.
pub fn needs(scenario: &Scenario) -> Needs {
    let mut out = Needs {
        safety: Safety::ReadOnly,
        card_values: BTreeSet::new(),
        extended: false,
    };
    if scenario.exec.is_some() {
        // A program under test can send anything.
        out.safety = Safety::Destructive;
    }
    for step in scenario.steps.iter().chain(&scenario.setup) {
        step_needs(&step.value, &mut out);
    }
    out
}

/// The one `${card.pin.NAME}` a text is, if it is exactly that.
fn only_pin_reference(text: &str) -> Option<&str> {
    let inner = text.strip_prefix("${card.pin.")?.strip_suffix('}')?;
    (!inner.is_empty() && inner.chars().all(|c| c.is_ascii_alphanumeric())).then_some(inner)
}

/// The `${card.NAME}` names in a text.
fn card_refs(text: &str, into: &mut BTreeSet<String>) {
    let mut rest = text;
    while let Some(start) = rest.find("${card.") {
        let after = rest.get(start + 7..).unwrap_or("");
        let Some(end) = after.find('}') else { return };
        into.insert(after.get(..end).unwrap_or("").to_owned());
        rest = after.get(end..).unwrap_or("");
    }
}

fn step_needs(step: &Step, out: &mut Needs) {
    let raise = |out: &mut Needs, s: Safety| out.safety = out.safety.max(s);
    match &step.action {
        Action::Verify(v) => {
            card_refs(&v.pin, &mut out.card_values);
            match only_pin_reference(&v.pin) {
                Some(_) => raise(out, Safety::UsesSecret),
                None => raise(out, Safety::Destructive),
            }
        }
        Action::Retries(_) => raise(out, Safety::PinQuery),
        Action::ChangePin(c) | Action::ChangeKey(c) => {
            card_refs(&c.new, &mut out.card_values);
            raise(out, Safety::Destructive);
        }
        Action::Read(r) => out.extended |= r.extended,
        Action::GetData(g) => out.extended |= g.extended,
        Action::Sign(s) => {
            for text in [&s.text, &s.data].into_iter().flatten() {
                card_refs(text, &mut out.card_values);
            }
            if s.key.as_deref() != Some("default") {
                raise(out, Safety::UsesSecret);
            }
        }
        Action::InternalAuthenticate(i) => card_refs(&i.challenge, &mut out.card_values),
        Action::Apdu(hex) => {
            card_refs(hex, &mut out.card_values);
            let (safety, extended) = raw_needs(hex);
            raise(out, safety);
            out.extended |= extended;
        }
        Action::Select(_)
        | Action::SelectEf(_)
        | Action::ReadRecord(_)
        | Action::GetChallenge(_)
        | Action::Power(_) => {}
        // The in-process card and the validation service only: such a scenario cannot be
        // portable; nothing is sent to a card in a reader.
        Action::Fault(_)
        | Action::Validate(_)
        | Action::LoseCard(_)
        | Action::FindCard(_)
        | Action::MoveHouse(_)
        | Action::Renew(_)
        | Action::Revoke(_)
        | Action::Advance(_)
        | Action::ValidationFault(_) => raise(out, Safety::Destructive),
    }
}

/// Instructions that only read or answer (ISO/IEC 7816-4 §11): SELECT, READ BINARY (both
/// forms), READ RECORD (both forms), GET DATA (both forms), GET CHALLENGE, INTERNAL
/// AUTHENTICATE, GET RESPONSE.
const READING: [u8; 10] = [0xA4, 0xB0, 0xB1, 0xB2, 0xB3, 0xCA, 0xCB, 0x84, 0x88, 0xC0];

/// A raw APDU's class and whether it is extended. Hex with `${…}` parts is judged by its
/// literal header.
fn raw_needs(text: &str) -> (Safety, bool) {
    let literal: String = text
        .split("${")
        .next()
        .unwrap_or("")
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let whole = !text.contains("${");
    let bytes: Vec<u8> = (0..literal.len() / 2)
        .filter_map(|i| {
            literal
                .get(2 * i..2 * i + 2)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        })
        .collect();
    let extended = whole
        && Command::parse(&bytes)
            .map(|c| c.case().is_extended())
            .unwrap_or(false);
    let (Some(&cla), Some(&ins)) = (bytes.first(), bytes.get(1)) else {
        return (Safety::Destructive, extended);
    };
    let safety = if cla == 0xFF {
        // A reader's own command (PC/SC part 3): GET DATA (UID) only reads.
        if ins == 0xCA {
            Safety::ReadOnly
        } else {
            Safety::Destructive
        }
    } else if READING.contains(&ins) {
        Safety::ReadOnly
    } else if ins == 0x20 {
        // VERIFY with no data field is the retry query (case 1, or case 2: 67 00).
        let no_data = whole
            && Command::parse(&bytes)
                .map(|c| c.data().is_empty())
                .unwrap_or(false);
        if no_data {
            Safety::PinQuery
        } else {
            Safety::Destructive
        }
    } else if ins == 0x2A {
        Safety::UsesSecret
    } else {
        Safety::Destructive
    };
    (safety, extended)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::load::load_str;

    fn needs_of(steps: &str) -> Needs {
        let text = format!("version: 1\nname: t\nsteps:\n{steps}");
        let loaded = load_str(&text, std::path::Path::new("t.yaml")).unwrap_or_default();
        let first = loaded.first().map(|l| needs(&l.scenario.value));
        first.unwrap_or(Needs {
            safety: Safety::Destructive,
            card_values: BTreeSet::new(),
            extended: true,
        })
    }

    #[test]
    fn each_step_kind_has_its_class() {
        let cases = [
            (
                "  - select: jpki\n  - read: { ef: \"000A\" }\n",
                Safety::ReadOnly,
            ),
            ("  - retries: { key: \"0018\" }\n", Safety::PinQuery),
            ("  - apdu: \"00 20 00 80\"\n", Safety::PinQuery),
            ("  - apdu: \"00 20 00 80 00\"\n", Safety::PinQuery),
            (
                "  - verify: { key: \"0018\", pin: \"${card.pin.auth}\" }\n",
                Safety::UsesSecret,
            ),
            (
                "  - verify: { key: \"0018\", pin: \"9999\" }\n",
                Safety::Destructive,
            ),
            (
                "  - verify: { key: \"0018\", pin: \"${card.pin.auth}0\" }\n",
                Safety::Destructive,
            ),
            (
                "  - apdu: \"00 20 00 80 04 31 32 33 34\"\n",
                Safety::Destructive,
            ),
            ("  - sign: { key: \"0017\", text: x }\n", Safety::UsesSecret),
            ("  - sign: { key: default, text: x }\n", Safety::ReadOnly),
            ("  - apdu: \"80 2A 00 80 01 00 00\"\n", Safety::UsesSecret),
            (
                "  - change_pin: { key: \"0018\", new: \"1111\" }\n",
                Safety::Destructive,
            ),
            ("  - apdu: \"00 FE 00 00\"\n", Safety::Destructive),
            ("  - apdu: \"FF CA 00 00 00\"\n", Safety::ReadOnly),
            ("  - apdu: \"FF 00 52 00 00\"\n", Safety::Destructive),
            ("  - apdu: \"00 B0 00 00 ${x}\"\n", Safety::ReadOnly),
            ("  - apdu: \"\"\n", Safety::Destructive),
            ("  - get_challenge: 8\n  - power: reset\n", Safety::ReadOnly),
        ];
        for (steps, class) in cases {
            assert_eq!(needs_of(steps).safety, class, "{steps}");
        }
    }

    #[test]
    fn the_most_serious_step_decides() {
        let n = needs_of(
            "  - retries: { key: \"0018\" }\n  - verify: { pin: \"${card.pin.auth}\" }\n  - select: jpki\n",
        );
        assert_eq!(n.safety, Safety::UsesSecret);
        assert_eq!(n.card_values, BTreeSet::from(["pin.auth".to_owned()]));
    }

    #[test]
    fn extended_apdus_are_seen() {
        assert!(needs_of("  - read: { ef: \"000A\", extended: true }\n").extended);
        assert!(needs_of("  - get_data: { tag: \"00F8\", extended: true }\n").extended);
        assert!(needs_of("  - apdu: \"00 B0 8A 00 00 00 00\"\n").extended);
        assert!(!needs_of("  - apdu: \"00 B0 8A 00 00\"\n").extended);
        assert!(!needs_of("  - read: { ef: \"000A\" }\n").extended);
    }

    #[test]
    fn classes_are_ordered_and_named() {
        assert!(Safety::ReadOnly < Safety::PinQuery);
        assert!(Safety::PinQuery < Safety::UsesSecret);
        assert!(Safety::UsesSecret < Safety::Destructive);
        assert_eq!(Safety::UsesSecret.to_string(), "uses-secret");
    }
}
