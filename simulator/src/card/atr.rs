//! Answer-to-reset presets (reference §3.2).
//!
//! Contactless ATRs are what a PC/SC part-3 reader synthesises from the card's ATQB
//! (`3B 88 80 01` + application data + protocol info + MBLI + TCK); contact ATRs are the
//! chip's own. Different issue batches and readers give different ATRs, and clients must not
//! depend on one (hamano in OpenSC #3021), so the profile chooses.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A named ATR the card presents at power-on.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum AtrPreset {
    /// `3B 88 80 01 00 00 05 E0 B3 81 A1 00 7F` — contactless through a part-3 reader
    /// (OpenSC customactions "JPKI (06)", pcsc-tools). The default.
    #[default]
    Contactless,
    /// `3B 88 80 01 00 00 41 E0 B3 81 A1 00 3B` — contactless, another batch ("JPKI (07)").
    Contactless41,
    /// `3B 88 80 01 00 4B 51 FF B3 81 D1 00 0F` — contactless, FWI 13 ("JPKI (09)").
    Contactless4b51,
    /// `3B 88 80 01 00 4B 51 FF 00 81 D1 00 BC` — contactless ("JPKI (08)", OpenSC only).
    Contactless4b51Zero,
    /// `3B E0 00 FF 81 31 FE 45 14` — contact, T=1; the one ATR OpenSC's driver table
    /// matches, also what GET DATA `5F51` returns.
    Contact,
    /// `3B DA 13 FF 81 31 FB 46 80 12 39 2F 31 C1 73 C6 01 C0 3B` — contact, 2024 card
    /// (OpenSC #3021, "JPKI (02)").
    ContactDa,
    /// `3B C5 FF 81 31 FB 45 80 73 C6 01 00 00` — contact ("JPKI (03)").
    ContactC5,
    /// `3B F5 91 00 FF 91 81 71 FE 40 00 42 00 01 00 D1 D6` — contact ("JPKI (04)").
    ContactF5,
    /// `3B F5 91 00 FF 91 81 71 FE 40 00 42 00 01 B3 A1 15` — contact ("JPKI (05)").
    ContactF5B3,
}

impl AtrPreset {
    /// Every preset, for `--help` texts and tests.
    pub const ALL: [Self; 9] = [
        Self::Contactless,
        Self::Contactless41,
        Self::Contactless4b51,
        Self::Contactless4b51Zero,
        Self::Contact,
        Self::ContactDa,
        Self::ContactC5,
        Self::ContactF5,
        Self::ContactF5B3,
    ];

    /// The ATR bytes.
    pub fn bytes(self) -> &'static [u8] {
        match self {
            Self::Contactless => &[
                0x3B, 0x88, 0x80, 0x01, 0x00, 0x00, 0x05, 0xE0, 0xB3, 0x81, 0xA1, 0x00, 0x7F,
            ],
            Self::Contactless41 => &[
                0x3B, 0x88, 0x80, 0x01, 0x00, 0x00, 0x41, 0xE0, 0xB3, 0x81, 0xA1, 0x00, 0x3B,
            ],
            Self::Contactless4b51 => &[
                0x3B, 0x88, 0x80, 0x01, 0x00, 0x4B, 0x51, 0xFF, 0xB3, 0x81, 0xD1, 0x00, 0x0F,
            ],
            Self::Contactless4b51Zero => &[
                0x3B, 0x88, 0x80, 0x01, 0x00, 0x4B, 0x51, 0xFF, 0x00, 0x81, 0xD1, 0x00, 0xBC,
            ],
            Self::Contact => &[0x3B, 0xE0, 0x00, 0xFF, 0x81, 0x31, 0xFE, 0x45, 0x14],
            Self::ContactDa => &[
                0x3B, 0xDA, 0x13, 0xFF, 0x81, 0x31, 0xFB, 0x46, 0x80, 0x12, 0x39, 0x2F, 0x31, 0xC1,
                0x73, 0xC6, 0x01, 0xC0, 0x3B,
            ],
            Self::ContactC5 => &[
                0x3B, 0xC5, 0xFF, 0x81, 0x31, 0xFB, 0x45, 0x80, 0x73, 0xC6, 0x01, 0x00, 0x00,
            ],
            Self::ContactF5 => &[
                0x3B, 0xF5, 0x91, 0x00, 0xFF, 0x91, 0x81, 0x71, 0xFE, 0x40, 0x00, 0x42, 0x00, 0x01,
                0x00, 0xD1, 0xD6,
            ],
            Self::ContactF5B3 => &[
                0x3B, 0xF5, 0x91, 0x00, 0xFF, 0x91, 0x81, 0x71, 0xFE, 0x40, 0x00, 0x42, 0x00, 0x01,
                0xB3, 0xA1, 0x15,
            ],
        }
    }

    /// The name used in profiles (`contact-da`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Contactless => "contactless",
            Self::Contactless41 => "contactless41",
            Self::Contactless4b51 => "contactless4b51",
            Self::Contactless4b51Zero => "contactless4b51-zero",
            Self::Contact => "contact",
            Self::ContactDa => "contact-da",
            Self::ContactC5 => "contact-c5",
            Self::ContactF5 => "contact-f5",
            Self::ContactF5B3 => "contact-f5-b3",
        }
    }

    /// The ATQB a contactless preset was built from (its historical bytes 1–7).
    pub fn atqb(self) -> Option<Atqb> {
        if !self.is_contactless() {
            return None;
        }
        let b = self.bytes();
        Some(Atqb {
            application_data: b.get(4..8)?.try_into().ok()?,
            protocol_info: b.get(8..11)?.try_into().ok()?,
        })
    }

    /// Whether this is a contactless (ISO/IEC 14443 Type B through a part-3 reader) ATR.
    pub fn is_contactless(self) -> bool {
        matches!(
            self,
            Self::Contactless
                | Self::Contactless41
                | Self::Contactless4b51
                | Self::Contactless4b51Zero
        )
    }
}

