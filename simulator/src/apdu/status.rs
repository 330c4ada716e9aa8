//! Status words: the two trailer bytes SW1 SW2 of every response.
//!
//! One typed enum with a variant per status word the My Number Card is known to send
//! (reference §2.9) plus [`StatusWord::Other`] so that answers from real cards, which the
//! harness reads through PC/SC, round-trip unchanged. The card core never builds a status
//! word by hand: handlers return a `CardError` and `card::error` maps it here, in one place.

use std::fmt;

/// A status word (ISO/IEC 7816-4 §5.6, tables 5 and 6; JIS X 6319-4 §7.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StatusWord {
    /// `90 00`: normal processing.
    Success,
    /// `63 Cx`: verification failed or retry query; `remaining` tries left (0–15).
    /// `63 C0` is the attempt that exhausts the counter (reference §2.4).
    RetriesRemaining {
        /// Tries left, 0–15.
        remaining: u8,
    },
    /// `63 00`: verification failed on a key without a retry limit (JICSAP; reference §2.9).
    VerificationFailed,
    /// `66 F1`: security environment faulty — SET SESSION KEY in an application without
    /// secure messaging (reference §2.8).
    SecurityEnvironmentFaulty,
    /// `67 00`: wrong length (ISO/IEC 7816-4 table 6).
    WrongLength,
    /// `68 81`: logical channel not supported.
    LogicalChannelNotSupported,
    /// `68 82`: secure messaging not supported.
    SecureMessagingNotSupported,
    /// `68 84`: command chaining not supported.
    ChainingNotSupported,
    /// `69 81`: command incompatible with file structure (READ on a key, READ RECORD on a
    /// transparent EF).
    IncompatibleFileStructure,
    /// `69 82`: security status not satisfied.
    SecurityStatusNotSatisfied,
    /// `69 83`: authentication method blocked — what some clients expect for a blocked key;
    /// no source shows the card sending it (reference §2.4); only the quirk
    /// `blocked_key_6983` does.
    AuthenticationBlocked,
    /// `69 84`: referenced data not usable — on this card, the key (IEF) is blocked
    /// (reference §2.4, measured; `69 83` is never sent).
    ReferenceDataBlocked,
    /// `69 85`: conditions of use not satisfied.
    ConditionsOfUseNotSatisfied,
    /// `69 86`: command not allowed, no current EF.
    NoCurrentEf,
    /// `69 87`: expected secure-messaging data objects missing.
    SmDataObjectsMissing,
    /// `69 88`: incorrect secure-messaging data objects.
    SmDataObjectsIncorrect,
    /// `69 FC`: secure messaging session unusable (JICSAP proprietary; reference §2.8).
    SmSessionUnusable,
    /// `6A 80`: incorrect parameters in the data field.
    IncorrectData,
    /// `6A 81`: function not supported.
    FunctionNotSupported,
    /// `6A 82`: file or application not found.
    FileNotFound,
    /// `6A 83`: record not found.
    RecordNotFound,
    /// `6A 86`: incorrect parameters P1–P2.
    IncorrectP1P2,
    /// `6A 88`: referenced data (data object, key) not found.
    ReferencedDataNotFound,
    /// `6B 00`: wrong parameters P1–P2 — offset outside the EF.
    OffsetOutsideEf,
    /// `6D 00`: instruction code not supported.
    InsNotSupported,
    /// `6E 00`: class not supported.
    ClaNotSupported,
    /// `6F 00`: no precise diagnosis.
    NoPreciseDiagnosis,
    /// Any other status word (seen from a real card, never sent by the simulator).
    Other(u16),
}

impl StatusWord {
    /// The `63 Cx` retry-counter status word; counts above 15 saturate at `63 CF`.
    pub fn retries(remaining: u8) -> Self {
        Self::RetriesRemaining {
            remaining: remaining.min(15),
        }
    }

    /// The status word as a 16-bit value, SW1 in the high byte.
    pub fn to_u16(self) -> u16 {
        match self {
            Self::Success => 0x9000,
            Self::RetriesRemaining { remaining } => 0x63C0 | u16::from(remaining.min(15)),
            Self::VerificationFailed => 0x6300,
            Self::SecurityEnvironmentFaulty => 0x66F1,
            Self::WrongLength => 0x6700,
            Self::LogicalChannelNotSupported => 0x6881,
            Self::SecureMessagingNotSupported => 0x6882,
            Self::ChainingNotSupported => 0x6884,
            Self::IncompatibleFileStructure => 0x6981,
            Self::SecurityStatusNotSatisfied => 0x6982,
            Self::AuthenticationBlocked => 0x6983,
            Self::ReferenceDataBlocked => 0x6984,
            Self::ConditionsOfUseNotSatisfied => 0x6985,
            Self::NoCurrentEf => 0x6986,
            Self::SmDataObjectsMissing => 0x6987,
            Self::SmDataObjectsIncorrect => 0x6988,
            Self::SmSessionUnusable => 0x69FC,
            Self::IncorrectData => 0x6A80,
            Self::FunctionNotSupported => 0x6A81,
            Self::FileNotFound => 0x6A82,
            Self::RecordNotFound => 0x6A83,
            Self::IncorrectP1P2 => 0x6A86,
            Self::ReferencedDataNotFound => 0x6A88,
            Self::OffsetOutsideEf => 0x6B00,
            Self::InsNotSupported => 0x6D00,
            Self::ClaNotSupported => 0x6E00,
            Self::NoPreciseDiagnosis => 0x6F00,
            Self::Other(sw) => sw,
        }
    }

