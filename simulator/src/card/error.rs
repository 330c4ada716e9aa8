//! The card's semantic errors and the one mapping from them to status words.
//!
//! Handlers say *what* went wrong; [`From<&CardError> for StatusWord`] alone decides which
//! status word the host sees, so the bytes of every refusal can be checked against the
//! reference in one table (reference §2.9).

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
    /// The key reference is blocked.
    #[error("key blocked")]
    KeyBlocked,
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

impl From<&CardError> for StatusWord {
    fn from(e: &CardError) -> Self {
        match *e {
            CardError::WrongLength => Self::WrongLength,
            CardError::ClassNotSupported => Self::ClaNotSupported,
            CardError::LogicalChannelNotSupported => Self::LogicalChannelNotSupported,
            CardError::SecureMessagingNotSupported => Self::SecureMessagingNotSupported,
            CardError::NoSecureMessagingSession => Self::SmSessionUnusable,
            CardError::ChainingNotSupported => Self::ChainingNotSupported,
            CardError::InsNotSupported => Self::InsNotSupported,
            CardError::IncorrectP1P2 => Self::IncorrectP1P2,
            CardError::FileNotFound => Self::FileNotFound,
            CardError::RecordNotFound => Self::RecordNotFound,
            CardError::FunctionNotSupported => Self::FunctionNotSupported,
            CardError::ReferencedDataNotFound => Self::ReferencedDataNotFound,
            CardError::OffsetOutsideEf => Self::OffsetOutsideEf,
            CardError::NoCurrentEf => Self::NoCurrentEf,
            CardError::IncompatibleFileStructure => Self::IncompatibleFileStructure,
            CardError::SecurityStatusNotSatisfied => Self::SecurityStatusNotSatisfied,
            CardError::KeyBlocked => Self::ReferenceDataBlocked,
            CardError::WrongPin { remaining } | CardError::RetriesRemaining { remaining } => {
                Self::retries(remaining)
            }
            CardError::ConditionsNotSatisfied => Self::ConditionsOfUseNotSatisfied,
            CardError::IncorrectData => Self::IncorrectData,
            CardError::SecurityEnvironmentFaulty => Self::SecurityEnvironmentFaulty,
            CardError::NoPreciseDiagnosis => Self::NoPreciseDiagnosis,
        }
    }
}

impl From<CardError> for StatusWord {
    fn from(e: CardError) -> Self {
        Self::from(&e)
    }
}
