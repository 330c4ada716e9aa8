//! 券面事項入力補助AP — the card-info input support application,
//! `D3 92 10 00 31 00 01 01 04 08` (reference §1.4, §2.6).
//!
//! | FID  | content | read with |
//! |------|---------|-----------|
//! | 0001 | My Number: `FF 10 0C <12 digits> FF FF`, 17 bytes | PIN 0011 or 照合番号A 0014 |
//! | 0002 | 基本4情報: `FF 20 { DF21 offsets, DF22 name, DF23 address, DF24 birth date, DF25 sex }` | PIN or 照合番号B 0015 |
//! | 0003 | integrity record, 336 bytes | PIN, A or B |
//! | 0004 | CV certificate, 568 bytes | free |
//! | 0005 | application basic information `FF 40 82 00 9F …`, padded to 256 | free |
//! | 0006 | session-key delivery public key `A1 …` | PIN, A or B |
//! | 0007 | the signing key 0013's public half, signed | PIN, A or B |
//! | 0008 | sixteen `FF` | free |
//! | 0011 | 4-digit PIN, 3 tries | — |
//! | 0012 | a key blocked at issuance (`63 C0` / `69 84`) | — |
//! | 0013 | the application's signing key (`80 2A 00 00`, no credential) | — |
//! | 0014 | 照合番号A = the My Number | — |
//! | 0015 | 照合番号B = era birth date YYMMDD + expiry year + security code | — |
//!
//! Access is as MYNA-CARD measured: the PIN opens everything; A opens 0001 and not 0002; B
//! opens 0002 and not 0001. The record layouts, length forms and which key signs what were
//! checked against the J-LIS test card's files.

use std::sync::Arc;

use jiff::civil::Date;
use rsa::{PrivateKey, PublicKey};
use sha2::{Digest, Sha256};

use super::AppId;
use crate::apdu::tlv::{self, LengthForm, Tag};
use crate::card::{Access, Df, Ef, Fid, KeyRole, PrivateKey as KeyEf, SessionKeySupport};
use crate::pki::cv::{self, KeyId};
use crate::profile::era;
use crate::security::Pin;

/// EF identifiers.
pub mod ef {
    /// My Number.
    pub const MY_NUMBER: u16 = 0x0001;
    /// 基本4情報.
    pub const ATTRIBUTES: u16 = 0x0002;
    /// Integrity record.
    pub const INTEGRITY: u16 = 0x0003;
    /// CV certificate.
    pub const CV_CERTIFICATE: u16 = 0x0004;
    /// Application basic information.
    pub const BASIC_INFO: u16 = 0x0005;
    /// Session-key delivery public key.
    pub const SESSION_KEY: u16 = 0x0006;
    /// Signed public key of 0013.
    pub const SIGNED_KEY: u16 = 0x0007;
    /// Sixteen FF.
    pub const UNKNOWN_0008: u16 = 0x0008;
    /// The 4-digit PIN.
    pub const PIN: u16 = 0x0011;
    /// Blocked at issuance.
    pub const BLOCKED: u16 = 0x0012;
    /// Signing key.
    pub const SIGNING_KEY: u16 = 0x0013;
    /// 照合番号A.
    pub const CODE_A: u16 = 0x0014;
    /// 照合番号B.
    pub const CODE_B: u16 = 0x0015;
}

/// The fields of 基本4情報.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// DF22 氏名.
    Name,
    /// DF23 住所.
    Address,
    /// DF24 birth date.
    BirthDate,
    /// DF25 sex.
    Sex,
}

impl Field {
    /// The field's tag.
    pub fn tag(self) -> Tag {
        Tag(match self {
            Self::Name => 0xDF22,
            Self::Address => 0xDF23,
            Self::BirthDate => 0xDF24,
            Self::Sex => 0xDF25,
        })
    }
}

/// How the integrity record is damaged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntegrityDamage {
    /// The last bit of DF31 (digest of EF 0001) is flipped.
    MyNumberDigest,
    /// The last bit of DF32 (digest of EF 0002) is flipped.
    AttributesDigest,
    /// The last bit of DF33 (the signature) is flipped.
    Signature,
}

