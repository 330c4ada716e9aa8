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
//! Other P1 values are `6A 86`; input of the wrong length for the scheme is
//! [`CardError::SigningInputLength`] (the reference allows `67 00` or `69 85` without saying
//! which; `67 00` by default, `69 85` with a quirk).
//!
//! The scheme also owns the client's half: [`SignatureScheme::client_payload`] is what a
//! host sends to have a message signed, and [`SignatureScheme::verify`] checks the answer,
//! so the card, the scenario harness and the tests share one definition of each mode.

use rand_core::CryptoRng;
use rsa::{Pkcs1v15Sign, PrivateKey, PublicKey};
use sha1::Sha1;
use sha2::{Digest, Sha256};

use crate::card::CardError;

/// The DigestInfo a client puts in front of a scheme-`00` signing input (reference §2.7:
/// SHA-256 for most clients, SHA-1 for JPKIREADER and JPKI-RS's CLI), or none: the bytes go
/// to the card as given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ClientDigest {
    /// `30 31 30 0D 06 09 60 86 48 01 65 03 04 02 01 05 00 04 20` + SHA-256.
    #[default]
    Sha256,
    /// `30 21 30 09 06 05 2B 0E 03 02 1A 05 00 04 14` + SHA-1.
    Sha1,
    /// The message itself.
    None,
}

/// The DER prefix of a SHA-1 DigestInfo (RFC 8017 §9.2 note 1).
const SHA1_DIGEST_INFO_PREFIX: [u8; 15] = [
    0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2B, 0x0E, 0x03, 0x02, 0x1A, 0x05, 0x00, 0x04, 0x14,
];

impl ClientDigest {
    /// What a client sends for `message`: its DigestInfo, or the bytes for [`Self::None`].
    pub fn apply(self, message: &[u8]) -> Vec<u8> {
        match self {
            Self::Sha256 => crate::pki::cv::sha256_digest_info(&Sha256::digest(message)),
            Self::Sha1 => {
                let mut di = SHA1_DIGEST_INFO_PREFIX.to_vec();
                di.extend(Sha1::digest(message));
                di
            }
            Self::None => message.to_vec(),
        }
    }
}

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

    /// The data field a client sends to have `message` signed: scheme `00` the message's
    /// DigestInfo ([`ClientDigest`]), `02` and `04` its SHA-256, `01`, `03` and `05` the
    /// message itself (the card hashes).
    pub fn client_payload(self, message: &[u8], digest: ClientDigest) -> Vec<u8> {
        match self {
            Self::Pkcs1Raw => digest.apply(message),
            Self::Pkcs1Sha256Prehashed | Self::PssPrehashed => Sha256::digest(message).to_vec(),
            Self::Pkcs1BareSha256 | Self::Pkcs1Sha256 | Self::PssSha256 => message.to_vec(),
        }
    }

    /// Checks, as a relying party would, that `signature` is the card's answer to
    /// [`Self::client_payload`]`(message, digest)` under `key`.
    ///
    /// # Errors
    /// The signature does not verify (the `rsa` crate's reason).
    pub fn verify(
        self,
        key: &PublicKey,
        message: &[u8],
        digest: ClientDigest,
        signature: &[u8],
    ) -> Result<(), rsa::Error> {
        let sha256 = Sha256::digest(message);
        match self {
            Self::Pkcs1Raw => match digest {
                ClientDigest::Sha256 => {
                    key.verify(Pkcs1v15Sign::new::<Sha256>(), &sha256, signature)
                }
                ClientDigest::Sha1 => key.verify(
                    Pkcs1v15Sign::new::<Sha1>(),
                    &Sha1::digest(message),
                    signature,
                ),
                ClientDigest::None => {
                    key.verify(Pkcs1v15Sign::new_unprefixed(), message, signature)
                }
            },
            Self::Pkcs1BareSha256 => key.verify(Pkcs1v15Sign::new_unprefixed(), &sha256, signature),
            Self::Pkcs1Sha256Prehashed | Self::Pkcs1Sha256 => {
                key.verify(Pkcs1v15Sign::new::<Sha256>(), &sha256, signature)
            }
            Self::PssPrehashed | Self::PssSha256 => {
                key.pss_verify_prehash::<Sha256>(&sha256, signature)
            }
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
                    return Err(CardError::SigningInputLength);
                }
                pkcs1_sign(key, Pkcs1v15Sign::new_unprefixed(), input)
            }
            Self::Pkcs1BareSha256 => {
                pkcs1_sign(key, Pkcs1v15Sign::new_unprefixed(), &Sha256::digest(input))
            }
            Self::Pkcs1Sha256Prehashed => {
                pkcs1_sign(key, Pkcs1v15Sign::new::<Sha256>(), sha256_input(input)?)
            }
            Self::Pkcs1Sha256 => {
                pkcs1_sign(key, Pkcs1v15Sign::new::<Sha256>(), &Sha256::digest(input))
            }
            Self::PssPrehashed => pss_sign(key, rng, sha256_input(input)?),
            Self::PssSha256 => pss_sign(key, rng, &Sha256::digest(input)),
        };
        result.map_err(|_| CardError::NoPreciseDiagnosis)
    }
}

/// A prehashed scheme's input must be exactly one SHA-256 value.
fn sha256_input(input: &[u8]) -> Result<&[u8], CardError> {
    if input.len() == 32 {
        Ok(input)
    } else {
        Err(CardError::SigningInputLength)
    }
}

