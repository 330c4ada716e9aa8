//! BER-TLV (ISO/IEC 8825-1 as profiled by ISO/IEC 7816-4 §5.2) and the JICSAP simple-TLV
//! of record EFs.
//!
//! The card's files use private-class tags (`FF nn` constructed, `DF nn` primitive) and,
//! in places, **non-minimal** lengths such as `82 00 9F` (reference §1.4, §1.8). This codec
//! keeps the length form it read and writes the form it is told, so files can be rebuilt
//! byte for byte; it never normalises to DER.

use std::fmt;

/// A BER tag, its bytes read as a big-endian number (`0xDF22`, `0x7F21`, `0x30`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Tag(pub u32);

impl Tag {
    /// The tag's encoding: 1 to 3 bytes.
    pub fn to_bytes(self) -> Vec<u8> {
        let bytes = self.0.to_be_bytes();
        let skip = bytes.iter().take(3).take_while(|&&b| b == 0).count();
        bytes.get(skip..).map(<[u8]>::to_vec).unwrap_or_default()
    }

    /// Whether the constructed bit (b6 of the first byte) is set.
    pub fn is_constructed(self) -> bool {
        self.to_bytes().first().is_some_and(|b| b & 0x20 != 0)
    }
}

impl fmt::Display for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&crate::hex::compact(&self.to_bytes()))
    }
}

/// How a length was (or is to be) written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LengthForm {
    /// The shortest form: one byte below 128, else `81 xx`, `82 xx xx`, `83 xx xx xx`.
    Minimal,
    /// Long form with this many length bytes after `8n` (1–3), even if shorter would do,
    /// e.g. `Long(2)` writes 0x9F as `82 00 9F`.
    Long(u8),
}

/// Why bytes are not a BER-TLV object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TlvError {
    /// The input ended inside the tag, length or value that starts at `offset`.
    #[error("truncated TLV at offset {offset}: needs {needed} bytes, {available} left")]
    Truncated {
        /// Offset of the object's first byte.
        offset: usize,
        /// Bytes the object needs from `offset`.
        needed: usize,
        /// Bytes left from `offset`.
        available: usize,
    },
    /// A length byte this codec does not accept: indefinite `80`, or more than 3 bytes.
    #[error("unsupported length byte {byte:02X} at offset {offset}")]
    BadLength {
        /// Offset of the length byte.
        offset: usize,
        /// The byte.
        byte: u8,
    },
    /// A tag longer than three bytes.
    #[error("tag longer than 3 bytes at offset {offset}")]
    TagTooLong {
        /// Offset of the tag.
        offset: usize,
    },
}

/// One BER-TLV object borrowed from its encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tlv<'a> {
    /// The tag.
    pub tag: Tag,
    /// The length form as written.
    pub length_form: LengthForm,
    /// The value field.
    pub value: &'a [u8],
    /// The whole object: tag, length and value.
    pub raw: &'a [u8],
}

impl<'a> Tlv<'a> {
    /// Parses one object at the start of `input` (whose first byte is at `base` in the
    /// enclosing buffer, for error offsets) and returns it with the rest of the input.
    pub fn parse_at(input: &'a [u8], base: usize) -> Result<(Self, &'a [u8]), TlvError> {
        let truncated = |needed| TlvError::Truncated {
            offset: base,
            needed,
            available: input.len(),
        };
        let first = *input.first().ok_or(truncated(2))?;
        let mut tag_len = 1;
        if first & 0x1F == 0x1F {
            loop {
                let b = *input.get(tag_len).ok_or(truncated(tag_len + 2))?;
                tag_len += 1;
                if b & 0x80 == 0 {
                    break;
                }
                if tag_len >= 3 {
                    return Err(TlvError::TagTooLong { offset: base });
                }
            }
        }
        let tag_bytes = input.get(..tag_len).ok_or(truncated(tag_len + 1))?;
        let tag = Tag(tag_bytes
            .iter()
            .fold(0u32, |acc, &b| acc << 8 | u32::from(b)));
        let len_byte = *input.get(tag_len).ok_or(truncated(tag_len + 1))?;
        let (len, length_form, len_len) = if len_byte < 0x80 {
            (usize::from(len_byte), LengthForm::Minimal, 1)
        } else {
            let n = len_byte & 0x7F;
            if n == 0 || n > 3 {
                return Err(TlvError::BadLength {
                    offset: base + tag_len,
                    byte: len_byte,
                });
            }
            let n_usize = usize::from(n);
            let bytes = input
                .get(tag_len + 1..tag_len + 1 + n_usize)
                .ok_or(truncated(tag_len + 1 + n_usize))?;
            let len = bytes
                .iter()
                .fold(0usize, |acc, &b| acc << 8 | usize::from(b));
            let minimal = minimal_length_bytes(len) == n_usize && len >= 0x80;
            let form = if minimal {
                LengthForm::Minimal
            } else {
                LengthForm::Long(n)
            };
            (len, form, 1 + n_usize)
        };
        let header = tag_len + len_len;
        let total = header + len;
        let raw = input.get(..total).ok_or(truncated(total))?;
        let value = raw.get(header..).unwrap_or_default();
        let rest = input.get(total..).unwrap_or_default();
        Ok((
            Self {
                tag,
                length_form,
                value,
                raw,
            },
            rest,
        ))
    }

