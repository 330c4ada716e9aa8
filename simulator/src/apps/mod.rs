//! The card's applications (reference §1.1), one module each. An application is data — a
//! [`Df`](crate::card::Df) of files, keys and access rules built from the personalisation —
//! and the card core interprets every command against it.

pub mod common;
pub mod face;
pub mod isd;
pub mod jpki;
pub mod text;

use std::fmt;

/// An application (DF) on the card.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AppId {
    /// GlobalPlatform issuer security domain, `A0 00 00 01 51 00 00`: the power-on current
    /// DF, home of the MF-level GET DATA objects.
    Isd,
    /// 公的個人認証AP (JPKI), `D3 92 F0 00 26 01 00 00 00 01`: the signature and
    /// user-authentication certificates and keys.
    Jpki,
    /// 共通カードAP (common card), `D3 92 10 00 31 00 01 01 01 00`.
    Common,
    /// 住基AP (resident registry), `D3 92 10 00 31 00 01 01 04 01`.
    ResidentRegistry,
    /// 券面事項確認AP (card face), `D3 92 10 00 31 00 01 01 04 02`.
    CardFace,
    /// 券面事項入力補助AP (card-info input support), `D3 92 10 00 31 00 01 01 04 08`.
    InputSupport,
}

impl AppId {
    /// Every application in the card's DF order (ascending AID, the issuer security domain
    /// first); SELECT by prefix and "next occurrence" walk this order.
    pub const ALL: [Self; 6] = [
        Self::Isd,
        Self::Jpki,
        Self::Common,
        Self::ResidentRegistry,
        Self::CardFace,
        Self::InputSupport,
    ];

    /// The DF name (AID).
    pub fn aid(self) -> &'static [u8] {
        match self {
            Self::Isd => &[0xA0, 0x00, 0x00, 0x01, 0x51, 0x00, 0x00],
            Self::Jpki => &[0xD3, 0x92, 0xF0, 0x00, 0x26, 0x01, 0x00, 0x00, 0x00, 0x01],
            Self::Common => &[0xD3, 0x92, 0x10, 0x00, 0x31, 0x00, 0x01, 0x01, 0x01, 0x00],
            Self::ResidentRegistry => &[0xD3, 0x92, 0x10, 0x00, 0x31, 0x00, 0x01, 0x01, 0x04, 0x01],
            Self::CardFace => &[0xD3, 0x92, 0x10, 0x00, 0x31, 0x00, 0x01, 0x01, 0x04, 0x02],
            Self::InputSupport => &[0xD3, 0x92, 0x10, 0x00, 0x31, 0x00, 0x01, 0x01, 0x04, 0x08],
        }
    }

    /// The short name used in scenarios and the CLI (`jpki`, `text`, …).
    pub fn name(self) -> &'static str {
        match self {
            Self::Isd => "isd",
            Self::Jpki => "jpki",
            Self::Common => "common",
            Self::ResidentRegistry => "juki",
            Self::CardFace => "face",
            Self::InputSupport => "text",
        }
    }

    /// The application with this short name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.name() == name)
    }
}

impl fmt::Display for AppId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
