//! Typed events the card emits as it works, for transcripts and scenario assertions
//! ("the PIN was blocked", "a signature was made with key 001A").

use std::collections::VecDeque;

use super::Fid;
use crate::apps::AppId;

/// Something that happened inside the card.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CardEvent {
    /// Cold start: contacts powered, ATR sent.
    PoweredOn,
    /// Power removed: the session (verified keys, selection) is gone.
    PoweredOff,
    /// Warm reset: ATR sent again, verified keys kept (reference §2.5).
    WarmReset,
    /// An application (DF) became current.
    Selected {
        /// The application.
        app: AppId,
    },
    /// An EF became current.
    EfSelected {
        /// Its application.
        app: AppId,
        /// The EF.
        fid: Fid,
    },
    /// VERIFY succeeded.
    PinVerified {
        /// The application.
        app: AppId,
        /// The key reference.
        key: Fid,
    },
    /// VERIFY failed; `left` tries remain.
    PinFailed {
        /// The application.
        app: AppId,
        /// The key reference.
        key: Fid,
        /// Tries left.
        left: u8,
    },
    /// A failed VERIFY used the last try.
    PinBlocked {
        /// The application.
        app: AppId,
        /// The key reference.
        key: Fid,
    },
    /// CHANGE REFERENCE DATA / CHANGE KEY set a new secret.
    PinChanged {
        /// The application.
        app: AppId,
        /// The key reference.
        key: Fid,
    },
    /// A private key produced a signature.
    Signed {
        /// The application.
        app: AppId,
        /// The key.
        key: Fid,
        /// The `80 2A` P1 scheme (`0x88` for INTERNAL AUTHENTICATE).
        scheme: u8,
    },
}

/// Events not yet taken, bounded: a long-running card whose owner never drains its events
/// keeps only the newest [`EventLog::CAPACITY`] and counts the rest as dropped.
#[derive(Debug, Clone, Default)]
pub struct EventLog {
    events: VecDeque<CardEvent>,
    dropped: u64,
}

impl EventLog {
    /// Events kept before the oldest are dropped.
    pub const CAPACITY: usize = 1024;

    /// Records an event.
    pub fn push(&mut self, event: CardEvent) {
        if self.events.len() == Self::CAPACITY {
            self.events.pop_front();
            self.dropped += 1;
        }
        self.events.push_back(event);
    }

    /// Takes every kept event, oldest first.
    pub fn take(&mut self) -> Vec<CardEvent> {
        self.events.drain(..).collect()
    }

    /// How many events were dropped because nobody took them.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }
}
