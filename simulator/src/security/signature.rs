//! The signing modes of COMPUTE DIGITAL SIGNATURE (`80 2A`) and INTERNAL AUTHENTICATE
//! (reference §2.7, §2.8).
//!
//! P1 is the 方式種別 (signature scheme) measured by MYNA-CARD on a real card:
//!
//! | P1 | input | the card does |
//! |----|-------|---------------|
//! | 00 | 1–245 bytes | PKCS#1 v1.5 type-1 padding of the bytes as given (clients pass a DigestInfo) |
//! | 01 | message | SHA-256, then type-1 padding of the *bare* 32-byte hash |
//! | 02 | 32-byte hash | wraps it in a SHA-256 DigestInfo, then type-1 padding |
//! | 03 | message | SHA-256 and DigestInfo: standard sha256WithRSAEncryption |
//! | 04 | 32-byte hash | RSASSA-PSS (SHA-256, MGF1-SHA-256, 32-byte random salt) |
//! | 05 | message | SHA-256, then RSASSA-PSS |
//!
//! Other P1 values are `6A 86`; input of the wrong length for the scheme is `67 00` (the
//! reference allows `67 00` or `69 85` without saying which; we answer `67 00`, the
//! length-class error, for all of them).

use rand_core::CryptoRng;
use rsa::{Pkcs1v15Sign, PrivateKey};
use sha2::{Digest, Sha256};

use crate::card::CardError;

/// Largest input of scheme `00` for a 2048-bit key: 256 − 11 bytes of padding overhead.
pub const MAX_RAW_INPUT: usize = 245;

/// A COMPUTE DIGITAL SIGNATURE scheme (P1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureScheme {
    /// `00`: PKCS#1 v1.5 over the given bytes.
    Pkcs1Raw,
    /// `01`: SHA-256 of the data, bare hash padded.
    Pkcs1BareSha256,
    /// `02`: given SHA-256 hash, DigestInfo added.
    Pkcs1Sha256Prehashed,
    /// `03`: sha256WithRSAEncryption over the data.
    Pkcs1Sha256,
    /// `04`: PSS over a given SHA-256 hash.
    PssPrehashed,
    /// `05`: PSS over the data.
    PssSha256,
}

impl TryFrom<u8> for SignatureScheme {
    type Error = CardError;
    fn try_from(p1: u8) -> Result<Self, CardError> {
        Ok(match p1 {
            0x00 => Self::Pkcs1Raw,
            0x01 => Self::Pkcs1BareSha256,
            0x02 => Self::Pkcs1Sha256Prehashed,
            0x03 => Self::Pkcs1Sha256,
            0x04 => Self::PssPrehashed,
            0x05 => Self::PssSha256,
            _ => return Err(CardError::IncorrectP1P2),
        })
    }
}

impl SignatureScheme {
    /// The P1 byte.
    pub fn p1(self) -> u8 {
        match self {
            Self::Pkcs1Raw => 0x00,
            Self::Pkcs1BareSha256 => 0x01,
            Self::Pkcs1Sha256Prehashed => 0x02,
            Self::Pkcs1Sha256 => 0x03,
            Self::PssPrehashed => 0x04,
            Self::PssSha256 => 0x05,
        }
    }

    /// Signs `input` with `key`. `rng` only feeds PSS salts.
    pub fn sign(
        self,
        key: &PrivateKey,
        input: &[u8],
        rng: &mut impl CryptoRng,
    ) -> Result<Vec<u8>, CardError> {
        let result = match self {
            Self::Pkcs1Raw => {
                if input.is_empty() || input.len() > MAX_RAW_INPUT {
                    return Err(CardError::WrongLength);
                }
                key.sign(Pkcs1v15Sign::new_unprefixed(), input)
            }
            Self::Pkcs1BareSha256 => {
                key.sign(Pkcs1v15Sign::new_unprefixed(), &Sha256::digest(input))
            }
            Self::Pkcs1Sha256Prehashed => {
                key.sign(Pkcs1v15Sign::new::<Sha256>(), sha256_input(input)?)
            }
            Self::Pkcs1Sha256 => key.sign(Pkcs1v15Sign::new::<Sha256>(), &Sha256::digest(input)),
            Self::PssPrehashed => {
                key.pss_sign_prehash_with_rng::<Sha256, _>(rng, sha256_input(input)?)
            }
            Self::PssSha256 => {
                key.pss_sign_prehash_with_rng::<Sha256, _>(rng, &Sha256::digest(input))
            }
        };
        result.map_err(|_| CardError::NoPreciseDiagnosis)
    }
}

/// A prehashed scheme's input must be exactly one SHA-256 value.
fn sha256_input(input: &[u8]) -> Result<&[u8], CardError> {
    if input.len() == 32 {
        Ok(input)
    } else {
        Err(CardError::WrongLength)
    }
}

/// INTERNAL AUTHENTICATE of the common-card key 0019: PKCS#1 v1.5 over
/// DigestInfo(SHA-256(challenge)), deterministic; challenge 1–255 bytes (reference §2.8).
pub fn internal_authenticate(key: &PrivateKey, challenge: &[u8]) -> Result<Vec<u8>, CardError> {
    if challenge.is_empty() || challenge.len() > 255 {
        return Err(CardError::WrongLength);
    }
    key.sign(Pkcs1v15Sign::new::<Sha256>(), &Sha256::digest(challenge))
        .map_err(|_| CardError::NoPreciseDiagnosis)
}