    /// Parses one object at the start of `input`.
    pub fn parse(input: &'a [u8]) -> Result<(Self, &'a [u8]), TlvError> {
        Self::parse_at(input, 0)
    }

    /// Parses the objects inside this (constructed) object's value, stopping at the end or
    /// at filler (`00` or `FF` where a tag would start — reference §1.8).
    pub fn children(&self) -> Result<Vec<Tlv<'a>>, TlvError> {
        let offset = self.raw.len() - self.value.len();
        parse_all(self.value, offset)
    }

    /// The first child with `tag`.
    pub fn child(&self, tag: Tag) -> Result<Option<Tlv<'a>>, TlvError> {
        Ok(self.children()?.into_iter().find(|t| t.tag == tag))
    }
}

/// Parses a sequence of objects, stopping at the end of the input or at filler (a `00` or
/// `FF` byte where a tag would start). `base` is the offset of `input` in its buffer.
pub fn parse_all(mut input: &[u8], base: usize) -> Result<Vec<Tlv<'_>>, TlvError> {
    let total = input.len();
    let mut out = Vec::new();
    while let Some(&b) = input.first() {
        if b == 0x00 || (b == 0xFF && input.get(1).is_none_or(|&n| n == 0xFF)) {
            break;
        }
        let (tlv, rest) = Tlv::parse_at(input, base + total - input.len())?;
        out.push(tlv);
        input = rest;
    }
    Ok(out)
}

/// How many bytes the minimal long form of `len` needs.
fn minimal_length_bytes(len: usize) -> usize {
    match len {
        0..=0xFF => 1,
        0x100..=0xFFFF => 2,
        _ => 3,
    }
}

/// Appends a length in the given form. Lengths over 0xFF_FFFF cannot occur in this card's
/// files and are written with three bytes, truncated.
pub fn write_length(out: &mut Vec<u8>, len: usize, form: LengthForm) {
    let n = match form {
        LengthForm::Minimal if len < 0x80 => {
            out.push(len as u8);
            return;
        }
        LengthForm::Minimal => minimal_length_bytes(len),
        LengthForm::Long(n) => usize::from(n.clamp(1, 3)).max(minimal_length_bytes(len)),
    };
    out.push(0x80 | n as u8);
    for i in (0..n).rev() {
        out.push((len >> (8 * i)) as u8);
    }
}

/// Encodes one object with the minimal length form.
pub fn encode(tag: Tag, value: &[u8]) -> Vec<u8> {
    encode_with(tag, LengthForm::Minimal, value)
}

/// Encodes one object with the given length form.
pub fn encode_with(tag: Tag, form: LengthForm, value: &[u8]) -> Vec<u8> {
    let mut out = tag.to_bytes();
    write_length(&mut out, value.len(), form);
    out.extend_from_slice(value);
    out
}

/// JICSAP simple-TLV, used inside record EFs (reference §1.6): a one-byte tag, then a
/// one-byte length, or `FF` and a two-byte length. Tag `00` marks an unused record.
pub mod simple {
    use super::TlvError;

    /// Parses one simple-TLV object: `(tag, value, rest)`.
    pub fn parse(input: &[u8]) -> Result<(u8, &[u8], &[u8]), TlvError> {
        let truncated = |needed| TlvError::Truncated {
            offset: 0,
            needed,
            available: input.len(),
        };
        let (&tag, rest) = input.split_first().ok_or(truncated(2))?;
        let (&len, rest) = rest.split_first().ok_or(truncated(2))?;
        let (len, header, rest) = if len == 0xFF {
            let (&[hi, lo], rest) = rest.split_first_chunk::<2>().ok_or(truncated(4))?;
            (usize::from(u16::from_be_bytes([hi, lo])), 4, rest)
        } else {
            (usize::from(len), 2, rest)
        };
        if rest.len() < len {
            return Err(truncated(header + len));
        }
        let (value, rest) = rest.split_at(len);
        Ok((tag, value, rest))
    }

