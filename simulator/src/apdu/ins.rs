//! The instruction table: every instruction the My Number Card knows, in one place
//! (reference §2.1 and §2.8; ISO/IEC 7816-4 §5.4.2 table 4; JICSAP's proprietary `8X` class).
//!
//! The card's dispatch decodes CLA/INS here, the transcript names and redacts commands from
//! here, and the host side builds its commands here ([`super::build`]), so an instruction's
//! code, class, name and whether it carries a secret are written once. The P1/P2 meanings
//! that more than one of them read are small enums beside it ([`SelectP1`], [`KeyReference`],
//! [`BinaryAddress`]): the middle of the three parse layers (wire APDU → typed command →
//! handler).

use std::fmt;

/// The two CLA families the card accepts (ISO/IEC 7816-4 §5.4.1): interindustry `0X` and
/// proprietary `8X`, with the same bit layout for channels, chaining and secure messaging.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Class {
    /// `0X`: ISO/IEC 7816-4 and JIS X 6319-4 instructions.
    Interindustry,
    /// `8X`: JICSAP proprietary instructions.
    Proprietary,
}

impl Class {
    /// The family of a CLA byte; `None` for every other class (`6E 00` on the card).
    pub fn of(cla: u8) -> Option<Self> {
        match cla & 0xE0 {
            0x00 => Some(Self::Interindustry),
            0x80 => Some(Self::Proprietary),
            _ => None,
        }
    }

    /// The plain CLA byte of the family: channel 0, no chaining, no secure messaging.
    pub fn cla(self) -> u8 {
        match self {
            Self::Interindustry => 0x00,
            Self::Proprietary => 0x80,
        }
    }
}

/// An instruction the card knows (answers with something other than `6D 00`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Instruction {
    /// `00 A4` SELECT (reference §1.2, §2.2).
    Select,
    /// `00 B0` READ BINARY (§2.3).
    ReadBinary,
    /// `00 B2` READ RECORD (§1.6).
    ReadRecord,
    /// `00 20` VERIFY, and its case-1 retry query (§2.4).
    Verify,
    /// `00 24` CHANGE REFERENCE DATA (§2.6).
    ChangeReferenceData,
    /// `00 82` EXTERNAL AUTHENTICATE (issuer only, §2.8).
    ExternalAuthenticate,
    /// `00 84` GET CHALLENGE (§2.8).
    GetChallenge,
    /// `00 88` INTERNAL AUTHENTICATE (§2.8).
    InternalAuthenticate,
    /// `00 C0` GET RESPONSE (the card never has anything to fetch, §7).
    GetResponse,
    /// `00 CA` GET DATA (§1.7).
    GetData,
    /// `80 06` ERASE ALL RECORDS (JICSAP, issuer only).
    EraseAllRecords,
    /// `80 2A` COMPUTE DIGITAL SIGNATURE (§2.7).
    ComputeDigitalSignature,
    /// `80 32` CHANGE KEY (JICSAP; the resident PINs).
    ChangeKey,
    /// `80 50` LOCK DF (JICSAP, issuer only).
    LockDf,
    /// `80 52` UNLOCK DF (JICSAP, issuer only).
    UnlockDf,
    /// `80 54` UNLOCK KEY (JICSAP, issuer only).
    UnlockKey,
    /// `80 8A` MANAGE ATTRIBUTES (JICSAP, issuer only).
    ManageAttributes,
    /// `80 A2` SET PUBLIC IC KEY (§2.8).
    SetPublicIcKey,
    /// `80 AE` SET SESSION KEY (secure messaging, §2.8).
    SetSessionKey,
    /// `80 FC` the smartphone token's "last command indicator" (§2.8).
    LastCommandIndicator,
}

