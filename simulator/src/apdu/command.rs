//! Command APDUs: the wire layer of ISO/IEC 7816-4 §5.1 (and its restatement in
//! JIS X 6319-4), with all seven cases of Lc/Le encoding.
//!
//! Any byte string parses into a [`Command`] or a typed [`ApduError`]; nothing here knows
//! what an instruction means. Short Le `00` means 256 and extended Le `00 00` means 65 536
//! (ISO/IEC 7816-4 §5.1, table 1), so [`Command::le`] is the number of bytes the host
//! accepts, `Ne`.

use std::fmt;

/// Maximum `Ne` of a short command (Le `00`).
pub const SHORT_LE_MAX: usize = 256;
/// Maximum `Ne` of an extended command (Le `00 00`).
pub const EXTENDED_LE_MAX: usize = 65_536;

/// The ISO/IEC 7816-4 §5.1 case of a command: which of Lc and Le are present, and whether
/// the lengths are short (one byte) or extended (three bytes, then two).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Case {
    /// No data, no Le: `CLA INS P1 P2`.
    Case1,
    /// Le only, short: `CLA INS P1 P2 Le`.
    Case2Short,
    /// Data only, short: `CLA INS P1 P2 Lc data`.
    Case3Short,
    /// Data and Le, short: `CLA INS P1 P2 Lc data Le`.
    Case4Short,
    /// Le only, extended: `CLA INS P1 P2 00 Le1 Le2`.
    Case2Extended,
    /// Data only, extended: `CLA INS P1 P2 00 Lc1 Lc2 data`.
    Case3Extended,
    /// Data and Le, extended: `CLA INS P1 P2 00 Lc1 Lc2 data Le1 Le2`.
    Case4Extended,
}

impl Case {
    /// Whether the command uses three-byte/two-byte extended length fields.
    pub fn is_extended(self) -> bool {
        matches!(
            self,
            Self::Case2Extended | Self::Case3Extended | Self::Case4Extended
        )
    }

    /// Whether the command carries a data field.
    pub fn has_data(self) -> bool {
        matches!(
            self,
            Self::Case3Short | Self::Case4Short | Self::Case3Extended | Self::Case4Extended
        )
    }

    /// Whether the command carries an Le field.
    pub fn has_le(self) -> bool {
        matches!(
            self,
            Self::Case2Short | Self::Case4Short | Self::Case2Extended | Self::Case4Extended
        )
    }

    /// The case with the same fields present and the given length encoding.
    fn with(has_data: bool, has_le: bool, extended: bool) -> Self {
        match (has_data, has_le, extended) {
            (false, false, _) => Self::Case1,
            (false, true, false) => Self::Case2Short,
            (true, false, false) => Self::Case3Short,
            (true, true, false) => Self::Case4Short,
            (false, true, true) => Self::Case2Extended,
            (true, false, true) => Self::Case3Extended,
            (true, true, true) => Self::Case4Extended,
        }
    }
}

impl fmt::Display for Case {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Case1 => "case 1",
            Self::Case2Short => "case 2S",
            Self::Case3Short => "case 3S",
            Self::Case4Short => "case 4S",
            Self::Case2Extended => "case 2E",
            Self::Case3Extended => "case 3E",
            Self::Case4Extended => "case 4E",
        })
    }
}

/// Why a byte string is not a command APDU. Every variant is answered `67 00` by the card
/// (ISO/IEC 7816-4 §5.1: the length fields are inconsistent with the command length).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ApduError {
    /// Fewer than the four header bytes.
    #[error("command has {0} bytes, fewer than the 4-byte header")]
    TooShort(usize),
    /// The body does not match any of the seven cases.
    #[error("length fields do not match the {0}-byte body")]
    InconsistentLength(usize),
}

/// A parsed command APDU borrowing its data field from the wire bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Command<'a> {
    /// Class byte.
    pub cla: u8,
    /// Instruction byte.
    pub ins: u8,
    /// First parameter.
    pub p1: u8,
    /// Second parameter.
    pub p2: u8,
    data: &'a [u8],
    le: Option<usize>,
    case: Case,
}

