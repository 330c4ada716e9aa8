//! vpcd framing: a 2-byte big-endian length, then that many bytes of payload.
//!
//! This is the whole wire format of vsmartcard's virtual reader (`vpcd.c`
//! `sendToVICC`/`recvFromVICC`, and `VirtualSmartcard.py` `__sendToVPICC`/`__recvFromVPICC`):
//! the same framing in both directions. What a payload *means* depends on who sent it — see
//! [`ReaderMessage`] for the reader's side; the card answers with plain bytes (an ATR, or a
//! response APDU).
//!
//! [`FrameCodec`] does exactly what tokio-util's `LengthDelimitedCodec` does with
//! `length_field_length(2)` and `max_frame_length(0xFFFF)` (a unit test holds it to that), but
//! reports mistakes precisely: how long the oversize frame was, and how many bytes of which
//! frame were missing when the connection closed (`LengthDelimitedCodec` forgets a header it
//! has consumed, and so takes EOF right after a length for a clean end). It never panics and never allocates more
//! than one frame (64 KiB) ahead, whatever the peer sends.

use std::borrow::Cow;

use bytes::{Buf as _, BufMut as _, BytesMut};
use tokio_util::codec::{Decoder, Encoder};

/// The largest payload a frame can carry: the length field is 16 bits.
pub const MAX_FRAME: usize = 0xFFFF;

/// Length of the frame header.
const HEADER: usize = 2;

/// What went wrong on a vpcd connection.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    /// A payload longer than [`MAX_FRAME`] cannot be framed (the length field is 16 bits).
    #[error("frame of {len} bytes exceeds the vpcd maximum of 65535")]
    TooLong {
        /// The payload's length.
        len: usize,
    },
    /// The peer closed the connection in the middle of a frame.
    #[error("connection closed mid-frame: received {received} of {expected} bytes")]
    Truncated {
        /// Bytes the frame needed, header included.
        expected: usize,
        /// Bytes that arrived.
        received: usize,
    },
    /// The socket failed.
    #[error("vpcd connection: {0}")]
    Io(#[from] std::io::Error),
}

/// The vpcd frame codec: decodes payloads (as [`BytesMut`]) and encodes byte slices.
#[derive(Debug, Clone, Copy, Default)]
pub struct FrameCodec;

impl FrameCodec {
    /// Bytes the frame at the front of `src` needs in total, once its header is there.
    fn frame_len(src: &[u8]) -> Option<usize> {
        match src {
            [hi, lo, ..] => Some(HEADER + usize::from(u16::from_be_bytes([*hi, *lo]))),
            _ => None,
        }
    }
}

impl Decoder for FrameCodec {
    type Item = BytesMut;
    type Error = FrameError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<BytesMut>, FrameError> {
        let Some(total) = Self::frame_len(src) else {
            return Ok(None);
        };
        if src.len() < total {
            // At most one frame ahead: `total` is at most 65537 bytes.
            src.reserve(total - src.len());
            return Ok(None);
        }
        src.advance(HEADER);
        Ok(Some(src.split_to(total - HEADER)))
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<BytesMut>, FrameError> {
        if let Some(frame) = self.decode(src)? {
            return Ok(Some(frame));
        }
        if src.is_empty() {
            return Ok(None);
        }
        Err(FrameError::Truncated {
            expected: Self::frame_len(src).unwrap_or(HEADER),
            received: src.len(),
        })
    }
}

impl Encoder<&[u8]> for FrameCodec {
    type Error = FrameError;

    fn encode(&mut self, payload: &[u8], dst: &mut BytesMut) -> Result<(), FrameError> {
        let len =
            u16::try_from(payload.len()).map_err(|_| FrameError::TooLong { len: payload.len() })?;
        dst.reserve(HEADER + payload.len());
        dst.put_u16(len);
        dst.extend_from_slice(payload);
        Ok(())
    }
}

/// A control code: the one-byte payloads the reader sends (vsmartcard `vpcd.h`
/// `VPCD_CTRL_*`). Only [`Control::GetAtr`] is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Control {
    /// `00`: remove power (`VPCD_CTRL_OFF`; `IFDHPowerICC(IFD_POWER_DOWN)`).
    PowerOff,
    /// `01`: apply power (`VPCD_CTRL_ON`; `IFDHPowerICC(IFD_POWER_UP)`, followed by a get ATR).
    PowerOn,
    /// `02`: warm reset (`VPCD_CTRL_RESET`; `IFDHPowerICC(IFD_RESET)`, followed by a get ATR).
    Reset,
    /// `04`: send the ATR (`VPCD_CTRL_ATR`). pcscd's presence poll (`IFDHICCPresence` →
    /// `vicc_present`) sends it about every 400 ms, powered or not; it never changes state.
    GetAtr,
}