impl Instruction {
    /// Every instruction, interindustry first.
    pub const ALL: [Self; 20] = [
        Self::Select,
        Self::ReadBinary,
        Self::ReadRecord,
        Self::Verify,
        Self::ChangeReferenceData,
        Self::ExternalAuthenticate,
        Self::GetChallenge,
        Self::InternalAuthenticate,
        Self::GetResponse,
        Self::GetData,
        Self::EraseAllRecords,
        Self::ComputeDigitalSignature,
        Self::ChangeKey,
        Self::LockDf,
        Self::UnlockDf,
        Self::UnlockKey,
        Self::ManageAttributes,
        Self::SetPublicIcKey,
        Self::SetSessionKey,
        Self::LastCommandIndicator,
    ];

    /// The class family the instruction belongs to.
    pub fn class(self) -> Class {
        match self {
            Self::Select
            | Self::ReadBinary
            | Self::ReadRecord
            | Self::Verify
            | Self::ChangeReferenceData
            | Self::ExternalAuthenticate
            | Self::GetChallenge
            | Self::InternalAuthenticate
            | Self::GetResponse
            | Self::GetData => Class::Interindustry,
            Self::EraseAllRecords
            | Self::ComputeDigitalSignature
            | Self::ChangeKey
            | Self::LockDf
            | Self::UnlockDf
            | Self::UnlockKey
            | Self::ManageAttributes
            | Self::SetPublicIcKey
            | Self::SetSessionKey
            | Self::LastCommandIndicator => Class::Proprietary,
        }
    }

    /// The INS byte.
    pub fn code(self) -> u8 {
        match self {
            Self::Select => 0xA4,
            Self::ReadBinary => 0xB0,
            Self::ReadRecord => 0xB2,
            Self::Verify => 0x20,
            Self::ChangeReferenceData => 0x24,
            Self::ExternalAuthenticate => 0x82,
            Self::GetChallenge => 0x84,
            Self::InternalAuthenticate => 0x88,
            Self::GetResponse => 0xC0,
            Self::GetData => 0xCA,
            Self::EraseAllRecords => 0x06,
            Self::ComputeDigitalSignature => 0x2A,
            Self::ChangeKey => 0x32,
            Self::LockDf => 0x50,
            Self::UnlockDf => 0x52,
            Self::UnlockKey => 0x54,
            Self::ManageAttributes => 0x8A,
            Self::SetPublicIcKey => 0xA2,
            Self::SetSessionKey => 0xAE,
            Self::LastCommandIndicator => 0xFC,
        }
    }

    /// The instruction a CLA and INS name: the class family and the code must both match.
    /// `None` is an unknown class or an instruction this card does not know in that class.
    pub fn decode(cla: u8, ins: u8) -> Option<Self> {
        let class = Class::of(cla)?;
        Self::ALL
            .into_iter()
            .find(|i| i.class() == class && i.code() == ins)
    }

    /// The instruction of a command APDU's header, if it has one the card knows.
    pub fn of(apdu: &[u8]) -> Option<Self> {
        match apdu {
            [cla, ins, ..] => Self::decode(*cla, *ins),
            _ => None,
        }
    }

