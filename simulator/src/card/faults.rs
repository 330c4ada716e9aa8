//! Fault injection: what a card in the field does that a client must survive — answering
//! late, being pulled out mid-command, losing power inside a VERIFY, a reader connection
//! that drops, a corrupted response, a status word no test card gives.
//!
//! The card stays pure: a [`FaultPlan`] decides per command APDU, deterministically (its
//! random numbers come from the card's seed), and the card *returns* the decision as a
//! [`Deliver`] ([`VirtualCard::deliver`](super::VirtualCard::deliver)); only the hosts
//! sleep, close sockets or take the card out of the reader. The plan is written in a
//! profile's `faults:` list (so scenarios and `mynasim exec` reach it through `card.set` /
//! `--set` and `--fault`), one [`FaultSpec`] per fault.

use std::time::Duration;

use rand_chacha::ChaCha20Rng;
use rand_core::{Rng as _, SeedableRng as _};
use schemars::JsonSchema;
use serde::Deserialize;

use crate::apdu::CommandPattern;

/// One fault as a profile writes it: when it fires (`on`, `after_apdus`, `times`) and exactly
/// one thing it does.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FaultSpec {
    /// The commands it applies to: a command pattern (`verify 00 80 ?? ..`,
    /// `compute_digital_signature`, `00 B0 ..`). Default: every command.
    #[serde(default)]
    pub on: Option<String>,
    /// It fires only once this many command APDUs have been answered since the card was
    /// issued (`after_apdus: 3`: the 4th command or later). Default 0.
    #[serde(default)]
    pub after_apdus: u64,
    /// How many times it fires; 0 is every time. Default 1.
    #[serde(default = "one")]
    pub times: u32,
    /// Answer late: `{ ms: 200 }`, or `{ ms: 200, jitter_ms: 100 }` for a seeded uniform
    /// 200–300 ms. On `compute_digital_signature`: slow signing.
    #[serde(default)]
    pub latency: Option<Latency>,
    /// The card is pulled out before it answers (the command is not executed): back in the
    /// reader after `reinsert_after` seconds, or never (leave it out).
    #[serde(default)]
    pub remove: Option<Reinsert>,
    /// Power is lost inside the command (tearing): a VERIFY has paid its try — the card
    /// decrements before it compares — and nothing answers; the card is out of the reader
    /// as for `remove`. Inside a signature or CHANGE REFERENCE DATA (which needs a VERIFY
    /// first) nothing persistent changes.
    #[serde(default)]
    pub tear: Option<Reinsert>,
    /// The reader connection drops after the card executed the command: the response is
    /// lost and the reader sees the card go; the card reconnects at once.
    #[serde(default)]
    pub drop_link: bool,
    /// The response is corrupted on its way to the reader.
    #[serde(default)]
    pub corrupt: Option<Corruption>,
    /// The card answers only this status word (`6F00`, `6400`, `6581`), without executing.
    #[serde(default)]
    pub status: Option<String>,
}

fn one() -> u32 {
    1
}

/// `latency:`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Latency {
    /// Milliseconds added before the answer.
    pub ms: u64,
    /// Up to this many more, uniform, from the card's seed.
    #[serde(default)]
    pub jitter_ms: u64,
}

/// `remove:` / `tear:`: when the card comes back.
#[derive(Debug, Clone, Copy, Default, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Reinsert {
    /// Seconds until the card is back in the reader; absent: never.
    #[serde(default)]
    pub reinsert_after: Option<f64>,
}

/// `corrupt:`: exactly one of these.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Corruption {
    /// Flip this bit of the response (0 is the most significant bit of its first byte;
    /// counted modulo the response's length).
    #[serde(default)]
    pub flip_bit: Option<u32>,
    /// Drop this many bytes from the end of the response.
    #[serde(default)]
    pub truncate: Option<u32>,
    /// Append this byte to the response.
    #[serde(default)]
    pub extra_byte: Option<u8>,
}

/// What a host does with a card's answer.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum Deliver {
    /// Send it now.
    #[default]
    Now,
    /// Send it after this long.
    After(Duration),
    /// Send nothing: the card is out of the reader (removed, or torn), and comes back after
    /// the duration, or never.
    Gone(Option<Duration>),
    /// Send nothing and close the reader connection; the card reconnects at once.
    DropLink,
}

