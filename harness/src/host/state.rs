//! Card state that survives the process: `serve --state FILE` (and `state:` in a serve
//! configuration) keeps a card's secrets and retry counters in a file, as a real card keeps
//! them in EEPROM.
//!
//! The file is JSON ([`CardState`], versioned; `harness/tests/golden/state-v1.json` is the
//! default card's). It is written atomically — a temporary file beside it, synced, renamed
//! over it, the folder synced — and **before the response that depends on it leaves the
//! card**: for a VERIFY, the paid try is on disk before the card compares the secret, so a
//! process killed mid-VERIFY never gives a free try (the card's decrement-before-compare
//! rule, carried to the file); any other change is on disk before the answer goes back. If
//! the file cannot be written the card answers `6F 00` and the failure is logged. The file
//! holds the card's secrets: it is created readable by its owner only.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use mynasim_simulator::apdu::StatusWord;
use mynasim_simulator::card::{Card, CardState, VirtualCard};
use mynasim_simulator::profile::files;

/// The largest state file read.
const MAX_STATE_FILE: u64 = 1 << 20;

/// A card whose persistent state lives in a file.
pub struct PersistentCard {
    card: Card,
    path: PathBuf,
    on_disk: CardState,
}

impl std::fmt::Debug for PersistentCard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PersistentCard")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl PersistentCard {
    /// Puts the state in `path` on `card`, or starts the file with the card's state when
    /// there is none yet.
    ///
    /// # Errors
    /// The file cannot be read or written, is not a state of this card, or of this version.
    pub fn open(mut card: Card, path: &Path) -> Result<Self, String> {
        let at = path.display();
        let on_disk = match files::read_text(path, MAX_STATE_FILE) {
            Ok(text) => {
                let state: CardState = serde_json::from_str(&text)
                    .map_err(|e| format!("{at}: not a card state: {e}"))?;
                card.restore_state(&state)
                    .map_err(|e| format!("{at}: {e}"))?;
                state
            }
            Err(files::ReadError::Io(e)) if e.kind() == std::io::ErrorKind::NotFound => {
                let state = card.state();
                write(path, &state).map_err(|e| format!("cannot write {at}: {e}"))?;
                state
            }
            Err(e) => return Err(format!("cannot read {at}: {e}")),
        };
        Ok(Self {
            card,
            path: path.to_owned(),
            on_disk,
        })
    }

    /// Writes `state` unless it is what the file holds.
    fn save(&mut self, state: CardState) -> bool {
        if state == self.on_disk {
            return true;
        }
        match write(&self.path, &state) {
            Ok(()) => {
                self.on_disk = state;
                true
            }
            Err(e) => {
                tracing::error!(
                    "cannot write the card state {}: {e}; answering 6F 00",
                    self.path.display()
                );
                false
            }
        }
    }
}

impl VirtualCard for PersistentCard {
    fn atr(&self) -> &[u8] {
        self.card.atr()
    }

    fn power_on(&mut self) {
        self.card.power_on();
    }

    fn power_off(&mut self) {
        self.card.power_off();
    }

    fn reset(&mut self) {
        self.card.reset();
    }

    fn transmit_into(&mut self, apdu: &[u8], out: &mut Vec<u8>) {
        let failed = |out: &mut Vec<u8>| {
            out.clear();
            out.extend_from_slice(&StatusWord::NoPreciseDiagnosis.to_bytes());
        };
        if let Some((app, key)) = self.card.verify_attempt(apdu) {
            // The try is paid on disk before the card compares.
            let paid = self.card.state().with_attempt(app, key);
            if !self.save(paid) {
                return failed(out);
            }
        }
        self.card.transmit_into(apdu, out);
        // Saved even when nothing answers: a card pulled out before the command reached it
        // gives the paid try back (a torn VERIFY keeps it paid).
        let saved = self.save(self.card.state());
        if !out.is_empty() && !saved {
            failed(out);
        }
    }

    fn deliver(&mut self) -> mynasim_simulator::card::Deliver {
        self.card.deliver()
    }

    fn arm_faults(&mut self, plan: mynasim_simulator::card::FaultPlan) -> bool {
        self.card.arm_faults(plan)
    }
}

