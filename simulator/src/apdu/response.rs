//! Response APDUs: a data field followed by the status word (ISO/IEC 7816-4 §5.1).

use std::fmt;

use super::StatusWord;

/// A response APDU.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Response {
    /// The response data field (may be empty).
    pub data: Vec<u8>,
    /// SW1 SW2.
    pub sw: StatusWord,
}

impl Response {
    /// A response with data and `90 00`.
    pub fn ok(data: Vec<u8>) -> Self {
        Self {
            data,
            sw: StatusWord::Success,
        }
    }

    /// A response with no data.
    pub fn status(sw: StatusWord) -> Self {
        Self {
            data: Vec::new(),
            sw,
        }
    }

    /// Splits wire bytes into data and status word; `None` when fewer than two bytes.
    pub fn parse(bytes: &[u8]) -> Option<Self> {
        let (data, sw) = bytes.split_last_chunk::<2>()?;
        Some(Self {
            data: data.to_vec(),
            sw: StatusWord::from_u16(u16::from_be_bytes(*sw)),
        })
    }

    /// Writes data then SW1 SW2.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        out.reserve(self.data.len() + 2);
        out.extend_from_slice(&self.data);
        out.extend_from_slice(&self.sw.to_bytes());
    }

    /// Data then SW1 SW2.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode_into(&mut out);
        out
    }
}

impl fmt::Display for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.data.is_empty() {
            write!(f, "{}", self.sw)
        } else {
            write!(f, "{} {}", crate::hex::spaced(&self.data), self.sw)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_encodes() {
        let r = Response::parse(&[1, 2, 0x63, 0xC2]).unwrap();
        assert_eq!(r.data, [1, 2]);
        assert_eq!(r.sw, StatusWord::retries(2));
        assert_eq!(r.encode(), [1, 2, 0x63, 0xC2]);
        assert_eq!(r.to_string(), "01 02 63 C2");
        assert!(Response::parse(&[0x90]).is_none());
    }
}
