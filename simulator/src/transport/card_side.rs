//! The card side of vpcd: connect to the reader, then answer its frames until it goes away.
//!
//! Behaviour per frame follows vsmartcard's reference card (`VirtualSmartcard.py`
//! `VirtualICC.run`): control codes `00`/`01`/`02` act on the card and are not answered,
//! `04` is answered with the ATR, an unknown control byte or an empty frame is ignored, and a
//! command APDU is answered with the response APDU. Power off and reset do to the volatile
//! security state exactly what [`Card::power_off`] and [`Card::reset`] define; get ATR never
//! changes state.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::BytesMut;
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _, ReadBuf};
use tokio::net::TcpStream;
use tokio_util::codec::{Decoder as _, Encoder as _};

use super::codec::{Control, FrameCodec, FrameError, ReaderMessage};
use crate::Card;
use crate::apdu::StatusWord;

/// What the transport needs from a card: the four power operations of vpcd and APDU
/// exchange. [`Card`] implements it; so does [`EchoCard`].
pub trait VirtualCard {
    /// The ATR, powered or not (pcscd polls it either way).
    fn atr(&self) -> &[u8];
    /// Cold start (`01`).
    fn power_on(&mut self);
    /// Power off (`00`).
    fn power_off(&mut self);
    /// Warm reset (`02`).
    fn reset(&mut self);
    /// One command APDU; the response (data, SW1 SW2) into `out`, which is cleared first. An
    /// unpowered card leaves `out` empty.
    fn transmit_into(&mut self, apdu: &[u8], out: &mut Vec<u8>);
}

impl VirtualCard for Card {
    fn atr(&self) -> &[u8] {
        Card::atr(self)
    }

    fn power_on(&mut self) {
        Card::power_on(self);
    }

    fn power_off(&mut self) {
        Card::power_off(self);
    }

    fn reset(&mut self) {
        Card::reset(self);
    }

    fn transmit_into(&mut self, apdu: &[u8], out: &mut Vec<u8>) {
        Card::transmit_into(self, apdu, out);
    }
}

/// The smallest card there is: answers every APDU with `90 00` at once, whatever its power
/// state. The benchmarks' baseline for what the transport alone costs.
#[derive(Debug, Clone, Default)]
pub struct EchoCard;

impl EchoCard {
    /// Its ATR: `3B 80 80 01 01` (T=1, no historical bytes; TCK correct).
    pub const ATR: [u8; 5] = [0x3B, 0x80, 0x80, 0x01, 0x01];
}

impl VirtualCard for EchoCard {
    fn atr(&self) -> &[u8] {
        &Self::ATR
    }

    fn power_on(&mut self) {}

    fn power_off(&mut self) {}

    fn reset(&mut self) {}

    fn transmit_into(&mut self, _apdu: &[u8], out: &mut Vec<u8>) {
        out.clear();
        out.extend_from_slice(&[0x90, 0x00]);
    }
}

/// What happened on the link, for logs and tests: one event per frame from the reader.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkEvent<'a> {
    /// A control code was applied (get ATR was answered).
    Control(Control),
    /// A one-byte payload that is no control code; ignored.
    UnknownControl(u8),
    /// A zero-length frame; ignored.
    EmptyFrame,
    /// A command APDU and its response. An empty response means the card was unpowered and
    /// mute: an empty frame went back, which the vpcd driver treats as the card's removal.
    Apdu {
        /// The command as received.
        command: &'a [u8],
        /// The response as sent.
        response: &'a [u8],
        /// Time the card took (not the network).
        elapsed: Duration,
    },
    /// The card's response did not fit in a frame (over 65,535 bytes); `6F 00` went back
    /// instead.
    ResponseTooLong {
        /// The command.
        command: &'a [u8],
        /// The response's length.
        len: usize,
    },
}

