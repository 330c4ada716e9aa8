//! The card's semantic errors and the one mapping from them to status words.
//!
//! Handlers say *what* went wrong; [`CardError::status_word`] alone decides which status
//! word the host sees, so the bytes of every refusal can be checked against the reference in
//! one table (reference §2.9). Where the reference allows more than one status word for a
//! situation, the situation has a variant of its own and a [quirk](super::Quirks) chooses
//! inside this mapping: the measured answer by default, the other one as a named quirk.

use super::Quirks;
use crate::apdu::{ApduError, StatusWord};

/// Why the card refuses a command (or, for [`CardError::RetriesRemaining`], the warning it
/// answers to the retry query).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CardError {
    /// The length fields, Lc/Le presence or data length do not fit the command.
    #[error("wrong length")]
    WrongLength,
    /// The class byte is neither interindustry (`0X`) nor proprietary (`8X`).
    #[error("class not supported")]
    ClassNotSupported,
    /// A logical channel other than 0 (reference §2.2).
    #[error("logical channel not supported")]
    LogicalChannelNotSupported,
    /// Secure messaging on SELECT (reference §2.2).
    #[error("secure messaging not supported")]
    SecureMessagingNotSupported,
    /// Secure messaging on a command outside an open session (reference §2.8: `69 FC`).
    #[error("no secure messaging session")]
    NoSecureMessagingSession,
    /// The command-chaining bit of CLA.
    #[error("command chaining not supported")]
    ChainingNotSupported,
    /// An instruction this card does not know in this class.
    #[error("instruction not supported")]
    InsNotSupported,
    /// P1–P2 out of range for the instruction.
    #[error("incorrect P1-P2")]
    IncorrectP1P2,
    /// No DF or EF with that name or identifier.
    #[error("file not found")]
    FileNotFound,
    /// No such record.
    #[error("record not found")]
    RecordNotFound,
    /// A function of the instruction the card does not offer.
    #[error("function not supported")]
    FunctionNotSupported,
    /// No such key reference or data object.
    #[error("referenced data not found")]
    ReferencedDataNotFound,
    /// READ BINARY offset at or past the end of the EF.
    #[error("offset outside the EF")]
    OffsetOutsideEf,
    /// The command needs a current EF and there is none.
    #[error("no current EF")]
    NoCurrentEf,
    /// The current EF is of the wrong kind (READ on a key, VERIFY on a data file).
    #[error("incompatible with file structure")]
    IncompatibleFileStructure,
    /// The access condition is not met.
    #[error("security status not satisfied")]
    SecurityStatusNotSatisfied,
    /// VERIFY or a change on a blocked key: `69 84` as measured (reference §2.4), or `69 83`
    /// with [`Quirks::blocked_key_6983`] (what NUNNUN and LULITECH expect; no source shows a
    /// card sending it).
    #[error("key blocked")]
    KeyBlocked,
    /// The case-1 retry query of a blocked key: `63 C0` (reference §2.4, MYNA-CARD), or
    /// `69 84` with [`Quirks::blocked_query_6984`] (MYNA-CARD accepts that too).
    #[error("key blocked (retry query)")]
    BlockedKeyQueried,
    /// Signing input of the wrong length for its scheme: `67 00`, or `69 85` with
    /// [`Quirks::signing_length_6985`] (reference §2.7: either, which one per case not
    /// stated).
    #[error("signing input of the wrong length for the scheme")]
    SigningInputLength,
    /// GET RESPONSE when nothing waits (the card never answers `61 xx`): `69 85`, a guess
    /// (reference §7 lists no answer).
    #[error("nothing to get")]
    NothingToGetResponse,
    /// An issuer-only JICSAP instruction (ERASE ALL RECORDS, LOCK/UNLOCK DF, UNLOCK KEY,
    /// MANAGE ATTRIBUTES, EXTERNAL AUTHENTICATE) without issuer authentication: known to the
    /// card (not `6D 00`, reference §2.8); `69 82` is assumed, the real status is not
    /// published.
    #[error("issuer-only instruction")]
    IssuerOnlyInstruction,
    /// CHANGE REFERENCE DATA or CHANGE KEY before a successful VERIFY of the key in this
    /// session: `69 82`, assumed (reference §7).
    #[error("change before verify")]
    ChangeWithoutVerify,
    /// VERIFY failed; `remaining` tries are left.
    #[error("wrong secret, {remaining} tries left")]
    WrongPin {
        /// Tries left (0: the key is now blocked).
        remaining: u8,
    },
    /// The retry query's answer: the key is not verified and has `remaining` tries.
    #[error("{remaining} tries left")]
    RetriesRemaining {
        /// Tries left.
        remaining: u8,
    },
    /// The command cannot be used here, or its input has the wrong shape for the mode.
    #[error("conditions of use not satisfied")]
    ConditionsNotSatisfied,
    /// A value in the data field is wrong (a new PIN that breaks the rule).
    #[error("incorrect data field")]
    IncorrectData,
    /// SET SESSION KEY in an application without secure messaging.
    #[error("security environment faulty")]
    SecurityEnvironmentFaulty,
    /// The card's generic failure; also the first answer after power-up on one measured card.
    #[error("no precise diagnosis")]
    NoPreciseDiagnosis,
}