/// What a fault does, compiled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FaultAction {
    /// Answer late.
    Latency {
        /// Fixed part.
        fixed: Duration,
        /// Most of the uniform part.
        jitter: Duration,
    },
    /// Pulled out before answering.
    Remove(Option<Duration>),
    /// Power lost inside the command.
    Tear(Option<Duration>),
    /// Connection dropped after executing.
    DropLink,
    /// Response corrupted.
    Corrupt(Corrupt),
    /// A forced status word.
    Status([u8; 2]),
}

/// A corruption, compiled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Corrupt {
    /// Flip a bit.
    FlipBit(u32),
    /// Drop bytes from the end.
    Truncate(u32),
    /// Append a byte.
    ExtraByte(u8),
}

/// One compiled fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    on: Option<CommandPattern>,
    after_apdus: u64,
    times: u32,
    fired: u32,
    action: FaultAction,
}

/// A card's faults and their state: how many commands it has seen, what has fired.
#[derive(Debug, Clone)]
pub struct FaultPlan {
    faults: Vec<Fault>,
    seen: u64,
    rng: ChaCha20Rng,
}

impl PartialEq for FaultPlan {
    fn eq(&self, other: &Self) -> bool {
        self.faults == other.faults && self.seen == other.seen
    }
}

impl Eq for FaultPlan {}

/// The longest delay a fault may add or a card may stay out (an hour).
const MAX_SECONDS: f64 = 3600.0;

impl FaultPlan {
    /// Compiles a profile's `faults:`; `seed` is the card's. Errors name the key below
    /// `faults[i]`.
    ///
    /// # Errors
    /// A pattern that does not parse, not exactly one action, a value out of range.
    pub fn compile(specs: &[FaultSpec], seed: u64) -> Result<Self, (String, String)> {
        let mut faults = Vec::new();
        for (i, spec) in specs.iter().enumerate() {
            let at = |sub: &str| format!("faults[{i}]{sub}");
            let on = spec
                .on
                .as_deref()
                .map(CommandPattern::parse)
                .transpose()
                .map_err(|m| (at(".on"), m))?;
            let seconds = |r: &Reinsert, key: &str| -> Result<Option<Duration>, (String, String)> {
                match r.reinsert_after {
                    None => Ok(None),
                    Some(s) if s.is_finite() && (0.0..=MAX_SECONDS).contains(&s) => {
                        Ok(Some(Duration::from_secs_f64(s)))
                    }
                    Some(s) => Err((
                        at(&format!(".{key}.reinsert_after")),
                        format!("{s}: seconds from 0 to {MAX_SECONDS}, or leave it out for never"),
                    )),
                }
            };
            let mut actions = Vec::new();
            if let Some(l) = spec.latency {
                let max = 3_600_000;
                if l.ms > max || l.jitter_ms > max {
                    return Err((at(".latency"), format!("at most {max} ms")));
                }
                actions.push(FaultAction::Latency {
                    fixed: Duration::from_millis(l.ms),
                    jitter: Duration::from_millis(l.jitter_ms),
                });
            }
            if let Some(r) = &spec.remove {
                actions.push(FaultAction::Remove(seconds(r, "remove")?));
            }
            if let Some(r) = &spec.tear {
                actions.push(FaultAction::Tear(seconds(r, "tear")?));
            }
            if spec.drop_link {
                actions.push(FaultAction::DropLink);
            }
            if let Some(c) = spec.corrupt {
                let kinds: Vec<Corrupt> = [
                    c.flip_bit.map(Corrupt::FlipBit),
                    c.truncate.map(Corrupt::Truncate),
                    c.extra_byte.map(Corrupt::ExtraByte),
                ]
                .into_iter()
                .flatten()
                .collect();
                match kinds.as_slice() {
                    [one] => actions.push(FaultAction::Corrupt(*one)),
                    _ => {
                        return Err((
                            at(".corrupt"),
                            "exactly one of flip_bit, truncate, extra_byte".into(),
                        ));
                    }
                }
            }
            if let Some(sw) = &spec.status {
                let bytes = crate::hex::decode(sw)
                    .ok()
                    .and_then(|b| <[u8; 2]>::try_from(b).ok());
                match bytes {
                    Some(b) => actions.push(FaultAction::Status(b)),
                    None => {
                        return Err((
                            at(".status"),
                            format!("`{sw}`: a status word in hex, e.g. 6F00"),
                        ));
                    }
                }
            }
            let mut actions = actions.into_iter();
            let action = match (actions.next(), actions.next()) {
                (Some(a), None) => a,
                _ => {
                    return Err((
                        at(""),
                        "each fault does exactly one of latency, remove, tear, drop_link, \
                         corrupt, status"
                            .into(),
                    ));
                }
            };
            faults.push(Fault {
                on,
                after_apdus: spec.after_apdus,
                times: spec.times,
                fired: 0,
                action,
            });
        }
        Ok(Self {
            faults,
            seen: 0,
            // Not the card's own generator: faults must not shift its challenges.
            rng: ChaCha20Rng::seed_from_u64(seed ^ 0x6661_756C_7473),
        })
    }

