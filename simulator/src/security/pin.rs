//! PIN objects: VERIFY, the retry query and CHANGE REFERENCE DATA against one key
//! reference (reference §2.4, §2.6; JIS X 6319-4 §7.5.6).

use std::fmt;

use subtle::ConstantTimeEq;

use crate::card::CardError;

/// A retry counter: `left` tries remain out of `max` (reference §2.6: 3 for 4-digit PINs,
/// 5 for the signature password). `left == 0` means blocked, and only the issuer can unblock
/// it (no public APDU does).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryCounter {
    max: u8,
    left: u8,
}

impl RetryCounter {
    /// A counter with `left` of `max` tries (`left` is capped at `max`; `max` at 15, the most
    /// `63 Cx` can report).
    pub fn new(max: u8, left: u8) -> Self {
        let max = max.min(15);
        Self {
            max,
            left: left.min(max),
        }
    }

    /// The maximum number of tries.
    pub fn max(self) -> u8 {
        self.max
    }

    /// Tries left.
    pub fn left(self) -> u8 {
        self.left
    }

    /// Whether no tries are left.
    pub fn is_blocked(self) -> bool {
        self.left == 0
    }
}

/// What a secret may look like; CHANGE REFERENCE DATA refuses a new value that breaks the
/// rule (`6A 80`) and a profile that breaks it is refused at load.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PinFormat {
    /// Exactly `n` ASCII digits: 4 for the user PINs, 12 for 照合番号A, 14 for 照合番号B,
    /// 6 for the birth-date key.
    Digits(u8),
    /// The signature password (署名用パスワード): 6–16 characters of `A–Z` and `0–9` with at
    /// least one of each (J-LIS FAQ Q44; reference §2.6).
    SignaturePassword,
}

impl PinFormat {
    /// Checks `value` against the rule; the error says what is wrong without echoing it.
    pub fn check(self, value: &[u8]) -> Result<(), String> {
        match self {
            Self::Digits(n) => {
                if value.len() != usize::from(n) || !value.iter().all(u8::is_ascii_digit) {
                    return Err(format!("must be exactly {n} digits 0-9"));
                }
            }
            Self::SignaturePassword => {
                if !(6..=16).contains(&value.len()) {
                    return Err(format!(
                        "must be 6 to 16 characters (has {}), per J-LIS FAQ Q44",
                        value.len()
                    ));
                }
                if !value
                    .iter()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
                {
                    return Err(
                        "may only use capital letters A-Z and digits 0-9, per J-LIS FAQ Q44"
                            .to_owned(),
                    );
                }
                if !value.iter().any(u8::is_ascii_uppercase)
                    || !value.iter().any(u8::is_ascii_digit)
                {
                    return Err(
                        "needs at least one letter A-Z and one digit 0-9, per J-LIS FAQ Q44"
                            .to_owned(),
                    );
                }
            }
        }
        Ok(())
    }
}

impl fmt::Display for PinFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Digits(n) => write!(f, "{n} digits"),
            Self::SignaturePassword => f.write_str("6-16 of A-Z and 0-9, at least one of each"),
        }
    }
}

/// The result of a VERIFY that reached the comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VerifyOutcome {
    /// The secret matched; the counter is back at its maximum.
    Verified,
    /// The secret did not match; `left` tries remain (0: now blocked).
    Failed {
        /// Tries left after this attempt.
        left: u8,
    },
}

/// A key reference holding a secret (reference §2.6).
#[derive(Clone, PartialEq, Eq)]
pub struct Pin {
    value: Vec<u8>,
    counter: RetryCounter,
    format: PinFormat,
}

impl fmt::Debug for Pin {
    /// Never prints the secret.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pin")
            .field("value", &"<redacted>")
            .field("counter", &self.counter)
            .field("format", &self.format)
            .finish()
    }
}

impl Pin {
    /// A key reference; `value` must already satisfy `format` (profiles check it).
    pub fn new(value: impl Into<Vec<u8>>, counter: RetryCounter, format: PinFormat) -> Self {
        Self {
            value: value.into(),
            counter,
            format,
        }
    }

    /// The secret itself (for saving the card's state; never for display).
    pub fn secret(&self) -> &[u8] {
        &self.value
    }

    /// Puts back a saved secret and counter. The counter's maximum is the card's own.
    ///
    /// # Errors
    /// More tries left than the maximum, or a secret that breaks the key's format rule.
    pub fn restore(&mut self, secret: &[u8], left: u8) -> Result<(), String> {
        if left > self.counter.max {
            return Err(format!(
                "{left} tries left, more than the key's {}",
                self.counter.max
            ));
        }
        self.format.check(secret)?;
        self.value = secret.to_vec();
        self.counter.left = left;
        Ok(())
    }

    /// The retry counter.
    pub fn counter(&self) -> RetryCounter {
        self.counter
    }

