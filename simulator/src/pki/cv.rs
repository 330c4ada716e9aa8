//! Card-verifiable (CV) certificates and the test CV CAs of the card-face applications
//! (reference §1.4 EF 0004, §1.7 GET DATA `00F8`/`7F21`).
//!
//! A CV certificate is `7F21 { 5F4E <body>, 5F37 <signature> }` where the 297-byte body is the
//! 16-byte issuer key ID (証明者鍵ID), the 16-byte subject key ID (被証明者鍵ID) and the subject's
//! RSA key as `90 03 01 00 01 91 82 01 00 <modulus>`, signed PKCS#1 v1.5 / SHA-256 by the
//! issuer. Every length is written `82 xx xx`. The subject key of an application's EF 0004
//! signs that application's records (checked against the J-LIS test card's files).
//!
//! mynasim's CV hierarchy uses issuer key IDs `7000023` (card face) and `7000033` (input
//! support) where J-LIS test cards have `6000023`/`6000033` and production `5000023`/`5000033`;
//! the MF chain's root is `7000020`. Their keys are pool slots 2–6 (TEST keys).

use rsa::traits::PublicKeyParts;
use rsa::{Pkcs1v15Sign, PrivateKey, PublicKey};
use sha2::{Digest, Sha256};

use crate::apdu::tlv::{self, LengthForm, Tag};

/// A 16-byte key identifier: 7 ASCII digits, `08 05`, 3 ASCII digits, 4 bytes
/// (reference §1.4, e.g. `"5000033" 08 05 "001" 00 00 00 00`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyId(pub [u8; 16]);

impl KeyId {
    /// Builds an ID from its 7-digit and 3-digit parts and the last byte.
    pub fn new(seven: &str, three: &str, last: u8) -> Self {
        let mut id = [0u8; 16];
        for (dst, src) in id
            .iter_mut()
            .zip(seven.bytes().chain([0x08, 0x05]).chain(three.bytes()))
        {
            *dst = src;
        }
        id[15] = last;
        Self(id)
    }

    /// The 7-digit part as text.
    pub fn name(&self) -> String {
        String::from_utf8_lossy(self.0.get(..7).unwrap_or_default()).into_owned()
    }
}

/// Issuer of the card-face application's CV certificate (EF 0004).
pub const FACE_ISSUER: &str = "7000023";
/// Issuer of the input-support application's CV certificate.
pub const TEXT_ISSUER: &str = "7000033";
/// Root of the MF-level chain (GET DATA `00F8`).
pub const MF_ROOT: &str = "7000020";

/// `90 03 <e> 91 82 01 00 <n>`: an RSA public key as the card's records hold it.
pub fn public_key_tlv(key: &PublicKey) -> Vec<u8> {
    let mut out = tlv::encode(Tag(0x90), &key.e_bytes());
    out.extend(tlv::encode_with(
        Tag(0x91),
        LengthForm::Long(2),
        &key.n_bytes(),
    ));
    out
}

/// PKCS#1 v1.5 signature over SHA-256 of `message` (how every record and CV certificate is
/// signed). A 2048-bit pool key cannot fail to sign a DigestInfo; if it did, the signature is
/// empty and verification fails loudly in tests.
pub fn sign_sha256(key: &PrivateKey, message: &[u8]) -> Vec<u8> {
    key.sign(Pkcs1v15Sign::new::<Sha256>(), &Sha256::digest(message))
        .unwrap_or_default()
}

/// The DigestInfo prefix for SHA-256 with a digest of `len` bytes: the card-face record
/// declares three concatenated digests (96 bytes) in one DigestInfo (reference §1.5).
pub fn sha256_digest_info(digest: &[u8]) -> Vec<u8> {
    let algorithm = [
        0x30, 0x0D, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00,
    ];
    let mut inner = algorithm.to_vec();
    inner.extend(tlv::encode(Tag(0x04), digest));
    tlv::encode(Tag(0x30), &inner)
}

/// PKCS#1 v1.5 signature over a given DigestInfo.
pub fn sign_digest_info(key: &PrivateKey, digest_info: &[u8]) -> Vec<u8> {
    key.sign(Pkcs1v15Sign::new_unprefixed(), digest_info)
        .unwrap_or_default()
}

/// A CV certificate's signed body: issuer ID, subject ID, subject key.
pub fn body(issuer: KeyId, subject: KeyId, subject_key: &PublicKey) -> Vec<u8> {
    let mut out = issuer.0.to_vec();
    out.extend(subject.0);
    out.extend(public_key_tlv(subject_key));
    out
}

/// `5F4E <body> 5F37 <signature>` with `82`-form lengths.
fn body_and_signature(body: &[u8], issuer_key: &PrivateKey) -> Vec<u8> {
    let mut out = tlv::encode_with(Tag(0x5F4E), LengthForm::Long(2), body);
    out.extend(tlv::encode_with(
        Tag(0x5F37),
        LengthForm::Long(2),
        &sign_sha256(issuer_key, body),
    ));
    out
}

/// A CV certificate as an application's EF 0004 holds it: wrapped in `7F21`, 568 bytes for
/// a 2048-bit key.
pub fn certificate(
    issuer: KeyId,
    issuer_key: &PrivateKey,
    subject: KeyId,
    subject_key: &PublicKey,
) -> Vec<u8> {
    let inner = body_and_signature(&body(issuer, subject, subject_key), issuer_key);
    tlv::encode_with(Tag(0x7F21), LengthForm::Long(2), &inner)
}

