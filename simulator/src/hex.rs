//! Hex helpers for transcripts, profiles and the CLI: spaced upper-case output like the
//! reference (`00 A4 04 0C`) and a decoder that ignores whitespace.

/// Upper-case hex with a space between bytes: `00 A4 04 0C`.
pub fn spaced(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 3);
    for (i, b) in bytes.iter().enumerate() {
        if i > 0 {
            s.push(' ');
        }
        push_byte(&mut s, *b);
    }
    s
}

/// Upper-case hex without spaces: `00A4040C`.
pub fn compact(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        push_byte(&mut s, *b);
    }
    s
}

fn push_byte(s: &mut String, b: u8) {
    let digit = |n: u8| char::from_digit(u32::from(n), 16).map_or('?', |c| c.to_ascii_uppercase());
    s.push(digit(b >> 4));
    s.push(digit(b & 0x0F));
}

/// Why a string is not hex.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HexError {
    /// A character that is neither a hex digit nor whitespace.
    #[error("`{ch}` at column {column} is not a hex digit")]
    BadDigit {
        /// The character.
        ch: char,
        /// 1-based column in the input.
        column: usize,
    },
    /// An odd number of hex digits.
    #[error("odd number of hex digits ({0})")]
    OddLength(usize),
}

/// Decodes hex digits, ignoring ASCII whitespace, `:` and `_` between them.
pub fn decode(s: &str) -> Result<Vec<u8>, HexError> {
    let mut out = Vec::with_capacity(s.len() / 2);
    let mut high: Option<u8> = None;
    let mut digits = 0;
    for (i, ch) in s.chars().enumerate() {
        if ch.is_ascii_whitespace() || ch == ':' || ch == '_' {
            continue;
        }
        let v = ch
            .to_digit(16)
            .ok_or(HexError::BadDigit { ch, column: i + 1 })? as u8;
        digits += 1;
        match high.take() {
            None => high = Some(v),
            Some(h) => out.push(h << 4 | v),
        }
    }
    if high.is_some() {
        return Err(HexError::OddLength(digits));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        assert_eq!(spaced(&[0x00, 0xA4, 0x0C]), "00 A4 0C");
        assert_eq!(decode("00 a4\n0C").unwrap(), [0x00, 0xA4, 0x0C]);
        assert_eq!(decode("0g"), Err(HexError::BadDigit { ch: 'g', column: 2 }));
        assert_eq!(decode("abc"), Err(HexError::OddLength(3)));
    }
}
