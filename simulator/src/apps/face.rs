//! 券面事項確認AP — the card-face application, `D3 92 10 00 31 00 01 01 04 02`
//! (reference §1.5, §2.6).
//!
//! | FID  | content | read with |
//! |------|---------|-----------|
//! | 0001 | age record `FF 10 { DF11 birth date, DF12 key, DF13 signature }` | birth-date key 0011 |
//! | 0002 | card face `FF 20 { DF21 offsets, DF22–DF2A }` | 照合番号A 0013 or B 0012 |
//! | 0003 | basic information `FF 30 { DF31–DF35 }` with the municipality code | free |
//! | 0004 | CV certificate, 568 bytes | free |
//! | 0005 | My Number image `FF 40 { DF41 PNG, DF42 key, DF43 signature }` | 照合番号A only |
//! | 0006 | sixteen `FF` | A or B |
//! | 0011 | birth-date key: era `YYMMDD` | — |
//! | 0012 | 照合番号B | — |
//! | 0013 | 照合番号A | — |
//! | 001A | the application's signing key (`80 2A 00 00`, no credential) | — |
//!
//! The key EF 0004 certifies signs EF 0001, 0002 and 0005; EF 0002's signature covers three
//! digests in one DigestInfo (`30 71 … 04 60`), of DF22‖DF23‖DF24, of DF25‖DF26 and of
//! DF27; DF29 and DF2A come after it and are not covered. Length forms are the test card's:
//! `82 xx xx` for the key, images, photo and signatures even under 256 bytes, short for the
//! dates, sex and the security-code image.

use std::sync::Arc;

use jiff::civil::Date;
use rsa::PrivateKey;
use sha2::{Digest, Sha256};

use super::AppId;
use crate::apdu::tlv::{self, LengthForm, Tag};
use crate::card::{Access, Df, Ef, Fid, KeyRole, PrivateKey as KeyEf, SessionKeySupport};
use crate::pki::cv::{self, KeyId};
use crate::profile::era;
use crate::render;
use crate::security::Pin;

/// EF identifiers.
pub mod ef {
    /// Age record.
    pub const AGE: u16 = 0x0001;
    /// Card face.
    pub const FACE: u16 = 0x0002;
    /// Basic information.
    pub const BASIC_INFO: u16 = 0x0003;
    /// CV certificate.
    pub const CV_CERTIFICATE: u16 = 0x0004;
    /// My Number image.
    pub const MY_NUMBER_IMAGE: u16 = 0x0005;
    /// Sixteen FF.
    pub const UNKNOWN_0006: u16 = 0x0006;
    /// Birth-date key.
    pub const BIRTH_DATE: u16 = 0x0011;
    /// 照合番号B.
    pub const CODE_B: u16 = 0x0012;
    /// 照合番号A.
    pub const CODE_A: u16 = 0x0013;
    /// Signing key.
    pub const SIGNING_KEY: u16 = 0x001A;
}

/// Image widths of the test card: name 18 full-width cells, address 24, security code and My
/// Number in half-width digits.
pub const NAME_WIDTH: usize = 216;
/// Address image width.
pub const ADDRESS_WIDTH: usize = 288;
/// Security-code image width.
pub const SECURITY_CODE_WIDTH: usize = 24;
/// My Number image width.
pub const MY_NUMBER_WIDTH: usize = 72;

