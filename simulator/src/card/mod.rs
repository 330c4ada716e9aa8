//! The card: power, ATR, selection, access control and command dispatch — sans-IO.
//!
//! [`Card`] is a pure state machine: bytes in ([`Card::transmit`]), bytes and
//! [`CardEvent`]s out. It owns no socket, thread or clock; randomness comes from a seeded
//! ChaCha20 generator and "today" lives in the profile, so the same profile and seed give
//! byte-identical transcripts.
//!
//! State is split as on a real card (reference §2.5):
//! * persistent — the DFs with their files, secrets and retry counters ([`Df`]); survives
//!   power-off;
//! * volatile — the [`Session`]: current DF and EF, which key references are verified;
//!   replaced wholesale at power-on, and dropped at power-off.
//!
//! Commands are handled in three layers: the wire APDU ([`crate::apdu::Command`]), the
//! class and instruction checks here, and the per-instruction handlers in [`commands`],
//! which return a [`CardError`] that [`CardError::status_word`] alone maps to a status word.
//!
//! [`VirtualCard`] is the one card handle every host and wrapper drives; [`Card`] is its
//! main implementation.

mod atr;
mod commands;
mod error;
mod event;
mod faulted;
pub mod faults;
mod fs;
mod handle;
mod layout;
mod state;
pub mod timing;

pub use atr::{Atqb, AtrPreset, AtrSource, Reader, part3_atr};
pub use error::CardError;
pub use event::{CardEvent, EventLog};
pub use faulted::Faulted;
pub use faults::{Deliver, FaultAction, FaultPlan, FaultSpec};
pub use fs::{Access, Df, Ef, EfBody, Fid, KeyRole, PrivateKey, SessionKeySupport};
pub use handle::{EchoCard, VirtualCard};
pub use layout::Layout;
pub use state::{CardState, KeyState, STATE_VERSION, StateError};
pub use timing::{TimingMode, TimingModel, TimingSpec};

use std::time::Duration;

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use serde::{Deserialize, Serialize};

use crate::apdu::{Command, Response};
use crate::apps::AppId;

/// Optional behaviours seen on some cards only (reference §2.4, §2.5, §6). All off by
/// default: the default card is the one most sources describe.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(deny_unknown_fields, default)]
pub struct Quirks {
    /// Answer the first command after power-up with `6F 00` (one card measured by
    /// MYNA-CARD, reference §2.5 and §6 item 20).
    pub first_command_6f00: bool,
    /// Answer the retry query with `90 00` when the key is already verified in this session
    /// (some cards; reference §2.4). Off: the query always answers `63 Cx`, which is what
    /// MYNA-RS's PIN status sweep requires.
    pub verify_query_success_when_verified: bool,
    /// Keep verified keys when a *different* DF is selected. Off: selecting another
    /// application or the issuer security domain clears the security status, re-selecting
    /// the same application keeps it (JICSAP 5.1.3 rule 2 as documented by MYNA-CARD;
    /// reference §2.5 calls it not established).
    pub keep_security_on_df_switch: bool,
    /// Clear verified keys when the *current* application is selected again (SELECT by DF
    /// name of the DF that is already current). Off: re-selecting keeps them (JICSAP 5.1.3
    /// as MYNA-CARD documents it). On: what OpenSC's answer to CVE-2023-40660 assumes of a
    /// card whose driver "logs out" by re-selecting the application.
    pub reselect_clears_security: bool,
    /// The MF-level GET DATA object `7F21` is absent, as on older cards (reference §1.7).
    pub no_7f21_data_object: bool,
    /// GET DATA `5F51` (contact ATR) answers only with an application selected, not at MF
    /// level, as on some cards (reference §1.7, §3.4).
    pub atr_data_object_in_applications: bool,
    /// Answer VERIFY (and a change) on a blocked key with `69 83` instead of the measured
    /// `69 84` (reference §2.4: NUNNUN and LULITECH treat `69 83` as blocked; no source shows
    /// a card sending it).
    pub blocked_key_6983: bool,
    /// Answer the retry query of a blocked key with `69 84` instead of `63 C0` (reference
    /// §2.4: MYNA-CARD accepts both).
    pub blocked_query_6984: bool,
    /// Refuse signing input of the wrong length for its scheme with `69 85` instead of
    /// `67 00` (reference §2.7: the card answers one or the other; which is not stated).
    pub signing_length_6985: bool,
}

