//! 公的個人認証AP — the JPKI application, `D3 92 F0 00 26 01 00 00 00 01`
//! (reference §1.3, §2.4–§2.7).
//!
//! | FID  | content | access |
//! |------|---------|--------|
//! | 0001 | signature certificate (DER) | signature password 001B |
//! | 0002 | signature CA certificate | free |
//! | 0006 | token information, 160 bytes | free |
//! | 0008 | certificate availability `8F 8F 00`, 3 bytes, no filler | free |
//! | 0009 | unknown, protected | never |
//! | 000A | user-authentication certificate | free (PIN 0018 on an Android token) |
//! | 000B | user-authentication CA certificate | free |
//! | 0016 | key reference of SET PUBLIC IC KEY | — |
//! | 0017 | authentication private key | PIN 0018 |
//! | 0018 | 利用者証明用暗証番号, 4 digits, 3 tries | — |
//! | 001A | signature private key | password 001B |
//! | 001B | 署名用パスワード, 6–16 chars, 5 tries | — |
//!
//! A card without a signature certificate (holder under 15, or declined) has no 0001, 001A
//! or 001B, and byte 0 of EF 0008 is `00` instead of `8F` (reference §1.3: inferred).
//! The certificate EFs are exactly as long as the certificate: no client reads past the DER
//! object, so the physical size is invisible (research notes, §2).

use std::sync::Arc;

use rsa::PrivateKey;

use super::AppId;
use crate::card::{Access, Df, Ef, Fid, KeyRole, PrivateKey as KeyEf, SessionKeySupport};
use crate::profile::Token;
use crate::security::{Pin, PinFormat, RetryCounter};

/// EF identifiers of the JPKI application.
pub mod ef {
    /// Signature certificate.
    pub const SIGN_CERT: u16 = 0x0001;
    /// Signature CA certificate.
    pub const SIGN_CA_CERT: u16 = 0x0002;
    /// Token information.
    pub const TOKEN_INFO: u16 = 0x0006;
    /// Certificate availability.
    pub const CERT_AVAILABILITY: u16 = 0x0008;
    /// Unknown protected EF.
    pub const PROTECTED_0009: u16 = 0x0009;
    /// Authentication certificate.
    pub const AUTH_CERT: u16 = 0x000A;
    /// Authentication CA certificate.
    pub const AUTH_CA_CERT: u16 = 0x000B;
    /// Key reference used by SET PUBLIC IC KEY.
    pub const TERMINAL_CA_KEY: u16 = 0x0016;
    /// Authentication private key.
    pub const AUTH_KEY: u16 = 0x0017;
    /// Authentication PIN.
    pub const AUTH_PIN: u16 = 0x0018;
    /// Signature private key.
    pub const SIGN_KEY: u16 = 0x001A;
    /// Signature password.
    pub const SIGN_PIN: u16 = 0x001B;
}

/// One certificate with its key and secret.
pub struct Credential<'a> {
    /// The certificate's DER bytes.
    pub certificate: &'a [u8],
    /// The private key.
    pub key: Arc<PrivateKey>,
    /// The secret that unlocks the key.
    pub secret: Pin,
}

/// What the JPKI application holds.
pub struct Content<'a> {
    /// Token kind (EF 0006 label; Android tokens gate EF 000A behind the PIN).
    pub token: Token,
    /// The authentication certificate, key and PIN.
    pub auth: Option<Credential<'a>>,
    /// The signature certificate, key and password.
    pub sign: Option<Credential<'a>>,
    /// The authentication CA certificate.
    pub auth_ca: &'a [u8],
    /// The signature CA certificate.
    pub sign_ca: &'a [u8],
}

/// The user-authentication PIN object: 4 digits, 3 tries.
pub fn auth_pin(value: &str, counter: RetryCounter) -> Pin {
    Pin::new(value.as_bytes(), counter, PinFormat::Digits(4))
}

/// The signature password object: 6–16 of A–Z0–9, 5 tries.
pub fn sign_pin(value: &str, counter: RetryCounter) -> Pin {
    Pin::new(value.as_bytes(), counter, PinFormat::SignaturePassword)
}

