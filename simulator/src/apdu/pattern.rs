//! Command APDU patterns: what transcript rules and fault plans match commands with. Hex
//! with `?` for any nibble, optionally ending in `..` (anything may follow), or an
//! instruction's name from the [instruction table](super::ins) followed by such a pattern for
//! P1, P2 and the rest (`verify 00 80 ?? ..`).

use super::Instruction;

/// A command APDU pattern: bytes with nibble masks, the whole command or (`open`) a prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandPattern {
    /// As written.
    pub text: String,
    /// `(value, mask)` per byte.
    pub bytes: Vec<(u8, u8)>,
    /// Anything may follow the bytes.
    pub open: bool,
}

impl CommandPattern {
    /// Parses `00 20 00 8?`, `00 A4 04 0C ..`, `verify`, `verify 00 80 ..`, `read_binary ..`.
    ///
    /// # Errors
    /// Not hex, an odd number of digits, `..` elsewhere than at the end, an unknown name.
    pub fn parse(text: &str) -> Result<Self, String> {
        let trimmed = text.trim();
        let lower = trimmed.to_ascii_lowercase();
        let mut named = None;
        for ins in Instruction::ALL {
            let name = ins.name().to_ascii_lowercase();
            for spelling in [name.clone(), name.replace(' ', "_")] {
                if let Some(rest) = lower.strip_prefix(&spelling)
                    && (rest.is_empty() || rest.starts_with(' '))
                    && named
                        .as_ref()
                        .is_none_or(|(n, _, _): &(String, _, _)| n.len() < spelling.len())
                {
                    let rest = trimmed.get(spelling.len()..).unwrap_or("");
                    named = Some((spelling, ins, rest));
                }
            }
        }
        let (mut bytes, rest) = match named {
            Some((_, ins, rest)) => (vec![(0, 0), (ins.code(), 0xFF)], rest),
            None => (Vec::new(), trimmed),
        };
        let digits: String = rest.chars().filter(|c| !c.is_whitespace()).collect();
        let (digits, open) = match digits.strip_suffix("..") {
            Some(d) => (d.to_owned(), true),
            None => (digits, named.is_some() && rest.trim().is_empty()),
        };
        if digits.contains('.') {
            return Err(format!("`{text}`: `..` may only end a pattern"));
        }
        if digits.len() % 2 != 0 {
            return Err(format!("`{text}`: an odd number of hex digits"));
        }
        let nibble = |c: char| -> Result<(u8, u8), String> {
            if matches!(c, '?' | 'x' | 'X') {
                return Ok((0, 0));
            }
            c.to_digit(16)
                .and_then(|d| u8::try_from(d).ok())
                .map(|d| (d, 0xF))
                .ok_or_else(|| {
                    format!(
                        "`{text}`: `{c}` is not a hex digit, `?`, `..` or an instruction name \
                         (verify, select, read_binary, compute_digital_signature, …)"
                    )
                })
        };
        let chars: Vec<char> = digits.chars().collect();
        for pair in chars.chunks(2) {
            if let [hi, lo] = pair {
                let (hv, hm) = nibble(*hi)?;
                let (lv, lm) = nibble(*lo)?;
                bytes.push(((hv << 4) | lv, (hm << 4) | lm));
            }
        }
        if bytes.is_empty() && !open {
            return Err(format!("`{text}`: an empty command pattern"));
        }
        Ok(Self {
            text: trimmed.to_owned(),
            bytes,
            open,
        })
    }

    /// Whether a command matches.
    pub fn matches(&self, apdu: &[u8]) -> bool {
        let len_ok = if self.open {
            apdu.len() >= self.bytes.len()
        } else {
            apdu.len() == self.bytes.len()
        };
        len_ok
            && self
                .bytes
                .iter()
                .zip(apdu)
                .all(|((value, mask), byte)| byte & mask == *value)
    }
}
