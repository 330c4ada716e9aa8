//! Checks on the raw answer: the status word, the data's bytes, length and text, captures,
//! and the My Number's check digit.

use mynasim_simulator::hex;
use mynasim_simulator::profile::MyNumber;

use super::{shorten, validity};
use crate::scenario::plan::SwPattern;

/// `sw` matches the pattern.
pub fn sw(want: &SwPattern, sw: u16) -> Option<String> {
    (!want.matches(sw)).then(|| {
        format!(
            "SW: expected {}, got {:02X} {:02X}",
            want.display(),
            sw >> 8,
            sw & 0xFF
        )
    })
}

/// The data is exactly `want`.
pub fn data(want: &[u8], data: &[u8]) -> Option<String> {
    (data != want).then(|| {
        format!(
            "data: expected {}, got {}",
            if want.is_empty() {
                "no data".to_owned()
            } else {
                hex::spaced(want)
            },
            shorten(data)
        )
    })
}

/// The data starts with `prefix`.
pub fn prefix(prefix: &[u8], data: &[u8]) -> Option<String> {
    (!data.starts_with(prefix)).then(|| {
        format!(
            "data: expected to start with {}, got {}",
            hex::spaced(prefix),
            shorten(data)
        )
    })
}

/// The data has `n` bytes.
pub fn length(n: usize, data: &[u8]) -> Option<String> {
    (data.len() != n).then(|| format!("data length: expected {n}, got {}", data.len()))
}

/// The data, as spaced upper-case hex, matches `re`.
pub fn matches(re: &regex::Regex, data: &[u8]) -> Option<String> {
    (!re.is_match(&hex::spaced(data))).then(|| {
        format!(
            "data: expected to match /{}/, got {}",
            re.as_str(),
            shorten(data)
        )
    })
}

/// The data is the text `want` (its UTF-8 bytes).
pub fn text(want: &[u8], data: &[u8]) -> Option<String> {
    (data != want).then(|| {
        format!(
            "text: expected {:?}, got {:?}",
            String::from_utf8_lossy(want),
            String::from_utf8_lossy(data)
        )
    })
}

/// The data equals the capture `name` (`other`).
pub fn same_as(name: &str, other: &[u8], data: &[u8]) -> Option<String> {
    (data != other).then(|| {
        format!(
            "data: expected the same bytes as `{name}` ({}), got {}",
            shorten(other),
            shorten(data)
        )
    })
}

/// The data differs from the capture `name` (`other`).
pub fn differs_from(name: &str, other: &[u8], data: &[u8]) -> Option<String> {
    (data == other).then(|| {
        format!(
            "data: expected to differ from `{name}`, got the same {}",
            shorten(data)
        )
    })
}