/// Deliberate damage to this application's files. Every record, digest and signature is
/// computed from the clean data first; damage is applied last, to the named EF only, so a
/// damaged card differs from the clean one in exactly the bytes each knob names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Damage {
    /// EF 0002: this field's length byte is one too large.
    pub wrong_length: Option<Field>,
    /// EF 0002: this field's TLV is left out; the outer length and the offset table follow
    /// (its offset entry becomes `00 00`).
    pub missing_tag: Option<Field>,
    /// EF 0002: the file ends before the last field's value is complete (lengths unchanged).
    pub truncated: bool,
    /// EF 0002: every DF21 offset points 2 bytes too far.
    pub wrong_offsets: bool,
    /// EF 0002: these bytes come before `FF 20`. A robustness knob: the report of "2 extra
    /// bytes" on 2023 cards (reference §1.4) is the 2023 layout's two-byte length instead.
    pub leading_bytes: Option<Vec<u8>>,
    /// EF 0002: the name's first byte is `FF`, which is never valid UTF-8.
    pub name_invalid_utf8: bool,
    /// EF 0002: the name is written in Shift_JIS (CP932) instead of UTF-8.
    pub name_shift_jis: bool,
    /// EF 0003: a digest or the signature does not match.
    pub integrity: Option<IntegrityDamage>,
    /// EF 0001 is 15 bytes (no `FF FF` filler) instead of 17.
    pub short_my_number: bool,
    /// EF 0003 is 300 bytes instead of 336 (the signature cut).
    pub short_integrity: bool,
    /// EF 0004 is 500 bytes instead of 568.
    pub short_cv_certificate: bool,
    /// EF 0005 is the 164-byte object without its filler, instead of 256 bytes.
    pub short_basic_info: bool,
}

/// What the application holds.
pub struct Content<'a> {
    /// The 12 digits stored in EF 0001 (and 照合番号A).
    pub my_number: &'a [u8; 12],
    /// 氏名.
    pub name: &'a str,
    /// 住所.
    pub address: &'a str,
    /// Date of birth.
    pub birth_date: Date,
    /// Sex digit.
    pub sex: char,
    /// Card expiry (for 照合番号B).
    pub expires: Date,
    /// Security code printed on the card (for 照合番号B).
    pub security_code: &'a str,
    /// Municipality code (the CV certificate's subject ID).
    pub municipality_code: &'a str,
    /// PIN 0011.
    pub pin: Pin,
    /// 照合番号A 0014.
    pub code_a: Pin,
    /// 照合番号B 0015.
    pub code_b: Pin,
    /// Signing key 0013.
    pub signing_key: Arc<PrivateKey>,
    /// The key EF 0006 publishes.
    pub session_key: PublicKey,
    /// The key EF 0004 certifies; signs EF 0003 and 0007.
    pub records_key: Arc<PrivateKey>,
    /// The CV CA key that issues EF 0004.
    pub issuer_key: Arc<PrivateKey>,
    /// DF43's 32 opaque bytes.
    pub basic_info_trailer: [u8; 32],
    /// The layout generation (EF 0002's outer length form).
    pub layout: crate::card::Layout,
    /// Deliberate damage.
    pub damage: &'a Damage,
}

/// 照合番号B: era `YYMMDD` of the birth date, the expiry year `YYYY`, the 4-digit security
/// code — 14 digits (reference §2.6; e.g. `55021720352285`).
pub fn verification_code_b(birth_date: Date, expires: Date, security_code: &str) -> String {
    format!(
        "{}{:04}{security_code}",
        era::era_yymmdd(birth_date),
        expires.year()
    )
}

/// EF 0001: `FF 10 0C <digits> FF FF`.
pub fn my_number_file(digits: &[u8; 12]) -> Vec<u8> {
    let mut out = tlv::encode(Tag(0xFF10), digits);
    out.extend([0xFF, 0xFF]);
    out
}

/// EF 0002 from already-encoded field values: `FF 20 <len> DF21 08 <offsets> DF22 … DF25`.
/// `fields` are (tag, value) in order; the offset table names each field's position from
/// the start of the file (`00 00` for a field that is absent). The outer length is written
/// in `form` (the layout generation's).
fn attributes_from(fields: &[(Tag, Vec<u8>)], form: LengthForm) -> Vec<u8> {
    let objects: Vec<Vec<u8>> = fields.iter().map(|(t, v)| tlv::encode(*t, v)).collect();
    let body_len = 2 + 1 + 8 + objects.iter().map(Vec::len).sum::<usize>();
    let mut header = Tag(0xFF20).to_bytes();
    tlv::write_length(&mut header, body_len, form);
    let mut offsets = Vec::new();
    let mut at = header.len() + 11;
    for field in [Field::Name, Field::Address, Field::BirthDate, Field::Sex] {
        match fields.iter().position(|(t, _)| *t == field.tag()) {
            Some(i) => {
                offsets.extend(u16::try_from(at).unwrap_or(u16::MAX).to_be_bytes());
                at += objects.get(i).map_or(0, Vec::len);
            }
            None => offsets.extend([0, 0]),
        }
    }
    let mut out = header;
    out.extend(tlv::encode(Tag(0xDF21), &offsets));
    for o in objects {
        out.extend(o);
    }
    out
}