/// A CV certificate as GET DATA `00F8`/`7F21` returns it: *without* the `7F21` wrapper,
/// preceded by the extended header list `4D 0A 42 10 5F 20 10 5F 49 82 01 09` (CAR 16 bytes,
/// CHR 16 bytes, public key 265 bytes) — 575 bytes (reference §1.7, the J-LIS test card's
/// `00F8`).
pub fn data_object(
    issuer: KeyId,
    issuer_key: &PrivateKey,
    subject: KeyId,
    subject_key: &PublicKey,
) -> Vec<u8> {
    let key_len = public_key_tlv(subject_key).len();
    let mut header_list = vec![0x42, 0x10, 0x5F, 0x20, 0x10, 0x5F, 0x49];
    let mut key_len_field = Vec::new();
    tlv::write_length(&mut key_len_field, key_len, LengthForm::Long(2));
    header_list.extend(key_len_field);
    let mut out = tlv::encode(Tag(0x4D), &header_list);
    out.extend(body_and_signature(
        &body(issuer, subject, subject_key),
        issuer_key,
    ));
    out
}

/// A parsed CV certificate (either form), for verification by clients and tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedCv {
    /// 証明者鍵ID.
    pub issuer: KeyId,
    /// 被証明者鍵ID.
    pub subject: KeyId,
    /// The certified key.
    pub subject_key: PublicKey,
    /// The signed body (297 bytes).
    pub body: Vec<u8>,
    /// The signature.
    pub signature: Vec<u8>,
}

impl ParsedCv {
    /// Parses `7F21 { 5F4E, 5F37 }` or the GET DATA form `4D …, 5F4E, 5F37`.
    pub fn parse(bytes: &[u8]) -> Option<Self> {
        let objects = tlv::parse_all(bytes, 0).ok()?;
        let objects = match objects.first() {
            Some(o) if o.tag == Tag(0x7F21) => o.children().ok()?,
            _ => objects,
        };
        let body = objects.iter().find(|o| o.tag == Tag(0x5F4E))?.value;
        let signature = objects.iter().find(|o| o.tag == Tag(0x5F37))?.value;
        let issuer = KeyId(body.get(..16)?.try_into().ok()?);
        let subject = KeyId(body.get(16..32)?.try_into().ok()?);
        let subject_key = parse_public_key(body.get(32..)?)?;
        Some(Self {
            issuer,
            subject,
            subject_key,
            body: body.to_vec(),
            signature: signature.to_vec(),
        })
    }

    /// Checks the signature with the issuer's public key.
    pub fn verify(&self, issuer_key: &PublicKey) -> bool {
        issuer_key
            .verify(
                Pkcs1v15Sign::new::<Sha256>(),
                &Sha256::digest(&self.body),
                &self.signature,
            )
            .is_ok()
    }
}

/// Parses `90 <e> 91 <n>`.
pub fn parse_public_key(bytes: &[u8]) -> Option<PublicKey> {
    let objects = tlv::parse_all(bytes, 0).ok()?;
    let e = objects.iter().find(|o| o.tag == Tag(0x90))?.value;
    let n = objects.iter().find(|o| o.tag == Tag(0x91))?.value;
    let n = rsa::BoxedUint::from_be_slice_vartime(n);
    let e = rsa::BoxedUint::from_be_slice_vartime(e);
    PublicKey::new(n, e).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pki::keys::pool_key;

    #[test]
    fn key_ids_have_the_card_layout() {
        let id = KeyId::new("7000033", "001", 0);
        assert_eq!(&id.0[..7], b"7000033");
        assert_eq!(&id.0[7..9], [0x08, 0x05]);
        assert_eq!(&id.0[9..12], b"001");
        assert_eq!(&id.0[12..], [0, 0, 0, 0]);
    }

    #[test]
    fn certificates_have_the_card_sizes_and_verify() {
        let ca = pool_key(2).unwrap();
        let subject = pool_key(9).unwrap().to_public_key();
        let cert = certificate(
            KeyId::new(FACE_ISSUER, "001", 0),
            &ca,
            KeyId::new("1310121", "000", 0),
            &subject,
        );
        assert_eq!(cert.len(), 568, "MYNA-GO reads exactly 568 bytes");
        assert_eq!(&cert[..5], [0x7F, 0x21, 0x82, 0x02, 0x33]);
        assert_eq!(&cert[5..10], [0x5F, 0x4E, 0x82, 0x01, 0x29]);
        let parsed = ParsedCv::parse(&cert).unwrap();
        assert!(parsed.verify(&ca.to_public_key()));
        assert!(!parsed.verify(&subject));
        assert_eq!(parsed.subject_key, subject);
        let object = data_object(
            KeyId::new(MF_ROOT, "001", 0),
            &ca,
            KeyId::new("1310130", "002", 0),
            &subject,
        );
        assert_eq!(object.len(), 575);
        assert_eq!(
            &object[..12],
            [
                0x4D, 0x0A, 0x42, 0x10, 0x5F, 0x20, 0x10, 0x5F, 0x49, 0x82, 0x01, 0x09
            ]
        );
        assert!(
            ParsedCv::parse(&object)
                .unwrap()
                .verify(&ca.to_public_key())
        );
    }

    #[test]
    fn three_digest_digest_info_matches_the_card() {
        let di = sha256_digest_info(&[0xAA; 96]);
        assert_eq!(
            &di[..19],
            [
                0x30, 0x71, 0x30, 0x0D, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                0x01, 0x05, 0x00, 0x04, 0x60
            ]
        );
    }
}