/// The reader the card sits in: how a host sees the card's ATR (issue 13; reference §3.1,
/// §3.2). A contactless card has no ATR of its own — the reader builds one — so the same card
/// shows different ATRs in different readers (hamano, OpenSC #3021).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Reader {
    /// A PC/SC part 3 reader: `3B 88 80 01`, the ATQB's application data (4 bytes) and
    /// protocol info (3), the MBLI byte, TCK (PC/SC part 3 §3.1.3.2.3.2; reference §3.2).
    /// With the default ATQB this is the `contactless` preset.
    Part3,
    /// A reader that puts the card's PUPI — random at every activation (reference §3.1) —
    /// where part 3 puts the application data, so the ATR changes at every power-on. No
    /// byte-exact sample is public: OpenSC's ATR table notes that such readers exist and
    /// cannot be matched by ATR; this shape is a model of them.
    Pupi,
    /// The contact interface (ISO/IEC 7816-3, T=1): the chip's own ATR — the `atr` preset
    /// when it is a contact one, else `contact` (`3B E0 00 FF 81 31 FE 45 14`).
    Contact,
}

impl Reader {
    /// Every personality.
    pub const ALL: [Self; 3] = [Self::Part3, Self::Pupi, Self::Contact];

    /// The name used in profiles.
    pub fn name(self) -> &'static str {
        match self {
            Self::Part3 => "part3",
            Self::Pupi => "pupi",
            Self::Contact => "contact",
        }
    }
}

impl fmt::Display for Reader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What a Type B card answers to REQB, as far as a part-3 reader uses it (ISO/IEC 14443-3
/// §7.9: ATQB = `50` PUPI(4) application data(4) protocol info(3)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Atqb {
    /// Application data (`00 00 05 E0`, `00 00 41 E0`, `00 4B 51 FF` on real batches).
    pub application_data: [u8; 4],
    /// Protocol info (`B3 81 A1`: 256-byte frames, ISO 14443-4, FWI 10).
    pub protocol_info: [u8; 3],
}

impl Atqb {
    /// The default card's (`contactless` preset).
    pub const DEFAULT: Self = Self {
        application_data: [0x00, 0x00, 0x05, 0xE0],
        protocol_info: [0xB3, 0x81, 0xA1],
    };
}

/// PC/SC part 3 §3.1.3.2.3: the ATR a reader synthesises for a contactless card from its
/// historical bytes: `3B 8n 80 01` + the `n` historical bytes + TCK (the XOR of T0..the last
/// historical byte, so that T0..TCK XOR to zero). At most 15 historical bytes.
pub fn part3_atr(historical: &[u8]) -> Vec<u8> {
    let historical = historical
        .get(..historical.len().min(15))
        .unwrap_or_default();
    let n = u8::try_from(historical.len()).unwrap_or(15);
    let mut atr = vec![0x3B, 0x80 | n, 0x80, 0x01];
    atr.extend_from_slice(historical);
    let tck = atr.iter().skip(1).fold(0u8, |acc, b| acc ^ b);
    atr.push(tck);
    atr
}

/// The ATR a card shows: a named preset, or what the reader it sits in builds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AtrSource {
    /// The preset: the ATR itself without a reader; with one, the batch (ATQB) or contact ATR
    /// it stands for.
    pub preset: AtrPreset,
    /// The reader personality, if the profile names one.
    pub reader: Option<Reader>,
}