    /// The instruction's name as the standards write it (`READ BINARY`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Select => "SELECT",
            Self::ReadBinary => "READ BINARY",
            Self::ReadRecord => "READ RECORD",
            Self::Verify => "VERIFY",
            Self::ChangeReferenceData => "CHANGE REFERENCE DATA",
            Self::ExternalAuthenticate => "EXTERNAL AUTHENTICATE",
            Self::GetChallenge => "GET CHALLENGE",
            Self::InternalAuthenticate => "INTERNAL AUTHENTICATE",
            Self::GetResponse => "GET RESPONSE",
            Self::GetData => "GET DATA",
            Self::EraseAllRecords => "ERASE ALL RECORDS",
            Self::ComputeDigitalSignature => "COMPUTE DIGITAL SIGNATURE",
            Self::ChangeKey => "CHANGE KEY",
            Self::LockDf => "LOCK DF",
            Self::UnlockDf => "UNLOCK DF",
            Self::UnlockKey => "UNLOCK KEY",
            Self::ManageAttributes => "MANAGE ATTRIBUTES",
            Self::SetPublicIcKey => "SET PUBLIC IC KEY",
            Self::SetSessionKey => "SET SESSION KEY",
            Self::LastCommandIndicator => "LAST COMMAND INDICATOR",
        }
    }

    /// Whether the data field is a secret (a PIN, a password, a new one): VERIFY, CHANGE
    /// REFERENCE DATA and CHANGE KEY. Transcripts and logs mask it.
    pub fn carries_secret(self) -> bool {
        matches!(
            self,
            Self::Verify | Self::ChangeReferenceData | Self::ChangeKey
        )
    }

    /// Whether a bare INS byte is one of the secret-bearing instructions in *any* class.
    /// Redaction keys on this, not on [`Instruction::decode`], so a VERIFY sent with a
    /// class the card refuses (`80 20 …`) is masked as well.
    pub fn ins_carries_secret(ins: u8) -> bool {
        Self::ALL
            .into_iter()
            .any(|i| i.carries_secret() && i.code() == ins)
    }

    /// `CLA INS P1 P2` with the plain CLA of the instruction's class.
    pub fn header(self, p1: u8, p2: u8) -> [u8; 4] {
        [self.class().cla(), self.code(), p1, p2]
    }
}

impl fmt::Display for Instruction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// SELECT's P1 (ISO/IEC 7816-4 §11.2.2 table 39), the values the card answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SelectP1 {
    /// `00`: the MF.
    Mf,
    /// `02`: an EF under the current DF, by FID.
    Ef,
    /// `04`: a DF by name (full AID or a prefix).
    DfName,
}

impl SelectP1 {
    /// The P1 byte.
    pub fn byte(self) -> u8 {
        match self {
            Self::Mf => 0x00,
            Self::Ef => 0x02,
            Self::DfName => 0x04,
        }
    }
}

impl TryFrom<u8> for SelectP1 {
    type Error = ();

    fn try_from(p1: u8) -> Result<Self, ()> {
        match p1 {
            0x00 => Ok(Self::Mf),
            0x02 => Ok(Self::Ef),
            0x04 => Ok(Self::DfName),
            _ => Err(()),
        }
    }
}

/// The key a P2 names for VERIFY, CHANGE REFERENCE DATA, CHANGE KEY, COMPUTE DIGITAL
/// SIGNATURE and INTERNAL AUTHENTICATE (JIS X 6319-4 §7.2.2): `80` the current EF, `80|SFI`
/// the key with that short identifier (selected implicitly).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyReference {
    /// `80`: the current EF.
    Current,
    /// `81`–`9E`: the key EF with this short identifier (1–30).
    Sfi(u8),
}

impl KeyReference {
    /// The key whose FID is `fid`, named by its short identifier (the low five bits).
    pub fn sfi_of(fid: [u8; 2]) -> Self {
        Self::Sfi(fid[1] & 0x1F)
    }

    /// The P2 byte.
    pub fn p2(self) -> u8 {
        match self {
            Self::Current => 0x80,
            Self::Sfi(sfi) => 0x80 | (sfi & 0x1F),
        }
    }
}

impl TryFrom<u8> for KeyReference {
    type Error = ();

    fn try_from(p2: u8) -> Result<Self, ()> {
        match p2 {
            0x80 => Ok(Self::Current),
            0x81..=0x9E => Ok(Self::Sfi(p2 & 0x1F)),
            _ => Err(()),
        }
    }
}

/// Where READ BINARY reads (ISO/IEC 7816-4 §11.3.3): P1 b8 = 0 is a 15-bit offset in the
/// current EF; P1 = `80|SFI` selects the EF with that short identifier and P2 is the offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BinaryAddress {
    /// An offset (0–32 767) in the current EF.
    Offset(u16),
    /// An offset (0–255) in the EF with this short identifier (1–31).
    Sfi {
        /// The short EF identifier.
        sfi: u8,
        /// The offset.
        offset: u8,
    },
}

