//! What the reader declares about itself: its identity (`SCardGetAttrib`), the card's ATR and
//! the active protocol, extended-length support and maximum sizes (`SCARD_ATTR_MAXINPUT`,
//! PC/SC part 10 `FEATURE_GET_TLV_PROPERTIES` → `dwMaxAPDUDataSize`) and the part 10
//! features (`CM_IOCTL_GET_FEATURE_REQUEST`: PIN pad and the rest). The parsers here are
//! pure; [`super::reader`] fills a [`Capabilities`] from a real reader.

use serde::Serialize;

/// The largest data field of a short APDU (ISO/IEC 7816-4 §5.1): more needs extended length.
pub const SHORT_MAX: u32 = 255;

/// What the reader and card declare.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Capabilities {
    /// The reader's full name.
    pub reader: String,
    /// `SCARD_ATTR_VENDOR_NAME`.
    pub vendor: Option<String>,
    /// `SCARD_ATTR_VENDOR_IFD_TYPE` (the model).
    pub model: Option<String>,
    /// `SCARD_ATTR_VENDOR_IFD_VERSION`, as `major.minor.build`.
    pub ifd_version: Option<String>,
    /// `SCARD_ATTR_VENDOR_IFD_SERIAL_NO`.
    pub serial: Option<String>,
    /// `sFirmwareID` of the TLV properties.
    pub firmware: Option<String>,
    /// The card's ATR in hex.
    pub atr: String,
    /// The active protocol (`T=0`, `T=1`, `RAW`, or unknown).
    pub protocol: String,
    /// `SCARD_ATTR_MAXINPUT`.
    pub max_input: Option<u32>,
    /// `dwMaxAPDUDataSize` of `FEATURE_GET_TLV_PROPERTIES`.
    pub max_apdu_data: Option<u32>,
    /// The PC/SC part 10 features the reader lists, by name.
    pub features: Vec<String>,
    /// Whether the card is identified as mynasim's (its authentication CA names mynasim's
    /// TEST PKI), and how.
    pub identified_as_simulated: Option<String>,
}

impl Capabilities {
    /// Whether the reader declares extended APDUs: either size above a short APDU's.
    pub fn extended(&self) -> bool {
        self.max_input.is_some_and(|n| n > SHORT_MAX)
            || self.max_apdu_data.is_some_and(|n| n > SHORT_MAX)
    }

    /// Whether the reader has a PIN pad (verify or modify the PIN on the reader).
    pub fn pin_pad(&self) -> bool {
        self.features.iter().any(|f| {
            matches!(
                f.as_str(),
                "VERIFY_PIN_DIRECT" | "MODIFY_PIN_DIRECT" | "VERIFY_PIN_START" | "MODIFY_PIN_START"
            )
        })
    }

    /// The table reports show: (name, value) rows.
    pub fn rows(&self) -> Vec<(&'static str, String)> {
        let or_none = |v: &Option<String>| v.clone().unwrap_or_else(|| "not declared".to_owned());
        let size = |v: Option<u32>| v.map_or_else(|| "not declared".to_owned(), |n| n.to_string());
        vec![
            ("reader", self.reader.clone()),
            ("vendor", or_none(&self.vendor)),
            ("model", or_none(&self.model)),
            ("firmware", or_none(&self.firmware)),
            ("IFD version", or_none(&self.ifd_version)),
            ("serial number", or_none(&self.serial)),
            ("card ATR", self.atr.clone()),
            ("protocol", self.protocol.clone()),
            (
                "extended-length APDUs",
                if self.extended() {
                    "declared".to_owned()
                } else {
                    "not declared".to_owned()
                },
            ),
            ("SCARD_ATTR_MAXINPUT", size(self.max_input)),
            ("dwMaxAPDUDataSize", size(self.max_apdu_data)),
            (
                "PIN pad",
                if self.pin_pad() {
                    "yes".to_owned()
                } else {
                    "no".to_owned()
                },
            ),
            (
                "part 10 features",
                if self.features.is_empty() {
                    "none".to_owned()
                } else {
                    self.features.join(", ")
                },
            ),
            (
                "simulated card",
                self.identified_as_simulated
                    .clone()
                    .unwrap_or_else(|| "not identified".to_owned()),
            ),
        ]
    }
}