/// INTERNAL AUTHENTICATE of the common-card key 0019: PKCS#1 v1.5 over
/// DigestInfo(SHA-256(challenge)), deterministic; challenge 1–255 bytes (reference §2.8).
pub fn internal_authenticate(key: &PrivateKey, challenge: &[u8]) -> Result<Vec<u8>, CardError> {
    if challenge.is_empty() || challenge.len() > 255 {
        return Err(CardError::WrongLength);
    }
    pkcs1_sign(
        key,
        Pkcs1v15Sign::new::<Sha256>(),
        &Sha256::digest(challenge),
    )
    .map_err(|_| CardError::NoPreciseDiagnosis)
}

/// The PKCS #1 v1.5 private-key operation.
///
/// Under the fuzzer (`--cfg fuzzing`, which cargo-fuzz sets for every crate) it is a
/// stand-in of the signature's length that fails exactly where the real one does — a
/// digest of the wrong length for the scheme, an input too long for the key — because
/// under coverage instrumentation the big-integer arithmetic made each signature cost
/// milliseconds (measured with `perf`: nine tenths of the `card` target's time), and that
/// arithmetic is the `rsa` crate's, not this card's. Every other path of the card is the
/// same under the fuzzer.
fn pkcs1_sign(key: &PrivateKey, scheme: Pkcs1v15Sign, hashed: &[u8]) -> rsa::Result<Vec<u8>> {
    #[cfg(fuzzing)]
    {
        use rsa::traits::PublicKeyParts as _;
        let k = key.size();
        if scheme.hash_len.is_some_and(|n| n != hashed.len()) {
            return Err(rsa::Error::InputNotHashed);
        }
        if k < scheme.prefix.len() + hashed.len() + 11 {
            return Err(rsa::Error::MessageTooLong);
        }
        Ok(vec![0; k])
    }
    #[cfg(not(fuzzing))]
    key.sign(scheme, hashed)
}

/// RSASSA-PSS with SHA-256 over a digest; under the fuzzer a stand-in as [`pkcs1_sign`].
fn pss_sign(key: &PrivateKey, rng: &mut impl CryptoRng, digest: &[u8]) -> rsa::Result<Vec<u8>> {
    #[cfg(fuzzing)]
    {
        use rsa::traits::PublicKeyParts as _;
        let _ = (rng, digest);
        Ok(vec![0; key.size()])
    }
    #[cfg(not(fuzzing))]
    key.pss_sign_prehash_with_rng::<Sha256, _>(rng, digest)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    use super::*;

    const ALL: [SignatureScheme; 6] = [
        SignatureScheme::Pkcs1Raw,
        SignatureScheme::Pkcs1BareSha256,
        SignatureScheme::Pkcs1Sha256Prehashed,
        SignatureScheme::Pkcs1Sha256,
        SignatureScheme::PssPrehashed,
        SignatureScheme::PssSha256,
    ];

    /// What the card signs from a client's payload verifies the way the scheme says, and
    /// only for the message it was made for.
    #[test]
    fn every_scheme_verifies_its_own_signature_and_no_other_message() {
        let key = crate::pki::keys::pool_key(0).unwrap();
        let public = key.to_public_key();
        let mut rng = ChaCha20Rng::seed_from_u64(7);
        for scheme in ALL {
            assert_eq!(SignatureScheme::try_from(scheme.p1()), Ok(scheme));
            for digest in [ClientDigest::Sha256, ClientDigest::Sha1, ClientDigest::None] {
                let payload = scheme.client_payload(b"mynasim", digest);
                let sig = scheme.sign(&key, &payload, &mut rng).unwrap();
                assert!(
                    scheme.verify(&public, b"mynasim", digest, &sig).is_ok(),
                    "{scheme:?} {digest:?}"
                );
                assert!(
                    scheme.verify(&public, b"other", digest, &sig).is_err(),
                    "{scheme:?} {digest:?} must not verify another message"
                );
            }
        }
        assert_eq!(SignatureScheme::try_from(6), Err(CardError::IncorrectP1P2));
    }

    #[test]
    fn client_payloads_are_what_the_reference_lists() {
        let sha1 = ClientDigest::Sha1.apply(b"");
        assert_eq!(sha1.len(), 35);
        assert_eq!(sha1.get(..15), Some(&SHA1_DIGEST_INFO_PREFIX[..]));
        assert_eq!(ClientDigest::Sha256.apply(b"").len(), 51);
        assert_eq!(ClientDigest::None.apply(b"ab"), b"ab");
        assert_eq!(
            SignatureScheme::Pkcs1Sha256Prehashed
                .client_payload(b"x", ClientDigest::None)
                .len(),
            32
        );
        assert_eq!(
            SignatureScheme::PssSha256.client_payload(b"x", ClientDigest::Sha1),
            b"x"
        );
    }

    #[test]
    fn wrong_input_lengths_are_the_signing_length_situation() {
        let key = crate::pki::keys::pool_key(0).unwrap();
        let mut rng = ChaCha20Rng::seed_from_u64(7);
        for (scheme, input) in [
            (SignatureScheme::Pkcs1Raw, vec![]),
            (SignatureScheme::Pkcs1Raw, vec![0; MAX_RAW_INPUT + 1]),
            (SignatureScheme::Pkcs1Sha256Prehashed, vec![0; 31]),
            (SignatureScheme::PssPrehashed, vec![0; 33]),
        ] {
            assert_eq!(
                scheme.sign(&key, &input, &mut rng),
                Err(CardError::SigningInputLength)
            );
        }
    }
}
