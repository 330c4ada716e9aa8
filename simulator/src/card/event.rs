//! Typed events the card emits as it works, for transcripts and scenario assertions
//! ("the PIN was blocked", "a signature was made with key 001A").

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
