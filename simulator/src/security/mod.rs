//! Secrets, retry counters and the card's signing operations (reference §2.4–§2.8).
//!
//! A [`Pin`] is the card's key reference (a JICSAP "IEF"): the stored secret, a
//! [`RetryCounter`] and the format rule that CHANGE REFERENCE DATA enforces. These live in
//! the card's persistent state; which keys are verified lives in the volatile session
//! (`card::Session`) and dies with power.

mod pin;
mod signature;

pub use pin::{Pin, PinFormat, RetryCounter, VerifyOutcome};
pub use signature::{ClientDigest, MAX_RAW_INPUT, SignatureScheme, internal_authenticate};