/// EF 0002 with the four fields in UTF-8. The outer length follows the layout generation:
/// minimal on 2016 cards (`81 xx` from 128 bytes, reference §1.4), always `82 HH LL` on
/// 2023 cards ([`Layout`](crate::card::Layout)).
pub fn attributes_file(
    name: &[u8],
    address: &str,
    birth_date: Date,
    sex: char,
    layout: crate::card::Layout,
) -> Vec<u8> {
    attributes_from(
        &[
            (Field::Name.tag(), name.to_vec()),
            (Field::Address.tag(), address.as_bytes().to_vec()),
            (
                Field::BirthDate.tag(),
                era::yyyymmdd(birth_date).into_bytes(),
            ),
            (Field::Sex.tag(), sex.to_string().into_bytes()),
        ],
        layout.attributes_length(),
    )
}

/// The bytes EF 0003's DF32 digests: the outer value of EF 0002 from DF22 on — neither the
/// header nor the offset table (MYNA-CARD `Attributes::digest_source`, JSAPDU).
pub fn attributes_digest_source(file: &[u8]) -> &[u8] {
    let Ok((outer, _)) = tlv::Tlv::parse(file) else {
        return &[];
    };
    let Ok((table, rest)) = tlv::Tlv::parse(outer.value) else {
        return &[];
    };
    if table.tag != Tag(0xDF21) {
        return &[];
    }
    rest
}

/// EF 0003: `FF 30 82 01 4B { DF31 <SHA-256 of EF 0001, filler included>, DF32 <SHA-256 of
/// the EF 0002 digest source>, DF33 82 01 00 <signature over DF31‖DF32> }`, 336 bytes.
pub fn integrity_file(
    my_number_file: &[u8],
    attributes_file: &[u8],
    records_key: &PrivateKey,
) -> Vec<u8> {
    let mut signed = tlv::encode(Tag(0xDF31), &Sha256::digest(my_number_file));
    signed.extend(tlv::encode(
        Tag(0xDF32),
        &Sha256::digest(attributes_digest_source(attributes_file)),
    ));
    let mut body = signed.clone();
    body.extend(tlv::encode_with(
        Tag(0xDF33),
        LengthForm::Long(2),
        &cv::sign_sha256(records_key, &signed),
    ));
    tlv::encode_with(Tag(0xFF30), LengthForm::Long(2), &body)
}

/// EF 0005: `FF 40 82 00 9F { DF41 04 01 03 0E 01, DF42 10 <key ID>, DF43 82 00 80 <32
/// bytes, then 96 FF> }` — non-minimal lengths written exactly — then `FF` filler to 256
/// bytes, which MYNA-GO reads in one go (reference §1.4).
pub fn basic_info_file(key_id: KeyId, trailer: &[u8; 32]) -> Vec<u8> {
    let mut df43 = trailer.to_vec();
    df43.extend([0xFF; 96]);
    let mut body = tlv::encode(Tag(0xDF41), &[0x01, 0x03, 0x0E, 0x01]);
    body.extend(tlv::encode(Tag(0xDF42), &key_id.0));
    body.extend(tlv::encode_with(Tag(0xDF43), LengthForm::Long(2), &df43));
    let mut out = tlv::encode_with(Tag(0xFF40), LengthForm::Long(2), &body);
    out.resize(256, 0xFF);
    out
}

/// EF 0006: `A1 82 01 09 { 90 03 01 00 01, 91 82 01 00 <modulus> }`.
pub fn session_key_file(key: &PublicKey) -> Vec<u8> {
    tlv::encode_with(Tag(0xA1), LengthForm::Long(2), &cv::public_key_tlv(key))
}