    /// The typed status word for a 16-bit value; `from_u16(sw.to_u16()) == sw` for every
    /// status word except `Other` values that name a typed one.
    pub fn from_u16(sw: u16) -> Self {
        if sw & 0xFFF0 == 0x63C0 {
            return Self::RetriesRemaining {
                remaining: (sw & 0x0F) as u8,
            };
        }
        match sw {
            0x9000 => Self::Success,
            0x6300 => Self::VerificationFailed,
            0x66F1 => Self::SecurityEnvironmentFaulty,
            0x6700 => Self::WrongLength,
            0x6881 => Self::LogicalChannelNotSupported,
            0x6882 => Self::SecureMessagingNotSupported,
            0x6884 => Self::ChainingNotSupported,
            0x6981 => Self::IncompatibleFileStructure,
            0x6982 => Self::SecurityStatusNotSatisfied,
            0x6983 => Self::AuthenticationBlocked,
            0x6984 => Self::ReferenceDataBlocked,
            0x6985 => Self::ConditionsOfUseNotSatisfied,
            0x6986 => Self::NoCurrentEf,
            0x6987 => Self::SmDataObjectsMissing,
            0x6988 => Self::SmDataObjectsIncorrect,
            0x69FC => Self::SmSessionUnusable,
            0x6A80 => Self::IncorrectData,
            0x6A81 => Self::FunctionNotSupported,
            0x6A82 => Self::FileNotFound,
            0x6A83 => Self::RecordNotFound,
            0x6A86 => Self::IncorrectP1P2,
            0x6A88 => Self::ReferencedDataNotFound,
            0x6B00 => Self::OffsetOutsideEf,
            0x6D00 => Self::InsNotSupported,
            0x6E00 => Self::ClaNotSupported,
            0x6F00 => Self::NoPreciseDiagnosis,
            other => Self::Other(other),
        }
    }

    /// SW1 and SW2.
    pub fn to_bytes(self) -> [u8; 2] {
        self.to_u16().to_be_bytes()
    }

    /// Whether this is `90 00`.
    pub fn is_success(self) -> bool {
        self == Self::Success
    }

    /// A short English meaning, for transcripts and failure reports.
    pub fn meaning(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::RetriesRemaining { .. } => "verification failed / tries left",
            Self::VerificationFailed => "verification failed",
            Self::SecurityEnvironmentFaulty => "security environment faulty",
            Self::WrongLength => "wrong length",
            Self::LogicalChannelNotSupported => "logical channel not supported",
            Self::SecureMessagingNotSupported => "secure messaging not supported",
            Self::ChainingNotSupported => "command chaining not supported",
            Self::IncompatibleFileStructure => "incompatible with file structure",
            Self::SecurityStatusNotSatisfied => "security status not satisfied",
            Self::AuthenticationBlocked => "authentication method blocked",
            Self::ReferenceDataBlocked => "key blocked",
            Self::ConditionsOfUseNotSatisfied => "conditions of use not satisfied",
            Self::NoCurrentEf => "no current EF",
            Self::SmDataObjectsMissing => "secure messaging data objects missing",
            Self::SmDataObjectsIncorrect => "secure messaging data objects incorrect",
            Self::SmSessionUnusable => "secure messaging session unusable",
            Self::IncorrectData => "incorrect data field",
            Self::FunctionNotSupported => "function not supported",
            Self::FileNotFound => "file or application not found",
            Self::RecordNotFound => "record not found",
            Self::IncorrectP1P2 => "incorrect P1-P2",
            Self::ReferencedDataNotFound => "referenced data not found",
            Self::OffsetOutsideEf => "offset outside the EF",
            Self::InsNotSupported => "instruction not supported",
            Self::ClaNotSupported => "class not supported",
            Self::NoPreciseDiagnosis => "no precise diagnosis",
            // ISO/IEC 7816-4 table 5: the classes, and the errors a card in trouble gives.
            Self::Other(sw) => match sw {
                0x6400 => "execution error, state unchanged",
                0x6581 => "memory failure",
                _ => match sw >> 8 {
                    0x61 => "more data available",
                    0x62 | 0x63 => "warning",
                    0x64 => "execution error, state unchanged",
                    0x65 => "execution error, state changed",
                    0x6C => "wrong Le",
                    _ => "unknown status",
                },
            },
        }
    }
}

impl From<u16> for StatusWord {
    fn from(sw: u16) -> Self {
        Self::from_u16(sw)
    }
}

impl From<StatusWord> for u16 {
    fn from(sw: StatusWord) -> Self {
        sw.to_u16()
    }
}

impl fmt::Display for StatusWord {
    /// `90 00`, `63 C2`, … — the reference's notation.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [sw1, sw2] = self.to_bytes();
        write!(f, "{sw1:02X} {sw2:02X}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_value_round_trips() {
        for sw in 0..=u16::MAX {
            assert_eq!(StatusWord::from_u16(sw).to_u16(), sw);
        }
    }

    #[test]
    fn retries_saturate_and_display() {
        assert_eq!(StatusWord::retries(2).to_string(), "63 C2");
        assert_eq!(StatusWord::retries(0).to_string(), "63 C0");
        assert_eq!(StatusWord::retries(200).to_string(), "63 CF");
        assert_eq!(StatusWord::ReferenceDataBlocked.to_string(), "69 84");
    }
}