impl BinaryAddress {
    /// Decodes P1 and P2; `None` for the values the card refuses with `6A 86` (an SFI of 0,
    /// or P1 bits 7–6 set together with b8).
    pub fn decode(p1: u8, p2: u8) -> Option<Self> {
        if p1 & 0x80 == 0 {
            return Some(Self::Offset(u16::from_be_bytes([p1, p2])));
        }
        let sfi = p1 & 0x1F;
        (p1 & 0x60 == 0 && sfi != 0).then_some(Self::Sfi { sfi, offset: p2 })
    }

    /// P1 and P2; an offset above 32 767 keeps only its low 15 bits.
    pub fn p1p2(self) -> [u8; 2] {
        match self {
            Self::Offset(offset) => (offset & 0x7FFF).to_be_bytes(),
            Self::Sfi { sfi, offset } => [0x80 | (sfi & 0x1F), offset],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_instruction_decodes_from_its_own_header_and_no_other_class() {
        for i in Instruction::ALL {
            let [cla, ins, ..] = i.header(0, 0);
            assert_eq!(Instruction::decode(cla, ins), Some(i), "{i}");
            // The same INS in the other family is another instruction or none.
            let other = if cla == 0x00 { 0x80 } else { 0x00 };
            assert_ne!(Instruction::decode(other, ins), Some(i), "{i}");
            // Channel and SM bits do not change the family.
            assert_eq!(Instruction::decode(cla | 0x0C, ins), Some(i));
        }
        assert_eq!(Instruction::decode(0xA0, 0xA4), None, "unknown class");
        assert_eq!(
            Instruction::decode(0x00, 0x2A),
            None,
            "80 2A is proprietary"
        );
        assert_eq!(Instruction::of(&[0x00]), None);
    }

    #[test]
    fn codes_and_names_are_unique() {
        for (n, a) in Instruction::ALL.iter().enumerate() {
            for b in Instruction::ALL.iter().skip(n + 1) {
                assert!(a.header(0, 0)[..2] != b.header(0, 0)[..2], "{a} / {b}");
                assert_ne!(a.name(), b.name());
            }
        }
    }

    #[test]
    fn secrets_are_verify_and_the_two_changes_in_any_class() {
        let secret: Vec<Instruction> = Instruction::ALL
            .into_iter()
            .filter(|i| i.carries_secret())
            .collect();
        assert_eq!(
            secret,
            [
                Instruction::Verify,
                Instruction::ChangeReferenceData,
                Instruction::ChangeKey
            ]
        );
        for ins in [0x20, 0x24, 0x32] {
            assert!(Instruction::ins_carries_secret(ins));
        }
        assert!(!Instruction::ins_carries_secret(0xB0));
    }

    #[test]
    fn key_references_and_binary_addresses_round_trip() {
        for p2 in 0..=255u8 {
            if let Ok(k) = KeyReference::try_from(p2) {
                assert_eq!(k.p2(), p2);
            } else {
                assert!(!(0x80..=0x9E).contains(&p2));
            }
        }
        assert_eq!(KeyReference::sfi_of([0x00, 0x1A]), KeyReference::Sfi(0x1A));
        for p1 in 0..=255u8 {
            for p2 in [0u8, 7, 255] {
                if let Some(a) = BinaryAddress::decode(p1, p2) {
                    assert_eq!(a.p1p2(), [p1, p2]);
                }
            }
        }
        assert_eq!(BinaryAddress::decode(0x80, 0), None, "SFI 0");
        assert_eq!(BinaryAddress::decode(0xC1, 0), None, "b7 set");
        for p1 in 0..=255u8 {
            if let Ok(s) = SelectP1::try_from(p1) {
                assert_eq!(s.byte(), p1);
            }
        }
    }
}