/// EF 0007: `FF 50 82 02 13 { DF51 82 01 09 <0013's public key>, DF52 82 01 00 <signature
/// over DF51> }`.
pub fn signed_key_file(key: &PublicKey, records_key: &PrivateKey) -> Vec<u8> {
    let signed = tlv::encode_with(Tag(0xDF51), LengthForm::Long(2), &cv::public_key_tlv(key));
    let mut body = signed.clone();
    body.extend(tlv::encode_with(
        Tag(0xDF52),
        LengthForm::Long(2),
        &cv::sign_sha256(records_key, &signed),
    ));
    tlv::encode_with(Tag(0xFF50), LengthForm::Long(2), &body)
}

/// The subject key ID of this application's CV certificate: the municipality code and `31`
/// (J-LIS test card: `1322131`).
pub fn records_key_id(municipality_code: &str) -> KeyId {
    KeyId::new(&format!("{municipality_code}31"), "000", 0)
}

/// Builds the DF.
pub fn build(c: Content<'_>) -> Df {
    let ef1 = my_number_file(c.my_number);
    let ef2 = attributes_file(c.name.as_bytes(), c.address, c.birth_date, c.sex, c.layout);
    let ef3 = integrity_file(&ef1, &ef2, &c.records_key);
    let ef4 = cv::certificate(
        KeyId::new(cv::TEXT_ISSUER, "001", 0),
        &c.issuer_key,
        records_key_id(c.municipality_code),
        &c.records_key.to_public_key(),
    );
    let ef5 = basic_info_file(KeyId::new("7000034", "001", 0), &c.basic_info_trailer);
    let ef6 = session_key_file(&c.session_key);
    let ef7 = signed_key_file(&c.signing_key.to_public_key(), &c.records_key);
    let mut files = Damageable {
        my_number: ef1,
        attributes: ef2,
        integrity: ef3,
        cv_certificate: ef4,
        basic_info: ef5,
    };
    damage(c.damage, &c, &mut files);
    let Damageable {
        my_number: ef1,
        attributes: ef2,
        integrity: ef3,
        cv_certificate: ef4,
        basic_info: ef5,
    } = files;

    let pin = Fid(ef::PIN);
    let a = Fid(ef::CODE_A);
    let b = Fid(ef::CODE_B);
    let any = Access::AnyOf(vec![pin, a, b]);
    let files = vec![
        Ef::transparent(ef::MY_NUMBER, ef1, Access::AnyOf(vec![pin, a])),
        Ef::transparent(ef::ATTRIBUTES, ef2, Access::AnyOf(vec![pin, b])),
        Ef::transparent(ef::INTEGRITY, ef3, any.clone()),
        Ef::transparent(ef::CV_CERTIFICATE, ef4, Access::Free),
        Ef::transparent(ef::BASIC_INFO, ef5, Access::Free),
        Ef::transparent(ef::SESSION_KEY, ef6, any.clone()),
        Ef::transparent(ef::SIGNED_KEY, ef7, any),
        Ef::transparent(ef::UNKNOWN_0008, vec![0xFF; 16], Access::Free),
        Ef::pin(ef::PIN, c.pin),
        Ef::pin(
            ef::BLOCKED,
            Pin::new(
                *b"0000",
                crate::security::RetryCounter::new(3, 0),
                crate::security::PinFormat::Digits(4),
            ),
        ),
        Ef::private_key(
            ef::SIGNING_KEY,
            KeyEf {
                key: c.signing_key.clone(),
                role: KeyRole::ApplicationSignature,
                unlock: Access::Free,
            },
        ),
        Ef::pin(ef::CODE_A, c.code_a),
        Ef::pin(ef::CODE_B, c.code_b),
    ];
    let mut df = Df::new(AppId::InputSupport, files);
    df.default_key = Some(Fid(ef::SIGNING_KEY));
    df.session_key = SessionKeySupport::NotEmulated;
    df
}

/// The five EFs a [`Damage`] can touch.
struct Damageable {
    my_number: Vec<u8>,
    attributes: Vec<u8>,
    integrity: Vec<u8>,
    cv_certificate: Vec<u8>,
    basic_info: Vec<u8>,
}