/// PC/SC part 10 feature tags (§2.3) and their names.
const FEATURES: &[(u8, &str)] = &[
    (0x01, "VERIFY_PIN_START"),
    (0x02, "VERIFY_PIN_FINISH"),
    (0x03, "MODIFY_PIN_START"),
    (0x04, "MODIFY_PIN_FINISH"),
    (0x05, "GET_KEY_PRESSED"),
    (0x06, "VERIFY_PIN_DIRECT"),
    (0x07, "MODIFY_PIN_DIRECT"),
    (0x08, "MCT_READER_DIRECT"),
    (0x09, "MCT_UNIVERSAL"),
    (0x0A, "IFD_PIN_PROPERTIES"),
    (0x0B, "ABORT"),
    (0x0C, "SET_SPE_MESSAGE"),
    (0x0D, "VERIFY_PIN_DIRECT_APP_ID"),
    (0x0E, "MODIFY_PIN_DIRECT_APP_ID"),
    (0x0F, "WRITE_DISPLAY"),
    (0x10, "GET_KEY"),
    (0x11, "IFD_DISPLAY_PROPERTIES"),
    (0x12, "GET_TLV_PROPERTIES"),
    (0x13, "CCID_ESC_COMMAND"),
    (0x20, "EXECUTE_PACE"),
];

/// `FEATURE_GET_TLV_PROPERTIES`'s tag.
pub const FEATURE_GET_TLV_PROPERTIES: u8 = 0x12;

/// A feature's name (`FEATURE_0x42` for one part 10 does not name).
pub fn feature_name(tag: u8) -> String {
    FEATURES
        .iter()
        .find(|(t, _)| *t == tag)
        .map_or_else(|| format!("FEATURE_0x{tag:02X}"), |(_, n)| (*n).to_owned())
}

/// The answer to `CM_IOCTL_GET_FEATURE_REQUEST` (PC/SC part 10 §2.2): TLVs of a tag, length
/// 4 and the control code big-endian. Returns (tag, control code); a malformed tail is
/// ignored.
pub fn parse_features(bytes: &[u8]) -> Vec<(u8, u32)> {
    let mut out = Vec::new();
    let mut rest = bytes;
    while let [tag, len, tail @ ..] = rest {
        let len = usize::from(*len);
        let Some(value) = tail.get(..len) else { break };
        if let Ok(code) = <[u8; 4]>::try_from(value) {
            out.push((*tag, u32::from_be_bytes(code)));
        }
        rest = tail.get(len..).unwrap_or_default();
    }
    out
}

/// The TLV properties (PC/SC part 10 §2.6.14): tag, length, value little-endian. Returns
/// `dwMaxAPDUDataSize` (tag 10) and `sFirmwareID` (tag 8).
pub fn parse_tlv_properties(bytes: &[u8]) -> (Option<u32>, Option<String>) {
    let (mut max, mut firmware) = (None, None);
    let mut rest = bytes;
    while let [tag, len, tail @ ..] = rest {
        let len = usize::from(*len);
        let Some(value) = tail.get(..len) else { break };
        match tag {
            10 => {
                let mut le = [0u8; 4];
                for (i, b) in value.iter().take(4).enumerate() {
                    if let Some(slot) = le.get_mut(i) {
                        *slot = *b;
                    }
                }
                max = Some(u32::from_le_bytes(le));
            }
            8 => firmware = Some(text(value)),
            _ => {}
        }
        rest = tail.get(len..).unwrap_or_default();
    }
    (max, firmware)
}

/// An attribute's bytes as text: up to the first NUL, lossy UTF-8, trimmed.
pub fn text(bytes: &[u8]) -> String {
    let end = bytes.iter().position(|b| *b == 0).unwrap_or(bytes.len());
    String::from_utf8_lossy(bytes.get(..end).unwrap_or_default())
        .trim()
        .to_owned()
}

/// A DWORD attribute (little-endian, 1–4 bytes).
pub fn dword(bytes: &[u8]) -> Option<u32> {
    if bytes.is_empty() || bytes.len() > 8 {
        return None;
    }
    let mut le = [0u8; 4];
    for (i, b) in bytes.iter().take(4).enumerate() {
        if let Some(slot) = le.get_mut(i) {
            *slot = *b;
        }
    }
    Some(u32::from_le_bytes(le))
}

/// `SCARD_ATTR_VENDOR_IFD_VERSION` (`0xMMmmbbbb`) as `M.m.b`.
pub fn ifd_version(v: u32) -> String {
    format!("{}.{}.{}", v >> 24, (v >> 16) & 0xFF, v & 0xFFFF)
}

