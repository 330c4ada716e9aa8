//! The individual number (個人番号, "My Number") and its check digit (reference §5).

use std::fmt;

/// Weights of the first 11 digits, left to right (reference §5: Q_n = n+1 for n ≤ 6 and
/// n−5 for n ≥ 7, counting from the right).
const WEIGHTS: [u32; 11] = [6, 5, 4, 3, 2, 7, 6, 5, 4, 3, 2];

/// A 12-digit My Number. Construction checks only the shape; whether the check digit is
/// right is [`MyNumber::has_valid_check_digit`], because profiles may carry a deliberately
/// corrupt number.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct MyNumber([u8; 12]);

/// Why a string is not a My Number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MyNumberError {
    /// Not exactly 12 ASCII digits.
    #[error("must be exactly 12 digits 0-9 (got {0} characters)")]
    Shape(usize),
}

impl MyNumber {
    /// Parses 12 ASCII digits.
    pub fn parse(s: &str) -> Result<Self, MyNumberError> {
        let bytes: [u8; 12] = s
            .as_bytes()
            .try_into()
            .map_err(|_| MyNumberError::Shape(s.chars().count()))?;
        if !bytes.iter().all(u8::is_ascii_digit) {
            return Err(MyNumberError::Shape(s.chars().count()));
        }
        Ok(Self(bytes))
    }

    /// The check digit the first 11 digits call for: r = Σ Pₙ·Qₙ mod 11; 0 if r ≤ 1, else
    /// 11 − r.
    pub fn check_digit_for(first11: &[u8; 11]) -> u8 {
        let sum: u32 = first11
            .iter()
            .zip(WEIGHTS)
            .map(|(d, w)| u32::from(d - b'0') * w)
            .sum();
        match sum % 11 {
            0 | 1 => 0,
            r => (11 - r) as u8,
        }
    }

    /// A valid number from 11 digits: appends the check digit.
    pub fn with_check_digit(first11: [u8; 11]) -> Self {
        let mut bytes = [0u8; 12];
        bytes[..11].copy_from_slice(&first11);
        bytes[11] = b'0' + Self::check_digit_for(&first11);
        Self(bytes)
    }

    /// A valid number derived from a seed, deterministically. The first digit is never `0`.
    pub fn from_seed(seed: u64) -> Self {
        use rand_core::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(seed ^ 0x6D79_6E75_6D62_6572);
        let mut first11 = [0u8; 11];
        for (i, d) in first11.iter_mut().enumerate() {
            let low = if i == 0 { 1 } else { 0 };
            *d = b'0' + low + (rng.next_u32() % (10 - u32::from(low))) as u8;
        }
        Self::with_check_digit(first11)
    }

    /// Whether the last digit is the right check digit.
    pub fn has_valid_check_digit(&self) -> bool {
        let first11: [u8; 11] = self.0[..11].try_into().unwrap_or([b'0'; 11]);
        self.0[11] == b'0' + Self::check_digit_for(&first11)
    }

    /// The same number with a wrong check digit (the right one plus 1, mod 10).
    pub fn with_wrong_check_digit(&self) -> Self {
        let mut bytes = self.0;
        let first11: [u8; 11] = bytes[..11].try_into().unwrap_or([b'0'; 11]);
        bytes[11] = b'0' + (Self::check_digit_for(&first11) + 1) % 10;
        Self(bytes)
    }

    /// The 12 ASCII digits.
    pub fn as_bytes(&self) -> &[u8; 12] {
        &self.0
    }

    /// The digits as a string.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or("000000000000")
    }
}

impl fmt::Display for MyNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for MyNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MyNumber({})", self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_jlis_test_card_number_validates() {
        // Reference §5: 537686677188, weighted sum 267, 267 mod 11 = 3, check digit 8.
        let n = MyNumber::parse("537686677188").unwrap();
        assert!(n.has_valid_check_digit());
        assert!(!n.with_wrong_check_digit().has_valid_check_digit());
        assert_eq!(n.with_wrong_check_digit().as_str(), "537686677189");
    }

    #[test]
    fn remainders_0_and_1_give_0() {
        // 00000000000 → sum 0 → 0; 00000000003·2=6 → r=6 → 5.
        assert_eq!(MyNumber::check_digit_for(b"00000000000"), 0);
        assert_eq!(MyNumber::check_digit_for(b"00000000003"), 5);
        // 1 at weight 6 → sum 6? no: 10000000000 → 6 → 5. Find r = 1: 00000000050 → 15 → r 4.
        // 60000000000 → 36 → r 3 → 8; 20000000000 → 12 → r 1 → 0.
        assert_eq!(MyNumber::check_digit_for(b"20000000000"), 0);
    }

    #[test]
    fn shape_errors() {
        assert!(MyNumber::parse("12345678901").is_err());
        assert!(MyNumber::parse("12345678901a").is_err());
        assert!(MyNumber::parse("１２３４５６７８９０１２").is_err());
    }

    #[test]
    fn seeded_numbers_are_valid_and_stable() {
        for seed in 0..200 {
            let n = MyNumber::from_seed(seed);
            assert!(n.has_valid_check_digit(), "{n}");
            assert_ne!(n.as_bytes()[0], b'0');
        }
        assert_eq!(MyNumber::from_seed(7), MyNumber::from_seed(7));
    }
}