/// Fixed facts about a card that do not change while it runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardConfig {
    /// The ATR preset.
    pub atr: AtrPreset,
    /// The reader the card sits in ([`Reader`]); `None`: the preset as it is.
    pub reader: Option<Reader>,
    /// Optional behaviours.
    pub quirks: Quirks,
    /// Seed of the card's random number generator (GET CHALLENGE, PSS salts).
    pub seed: u64,
    /// The card's manufacturing serial (common-card EF 0001): names the card in its saved
    /// [state](CardState).
    pub serial: String,
}

impl CardConfig {
    /// Where the ATR comes from: the preset, and the reader if one is named.
    pub fn atr_source(&self) -> AtrSource {
        AtrSource {
            preset: self.atr,
            reader: self.reader,
        }
    }
}

/// A random PUPI (ISO/IEC 14443-3 §7.9.2: 4 bytes, random per activation when the card
/// chooses so).
fn next_pupi(rng: &mut ChaCha20Rng) -> [u8; 4] {
    use rand_core::Rng;
    rng.next_u32().to_be_bytes()
}

/// The volatile state of one power cycle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// Index of the current DF in the card's DF list (0 is the issuer security domain).
    current_df: usize,
    /// The current EF of the current DF.
    current_ef: Option<Fid>,
    /// Verified key references: (DF index, key FID).
    verified: Vec<(usize, Fid)>,
    /// Whether the `6F 00` quirk still waits for its command.
    first_command_pending: bool,
}

impl Session {
    fn new(quirks: &Quirks) -> Self {
        Self {
            current_df: 0,
            current_ef: None,
            verified: Vec::new(),
            first_command_pending: quirks.first_command_6f00,
        }
    }

    fn is_verified(&self, df: usize, key: Fid) -> bool {
        self.verified.contains(&(df, key))
    }

    fn set_verified(&mut self, df: usize, key: Fid, verified: bool) {
        self.verified.retain(|&v| v != (df, key));
        if verified {
            self.verified.push((df, key));
        }
    }

    /// Whether `access` is satisfied for a file of DF `df`.
    fn allows(&self, df: usize, access: &Access) -> bool {
        match access {
            Access::Free => true,
            Access::Never => false,
            Access::AnyOf(keys) => keys.iter().any(|&k| self.is_verified(df, k)),
        }
    }
}

/// A simulated My Number Card.
#[derive(Debug, Clone)]
pub struct Card {
    /// Persistent state: the issuer security domain first, then the applications.
    dfs: Vec<Df>,
    config: CardConfig,
    /// `None` while unpowered.
    session: Option<Session>,
    rng: ChaCha20Rng,
    events: EventLog,
    /// Faults to inject ([`faults`]), if any.
    faults: Option<Box<FaultPlan>>,
    /// What the host does with the last answer.
    deliver: Deliver,
    /// `timing: realistic`: how long each exchange takes ([`timing`]).
    timing: Option<TimingModel>,
    /// The ATR of the current (or next) activation.
    atr: Vec<u8>,
    /// Draws the PUPI of each activation ([`Reader::Pupi`]); apart from the card's RNG so a
    /// reader personality does not change challenges or salts.
    pupi_rng: ChaCha20Rng,
    /// Cold starts so far.
    activations: u64,
}