impl From<ApduError> for CardError {
    /// A byte string that is not a command APDU is a length error (ISO/IEC 7816-4 §5.1).
    fn from(_: ApduError) -> Self {
        Self::WrongLength
    }
}

impl CardError {
    /// The status word the host sees: the one mapping from situations to status words
    /// (reference §2.9), with the profile's quirks choosing where the reference allows two.
    pub fn status_word(&self, quirks: &Quirks) -> StatusWord {
        match *self {
            Self::WrongLength => StatusWord::WrongLength,
            Self::ClassNotSupported => StatusWord::ClaNotSupported,
            Self::LogicalChannelNotSupported => StatusWord::LogicalChannelNotSupported,
            Self::SecureMessagingNotSupported => StatusWord::SecureMessagingNotSupported,
            Self::NoSecureMessagingSession => StatusWord::SmSessionUnusable,
            Self::ChainingNotSupported => StatusWord::ChainingNotSupported,
            Self::InsNotSupported => StatusWord::InsNotSupported,
            Self::IncorrectP1P2 => StatusWord::IncorrectP1P2,
            Self::FileNotFound => StatusWord::FileNotFound,
            Self::RecordNotFound => StatusWord::RecordNotFound,
            Self::FunctionNotSupported => StatusWord::FunctionNotSupported,
            Self::ReferencedDataNotFound => StatusWord::ReferencedDataNotFound,
            Self::OffsetOutsideEf => StatusWord::OffsetOutsideEf,
            Self::NoCurrentEf => StatusWord::NoCurrentEf,
            Self::IncompatibleFileStructure => StatusWord::IncompatibleFileStructure,
            Self::SecurityStatusNotSatisfied
            | Self::IssuerOnlyInstruction
            | Self::ChangeWithoutVerify => StatusWord::SecurityStatusNotSatisfied,
            Self::KeyBlocked if quirks.blocked_key_6983 => StatusWord::AuthenticationBlocked,
            Self::KeyBlocked => StatusWord::ReferenceDataBlocked,
            Self::BlockedKeyQueried if quirks.blocked_query_6984 => {
                StatusWord::ReferenceDataBlocked
            }
            Self::BlockedKeyQueried => StatusWord::retries(0),
            Self::WrongPin { remaining } | Self::RetriesRemaining { remaining } => {
                StatusWord::retries(remaining)
            }
            Self::SigningInputLength if quirks.signing_length_6985 => {
                StatusWord::ConditionsOfUseNotSatisfied
            }
            Self::SigningInputLength => StatusWord::WrongLength,
            Self::ConditionsNotSatisfied | Self::NothingToGetResponse => {
                StatusWord::ConditionsOfUseNotSatisfied
            }
            Self::IncorrectData => StatusWord::IncorrectData,
            Self::SecurityEnvironmentFaulty => StatusWord::SecurityEnvironmentFaulty,
            Self::NoPreciseDiagnosis => StatusWord::NoPreciseDiagnosis,
        }
    }
}