    /// Encodes one simple-TLV object.
    pub fn encode(tag: u8, value: &[u8]) -> Vec<u8> {
        let mut out = vec![tag];
        match u8::try_from(value.len()) {
            Ok(n) if n < 0xFF => out.push(n),
            _ => {
                out.push(0xFF);
                out.extend_from_slice(&(value.len().min(0xFFFF) as u16).to_be_bytes());
            }
        }
        out.extend_from_slice(value);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn keeps_non_minimal_lengths() {
        // Reference §1.4: EF 0005 of the input-support application starts `FF 40 82 00 9F`.
        let mut file = vec![0xFF, 0x40, 0x82, 0x00, 0x9F];
        file.extend(std::iter::repeat_n(0xAB, 0x9F));
        file.extend([0xFF; 4]);
        let (tlv, rest) = Tlv::parse(&file).unwrap();
        assert_eq!(tlv.tag, Tag(0xFF40));
        assert_eq!(tlv.length_form, LengthForm::Long(2));
        assert_eq!(tlv.value.len(), 0x9F);
        assert_eq!(rest, [0xFF; 4]);
        assert_eq!(encode_with(tlv.tag, tlv.length_form, tlv.value), tlv.raw);
        assert!(tlv.tag.is_constructed());
    }

    #[test]
    fn minimal_long_forms_are_minimal() {
        let v = vec![0u8; 0x9F];
        let enc = encode(Tag(0xDF43), &v);
        assert_eq!(enc.get(..4).unwrap(), [0xDF, 0x43, 0x81, 0x9F]);
        let (tlv, _) = Tlv::parse(&enc).unwrap();
        assert_eq!(tlv.length_form, LengthForm::Minimal);
    }

    #[test]
    fn children_stop_at_filler() {
        let inner = [encode(Tag(0xDF22), b"ab"), encode(Tag(0xDF23), b"c")].concat();
        let mut outer = encode(Tag(0xFF20), &[inner.as_slice(), &[0xFF, 0xFF]].concat());
        outer.extend([0xFF; 3]);
        let (tlv, _) = Tlv::parse(&outer).unwrap();
        let kids = tlv.children().unwrap();
        assert_eq!(kids.len(), 2);
        assert_eq!(kids.get(1).unwrap().value, b"c");
    }

    #[test]
    fn truncation_names_the_offset() {
        let err =
            parse_all(&[0xDF, 0x22, 0x02, 0x41, 0x30, 0xDF, 0x23, 0x05, 0x41], 3).unwrap_err();
        assert_eq!(
            err,
            TlvError::Truncated {
                offset: 8,
                needed: 8,
                available: 4
            }
        );
    }

    #[test]
    fn simple_tlv_round_trips() {
        let rec = simple::encode(0x01, b"4000000127198431322120350217");
        assert_eq!(rec.get(..2).unwrap(), [0x01, 0x1C]);
        let (tag, value, rest) = simple::parse(&rec).unwrap();
        assert_eq!((tag, value.len(), rest.len()), (1, 28, 0));
        let long = simple::encode(0x02, &[0; 300]);
        assert_eq!(long.get(..4).unwrap(), [0x02, 0xFF, 0x01, 0x2C]);
    }

    proptest! {
        #[test]
        fn parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = parse_all(&bytes, 0);
            let _ = simple::parse(&bytes);
        }

        #[test]
        fn encode_parse_round_trip(
            tag in prop_oneof![Just(0x30u32), Just(0xDF22), Just(0xFF20), Just(0x7F21), Just(0x5F4E)],
            value in proptest::collection::vec(any::<u8>(), 0..400),
            long in proptest::option::of(1u8..=3),
        ) {
            let form = long.map_or(LengthForm::Minimal, LengthForm::Long);
            let enc = encode_with(Tag(tag), form, &value);
            let (tlv, rest) = Tlv::parse(&enc).unwrap();
            prop_assert!(rest.is_empty());
            prop_assert_eq!(tlv.tag, Tag(tag));
            prop_assert_eq!(tlv.value, value.as_slice());
            prop_assert_eq!(encode_with(tlv.tag, tlv.length_form, tlv.value), enc);
        }
    }
}