impl Control {
    /// The byte on the wire.
    pub const fn byte(self) -> u8 {
        match self {
            Self::PowerOff => 0x00,
            Self::PowerOn => 0x01,
            Self::Reset => 0x02,
            Self::GetAtr => 0x04,
        }
    }

    /// The control code of a byte, if it is one.
    pub const fn from_byte(byte: u8) -> Option<Self> {
        match byte {
            0x00 => Some(Self::PowerOff),
            0x01 => Some(Self::PowerOn),
            0x02 => Some(Self::Reset),
            0x04 => Some(Self::GetAtr),
            _ => None,
        }
    }
}

/// What one frame from the reader means (`VirtualSmartcard.py` `VirtualICC.run`): one byte is a
/// control code, anything longer a command APDU. A 1-byte APDU cannot exist (a header is 4
/// bytes), so the two never collide.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReaderMessage<'a> {
    /// A known control code.
    Control(Control),
    /// A one-byte payload that is no known control code; vicc logs and ignores it.
    UnknownControl(u8),
    /// A zero-length frame; vicc logs "missing size parameter" and ignores it.
    Empty,
    /// A command APDU (two bytes or more).
    Apdu(&'a [u8]),
}

impl<'a> ReaderMessage<'a> {
    /// Classifies a frame's payload.
    pub fn parse(payload: &'a [u8]) -> Self {
        match payload {
            [] => Self::Empty,
            [byte] => Control::from_byte(*byte).map_or(Self::UnknownControl(*byte), Self::Control),
            apdu => Self::Apdu(apdu),
        }
    }

    /// The payload that carries this message.
    pub fn payload(&self) -> Cow<'a, [u8]> {
        match self {
            Self::Control(control) => Cow::Borrowed(control_payload(*control)),
            Self::UnknownControl(byte) => Cow::Owned(vec![*byte]),
            Self::Empty => Cow::Borrowed(&[]),
            Self::Apdu(apdu) => Cow::Borrowed(apdu),
        }
    }
}