impl<'a> Command<'a> {
    /// Parses a command APDU (ISO/IEC 7816-4 §5.1). Trailing bytes are an error, as are
    /// an extended Lc of zero and a short body of two or three bytes.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, ApduError> {
        let Some((&[cla, ins, p1, p2], body)) = bytes.split_first_chunk::<4>() else {
            return Err(ApduError::TooShort(bytes.len()));
        };
        let header = |data, le, case| Command {
            cla,
            ins,
            p1,
            p2,
            data,
            le,
            case,
        };
        let bad = ApduError::InconsistentLength(body.len());
        match body {
            [] => Ok(header(&[][..], None, Case::Case1)),
            [le] => Ok(header(&[][..], Some(short_le(*le)), Case::Case2Short)),
            [0, rest @ ..] if rest.len() >= 2 => {
                parse_extended(rest, bad).map(|(d, le, c)| header(d, le, c))
            }
            [lc, rest @ ..] if *lc != 0 => {
                let lc = usize::from(*lc);
                match rest.len().checked_sub(lc) {
                    Some(0) => Ok(header(rest, None, Case::Case3Short)),
                    Some(1) => {
                        let (data, le) = rest.split_at(lc);
                        let le = le.first().copied().map(short_le);
                        Ok(header(data, le, Case::Case4Short))
                    }
                    _ => Err(bad),
                }
            }
            _ => Err(bad),
        }
    }

    /// Builds a command; `le` is `Ne` (1..=65 536) or `None`. Lengths that do not fit a
    /// short APDU, or `extended`, give the extended form.
    ///
    /// Returns `None` when the data is longer than 65 535 bytes or `le` is 0 or over 65 536.
    pub fn new(
        [cla, ins, p1, p2]: [u8; 4],
        data: &'a [u8],
        le: Option<usize>,
        extended: bool,
    ) -> Option<Self> {
        if data.len() > 0xFFFF || le.is_some_and(|n| n == 0 || n > EXTENDED_LE_MAX) {
            return None;
        }
        let extended = extended
            || data.len() > 0xFF
            || le.is_some_and(|n| n > SHORT_LE_MAX)
            // A case-2 command with no data can be short whatever Le is, if it fits.
            ;
        let case = Case::with(!data.is_empty(), le.is_some(), extended);
        Some(Self {
            cla,
            ins,
            p1,
            p2,
            data,
            le,
            case,
        })
    }

    /// The data field (empty for cases 1 and 2).
    pub fn data(&self) -> &'a [u8] {
        self.data
    }

    /// `Ne`, the maximum number of response bytes the host accepts, if Le is present.
    pub fn le(&self) -> Option<usize> {
        self.le
    }

    /// The ISO/IEC 7816-4 case of this command.
    pub fn case(&self) -> Case {
        self.case
    }

    /// Encodes the command back into wire bytes. For any bytes that [`Command::parse`]
    /// accepts, `encode` gives the same bytes back.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(4 + 3 + self.data.len() + 3);
        out.extend_from_slice(&[self.cla, self.ins, self.p1, self.p2]);
        let extended = self.case.is_extended();
        if extended {
            out.push(0);
        }
        if self.case.has_data() {
            let lc = self.data.len();
            if extended {
                out.extend_from_slice(&len_u16(lc));
            } else {
                out.push(lc as u8);
            }
            out.extend_from_slice(self.data);
        }
        if let Some(le) = self.le {
            if extended {
                out.extend_from_slice(&len_u16(le % EXTENDED_LE_MAX));
            } else {
                out.push((le % SHORT_LE_MAX) as u8);
            }
        }
        out
    }
}

impl fmt::Display for Command<'_> {
    /// Hex with spaces, like the reference: `00 A4 04 0C 0A D3 92 …`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&crate::hex::spaced(&self.encode()))
    }
}

/// A short Le byte as `Ne` (`00` is 256).
fn short_le(le: u8) -> usize {
    if le == 0 {
        SHORT_LE_MAX
    } else {
        usize::from(le)
    }
}

/// An extended Le as `Ne` (`00 00` is 65 536).
fn extended_le(hi: u8, lo: u8) -> usize {
    match u16::from_be_bytes([hi, lo]) {
        0 => EXTENDED_LE_MAX,
        n => usize::from(n),
    }
}

/// Two big-endian length bytes; values are already range-checked by the caller (65 536 is
/// written `00 00`).
fn len_u16(n: usize) -> [u8; 2] {
    [(n >> 8) as u8, n as u8]
}