/// What is wrong with an ATR (ISO/IEC 7816-3 §8.2), if anything: TS, the interface bytes
/// T0 announces, the historical bytes, and TCK (present unless only T=0 is offered; the XOR
/// of T0…TCK is zero).
pub fn atr_problem(atr: &[u8]) -> Option<String> {
    let Some((&ts, rest)) = atr.split_first() else {
        return Some("the ATR is empty".to_owned());
    };
    if ts != 0x3B && ts != 0x3F {
        return Some(format!("TS is {ts:02X}, not 3B (direct) or 3F (inverse)"));
    }
    let Some((&t0, mut rest)) = rest.split_first() else {
        return Some("no T0 byte".to_owned());
    };
    let historical = usize::from(t0 & 0x0F);
    let mut y = t0 >> 4;
    let mut tck_needed = false;
    loop {
        let count = usize::from((y & 1) + ((y >> 1) & 1) + ((y >> 2) & 1));
        let has_td = y & 0x8 != 0;
        let Some(bytes) = rest.get(..count + usize::from(has_td)) else {
            return Some("the ATR ends inside its interface bytes".to_owned());
        };
        rest = rest.get(bytes.len()..).unwrap_or_default();
        if !has_td {
            break;
        }
        let td = *bytes.last().unwrap_or(&0);
        tck_needed |= td & 0x0F != 0;
        y = td >> 4;
    }
    if rest.len() < historical {
        return Some(format!(
            "T0 announces {historical} historical bytes, {} follow",
            rest.len()
        ));
    }
    let after = rest.len() - historical;
    match (tck_needed, after) {
        (false, 0) => None,
        (true, 1) => {
            let xor = atr.iter().skip(1).fold(0u8, |a, b| a ^ b);
            (xor != 0).then(|| format!("TCK is wrong (T0…TCK XOR to {xor:02X}, not 00)"))
        }
        (true, 0) => Some("TCK is missing (a protocol other than T=0 is offered)".to_owned()),
        (_, n) => Some(format!("{n} bytes after the historical bytes")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atrs_of_the_reference_are_well_formed_and_broken_ones_are_not() {
        let good: [&[u8]; 3] = [
            &[
                0x3B, 0x88, 0x80, 0x01, 0x00, 0x00, 0x05, 0xE0, 0xB3, 0x81, 0xA1, 0x00, 0x7F,
            ],
            &[0x3B, 0xE0, 0x00, 0xFF, 0x81, 0x31, 0xFE, 0x45, 0x14],
            &[
                0x3B, 0xDA, 0x13, 0xFF, 0x81, 0x31, 0xFB, 0x46, 0x80, 0x12, 0x39, 0x2F, 0x31, 0xC1,
                0x73, 0xC6, 0x01, 0xC0, 0x3B,
            ],
        ];
        for atr in good {
            assert_eq!(atr_problem(atr), None, "{atr:02X?}");
        }
        assert!(atr_problem(&[]).is_some());
        assert!(atr_problem(&[0x3C, 0x00]).is_some());
        let mut bad_tck = good[0].to_vec();
        if let Some(last) = bad_tck.last_mut() {
            *last ^= 1;
        }
        assert!(atr_problem(&bad_tck).unwrap_or_default().contains("TCK"));
        assert!(atr_problem(&good[0][..10]).is_some());
        // T=0 only, no TCK: fine.
        assert_eq!(atr_problem(&[0x3B, 0x02, 0x14, 0x50]), None);
    }

    #[test]
    fn features_and_tlv_properties_parse_and_extended_follows_them() {
        let list = [
            0x12, 4, 0x42, 0x33, 0x00, 0x12, 0x06, 4, 0x42, 0x33, 0x00, 0x06, 0x07,
        ];
        assert_eq!(
            parse_features(&list),
            [(0x12, 0x4233_0012), (0x06, 0x4233_0006)]
        );
        let tlv = [8, 3, b'a', b'b', b'c', 10, 4, 0xF6, 0xFF, 0, 0];
        assert_eq!(
            parse_tlv_properties(&tlv),
            (Some(65_526), Some("abc".to_owned()))
        );
        assert_eq!(parse_tlv_properties(&[10, 9]), (None, None));
        let mut caps = Capabilities::default();
        assert!(!caps.extended() && !caps.pin_pad());
        caps.max_apdu_data = Some(255);
        assert!(!caps.extended());
        caps.max_input = Some(261);
        assert!(caps.extended());
        caps.features = vec![feature_name(0x06)];
        assert!(caps.pin_pad());
        assert_eq!(feature_name(0x55), "FEATURE_0x55");
        assert_eq!(ifd_version(0x0102_0003), "1.2.3");
        assert_eq!(dword(&[0xF6, 0xFF, 0, 0]), Some(65_526));
        assert_eq!(text(b"mynasim\0junk"), "mynasim");
    }
}