/// What the application holds.
pub struct Content<'a> {
    /// Date of birth.
    pub birth_date: Date,
    /// Sex digit.
    pub sex: char,
    /// 氏名 as printed.
    pub name: &'a str,
    /// 住所 as printed.
    pub address: &'a str,
    /// The face photo (JPEG 2000).
    pub photo: &'a [u8],
    /// Card expiry.
    pub expires: Date,
    /// Security code.
    pub security_code: &'a str,
    /// The 12 digits of the My Number as printed.
    pub my_number: &'a [u8; 12],
    /// Municipality code.
    pub municipality_code: &'a str,
    /// Birth-date key 0011.
    pub birth_date_key: Pin,
    /// 照合番号B 0012.
    pub code_b: Pin,
    /// 照合番号A 0013.
    pub code_a: Pin,
    /// Signing key 001A.
    pub signing_key: Arc<PrivateKey>,
    /// The key EF 0004 certifies; signs EF 0001, 0002, 0005.
    pub records_key: Arc<PrivateKey>,
    /// The CV CA key that issues EF 0004.
    pub issuer_key: Arc<PrivateKey>,
    /// DF35's 256 opaque bytes.
    pub basic_info_opaque: [u8; 256],
}

fn long(tag: u32, value: &[u8]) -> Vec<u8> {
    tlv::encode_with(Tag(tag), LengthForm::Long(2), value)
}

fn short(tag: u32, value: &[u8]) -> Vec<u8> {
    tlv::encode(Tag(tag), value)
}

/// EF 0001: `FF 10 82 02 1E { DF11 08 YYYYMMDD, DF12 82 01 09 <key>, DF13 82 01 00 <sig> }`.
pub fn age_file(birth_date: Date, key: &rsa::PublicKey, records_key: &PrivateKey) -> Vec<u8> {
    let mut signed = short(0xDF11, era::yyyymmdd(birth_date).as_bytes());
    signed.extend(long(0xDF12, &cv::public_key_tlv(key)));
    let mut body = signed.clone();
    body.extend(long(0xDF13, &cv::sign_sha256(records_key, &signed)));
    long(0xFF10, &body)
}

/// EF 0002, the card face.
pub fn face_file(c: &Content<'_>) -> Vec<u8> {
    let group1 = [
        short(0xDF22, era::yyyymmdd(c.birth_date).as_bytes()),
        short(0xDF23, c.sex.to_string().as_bytes()),
        long(0xDF24, &cv::public_key_tlv(&c.signing_key.to_public_key())),
    ]
    .concat();
    let group2 = [
        long(0xDF25, &render::text_png(c.name, NAME_WIDTH)),
        long(0xDF26, &render::text_png(c.address, ADDRESS_WIDTH)),
    ]
    .concat();
    let group3 = long(0xDF27, c.photo);
    let digests = [
        Sha256::digest(&group1).to_vec(),
        Sha256::digest(&group2).to_vec(),
        Sha256::digest(&group3).to_vec(),
    ]
    .concat();
    let signature = long(
        0xDF28,
        &cv::sign_digest_info(&c.records_key, &cv::sha256_digest_info(&digests)),
    );
    let expiry = short(0xDF29, era::yyyymmdd(c.expires).as_bytes());
    let code = short(
        0xDF2A,
        &render::text_png(c.security_code, SECURITY_CODE_WIDTH),
    );

    // Offsets from the start of the file: FF 20 82 xx xx (5) + DF 21 12 <18> (21).
    let mut offsets = Vec::new();
    let mut at = 5 + 21;
    let parts = [
        &group1[..],
        &group2[..],
        &group3[..],
        &signature[..],
        &expiry[..],
        &code[..],
    ];
    // Nine offsets: DF22, DF23, DF24 inside group 1; DF25, DF26 inside group 2; the rest.
    for object in split_objects(&group1)
        .into_iter()
        .chain(split_objects(&group2))
        .chain([group3.len(), signature.len(), expiry.len(), code.len()])
    {
        offsets.extend(u16::try_from(at).unwrap_or(u16::MAX).to_be_bytes());
        at += object;
    }
    let mut body = short(0xDF21, &offsets);
    for part in parts {
        body.extend_from_slice(part);
    }
    long(0xFF20, &body)
}

/// The lengths of the consecutive TLV objects in `bytes`.
fn split_objects(bytes: &[u8]) -> Vec<usize> {
    tlv::parse_all(bytes, 0)
        .map(|objects| objects.iter().map(|o| o.raw.len()).collect())
        .unwrap_or_default()
}