/// Handles one frame from the reader — sans-IO: applies it to the card, appends the answer
/// frame (if any) to `out`, and reports it to `observe`. `response` is scratch space.
pub fn answer_frame<C: VirtualCard + ?Sized>(
    payload: &[u8],
    card: &mut C,
    response: &mut Vec<u8>,
    out: &mut BytesMut,
    observe: &mut dyn FnMut(LinkEvent<'_>),
) {
    let mut codec = FrameCodec;
    match ReaderMessage::parse(payload) {
        ReaderMessage::Control(control) => {
            match control {
                Control::PowerOff => card.power_off(),
                Control::PowerOn => card.power_on(),
                Control::Reset => card.reset(),
                Control::GetAtr => {
                    // An ATR is at most 33 bytes: it always fits.
                    let _ = codec.encode(card.atr(), out);
                }
            }
            observe(LinkEvent::Control(control));
        }
        ReaderMessage::UnknownControl(byte) => observe(LinkEvent::UnknownControl(byte)),
        ReaderMessage::Empty => observe(LinkEvent::EmptyFrame),
        ReaderMessage::Apdu(command) => {
            let start = Instant::now();
            card.transmit_into(command, response);
            let elapsed = start.elapsed();
            match codec.encode(response.as_slice(), out) {
                Ok(()) => observe(LinkEvent::Apdu {
                    command,
                    response,
                    elapsed,
                }),
                Err(_) => {
                    let _ = codec.encode(&StatusWord::NoPreciseDiagnosis.to_bytes()[..], out);
                    observe(LinkEvent::ResponseTooLong {
                        command,
                        len: response.len(),
                    });
                }
            }
        }
    }
}

/// Why [`serve_connection`] returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// The reader closed the connection between frames (pcscd stopped or restarted).
    ReaderClosed,
    /// The `stop` future completed (the card was removed, or the program is stopping).
    Stopped,
}

/// Answers the reader's frames on a connected stream until the reader closes it, `stop`
/// completes, or the connection fails. Frames that arrive together are answered in one
/// write. The card's state is left as it is: a caller that models removal powers it off.
///
/// # Errors
/// A socket error, or the reader closing the connection in the middle of a frame.
pub async fn serve_connection<S, C, O, F>(
    mut stream: S,
    card: &mut C,
    mut observe: O,
    stop: F,
) -> Result<Ended, FrameError>
where
    S: AsyncRead + AsyncWrite + Unpin,
    C: VirtualCard + ?Sized,
    O: FnMut(LinkEvent<'_>),
    F: Future<Output = ()>,
{
    let mut codec = FrameCodec;
    let mut input = BytesMut::with_capacity(4096);
    let mut output = BytesMut::with_capacity(4096);
    let mut response = Vec::with_capacity(1024);
    tokio::pin!(stop);
    loop {
        while let Some(frame) = codec.decode(&mut input)? {
            answer_frame(&frame, card, &mut response, &mut output, &mut observe);
        }
        if !output.is_empty() {
            stream.write_all(&output).await?;
            stream.flush().await?;
            output.clear();
        }
        let read = tokio::select! {
            biased;
            () = &mut stop => return Ok(Ended::Stopped),
            read = stream.read_buf(&mut input) => read?,
        };
        if read == 0 {
            // Whole frames were all consumed above; anything left is a partial frame.
            codec.decode_eof(&mut input)?;
            return Ok(Ended::ReaderClosed);
        }
    }
}

/// Connects to a vpcd reader slot and tunes the socket for latency ([`VpcdStream::new`]).
///
/// # Errors
/// When nothing listens there (pcscd not running, or its vpcd slot taken).
pub async fn connect(addr: SocketAddr) -> io::Result<VpcdStream> {
    VpcdStream::new(TcpStream::connect(addr).await?)
}

/// A TCP stream tuned for vpcd's request–response traffic: `TCP_NODELAY` on, and on Linux
/// `TCP_QUICKACK` re-armed after every read (see the [module docs](super#latency)).
#[derive(Debug)]
pub struct VpcdStream {
    inner: TcpStream,
}

impl VpcdStream {
    /// Wraps a connected stream and sets its options.
    ///
    /// # Errors
    /// If `TCP_NODELAY` cannot be set.
    pub fn new(inner: TcpStream) -> io::Result<Self> {
        inner.set_nodelay(true)?;
        rearm_quickack(&inner);
        Ok(Self { inner })
    }

    /// The reader's address.
    ///
    /// # Errors
    /// If the socket is no longer connected.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.inner.peer_addr()
    }
}

/// Asks the kernel to acknowledge the next segment at once. Linux leaves quick-ACK mode by
/// itself, so this is repeated after every read. Best effort: failure only costs latency.
#[cfg(target_os = "linux")]
fn rearm_quickack(stream: &TcpStream) {
    let _ = socket2::SockRef::from(stream).set_tcp_quickack(true);
}

#[cfg(not(target_os = "linux"))]
fn rearm_quickack(_stream: &TcpStream) {}

impl AsyncRead for VpcdStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let poll = Pin::new(&mut self.inner).poll_read(cx, buf);
        if poll.is_ready() {
            rearm_quickack(&self.inner);
        }
        poll
    }
}

impl AsyncWrite for VpcdStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