/// The data holds a My Number (EF 0001 `FF 10 0C <digits>`, or the 12 digits alone) whose
/// check digit is valid (`want_valid`) or not.
pub fn my_number(want_valid: bool, data: &[u8]) -> Option<String> {
    let digits = if data.starts_with(&[0xFF, 0x10, 0x0C]) {
        data.get(3..15)
    } else {
        data.get(..12)
    };
    let Some(number) = digits
        .and_then(|d| std::str::from_utf8(d).ok())
        .and_then(|s| MyNumber::parse(s).ok())
    else {
        return Some(format!("my number: no 12 digits in {}", shorten(data)));
    };
    let valid = number.has_valid_check_digit();
    (valid != want_valid).then(|| {
        format!(
            "my number {number}: check digit expected {}, is {}",
            validity(want_valid),
            validity(valid)
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pattern(text: &str) -> SwPattern {
        SwPattern::parse(text).unwrap_or_else(|| panic!("{text}"))
    }

    #[test]
    fn sw_fails_on_any_other_status_and_says_both() {
        assert_eq!(sw(&pattern("9000"), 0x9000), None);
        assert_eq!(
            sw(&pattern("9000"), 0x6982).as_deref(),
            Some("SW: expected 90 00, got 69 82")
        );
        assert_eq!(sw(&pattern("63C?"), 0x63C1), None);
        assert_eq!(
            sw(&pattern("63C?"), 0x6984).as_deref(),
            Some("SW: expected 63 C?, got 69 84")
        );
        assert!(sw(&pattern("9000"), 0x9001).is_some());
        assert!(sw(&pattern("9000"), 0x8000).is_some());
    }

    #[test]
    fn data_prefix_and_length_fail_on_any_difference() {
        assert_eq!(data(&[1, 2], &[1, 2]), None);
        assert_eq!(
            data(&[1, 2], &[1, 3]).as_deref(),
            Some("data: expected 01 02, got 01 03")
        );
        assert_eq!(
            data(&[], &[1]).as_deref(),
            Some("data: expected no data, got 01")
        );
        assert!(data(&[1, 2], &[1, 2, 3]).is_some());
        assert!(data(&[1, 2], &[]).is_some());
        assert_eq!(prefix(&[0x30, 0x82], &[0x30, 0x82, 0x05]), None);
        assert_eq!(prefix(&[], &[1]), None);
        assert_eq!(
            prefix(&[0x30, 0x82], &[0x30, 0x81]).as_deref(),
            Some("data: expected to start with 30 82, got 30 81")
        );
        assert_eq!(
            prefix(&[0x30, 0x82], &[0x30]).as_deref(),
            Some("data: expected to start with 30 82, got 30")
        );
        assert_eq!(length(2, &[1, 2]), None);
        assert_eq!(
            length(2, &[1]).as_deref(),
            Some("data length: expected 2, got 1")
        );
        assert!(length(2, &[1, 2, 3]).is_some());
    }

    #[test]
    fn regex_and_text_fail_when_they_do_not_match() {
        let re = regex::Regex::new("^30 82 0[4-7] ").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(matches(&re, &[0x30, 0x82, 0x06, 0x7B]), None);
        assert_eq!(
            matches(&re, &[0x30, 0x82, 0x08, 0x7B]).as_deref(),
            Some("data: expected to match /^30 82 0[4-7] /, got 30 82 08 7B")
        );
        assert_eq!(text(b"abc", b"abc"), None);
        assert_eq!(
            text(b"abc", b"abd").as_deref(),
            Some("text: expected \"abc\", got \"abd\"")
        );
        assert!(text(b"abc", b"abcd").is_some());
    }

    #[test]
    fn captures_compare_both_ways() {
        assert_eq!(same_as("c", &[1], &[1]), None);
        assert_eq!(
            same_as("c", &[1], &[2]).as_deref(),
            Some("data: expected the same bytes as `c` (01), got 02")
        );
        assert_eq!(differs_from("c", &[1], &[2]), None);
        assert_eq!(
            differs_from("c", &[1], &[1]).as_deref(),
            Some("data: expected to differ from `c`, got the same 01")
        );
        assert_eq!(
            differs_from("c", &[], &[]).as_deref(),
            Some("data: expected to differ from `c`, got the same no data")
        );
    }

    #[test]
    fn my_number_check_digits_are_checked_both_ways() {
        // 123456789018: a valid check digit; ...019 is not.
        let valid = b"123456789018";
        let invalid = b"123456789019";
        assert_eq!(my_number(true, valid), None);
        assert_eq!(my_number(false, invalid), None);
        assert_eq!(
            my_number(true, invalid).as_deref(),
            Some("my number 123456789019: check digit expected valid, is invalid")
        );
        assert_eq!(
            my_number(false, valid).as_deref(),
            Some("my number 123456789018: check digit expected invalid, is valid")
        );
        let mut ef = vec![0xFF, 0x10, 0x0C];
        ef.extend_from_slice(valid);
        ef.extend_from_slice(&[0xFF, 0xFF]);
        assert_eq!(my_number(true, &ef), None);
        assert!(my_number(false, &ef).is_some());
        assert_eq!(
            my_number(true, b"12345").as_deref(),
            Some("my number: no 12 digits in 31 32 33 34 35")
        );
        assert!(my_number(true, b"12345678901x").is_some());
    }
}