/// A static one-byte payload for a control code.
fn control_payload(control: Control) -> &'static [u8] {
    match control {
        Control::PowerOff => &[0x00],
        Control::PowerOn => &[0x01],
        Control::Reset => &[0x02],
        Control::GetAtr => &[0x04],
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use tokio_util::codec::LengthDelimitedCodec;

    use super::*;

    fn decode_all(codec: &mut FrameCodec, buf: &mut BytesMut) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        while let Some(frame) = codec.decode(buf).unwrap() {
            out.push(frame.to_vec());
        }
        out
    }

    #[test]
    fn decodes_one_byte_at_a_time() {
        let wire = [
            0x00, 0x01, 0x04, 0x00, 0x05, 0x00, 0xA4, 0x04, 0x00, 0x00, 0x00, 0x00,
        ];
        let mut codec = FrameCodec;
        let mut buf = BytesMut::new();
        let mut frames = Vec::new();
        for byte in wire {
            buf.put_u8(byte);
            frames.extend(decode_all(&mut codec, &mut buf));
        }
        assert_eq!(
            frames,
            vec![vec![0x04], vec![0x00, 0xA4, 0x04, 0x00, 0x00], vec![]]
        );
        assert!(buf.is_empty());
        assert!(codec.decode_eof(&mut buf).unwrap().is_none());
    }

    #[test]
    fn merged_frames_decode_in_order() {
        let mut codec = FrameCodec;
        let mut buf = BytesMut::new();
        for payload in [&[0x01][..], &[0x04], &[0x00, 0xB0, 0x00, 0x00, 0x04]] {
            codec.encode(payload, &mut buf).unwrap();
        }
        assert_eq!(
            decode_all(&mut codec, &mut buf),
            vec![vec![0x01], vec![0x04], vec![0x00, 0xB0, 0x00, 0x00, 0x04]]
        );
    }

    #[test]
    fn eof_mid_frame_says_how_much_was_missing() {
        let mut codec = FrameCodec;
        let mut buf = BytesMut::from(&[0x00, 0x0A, 0x00, 0xA4, 0x04][..]);
        assert!(codec.decode(&mut buf).unwrap().is_none());
        let err = codec.decode_eof(&mut buf).unwrap_err();
        assert!(
            matches!(
                err,
                FrameError::Truncated {
                    expected: 12,
                    received: 5
                }
            ),
            "{err:?}"
        );
        assert_eq!(
            err.to_string(),
            "connection closed mid-frame: received 5 of 12 bytes"
        );
        // Half a header.
        let mut buf = BytesMut::from(&[0x00][..]);
        assert!(matches!(
            codec.decode_eof(&mut buf),
            Err(FrameError::Truncated {
                expected: 2,
                received: 1
            })
        ));
    }

    #[test]
    fn oversize_payloads_are_refused_and_the_largest_fits() {
        let mut codec = FrameCodec;
        let mut buf = BytesMut::new();
        let err = codec
            .encode(&vec![0u8; MAX_FRAME + 1], &mut buf)
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "frame of 65536 bytes exceeds the vpcd maximum of 65535"
        );
        assert!(buf.is_empty(), "nothing is written for a refused frame");
        codec.encode(&vec![0xAB; MAX_FRAME], &mut buf).unwrap();
        assert_eq!(buf.get(..2), Some(&[0xFF, 0xFF][..]));
        let frame = codec.decode(&mut buf).unwrap().unwrap();
        assert_eq!(frame.len(), MAX_FRAME);
    }

    #[test]
    fn a_claimed_length_reserves_at_most_one_frame() {
        let mut codec = FrameCodec;
        let mut buf = BytesMut::from(&[0xFF, 0xFF][..]);
        assert!(codec.decode(&mut buf).unwrap().is_none());
        assert!(buf.capacity() <= 2 * (MAX_FRAME + HEADER));
    }

    #[test]
    fn reader_messages_classify_by_length() {
        assert_eq!(
            ReaderMessage::parse(&[0x00]),
            ReaderMessage::Control(Control::PowerOff)
        );
        assert_eq!(
            ReaderMessage::parse(&[0x01]),
            ReaderMessage::Control(Control::PowerOn)
        );
        assert_eq!(
            ReaderMessage::parse(&[0x02]),
            ReaderMessage::Control(Control::Reset)
        );
        assert_eq!(
            ReaderMessage::parse(&[0x03]),
            ReaderMessage::UnknownControl(0x03)
        );
        assert_eq!(
            ReaderMessage::parse(&[0x04]),
            ReaderMessage::Control(Control::GetAtr)
        );
        assert_eq!(ReaderMessage::parse(&[]), ReaderMessage::Empty);
        assert_eq!(
            ReaderMessage::parse(&[0x00, 0x84]),
            ReaderMessage::Apdu(&[0x00, 0x84])
        );
        for byte in 0..=u8::MAX {
            assert_eq!(*ReaderMessage::parse(&[byte]).payload(), [byte]);
        }
    }

    proptest! {
        /// Same frames as tokio-util's `LengthDelimitedCodec` configured for vpcd, whatever the
        /// input and however it is split; an error for every partial frame at EOF.
        #[test]
        fn agrees_with_length_delimited_codec(
            payloads in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..40), 0..6),
            tail in proptest::collection::vec(any::<u8>(), 0..40),
            cut in 0usize..300,
        ) {
            let mut wire = Vec::new();
            for p in &payloads {
                wire.extend_from_slice(&(p.len() as u16).to_be_bytes());
                wire.extend_from_slice(p);
            }
            wire.extend_from_slice(&tail);
            let mut reference = LengthDelimitedCodec::builder()
                .length_field_length(2)
                .max_frame_length(MAX_FRAME)
                .new_codec();
            let mut ours = FrameCodec;
            let cut = cut.min(wire.len());
            let (first, second) = wire.split_at(cut);
            let (mut a, mut b) = (BytesMut::from(first), BytesMut::from(first));
            let mut expected = Vec::new();
            let mut got = Vec::new();
            for chunk in [None, Some(second)] {
                if let Some(chunk) = chunk {
                    a.extend_from_slice(chunk);
                    b.extend_from_slice(chunk);
                }
                while let Some(f) = reference.decode(&mut a).unwrap() {
                    expected.push(f.to_vec());
                }
                got.extend(decode_all(&mut ours, &mut b));
            }
            prop_assert_eq!(&got, &expected);
            prop_assert!(got.len() >= payloads.len());
            // At the end, a partial frame is an error. (The reference misses one whose
            // header it already consumed: it returns `Ok(None)` for `00 01` then EOF.)
            let partial = !b.is_empty();
            prop_assert_eq!(ours.decode_eof(&mut b).is_err(), partial);
            if reference.decode_eof(&mut a).is_err() {
                prop_assert!(partial);
            }
        }

        /// Encoding then decoding any payload up to the maximum gives it back.
        #[test]
        fn round_trips(payload in proptest::collection::vec(any::<u8>(), 0..2000)) {
            let mut codec = FrameCodec;
            let mut buf = BytesMut::new();
            codec.encode(&payload, &mut buf).unwrap();
            prop_assert_eq!(buf.len(), payload.len() + 2);
            prop_assert_eq!(codec.decode(&mut buf).unwrap().unwrap().to_vec(), payload);
        }
    }
}