    /// Adds another plan's faults after this one's; their `after_apdus` count from now.
    pub fn append(&mut self, other: FaultPlan) {
        let seen = self.seen;
        self.faults.extend(other.faults.into_iter().map(|mut f| {
            f.after_apdus = f.after_apdus.saturating_add(seen);
            f
        }));
    }

    /// Whether the plan has no fault.
    pub fn is_empty(&self) -> bool {
        self.faults.is_empty()
    }

    /// The fault for this command, if one fires: the first in the list that matches, has
    /// seen enough commands and has fires left. Counts the command.
    pub fn decide(&mut self, apdu: &[u8]) -> Option<FaultAction> {
        let seen = self.seen;
        self.seen += 1;
        let fault = self.faults.iter_mut().find(|f| {
            seen >= f.after_apdus
                && (f.times == 0 || f.fired < f.times)
                && f.on.as_ref().is_none_or(|p| p.matches(apdu))
        })?;
        fault.fired = fault.fired.saturating_add(1);
        let mut action = fault.action.clone();
        if let FaultAction::Latency { fixed, jitter } = &mut action
            && !jitter.is_zero()
        {
            let span = u64::try_from(jitter.as_millis()).unwrap_or(u64::MAX);
            let extra = self.rng.next_u64() % span.saturating_add(1);
            *fixed += Duration::from_millis(extra);
            *jitter = Duration::ZERO;
        }
        Some(action)
    }
}

