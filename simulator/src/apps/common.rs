//! 共通カードAP (common card application, `D3 92 10 00 31 00 01 01 01 00`) and 住基AP
//! (resident registry application, `D3 92 10 00 31 00 01 01 04 01`) — reference §1.6.
//!
//! Common card: record EF 0001 (record 1 = simple-TLV `01 1C` + 15-digit serial + 5-digit
//! municipality code + expiry `YYYYMMDD`, read by MYNA-RS with `00 B2 01 0C 00`), record
//! EF 0002 (one 16-byte key reference, byte-identical to the resident registry's), key 0019
//! (INTERNAL AUTHENTICATE, no credential) and PIN 001C. Resident registry: record EF 0002 and
//! its own PIN 001C (a separate counter; both are set to the resident PIN and changed
//! separately with CHANGE KEY `80 32 00 80`).

use std::sync::Arc;

use jiff::civil::Date;
use rsa::PrivateKey;

use super::AppId;
use crate::apdu::tlv::simple;
use crate::card::{Access, Df, Ef, KeyRole, PrivateKey as KeyEf, SessionKeySupport};
use crate::pki::cv::KeyId;
use crate::profile::era;
use crate::security::Pin;

/// EF identifiers.
pub mod ef {
    /// Card information record EF (common card only).
    pub const CARD_INFO: u16 = 0x0001;
    /// Key reference record EF.
    pub const KEY_REFERENCE: u16 = 0x0002;
    /// INTERNAL AUTHENTICATE key (common card only).
    pub const AUTH_KEY: u16 = 0x0019;
    /// The resident PIN.
    pub const PIN: u16 = 0x001C;
}

/// Record 1 of EF 0001: `01 1C <serial 15><municipality 5><expiry YYYYMMDD>`.
pub fn card_info_record(serial: &str, municipality_code: &str, expires: Date) -> Vec<u8> {
    let value = format!("{serial}{municipality_code}{}", era::yyyymmdd(expires));
    simple::encode(0x01, value.as_bytes())
}

/// The 16-byte key reference both applications' EF 0002 hold (content not published; a key
/// ID naming the municipality).
pub fn key_reference(municipality_code: &str) -> Vec<u8> {
    KeyId::new(&format!("{municipality_code}10"), "001", 0)
        .0
        .to_vec()
}

/// Builds the common card DF.
pub fn build_common(
    serial: &str,
    municipality_code: &str,
    expires: Date,
    auth_key: Arc<PrivateKey>,
    pin: Pin,
) -> Df {
    let files = vec![
        Ef::records(
            ef::CARD_INFO,
            vec![card_info_record(serial, municipality_code, expires)],
            Access::Free,
        ),
        Ef::records(
            ef::KEY_REFERENCE,
            vec![key_reference(municipality_code)],
            Access::Free,
        ),
        Ef::private_key(
            ef::AUTH_KEY,
            KeyEf {
                key: auth_key,
                role: KeyRole::InternalAuthenticate,
                unlock: Access::Free,
            },
        ),
        Ef::pin(ef::PIN, pin),
    ];
    let mut df = Df::new(AppId::Common, files);
    df.session_key = SessionKeySupport::SecurityEnvironmentFaulty;
    df
}

/// Builds the resident registry DF.
pub fn build_resident_registry(municipality_code: &str, pin: Pin) -> Df {
    let files = vec![
        Ef::records(
            ef::KEY_REFERENCE,
            vec![key_reference(municipality_code)],
            Access::Free,
        ),
        Ef::pin(ef::PIN, pin),
    ];
    let mut df = Df::new(AppId::ResidentRegistry, files);
    df.session_key = SessionKeySupport::SecurityStatusNotSatisfied;
    df
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_card_info_record_matches_the_test_card() {
        let r = card_info_record("400000012719843", "13221", Date::constant(2035, 2, 17));
        assert_eq!(r[..2], [0x01, 0x1C]);
        assert_eq!(&r[2..], b"4000000127198431322120350217");
    }
}