    /// The format rule.
    pub fn format(&self) -> PinFormat {
        self.format
    }

    /// The retry query (`00 20 00 80`, case 1): reports the counter and costs nothing.
    pub fn query(&self) -> RetryCounter {
        self.counter
    }

    /// VERIFY with `candidate`.
    ///
    /// Order, as on real cards: a blocked key refuses with `69 84` before anything else;
    /// otherwise the counter is decremented *first* — the card writes the decremented counter
    /// to non-volatile memory before it compares — then the secrets are compared in constant
    /// time, and a match restores the counter. Why: if power is cut during the comparison
    /// (a "tearing" attack, or a phone losing the card mid-VERIFY, reference §6 item 8), the
    /// attempt has already been paid for, so an attacker never gets a free guess.
    /// [`Pin::begin_verify`] and [`Pin::finish_verify`] expose the two halves so that fault
    /// injection can tear between them.
    pub fn verify(&mut self, candidate: &[u8]) -> Result<VerifyOutcome, CardError> {
        self.begin_verify()?;
        Ok(self.finish_verify(candidate))
    }

    /// First half of VERIFY: refuse when blocked, else pay for the attempt.
    pub fn begin_verify(&mut self) -> Result<(), CardError> {
        if self.counter.is_blocked() {
            return Err(CardError::KeyBlocked);
        }
        self.counter.left -= 1;
        Ok(())
    }

    /// Second half of VERIFY: compare, and on a match restore the counter.
    pub fn finish_verify(&mut self, candidate: &[u8]) -> VerifyOutcome {
        if bool::from(self.value.as_slice().ct_eq(candidate)) {
            self.counter.left = self.counter.max;
            VerifyOutcome::Verified
        } else {
            VerifyOutcome::Failed {
                left: self.counter.left,
            }
        }
    }

    /// CHANGE REFERENCE DATA / CHANGE KEY: the caller has checked that this key was verified
    /// in the session. A new value that breaks the format rule is refused with `6A 80`.
    pub fn change(&mut self, new_value: &[u8]) -> Result<(), CardError> {
        if self.counter.is_blocked() {
            return Err(CardError::KeyBlocked);
        }
        self.format
            .check(new_value)
            .map_err(|_| CardError::IncorrectData)?;
        self.value = new_value.to_vec();
        self.counter.left = self.counter.max;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pin() -> Pin {
        Pin::new(*b"1234", RetryCounter::new(3, 3), PinFormat::Digits(4))
    }

    #[test]
    fn counts_down_blocks_and_restores() {
        let mut p = pin();
        assert_eq!(p.verify(b"0000"), Ok(VerifyOutcome::Failed { left: 2 }));
        assert_eq!(p.verify(b"1234"), Ok(VerifyOutcome::Verified));
        assert_eq!(p.counter().left(), 3);
        for left in [2, 1, 0] {
            assert_eq!(p.verify(b"9999"), Ok(VerifyOutcome::Failed { left }));
        }
        assert_eq!(p.verify(b"1234"), Err(CardError::KeyBlocked));
        assert_eq!(p.query().left(), 0);
    }

    #[test]
    fn a_tear_after_begin_costs_a_try() {
        let mut p = pin();
        p.begin_verify().unwrap();
        // Power lost here: finish_verify never runs.
        assert_eq!(p.counter().left(), 2);
    }

    #[test]
    fn compares_bytes_exactly() {
        let mut p = Pin::new(
            *b"ABC123",
            RetryCounter::new(5, 5),
            PinFormat::SignaturePassword,
        );
        assert_eq!(p.verify(b"abc123"), Ok(VerifyOutcome::Failed { left: 4 }));
        assert_eq!(p.verify(b"ABC1234"), Ok(VerifyOutcome::Failed { left: 3 }));
    }

    #[test]
    fn signature_password_rule() {
        let f = PinFormat::SignaturePassword;
        assert!(f.check(b"ABC123").is_ok());
        assert!(f.check(b"A1B2C3D4E5F6G7H8").is_ok());
        assert!(f.check(b"AB123").is_err(), "5 characters");
        assert!(f.check(b"A1B2C3D4E5F6G7H8I").is_err(), "17 characters");
        assert!(f.check(b"123456").is_err(), "no letter");
        assert!(f.check(b"ABCDEF").is_err(), "no digit");
        assert!(f.check(b"abc123").is_err(), "lower case");
        assert!(f.check(b"ABC-123").is_err(), "symbol");
    }

    #[test]
    fn change_enforces_the_format() {
        let mut p = pin();
        assert_eq!(p.change(b"12345"), Err(CardError::IncorrectData));
        p.change(b"5678").unwrap();
        assert_eq!(p.verify(b"5678"), Ok(VerifyOutcome::Verified));
        assert!(!format!("{p:?}").contains("5678"));
    }
}