impl Card {
    /// A card with these DFs, unpowered. `dfs[0]` must be the issuer security domain,
    /// the power-on current DF (reference §1.1).
    pub fn new(dfs: Vec<Df>, config: CardConfig) -> Self {
        let rng = ChaCha20Rng::seed_from_u64(config.seed);
        let mut pupi_rng = ChaCha20Rng::seed_from_u64(config.seed ^ 0x5055_5049);
        let atr = config.atr_source().atr(next_pupi(&mut pupi_rng));
        Self {
            dfs,
            config,
            session: None,
            rng,
            events: EventLog::default(),
            faults: None,
            deliver: Deliver::Now,
            timing: None,
            atr,
            pupi_rng,
            activations: 0,
        }
    }

    /// Makes every answer take the modelled time (`None`: answer at once).
    pub fn set_timing(&mut self, model: Option<TimingModel>) {
        self.timing = model;
    }

    /// Gives the card a fault plan (an empty plan removes it).
    pub fn set_faults(&mut self, plan: FaultPlan) {
        self.faults = (!plan.is_empty()).then(|| Box::new(plan));
    }

    /// Adds faults after the card's own (`mynasim exec --fault`).
    pub fn add_faults(&mut self, extra: FaultPlan) {
        match &mut self.faults {
            Some(plan) => plan.append(extra),
            None => self.set_faults(extra),
        }
    }

    /// What the host must do with the last answer (taken: the next call says `Now`).
    pub fn deliver(&mut self) -> Deliver {
        std::mem::take(&mut self.deliver)
    }

    /// Cold start: a fresh session (nothing verified, the issuer security domain current).
    /// Returns the ATR. In a reader that shows the PUPI, every activation after the first
    /// has a new one (the first is the ATR the card showed before it was powered).
    pub fn power_on(&mut self) -> &[u8] {
        if self.activations > 0 && self.config.atr_source().varies() {
            self.atr = self.config.atr_source().atr(next_pupi(&mut self.pupi_rng));
        }
        self.activations = self.activations.saturating_add(1);
        self.session = Some(Session::new(&self.config.quirks));
        self.events.push(CardEvent::PoweredOn);
        &self.atr
    }

    /// Removes power: the session and everything verified in it are gone; files, secrets
    /// and retry counters stay.
    pub fn power_off(&mut self) {
        if self.session.take().is_some() {
            self.events.push(CardEvent::PoweredOff);
        }
    }

    /// Warm reset: the ATR again; the current application and its verified keys survive —
    /// they last until the card loses power, and re-selecting the same application keeps
    /// them (reference §2.5; MYNA-CARD: "warm reset and reconnect do not clear"). Only the
    /// current EF is forgotten. An unpowered card powers on.
    pub fn reset(&mut self) -> &[u8] {
        match &mut self.session {
            Some(session) => {
                session.current_ef = None;
                self.events.push(CardEvent::WarmReset);
                &self.atr
            }
            None => self.power_on(),
        }
    }

    /// The ATR the card presents (of the current activation, or the next when unpowered
    /// and never powered).
    pub fn atr(&self) -> &[u8] {
        &self.atr
    }

    /// Whether the card is powered.
    pub fn is_powered(&self) -> bool {
        self.session.is_some()
    }

    /// Sends one command APDU and returns the response (data, then SW1 SW2). An unpowered
    /// card is mute and answers nothing (an empty vector).
    pub fn transmit(&mut self, apdu: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        self.transmit_into(apdu, &mut out);
        out
    }