/// Parses the body after the `00` that marks extended lengths (cases 2E, 3E, 4E).
fn parse_extended(rest: &[u8], bad: ApduError) -> Result<(&[u8], Option<usize>, Case), ApduError> {
    let Some((&[hi, lo], tail)) = rest.split_first_chunk::<2>() else {
        return Err(bad);
    };
    if tail.is_empty() {
        return Ok((&[], Some(extended_le(hi, lo)), Case::Case2Extended));
    }
    let lc = usize::from(u16::from_be_bytes([hi, lo]));
    if lc == 0 {
        return Err(bad);
    }
    match tail.len().checked_sub(lc) {
        Some(0) => Ok((tail, None, Case::Case3Extended)),
        Some(2) => {
            let (data, le) = tail.split_at(lc);
            match le {
                [hi, lo] => Ok((data, Some(extended_le(*hi, *lo)), Case::Case4Extended)),
                _ => Err(bad),
            }
        }
        _ => Err(bad),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn parse(hex: &str) -> Result<Command<'static>, ApduError> {
        let bytes = Box::leak(crate::hex::decode(hex).unwrap().into_boxed_slice());
        Command::parse(bytes)
    }

    #[test]
    fn parses_each_case() {
        let c = parse("00A40000").unwrap();
        assert_eq!((c.case(), c.le(), c.data()), (Case::Case1, None, &[][..]));
        let c = parse("00B0000000").unwrap();
        assert_eq!((c.case(), c.le()), (Case::Case2Short, Some(256)));
        let c = parse("00A4020C020018").unwrap();
        assert_eq!((c.case(), c.data()), (Case::Case3Short, &[0x00, 0x18][..]));
        let c = parse("802A00800301020300").unwrap();
        assert_eq!(
            (c.case(), c.le(), c.data()),
            (Case::Case4Short, Some(256), &[1, 2, 3][..])
        );
        let c = parse("00B0810000 0000".replace(' ', "").as_str()).unwrap();
        assert_eq!((c.case(), c.le()), (Case::Case2Extended, Some(65_536)));
        let c = parse("80AE000000000301 02 03".replace(' ', "").as_str()).unwrap();
        assert_eq!((c.case(), c.data()), (Case::Case3Extended, &[1, 2, 3][..]));
        let c = parse("802A008000000201020100").unwrap();
        assert_eq!(
            (c.case(), c.le(), c.data()),
            (Case::Case4Extended, Some(256), &[1, 2][..])
        );
    }

    #[test]
    fn rejects_inconsistent_lengths() {
        assert_eq!(parse("00A4"), Err(ApduError::TooShort(2)));
        assert_eq!(parse(""), Err(ApduError::TooShort(0)));
        // Lc says 3, two bytes follow.
        assert_eq!(
            parse("00A4040C030102"),
            Err(ApduError::InconsistentLength(3))
        );
        // Two trailing bytes after a short case 4.
        assert_eq!(
            parse("00A4040C0101000000"),
            Err(ApduError::InconsistentLength(5))
        );
        // `00` then one byte: neither short nor extended.
        assert_eq!(parse("00B000000000"), Err(ApduError::InconsistentLength(2)));
        // Extended Lc of zero.
        assert_eq!(
            parse("00B0000000000001"),
            Err(ApduError::InconsistentLength(4))
        );
    }

    #[test]
    fn the_verify_query_forms_differ() {
        // Reference §2.4: the case-1 query and the case-2 form are distinct commands.
        assert_eq!(parse("00200080").unwrap().case(), Case::Case1);
        assert_eq!(parse("0020008000").unwrap().case(), Case::Case2Short);
    }

    #[test]
    fn new_chooses_the_shortest_form() {
        let c = Command::new([0, 0xB0, 0, 0], &[], Some(256), false).unwrap();
        assert_eq!(c.encode(), [0, 0xB0, 0, 0, 0]);
        let c = Command::new([0, 0xB0, 0, 0], &[], Some(257), false).unwrap();
        assert_eq!(c.encode(), [0, 0xB0, 0, 0, 0, 0x01, 0x01]);
        assert!(Command::new([0; 4], &[], Some(0), false).is_none());
    }

    proptest! {
        #[test]
        fn parse_never_panics_and_round_trips(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            if let Ok(cmd) = Command::parse(&bytes) {
                prop_assert_eq!(cmd.encode(), bytes);
            }
        }

        #[test]
        fn built_commands_round_trip(
            header in any::<[u8; 4]>(),
            data in proptest::collection::vec(any::<u8>(), 0..400),
            le in proptest::option::of(1usize..=EXTENDED_LE_MAX),
            extended in any::<bool>(),
        ) {
            let cmd = Command::new(header, &data, le, extended).unwrap();
            let bytes = cmd.encode();
            let back = Command::parse(&bytes).unwrap();
            prop_assert_eq!(back, cmd);
        }
    }
}