/// Writes a state atomically and durably: a temporary file (owner-only) synced and renamed
/// over `path`, then the folder synced.
fn write(path: &Path, state: &CardState) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt as _;
    let text = serde_json::to_string_pretty(state).map_err(std::io::Error::other)? + "\n";
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_owned(),
        _ => PathBuf::from("."),
    };
    let tmp = dir.join(format!(
        ".{}.tmp",
        path.file_name()
            .map_or_else(|| "state".into(), |n| n.to_string_lossy())
    ));
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(&tmp, path)?;
    std::fs::File::open(&dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

    use mynasim_simulator::apdu::{KeyReference, build};
    use mynasim_simulator::apps::AppId;

    use super::*;
    use crate::profiles::ProfileSource;

    fn card() -> Card {
        ProfileSource::BuiltinDefault.issue().unwrap().card
    }

    fn dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("mynasim-state-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn tx(card: &mut PersistentCard, apdu: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        card.transmit_into(apdu, &mut out);
        out
    }

    #[test]
    fn the_state_file_follows_every_try_and_comes_back() {
        let d = dir("follow");
        let path = d.join("card.json");
        let mut c = PersistentCard::open(card(), &path).unwrap();
        assert!(path.exists(), "a new file starts with the card's state");
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        c.power_on();
        tx(&mut c, &build::select_df(AppId::Jpki.aid()));
        tx(&mut c, &build::select_ef([0x00, 0x18]));
        assert_eq!(
            tx(&mut c, &build::verify(KeyReference::Current, b"0000")),
            [0x63, 0xC2]
        );
        let saved: CardState =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(saved, c.card.state());
        // A new process: the counter is where it was.
        let mut again = PersistentCard::open(card(), &path).unwrap();
        again.power_on();
        tx(&mut again, &build::select_df(AppId::Jpki.aid()));
        tx(&mut again, &build::select_ef([0x00, 0x18]));
        assert_eq!(
            tx(&mut again, &build::retry_query(KeyReference::Current)),
            [0x63, 0xC2]
        );
        // Another card's state is refused.
        let other = ProfileSource::find("corrupt-my-number-check-digit", Path::new("."))
            .and_then(|s| s.issue())
            .map(|i| i.card);
        if let Ok(other) = other
            && other.config().serial != c.card.config().serial
        {
            assert!(
                PersistentCard::open(other, &path)
                    .unwrap_err()
                    .contains("not of this")
            );
        }
        std::fs::write(&path, "{}").unwrap();
        assert!(
            PersistentCard::open(card(), &path)
                .unwrap_err()
                .contains("not a card state")
        );
        let _ = std::fs::remove_dir_all(d);
    }

    #[test]
    fn a_state_that_cannot_be_written_makes_the_card_answer_6f00() {
        let d = dir("unwritable");
        let path = d.join("card.json");
        let mut c = PersistentCard::open(card(), &path).unwrap();
        c.power_on();
        tx(&mut c, &build::select_df(AppId::Jpki.aid()));
        tx(&mut c, &build::select_ef([0x00, 0x18]));
        std::fs::remove_dir_all(&d).unwrap();
        assert_eq!(
            tx(&mut c, &build::verify(KeyReference::Current, b"0000")),
            [0x6F, 0x00]
        );
    }
}

#[cfg(test)]
mod golden {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use crate::profiles::ProfileSource;

    fn golden(version: u32) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/golden/state-v{version}.json"))
    }

    /// Version 1 of the state format, byte for byte: the default card's state as written,
    /// and what a file of that version puts back. A format change gets a new version and a
    /// file of its own; old files keep loading or are refused by version.
    #[test]
    fn state_version_1_is_what_the_default_card_writes_and_reads() {
        let dir = std::env::temp_dir().join(format!("mynasim-state-golden-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("card.json");
        let _ = std::fs::remove_file(&path);
        let card = ProfileSource::BuiltinDefault.issue().unwrap().card;
        PersistentCard::open(card, &path).unwrap();
        let written = std::fs::read_to_string(&path).unwrap();
        let committed = std::fs::read_to_string(golden(1)).unwrap();
        assert_eq!(written, committed, "the version 1 format changed");
        let card = ProfileSource::BuiltinDefault.issue().unwrap().card;
        assert!(PersistentCard::open(card, &golden(1)).is_ok());
        let _ = std::fs::remove_dir_all(dir);
    }
}