/// Applies a corruption to a response.
pub fn corrupt(response: &mut Vec<u8>, how: Corrupt) {
    match how {
        Corrupt::FlipBit(bit) => {
            let bits = response.len().saturating_mul(8);
            if bits > 0 {
                let bit = usize::try_from(bit).unwrap_or(0) % bits;
                if let Some(byte) = response.get_mut(bit / 8) {
                    *byte ^= 0x80 >> (bit % 8);
                }
            }
        }
        Corrupt::Truncate(n) => {
            let keep = response
                .len()
                .saturating_sub(usize::try_from(n).unwrap_or(usize::MAX));
            response.truncate(keep);
        }
        Corrupt::ExtraByte(b) => response.push(b),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn plan(yaml: &str) -> Result<FaultPlan, (String, String)> {
        let specs: Vec<FaultSpec> = serde_saphyr::from_str(yaml).unwrap();
        FaultPlan::compile(&specs, 7)
    }

    const VERIFY: &[u8] = &[0x00, 0x20, 0x00, 0x80, 0x04, 0x31, 0x32, 0x33, 0x34];
    const SELECT: &[u8] = &[0x00, 0xA4, 0x02, 0x0C, 0x02, 0x00, 0x18];

    #[test]
    fn a_fault_fires_on_its_commands_after_its_count_as_often_as_told() {
        let mut p = plan("- { on: verify, after_apdus: 2, times: 2, status: 6F00 }").unwrap();
        assert_eq!(p.decide(VERIFY), None, "1st command: too early");
        assert_eq!(p.decide(SELECT), None);
        assert_eq!(p.decide(SELECT), None, "not a VERIFY");
        assert_eq!(p.decide(VERIFY), Some(FaultAction::Status([0x6F, 0])));
        assert_eq!(p.decide(VERIFY), Some(FaultAction::Status([0x6F, 0])));
        assert_eq!(p.decide(VERIFY), None, "fired twice");
        let mut every = plan("- { times: 0, drop_link: true }").unwrap();
        for _ in 0..5 {
            assert_eq!(every.decide(SELECT), Some(FaultAction::DropLink));
        }
    }

    #[test]
    fn the_first_matching_fault_wins() {
        let mut p =
            plan("- { on: select, tear: {} }\n- { remove: { reinsert_after: 0.5 } }").unwrap();
        assert_eq!(p.decide(SELECT), Some(FaultAction::Tear(None)));
        assert_eq!(
            p.decide(SELECT),
            Some(FaultAction::Remove(Some(Duration::from_millis(500))))
        );
        assert_eq!(p.decide(SELECT), None);
    }

    #[test]
    fn jitter_is_seeded_and_bounded() {
        let delays = |seed| {
            let specs: Vec<FaultSpec> =
                serde_saphyr::from_str("- { times: 0, latency: { ms: 100, jitter_ms: 50 } }")
                    .unwrap();
            let mut p = FaultPlan::compile(&specs, seed).unwrap();
            (0..50)
                .map(|_| match p.decide(SELECT) {
                    Some(FaultAction::Latency { fixed, jitter }) => {
                        assert!(jitter.is_zero());
                        fixed
                    }
                    other => panic!("{other:?}"),
                })
                .collect::<Vec<_>>()
        };
        let a = delays(1);
        assert_eq!(a, delays(1), "the same seed gives the same delays");
        assert_ne!(a, delays(2));
        assert!(a.iter().all(|d| (100..=150).contains(&d.as_millis())));
        assert!(a.iter().any(|d| d.as_millis() != 100));
    }

    #[test]
    fn corruptions() {
        let mut r = vec![0x90, 0x00];
        corrupt(&mut r, Corrupt::FlipBit(0));
        assert_eq!(r, [0x10, 0x00]);
        corrupt(&mut r, Corrupt::FlipBit(15 + 16));
        assert_eq!(r, [0x10, 0x01]);
        corrupt(&mut r, Corrupt::ExtraByte(0xAA));
        assert_eq!(r, [0x10, 0x01, 0xAA]);
        corrupt(&mut r, Corrupt::Truncate(2));
        assert_eq!(r, [0x10]);
        corrupt(&mut r, Corrupt::Truncate(9));
        assert!(r.is_empty());
        corrupt(&mut r, Corrupt::FlipBit(3));
        assert!(r.is_empty());
    }

    #[test]
    fn mistakes_name_their_key() {
        let err = |yaml| plan(yaml).unwrap_err();
        assert_eq!(
            err("- {}"),
            (
                "faults[0]".to_owned(),
                "each fault does exactly one of latency, remove, tear, drop_link, corrupt, status"
                    .to_owned()
            )
        );
        assert_eq!(err("- { drop_link: true, status: 6F00 }").0, "faults[0]");
        assert_eq!(
            err("- { drop_link: true }\n- { on: zz, drop_link: true }").0,
            "faults[1].on"
        );
        assert_eq!(err("- { status: 6F }").0, "faults[0].status");
        assert_eq!(err("- { corrupt: {} }").0, "faults[0].corrupt");
        assert_eq!(
            err("- { corrupt: { truncate: 1, extra_byte: 0 } }").0,
            "faults[0].corrupt"
        );
        assert_eq!(
            err("- { remove: { reinsert_after: -1 } }").0,
            "faults[0].remove.reinsert_after"
        );
        assert_eq!(
            err("- { tear: { reinsert_after: .inf } }").0,
            "faults[0].tear.reinsert_after"
        );
        assert_eq!(err("- { latency: { ms: 3600001 } }").0, "faults[0].latency");
        assert!(plan("[]").unwrap().is_empty());
    }
}
