//! The card's persistent state that commands can change — every key's secret and retry
//! counter (CHANGE REFERENCE DATA, CHANGE KEY, VERIFY) — as a value a host saves and restores.
//! The card never touches a file: `mynasim serve --state FILE` does, around
//! [`Card::verify_attempt`] so that a try is on disk before it is compared (the
//! decrement-before-compare rule of [`crate::security::Pin::verify`], carried to the file).
//!
//! Files, certificates and keys are fixed at issue: no command changes them, so they are not
//! part of the state; the profile rebuilds them.

use serde::{Deserialize, Serialize};

use super::{Card, EfBody, Fid};
use crate::apdu::{Case, Command, Instruction, KeyReference};
use crate::apps::AppId;
use crate::hex;

/// The state format version this build writes and reads.
pub const STATE_VERSION: u32 = 1;

/// What commands have changed on a card.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CardState {
    /// Format version ([`STATE_VERSION`]).
    pub version: u32,
    /// The card's manufacturing serial: a state belongs to one card.
    pub serial: String,
    /// Every key reference of every application, in the card's order.
    pub keys: Vec<KeyState>,
}

/// One key reference's secret and counter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyState {
    /// The application (`jpki`, `text`, `face`, `common`, `juki`).
    pub app: String,
    /// The key EF (`"0018"`).
    pub key: String,
    /// The secret, as the card compares it (ASCII).
    pub secret: String,
    /// Tries left.
    pub tries_left: u8,
    /// The counter's maximum (fixed at issue; checked on restore).
    pub max_tries: u8,
}

/// Why a saved state cannot be put on this card.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StateError {
    /// Another format version.
    #[error("state format version {0}; this mynasim reads version {STATE_VERSION}")]
    Version(u32),
    /// The state belongs to another card.
    #[error("the state is of card {state}, not of this profile's card {card}")]
    OtherCard {
        /// The state's serial.
        state: String,
        /// The card's.
        card: String,
    },
    /// The keys differ from the card's.
    #[error("{0}")]
    Keys(String),
}

impl KeyState {
    fn name(&self) -> String {
        format!("{} key {}", self.app, self.key)
    }
}

impl CardState {
    /// The same state with one more try paid on a key: what is written before a VERIFY
    /// compares.
    pub fn with_attempt(&self, app: AppId, key: Fid) -> Self {
        let mut next = self.clone();
        let key = key_name(key);
        for k in &mut next.keys {
            if k.app == app.name() && k.key == key {
                k.tries_left = k.tries_left.saturating_sub(1);
            }
        }
        next
    }
}

impl Card {
    /// The persistent state commands can change.
    pub fn state(&self) -> CardState {
        let mut keys = Vec::new();
        for df in &self.dfs {
            for ef in &df.files {
                if let EfBody::Pin(pin) = &ef.body {
                    keys.push(KeyState {
                        app: df.app.name().to_owned(),
                        key: key_name(ef.fid),
                        secret: String::from_utf8_lossy(pin.secret()).into_owned(),
                        tries_left: pin.counter().left(),
                        max_tries: pin.counter().max(),
                    });
                }
            }
        }
        CardState {
            version: STATE_VERSION,
            serial: self.config.serial.clone(),
            keys,
        }
    }

    /// Puts a saved state back: every key's secret and counter. All or nothing.
    ///
    /// # Errors
    /// Another version or card, or keys that do not match this card's.
    pub fn restore_state(&mut self, state: &CardState) -> Result<(), StateError> {
        if state.version != STATE_VERSION {
            return Err(StateError::Version(state.version));
        }
        if state.serial != self.config.serial {
            return Err(StateError::OtherCard {
                state: state.serial.clone(),
                card: self.config.serial.clone(),
            });
        }
        let mine = self.state();
        let names = |s: &CardState| s.keys.iter().map(KeyState::name).collect::<Vec<_>>();
        if names(&mine) != names(state) {
            return Err(StateError::Keys(format!(
                "the state's keys ({}) are not this card's ({})",
                names(state).join(", "),
                names(&mine).join(", ")
            )));
        }
        let mut restored = self.dfs.clone();
        let mut saved = state.keys.iter();
        for df in &mut restored {
            for ef in &mut df.files {
                let EfBody::Pin(pin) = &mut ef.body else {
                    continue;
                };
                let Some(k) = saved.next() else {
                    return Err(StateError::Keys("fewer keys than the card's".to_owned()));
                };
                if k.max_tries != pin.counter().max() {
                    return Err(StateError::Keys(format!(
                        "{}: {} tries at most in the state, {} on the card",
                        k.name(),
                        k.max_tries,
                        pin.counter().max()
                    )));
                }
                pin.restore(k.secret.as_bytes(), k.tries_left)
                    .map_err(|e| StateError::Keys(format!("{}: {e}", k.name())))?;
            }
        }
        self.dfs = restored;
        Ok(())
    }