    /// [`Card::transmit`] into a caller's buffer (cleared first). A fault plan, when the
    /// card has one, may change the answer here and say how to deliver it
    /// ([`Card::deliver`]).
    pub fn transmit_into(&mut self, apdu: &[u8], out: &mut Vec<u8>) {
        out.clear();
        self.deliver = Deliver::Now;
        if self.session.is_none() {
            return;
        }
        let Some(action) = self.faults.as_mut().and_then(|f| f.decide(apdu)) else {
            self.answer(apdu, out);
            self.take_time(apdu, out, Duration::ZERO);
            return;
        };
        match action {
            FaultAction::Latency { fixed, .. } => {
                self.answer(apdu, out);
                self.take_time(apdu, out, fixed);
            }
            FaultAction::Status(sw) => {
                out.extend_from_slice(&sw);
                self.take_time(apdu, out, Duration::ZERO);
            }
            FaultAction::Corrupt(how) => {
                self.answer(apdu, out);
                faults::corrupt(out, how);
                self.take_time(apdu, out, Duration::ZERO);
            }
            FaultAction::DropLink => {
                self.answer(apdu, out);
                out.clear();
                self.power_off();
                self.deliver = Deliver::DropLink;
            }
            FaultAction::Remove(back) => {
                self.power_off();
                self.deliver = Deliver::Gone(back);
            }
            FaultAction::Tear(back) => {
                // Decrement before compare (reference §2.4): the first half of VERIFY runs,
                // the power goes before the second.
                if let Some((app, key)) = self.verify_attempt(apdu)
                    && let Some(pin) = self.df_mut(app).and_then(|df| df.pin_mut(key))
                {
                    let _ = pin.begin_verify();
                }
                self.power_off();
                self.deliver = Deliver::Gone(back);
            }
        }
    }

    /// Says how long the answer takes: the timing model's time for the exchange (when
    /// realistic) plus a fault's latency.
    fn take_time(&mut self, apdu: &[u8], out: &[u8], extra: Duration) {
        let modelled = self
            .timing
            .map_or(Duration::ZERO, |m| m.exchange(apdu, out).total());
        let total = modelled + extra;
        self.deliver = if total.is_zero() {
            Deliver::Now
        } else {
            Deliver::After(total)
        };
    }

    /// The card's own answer to a command.
    fn answer(&mut self, apdu: &[u8], out: &mut Vec<u8>) {
        let response = match self.process(apdu) {
            Ok(response) => response,
            Err(e) => Response::status(e.status_word(&self.config.quirks)),
        };
        response.encode_into(out);
    }

    /// Drains the events since the last call.
    pub fn take_events(&mut self) -> Vec<CardEvent> {
        self.events.take()
    }

    /// The DFs (persistent state), the issuer security domain first.
    pub fn dfs(&self) -> &[Df] {
        &self.dfs
    }

    /// The DF of an application.
    pub fn df(&self, app: AppId) -> Option<&Df> {
        self.dfs.iter().find(|df| df.app == app)
    }

    /// The DF of an application, mutably (for fault injection and state set-up).
    pub fn df_mut(&mut self, app: AppId) -> Option<&mut Df> {
        self.dfs.iter_mut().find(|df| df.app == app)
    }

    /// The configuration.
    pub fn config(&self) -> &CardConfig {
        &self.config
    }

    /// The current session, if powered.
    pub fn session(&self) -> Option<&Session> {
        self.session.as_ref()
    }

    /// The application whose DF is current, if powered.
    pub fn current_app(&self) -> Option<AppId> {
        let session = self.session.as_ref()?;
        self.dfs.get(session.current_df).map(|df| df.app)
    }

    /// Whether a key reference of an application is verified in the current session.
    pub fn is_verified(&self, app: AppId, key: Fid) -> bool {
        let Some(session) = &self.session else {
            return false;
        };
        self.dfs
            .iter()
            .position(|df| df.app == app)
            .is_some_and(|i| session.is_verified(i, key))
    }

    fn process(&mut self, bytes: &[u8]) -> Result<Response, CardError> {
        let cmd = Command::parse(bytes)?;
        let Self {
            dfs,
            config,
            session,
            rng,
            events,
            ..
        } = self;
        let Some(session) = session.as_mut() else {
            return Err(CardError::NoPreciseDiagnosis);
        };
        if std::mem::take(&mut session.first_command_pending) {
            return Err(CardError::NoPreciseDiagnosis);
        }
        let mut ctx = commands::Context {
            dfs,
            session,
            quirks: &config.quirks,
            rng,
            events,
        };
        commands::dispatch(&mut ctx, &cmd)
    }
}