impl AtrSource {
    /// The ATR at an activation whose PUPI is `pupi` (used by [`Reader::Pupi`] only).
    pub fn atr(self, pupi: [u8; 4]) -> Vec<u8> {
        let atqb = self.preset.atqb().unwrap_or(Atqb::DEFAULT);
        match self.reader {
            None => self.preset.bytes().to_vec(),
            Some(Reader::Contact) if self.preset.is_contactless() => {
                AtrPreset::Contact.bytes().to_vec()
            }
            Some(Reader::Contact) => self.preset.bytes().to_vec(),
            Some(Reader::Part3) => part3_atr(&historical(atqb.application_data, atqb)),
            Some(Reader::Pupi) => part3_atr(&historical(pupi, atqb)),
        }
    }

    /// Whether the ATR changes at every activation.
    pub fn varies(self) -> bool {
        self.reader == Some(Reader::Pupi)
    }
}

/// Part 3's historical bytes for Type B: 4 bytes (application data, or the PUPI), the
/// protocol info, and MBLI (0: no limit announced) in the high nibble of the last byte.
fn historical(first: [u8; 4], atqb: Atqb) -> [u8; 8] {
    let [a, b, c, d] = first;
    let [p, q, r] = atqb.protocol_info;
    [a, b, c, d, p, q, r, 0x00]
}

impl fmt::Display for AtrPreset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// ISO/IEC 7816-3 §8.2.5: with T=1 offered, TCK makes the XOR of T0..TCK zero. The
    /// reference says "All checksums verify"; this checks our transcription of each.
    #[test]
    fn every_preset_has_a_valid_checksum() {
        for preset in AtrPreset::ALL {
            let bytes = preset.bytes();
            let xor = bytes.iter().skip(1).fold(0u8, |acc, b| acc ^ b);
            assert_eq!(xor, 0, "{preset}: {:02X?}", bytes);
        }
    }

    #[test]
    fn a_part3_reader_rebuilds_every_contactless_preset_from_its_atqb() {
        for preset in AtrPreset::ALL.into_iter().filter(|p| p.is_contactless()) {
            let source = AtrSource {
                preset,
                reader: Some(Reader::Part3),
            };
            assert_eq!(source.atr([9; 4]), preset.bytes(), "{preset}");
            assert!(!source.varies());
        }
        // A contact preset in a contactless reader: the default batch's ATQB.
        let contact_in_part3 = AtrSource {
            preset: AtrPreset::ContactDa,
            reader: Some(Reader::Part3),
        };
        assert_eq!(contact_in_part3.atr([0; 4]), AtrPreset::Contactless.bytes());
    }

    #[test]
    fn a_pupi_reader_puts_the_pupi_where_part3_puts_the_application_data() {
        let source = AtrSource {
            preset: AtrPreset::Contactless4b51,
            reader: Some(Reader::Pupi),
        };
        let atr = source.atr([0x12, 0x34, 0x56, 0x78]);
        assert_eq!(
            atr,
            [
                0x3B, 0x88, 0x80, 0x01, 0x12, 0x34, 0x56, 0x78, 0xB3, 0x81, 0xD1, 0x00, atr[12]
            ]
        );
        assert_eq!(atr.iter().skip(1).fold(0, |a, b| a ^ b), 0, "TCK");
        assert_ne!(source.atr([1, 2, 3, 4]), atr);
        assert!(source.varies());
    }

    #[test]
    fn a_contact_reader_shows_the_chips_own_atr() {
        let of = |preset| {
            AtrSource {
                preset,
                reader: Some(Reader::Contact),
            }
            .atr([0; 4])
        };
        assert_eq!(of(AtrPreset::Contactless), AtrPreset::Contact.bytes());
        assert_eq!(of(AtrPreset::ContactDa), AtrPreset::ContactDa.bytes());
        // No reader: the preset as it is.
        let plain = AtrSource {
            preset: AtrPreset::Contactless41,
            reader: None,
        };
        assert_eq!(plain.atr([7; 4]), AtrPreset::Contactless41.bytes());
    }

    #[test]
    fn part3_atrs_have_a_valid_checksum_and_at_most_15_historical_bytes() {
        assert_eq!(part3_atr(&[]), [0x3B, 0x80, 0x80, 0x01, 0x01]);
        let long = part3_atr(&[0xAA; 20]);
        assert_eq!(long.len(), 4 + 15 + 1);
        assert_eq!(long[1], 0x8F);
        assert_eq!(long.iter().skip(1).fold(0, |a, b| a ^ b), 0);
    }

    #[test]
    fn names_match_serde() {
        for preset in AtrPreset::ALL {
            let yaml = serde_json::to_string(&preset).unwrap();
            assert_eq!(yaml.trim_matches('"'), preset.name());
        }
    }
}