    /// The key a command would pay a try on: a VERIFY with a secret (case 3, P1 `00`) on a
    /// key of the current application that is not blocked. `None` for anything else.
    pub fn verify_attempt(&self, apdu: &[u8]) -> Option<(AppId, Fid)> {
        let cmd = Command::parse(apdu).ok()?;
        if Instruction::decode(cmd.cla, cmd.ins)? != Instruction::Verify
            || cmd.cla & 0x1F != 0
            || cmd.p1 != 0
            || !matches!(cmd.case(), Case::Case3Short | Case::Case3Extended)
            || cmd.data().is_empty()
            || cmd.data().len() > 16
        {
            return None;
        }
        let session = self.session.as_ref()?;
        if session.first_command_pending {
            return None;
        }
        let fid = match KeyReference::try_from(cmd.p2).ok()? {
            KeyReference::Current => session.current_ef?,
            KeyReference::Sfi(sfi) => Fid::from_sfi(sfi),
        };
        let df = self.dfs.get(session.current_df)?;
        match &df.ef(fid)?.body {
            EfBody::Pin(pin) if !pin.counter().is_blocked() => Some((df.app, fid)),
            _ => None,
        }
    }
}

impl std::fmt::Display for KeyState {
    /// `jpki key 0018: 3 of 3 tries left` — never the secret.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: {} of {} tries left",
            self.name(),
            self.tries_left,
            self.max_tries
        )
    }
}

/// Hex of a key's FID, as the state writes it.
fn key_name(fid: Fid) -> String {
    hex::compact(&fid.0.to_be_bytes())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

    use super::*;
    use crate::apdu::build;

    fn card() -> Card {
        let yaml = include_str!("../../../scenarios/profiles/default.yaml");
        let mut card = crate::profile::Profile::from_yaml(yaml, "default.yaml")
            .and_then(|p| p.personalise("default.yaml"))
            .unwrap()
            .issue()
            .unwrap()
            .card;
        card.power_on();
        card
    }

    #[test]
    fn a_saved_state_comes_back_and_only_on_its_own_card() {
        let mut c = card();
        c.transmit(&build::select_df(AppId::Jpki.aid()));
        c.transmit(&build::select_ef([0x00, 0x18]));
        assert_eq!(
            c.verify_attempt(&build::verify(KeyReference::Current, b"0000")),
            Some((AppId::Jpki, Fid(0x18)))
        );
        assert_eq!(
            c.verify_attempt(&build::retry_query(KeyReference::Current)),
            None
        );
        assert_eq!(c.verify_attempt(&build::select_ef([0, 0x18])), None);
        c.transmit(&build::verify(KeyReference::Current, b"0000"));
        let saved = c.state();
        let auth = saved
            .keys
            .iter()
            .find(|k| k.app == "jpki" && k.key == "0018")
            .unwrap();
        assert_eq!(
            (auth.tries_left, auth.max_tries, auth.secret.as_str()),
            (2, 3, "1234")
        );
        assert_eq!(auth.to_string(), "jpki key 0018: 2 of 3 tries left");
        let paid = saved.with_attempt(AppId::Jpki, Fid(0x18));
        assert_eq!(
            paid.keys
                .iter()
                .find(|k| k.key == "0018" && k.app == "jpki")
                .unwrap()
                .tries_left,
            1
        );
        let mut fresh = card();
        fresh.restore_state(&saved).unwrap();
        assert_eq!(fresh.state(), saved);
        let mut other = saved.clone();
        other.serial = "000000000000000".into();
        assert!(matches!(
            fresh.restore_state(&other),
            Err(StateError::OtherCard { .. })
        ));
        let mut newer = saved.clone();
        newer.version = 2;
        assert_eq!(fresh.restore_state(&newer), Err(StateError::Version(2)));
        let mut too_many = saved.clone();
        too_many.keys[0].tries_left = 99;
        assert!(fresh.restore_state(&too_many).is_err());
        assert_eq!(fresh.state(), saved, "all or nothing");
        let mut fewer = saved.clone();
        fewer.keys.pop();
        assert!(matches!(
            fresh.restore_state(&fewer),
            Err(StateError::Keys(_))
        ));
        assert_eq!(key_name(Fid(0x1B)), "001B");
    }
}