/// Applies the damage, in a fixed order: EF 0002 re-encodings, then byte edits, then
/// EF 0003, then the short EFs.
fn damage(d: &Damage, c: &Content<'_>, files: &mut Damageable) {
    // EF 0002: rebuilt from altered field values, then altered bytes.
    if d.name_shift_jis || d.missing_tag.is_some() {
        let name = if d.name_shift_jis {
            encoding_rs::SHIFT_JIS.encode(c.name).0.into_owned()
        } else {
            c.name.as_bytes().to_vec()
        };
        let mut fields = vec![
            (Field::Name.tag(), name),
            (Field::Address.tag(), c.address.as_bytes().to_vec()),
            (
                Field::BirthDate.tag(),
                era::yyyymmdd(c.birth_date).into_bytes(),
            ),
            (Field::Sex.tag(), c.sex.to_string().into_bytes()),
        ];
        if let Some(missing) = d.missing_tag {
            fields.retain(|(t, _)| *t != missing.tag());
        }
        files.attributes = attributes_from(&fields, c.layout.attributes_length());
    }
    let ef2 = &mut files.attributes;
    if d.name_invalid_utf8
        && let Some(at) = value_offset(ef2, Field::Name.tag())
        && let Some(b) = ef2.get_mut(at)
    {
        *b = 0xFF;
    }
    // The last length byte sits just before the value.
    if let Some(field) = d.wrong_length
        && let Some(at) = value_offset(ef2, field.tag())
        && let Some(b) = ef2.get_mut(at - 1)
    {
        *b = b.wrapping_add(1);
    }
    if d.wrong_offsets
        && let Some(at) = value_offset(ef2, Tag(0xDF21))
    {
        for i in 0..4 {
            let hi = at + 2 * i;
            if let Some(dst) = ef2.get_mut(hi..hi + 2)
                && let Ok(pair) = <[u8; 2]>::try_from(&*dst)
            {
                let moved = u16::from_be_bytes(pair).wrapping_add(2);
                dst.copy_from_slice(&moved.to_be_bytes());
            }
        }
    }
    if d.truncated {
        let last = [Field::Sex, Field::BirthDate, Field::Address, Field::Name]
            .into_iter()
            .find_map(|f| value_offset(ef2, f.tag()).map(|at| (f, at)));
        if let Some((field, at)) = last {
            let len = field_len(ef2, field.tag()).unwrap_or(0);
            ef2.truncate(at + len / 2);
        }
    }
    if let Some(prefix) = &d.leading_bytes {
        let mut with = prefix.clone();
        with.append(ef2);
        *ef2 = with;
    }
    // EF 0003: flip the last bit of one value.
    if let Some(which) = d.integrity {
        let tag = Tag(match which {
            IntegrityDamage::MyNumberDigest => 0xDF31,
            IntegrityDamage::AttributesDigest => 0xDF32,
            IntegrityDamage::Signature => 0xDF33,
        });
        let ef3 = &mut files.integrity;
        if let (Some(at), Some(len)) = (value_offset(ef3, tag), field_len(ef3, tag))
            && let Some(b) = ef3.get_mut(at + len - 1)
        {
            *b ^= 0x01;
        }
    }
    if d.short_my_number {
        files.my_number.truncate(15);
    }
    if d.short_integrity {
        files.integrity.truncate(300);
    }
    if d.short_cv_certificate {
        files.cv_certificate.truncate(500);
    }
    if d.short_basic_info {
        files.basic_info.truncate(164);
    }
}

/// Offset of the value of the first `tag` object inside the outer object of `file`.
fn value_offset(file: &[u8], tag: Tag) -> Option<usize> {
    let (outer, _) = tlv::Tlv::parse(file).ok()?;
    let base = outer.raw.len() - outer.value.len();
    let children = tlv::parse_all(outer.value, base).ok()?;
    let mut at = base;
    for child in children {
        let header = child.raw.len() - child.value.len();
        if child.tag == tag {
            return Some(at + header);
        }
        at += child.raw.len();
    }
    None
}

