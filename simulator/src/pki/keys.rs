//! The committed pool of RSA-2048 TEST keys (`simulator/keys/test-keys.pem`, made by
//! `ci/gen-test-keys`).
//!
//! RSA key generation takes seconds (minutes unoptimised), so no card ever generates a key:
//! the CAs use fixed pool slots and each card draws its keys from the rest of the pool with a
//! seeded shuffle. Keys are parsed once per process and shared.

use std::sync::{Arc, OnceLock};

use rand_core::{Rng, SeedableRng};
use rsa::PrivateKey;
use rsa::pkcs8::DecodePrivateKey;

/// The pool file, embedded.
const POOL_PEM: &str = include_str!("../../keys/test-keys.pem");

/// Number of keys in the pool.
pub const POOL_SIZE: usize = 33;

/// Cards draw from the slots `RESERVED..CARD_POOL_END`; the slots after it were added later
/// for the test PKI (`ci/gen-test-keys` appends), so cards keep the keys they always had.
const CARD_POOL_END: usize = 32;

/// Pool slots reserved for the test CAs; cards draw from the slots after these.
const RESERVED: usize = 8;

/// Fixed keys of the test PKI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaKey {
    /// The JPKI signature CA (署名用認証局).
    JpkiSignatureCa,
    /// The JPKI user-authentication CA (利用者証明用認証局).
    JpkiAuthenticationCa,
    /// Issuer of the card-face application's CV certificate (`7000023`).
    CvFaceIssuer,
    /// Issuer of the input-support application's CV certificate (`7000033`).
    CvTextIssuer,
    /// Root of the MF-level CV chain (`7000020`, issuer of GET DATA `00F8`).
    MfRoot,
    /// The municipality key `00F8` certifies (`<code>30`), issuer of `7F21`.
    MfIntermediate,
    /// The key `7F21` certifies (`0000050`).
    MfLeaf,
    /// The validation service's delegated OCSP responder for the authentication CA.
    OcspResponderAuth,
    /// The validation service's delegated OCSP responder for the signature CA.
    OcspResponderSign,
}

impl CaKey {
    fn slot(self) -> usize {
        match self {
            Self::JpkiSignatureCa => 0,
            Self::JpkiAuthenticationCa => 1,
            Self::CvFaceIssuer => 2,
            Self::CvTextIssuer => 3,
            Self::MfRoot => 4,
            Self::MfIntermediate => 5,
            Self::MfLeaf => 6,
            Self::OcspResponderAuth => 7,
            Self::OcspResponderSign => 32,
        }
    }
}

/// The keys one card holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CardKey {
    /// JPKI user-authentication key, EF 0017.
    JpkiAuthentication,
    /// JPKI signature key, EF 001A.
    JpkiSignature,
    /// Input-support application signing key (0013).
    InputSupportSigning,
    /// Input-support application session-key delivery key (EF 0006).
    InputSupportSession,
    /// Card-face application signing key (001A).
    CardFaceSigning,
    /// Common-card INTERNAL AUTHENTICATE key (0019).
    CommonAuthentication,
    /// The key the input-support application's CV certificate certifies: signs EF 0003 and
    /// EF 0007.
    InputSupportRecords,
    /// The key the card-face application's CV certificate certifies: signs EF 0001, 0002
    /// and 0005.
    CardFaceRecords,
}

impl CardKey {
    const ALL: [Self; 8] = [
        Self::JpkiAuthentication,
        Self::JpkiSignature,
        Self::InputSupportSigning,
        Self::InputSupportSession,
        Self::CardFaceSigning,
        Self::CommonAuthentication,
        Self::InputSupportRecords,
        Self::CardFaceRecords,
    ];

    fn index(self) -> usize {
        Self::ALL.iter().position(|k| *k == self).unwrap_or(0)
    }
}

/// Why a pool key could not be loaded (only if the committed file is damaged).
#[derive(Debug, Clone, thiserror::Error)]
#[error("test key pool slot {slot}: {reason}")]
pub struct KeyPoolError {
    slot: usize,
    reason: String,
}

/// One lazily parsed pool slot.
type Slot = OnceLock<Result<Arc<PrivateKey>, KeyPoolError>>;

fn slots() -> &'static [Slot; POOL_SIZE] {
    static SLOTS: OnceLock<[Slot; POOL_SIZE]> = OnceLock::new();
    SLOTS.get_or_init(|| std::array::from_fn(|_| OnceLock::new()))
}

/// The PEM block of slot `slot`.
fn pem_block(slot: usize) -> Option<&'static str> {
    const BEGIN: &str = "-----BEGIN PRIVATE KEY-----";
    const END: &str = "-----END PRIVATE KEY-----";
    let start = POOL_PEM.match_indices(BEGIN).nth(slot)?.0;
    let end = POOL_PEM.get(start..)?.find(END)? + start + END.len();
    POOL_PEM.get(start..end)
}

/// The key in pool slot `slot`, parsed on first use.
pub fn pool_key(slot: usize) -> Result<Arc<PrivateKey>, KeyPoolError> {
    let cell = slots().get(slot).ok_or_else(|| KeyPoolError {
        slot,
        reason: format!("the pool has {POOL_SIZE} keys"),
    })?;
    cell.get_or_init(|| {
        let pem = pem_block(slot).ok_or_else(|| KeyPoolError {
            slot,
            reason: "no PEM block in simulator/keys/test-keys.pem".to_owned(),
        })?;
        PrivateKey::from_pkcs8_pem(pem)
            .map(Arc::new)
            .map_err(|e| KeyPoolError {
                slot,
                reason: e.to_string(),
            })
    })
    .clone()
}

/// A CA's key.
pub fn ca_key(which: CaKey) -> Result<Arc<PrivateKey>, KeyPoolError> {
    pool_key(which.slot())
}

/// The pool slots a card with this seed uses: distinct slots after the reserved ones,
/// chosen by a seeded shuffle.
pub fn card_slots(seed: u64) -> [usize; 8] {
    let mut slots: Vec<usize> = (RESERVED..CARD_POOL_END).collect();
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(seed ^ 0x6B65_7973);
    // Fisher–Yates over the first eight positions.
    let n = slots.len();
    for i in 0..8.min(n) {
        let j = i + (rng.next_u64() as usize) % (n - i);
        slots.swap(i, j);
    }
    std::array::from_fn(|i| slots.get(i).copied().unwrap_or(RESERVED + i))
}

/// One of a card's keys.
pub fn card_key(seed: u64, which: CardKey) -> Result<Arc<PrivateKey>, KeyPoolError> {
    let slot = card_slots(seed)
        .get(which.index())
        .copied()
        .unwrap_or(RESERVED);
    pool_key(slot)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rsa::traits::PublicKeyParts;

    #[test]
    fn every_pool_key_loads_and_is_rsa_2048() {
        for slot in 0..POOL_SIZE {
            let key = pool_key(slot).unwrap();
            assert_eq!(key.size(), 256, "slot {slot}");
            assert_eq!(&*key.e_bytes(), [1, 0, 1], "slot {slot}");
        }
        assert!(pool_key(POOL_SIZE).is_err());
    }

    #[test]
    fn card_slots_are_distinct_and_outside_the_reserved_range() {
        for seed in 0..100 {
            let slots = card_slots(seed);
            for (i, a) in slots.iter().enumerate() {
                assert!(*a >= RESERVED && *a < CARD_POOL_END);
                assert!(
                    !slots.get(i + 1..).unwrap().contains(a),
                    "seed {seed}: {slots:?}"
                );
            }
        }
        assert_ne!(card_slots(1), card_slots(2));
    }
}