/// EF 0003: `FF 30 82 01 3B { DF31 04 06 03 0E 01, DF32 10 <key ID>, DF33 01 00, DF34 05
/// <municipality code>, DF35 82 01 10 <key ID + 256 bytes> }`.
pub fn basic_info_file(municipality_code: &str, opaque: &[u8; 256]) -> Vec<u8> {
    let mut df35 = KeyId::new("7900025", "001", 0).0.to_vec();
    df35.extend_from_slice(opaque);
    let body = [
        short(0xDF31, &[0x06, 0x03, 0x0E, 0x01]),
        short(0xDF32, &KeyId::new("7000024", "001", 0).0),
        short(0xDF33, &[0x00]),
        short(0xDF34, municipality_code.as_bytes()),
        long(0xDF35, &df35),
    ]
    .concat();
    long(0xFF30, &body)
}

/// EF 0005: `FF 40 82 xx xx { DF41 82 xx xx <PNG>, DF42 82 01 09 <key>, DF43 82 01 00
/// <signature over DF41‖DF42> }`.
pub fn my_number_image_file(
    digits: &[u8; 12],
    key: &rsa::PublicKey,
    records_key: &PrivateKey,
) -> Vec<u8> {
    let text = String::from_utf8_lossy(digits);
    let mut signed = long(0xDF41, &render::text_png(&text, MY_NUMBER_WIDTH));
    signed.extend(long(0xDF42, &cv::public_key_tlv(key)));
    let mut body = signed.clone();
    body.extend(long(0xDF43, &cv::sign_sha256(records_key, &signed)));
    long(0xFF40, &body)
}

/// The subject key ID of this application's CV certificate: municipality code and `21`.
pub fn records_key_id(municipality_code: &str) -> KeyId {
    KeyId::new(&format!("{municipality_code}21"), "000", 0)
}

/// Builds the DF.
pub fn build(c: Content<'_>) -> Df {
    let signing_public = c.signing_key.to_public_key();
    let ef1 = age_file(c.birth_date, &signing_public, &c.records_key);
    let ef2 = face_file(&c);
    let ef3 = basic_info_file(c.municipality_code, &c.basic_info_opaque);
    let ef4 = cv::certificate(
        KeyId::new(cv::FACE_ISSUER, "001", 0),
        &c.issuer_key,
        records_key_id(c.municipality_code),
        &c.records_key.to_public_key(),
    );
    let ef5 = my_number_image_file(c.my_number, &signing_public, &c.records_key);
    let a = Fid(ef::CODE_A);
    let b = Fid(ef::CODE_B);
    let files = vec![
        Ef::transparent(ef::AGE, ef1, Access::AnyOf(vec![Fid(ef::BIRTH_DATE)])),
        Ef::transparent(ef::FACE, ef2, Access::AnyOf(vec![a, b])),
        Ef::transparent(ef::BASIC_INFO, ef3, Access::Free),
        Ef::transparent(ef::CV_CERTIFICATE, ef4, Access::Free),
        Ef::transparent(ef::MY_NUMBER_IMAGE, ef5, Access::AnyOf(vec![a])),
        Ef::transparent(ef::UNKNOWN_0006, vec![0xFF; 16], Access::AnyOf(vec![a, b])),
        Ef::pin(ef::BIRTH_DATE, c.birth_date_key),
        Ef::pin(ef::CODE_B, c.code_b),
        Ef::pin(ef::CODE_A, c.code_a),
        Ef::private_key(
            ef::SIGNING_KEY,
            KeyEf {
                key: c.signing_key.clone(),
                role: KeyRole::ApplicationSignature,
                unlock: Access::Free,
            },
        ),
    ];
    let mut df = Df::new(AppId::CardFace, files);
    df.default_key = Some(Fid(ef::SIGNING_KEY));
    df.session_key = SessionKeySupport::SecurityEnvironmentFaulty;
    df
}