/// Length of the value of the first `tag` object inside the outer object of `file`.
fn field_len(file: &[u8], tag: Tag) -> Option<usize> {
    let (outer, _) = tlv::Tlv::parse(file).ok()?;
    let children = tlv::parse_all(outer.value, 0).ok()?;
    children
        .into_iter()
        .find(|c| c.tag == tag)
        .map(|c| c.value.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::card::Layout;

    #[test]
    fn attributes_layout_matches_the_test_card() {
        // The J-LIS test card's header: FF 20 65 DF 21 08 00 0E 00 20 00 59 00 64 DF 22 0F …
        // (name 15 bytes, address 54 bytes).
        let name = "黒桐　幹也";
        let address = "東京都清瀬市観布子南１２－７－２０２";
        assert_eq!(address.len(), 54);
        let f = attributes_file(
            name.as_bytes(),
            address,
            Date::constant(1980, 2, 17),
            '1',
            Layout::Gen2016,
        );
        assert_eq!(
            &f[..16],
            [
                0xFF, 0x20, 0x65, 0xDF, 0x21, 0x08, 0x00, 0x0E, 0x00, 0x20, 0x00, 0x59, 0x00, 0x64,
                0xDF, 0x22
            ]
        );
        assert_eq!(f.len(), 104);
        assert_eq!(
            &f[89..100],
            [
                0xDF, 0x24, 0x08, b'1', b'9', b'8', b'0', b'0', b'2', b'1', b'7'
            ]
        );
        // The digest source starts at DF22.
        assert_eq!(&attributes_digest_source(&f)[..2], [0xDF, 0x22]);
    }

    #[test]
    fn a_long_address_gets_a_long_form_outer_length() {
        let address = "あ".repeat(50); // 150 bytes
        let f = attributes_file(
            "試験　花子".as_bytes(),
            &address,
            Date::constant(1990, 1, 1),
            '2',
            Layout::Gen2016,
        );
        assert_eq!(&f[..3], [0xFF, 0x20, 0x81]);
        assert_eq!(usize::from(f[3]), f.len() - 4);
        let (outer, rest) = tlv::Tlv::parse(&f).unwrap();
        assert!(rest.is_empty());
        assert_eq!(outer.children().unwrap().len(), 5);
        // Offsets still point at their tags.
        // Header FF 20 81 xx, then DF 21 08: the table starts at byte 7.
        for (i, tag) in [0xDF22u16, 0xDF23, 0xDF24, 0xDF25].iter().enumerate() {
            let off = usize::from(u16::from_be_bytes([f[7 + 2 * i], f[8 + 2 * i]]));
            assert_eq!(u16::from_be_bytes([f[off], f[off + 1]]), *tag);
        }
    }

    #[test]
    fn the_2023_layout_writes_a_two_byte_outer_length() {
        let name = "黒桐　幹也";
        let address = "東京都清瀬市観布子南１２－７－２０２";
        let birth = Date::constant(1980, 2, 17);
        let old = attributes_file(name.as_bytes(), address, birth, '1', Layout::Gen2016);
        let new = attributes_file(name.as_bytes(), address, birth, '1', Layout::Gen2023);
        // FF 20 82 00 65, then the same body; the offsets move by the 2 extra header bytes.
        assert_eq!(&new[..7], [0xFF, 0x20, 0x82, 0x00, 0x65, 0xDF, 0x21]);
        assert_eq!(new.len(), old.len() + 2);
        assert_eq!(
            &new[8..16],
            [0x00, 0x10, 0x00, 0x22, 0x00, 0x5B, 0x00, 0x66]
        );
        for (i, tag) in [0xDF22u16, 0xDF23, 0xDF24, 0xDF25].iter().enumerate() {
            let off = usize::from(u16::from_be_bytes([new[8 + 2 * i], new[9 + 2 * i]]));
            assert_eq!(u16::from_be_bytes([new[off], new[off + 1]]), *tag);
        }
        // The digested bytes (DF22 on) are the same in both layouts.
        assert_eq!(
            attributes_digest_source(&new),
            attributes_digest_source(&old)
        );
        // A long address stays 82 HH LL (never 81).
        let long = attributes_file(
            name.as_bytes(),
            &"あ".repeat(50),
            birth,
            '1',
            Layout::Gen2023,
        );
        assert_eq!(&long[..3], [0xFF, 0x20, 0x82]);
        assert_eq!(
            usize::from(u16::from_be_bytes([long[3], long[4]])),
            long.len() - 5
        );
    }

    #[test]
    fn verification_code_b_matches_the_reference() {
        assert_eq!(
            verification_code_b(
                Date::constant(1980, 2, 17),
                Date::constant(2035, 2, 17),
                "2285"
            ),
            "55021720352285"
        );
    }

    #[test]
    fn basic_info_is_written_with_its_non_minimal_lengths() {
        let f = basic_info_file(KeyId::new("7000034", "001", 0), &[0xA3; 32]);
        assert_eq!(f.len(), 256);
        assert_eq!(&f[..5], [0xFF, 0x40, 0x82, 0x00, 0x9F]);
        assert_eq!(&f[31..35], [0xDF, 0x43, 0x82, 0x00]);
        assert_eq!(f[35], 0x80);
        assert!(f[164..].iter().all(|&b| b == 0xFF));
    }
}