/// Builds the JPKI DF.
pub fn build(content: Content<'_>) -> Df {
    let mut files = vec![
        Ef::transparent(ef::SIGN_CA_CERT, content.sign_ca.to_vec(), Access::Free),
        Ef::transparent(
            ef::TOKEN_INFO,
            token_info(content.token).to_vec(),
            Access::Free,
        ),
        Ef::transparent(
            ef::CERT_AVAILABILITY,
            certificate_availability(content.sign.is_some(), content.auth.is_some()).to_vec(),
            Access::Free,
        ),
        Ef::transparent(ef::PROTECTED_0009, vec![0xFF; 16], Access::Never),
        Ef::transparent(ef::AUTH_CA_CERT, content.auth_ca.to_vec(), Access::Free),
        Ef::internal(ef::TERMINAL_CA_KEY),
    ];
    if let Some(auth) = content.auth {
        let read = if content.token == Token::Android {
            Access::AnyOf(vec![Fid(ef::AUTH_PIN)])
        } else {
            Access::Free
        };
        files.push(Ef::transparent(
            ef::AUTH_CERT,
            auth.certificate.to_vec(),
            read,
        ));
        files.push(Ef::private_key(
            ef::AUTH_KEY,
            KeyEf {
                key: auth.key,
                role: KeyRole::JpkiSignature,
                unlock: Access::AnyOf(vec![Fid(ef::AUTH_PIN)]),
            },
        ));
        files.push(Ef::pin(ef::AUTH_PIN, auth.secret));
    }
    if let Some(sign) = content.sign {
        let gated = Access::AnyOf(vec![Fid(ef::SIGN_PIN)]);
        files.push(Ef::transparent(
            ef::SIGN_CERT,
            sign.certificate.to_vec(),
            gated.clone(),
        ));
        files.push(Ef::private_key(
            ef::SIGN_KEY,
            KeyEf {
                key: sign.key,
                role: KeyRole::JpkiSignature,
                unlock: gated,
            },
        ));
        files.push(Ef::pin(ef::SIGN_PIN, sign.secret));
    }
    let mut df = Df::new(AppId::Jpki, files);
    df.session_key = SessionKeySupport::SecurityStatusNotSatisfied;
    df
}

/// EF 0008: byte 0 the signature certificate, byte 1 the authentication certificate
/// (`8F` present), byte 2 unknown (`00`). Exactly three bytes (reference §1.3).
pub fn certificate_availability(sign: bool, auth: bool) -> [u8; 3] {
    let flag = |present| if present { 0x8F } else { 0x00 };
    [flag(sign), flag(auth), 0x00]
}

/// EF 0006: a PKCS#11 `CK_TOKEN_INFO` with big-endian 32-bit integers, 160 bytes
/// (reference §1.3). The values are those MYNA-CARD records for a physical card:
/// manufacturer `000…0001`, model `E16R01NJ`, serial `0000000020500003`, flags `0x040D`,
/// PIN lengths 6–16, versions as ASCII `"03"`/`"01"` and a utcTime of sixteen `9`s.
pub fn token_info(token: Token) -> [u8; 160] {
    let mut out = [b' '; 160];
    let mut put = |offset: usize, bytes: &[u8]| {
        if let Some(dst) = out.get_mut(offset..offset + bytes.len()) {
            dst.copy_from_slice(bytes);
        }
    };
    put(0, token.label().as_bytes());
    put(32, b"00000000000000000000000000000001");
    put(64, b"E16R01NJ");
    put(80, b"0000000020500003");
    let ulongs: [u32; 11] = [
        0x0000_040D, // flags: RNG | LOGIN_REQUIRED | USER_PIN_INITIALIZED | TOKEN_INITIALIZED
        1,           // ulMaxSessionCount
        0,           // ulSessionCount
        1,           // ulMaxRwSessionCount
        0,           // ulRwSessionCount
        16,          // ulMaxPinLen
        6,           // ulMinPinLen
        u32::MAX,    // ulTotalPublicMemory: unavailable
        u32::MAX,    // ulFreePublicMemory
        u32::MAX,    // ulTotalPrivateMemory
        u32::MAX,    // ulFreePrivateMemory
    ];
    for (i, v) in ulongs.iter().enumerate() {
        put(96 + 4 * i, &v.to_be_bytes());
    }
    put(140, b"03");
    put(142, b"01");
    put(144, &[b'9'; 16]);
    out
}

/// Writes a new certificate and key pair into the application (a found card's re-issue, a
/// renewal; issue 11): the certificate EF's content and the key EF's key, access rules
/// unchanged. Returns whether both EFs were there.
pub fn install(df: &mut Df, signature: bool, certificate: Vec<u8>, key: Arc<PrivateKey>) -> bool {
    use crate::card::EfBody;
    let (cert_ef, key_ef) = if signature {
        (ef::SIGN_CERT, ef::SIGN_KEY)
    } else {
        (ef::AUTH_CERT, ef::AUTH_KEY)
    };
    let cert_there = match df.ef_mut(Fid(cert_ef)) {
        Some(ef) => {
            ef.body = EfBody::Transparent(certificate);
            true
        }
        None => false,
    };
    let key_there = match df.ef_mut(Fid(key_ef)).map(|ef| &mut ef.body) {
        Some(EfBody::PrivateKey(k)) => {
            k.key = key;
            true
        }
        _ => false,
    };
    cert_there && key_there
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_info_matches_the_recorded_physical_card() {
        let t = token_info(Token::Card);
        assert_eq!(&t[..20], b"JPKIAPICCTOKEN2     ");
        assert_eq!(&t[96..100], [0x00, 0x00, 0x04, 0x0D]);
        assert_eq!(&t[116..124], [0, 0, 0, 16, 0, 0, 0, 6]);
        assert_eq!(&t[124..140], [0xFF; 16]);
        assert_eq!(&t[140..144], b"0301");
        assert_eq!(&t[144..160], [b'9'; 16]);
        assert_eq!(&token_info(Token::Android)[..16], b"JPKIAPGPSETOKEN ");
    }

    #[test]
    fn availability_bytes() {
        assert_eq!(certificate_availability(true, true), [0x8F, 0x8F, 0x00]);
        assert_eq!(certificate_availability(false, true), [0x00, 0x8F, 0x00]);
    }
}
