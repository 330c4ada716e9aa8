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
use crate::apdu::StatusWord;
use crate::card::{Deliver, VirtualCard};
use crate::transcript::{Entry, Event, Exchange};

/// Handles one frame from the reader — sans-IO: applies it to the card, appends the answer
/// frame (if any) to `out`, and reports what happened to `observe` as a transcript entry:
/// power events, [`Event::AtrPoll`] for get ATR, an exchange per APDU (an empty response: the
/// card was unpowered and mute, and an empty frame went back, which the vpcd driver treats
/// as the card's removal), and [`Event::Link`] for frames no card answered. `response` is
/// scratch space. Returns how the card wants its answer delivered ([`VirtualCard::deliver`]):
/// when the card left the reader or the link is to drop, nothing was appended to `out`.
pub fn answer_frame<C: VirtualCard + ?Sized>(
    payload: &[u8],
    card: &mut C,
    response: &mut Vec<u8>,
    out: &mut BytesMut,
    observe: &mut dyn FnMut(Entry),
) -> Deliver {
    let mut codec = FrameCodec;
    let start = Instant::now();
    let event = match ReaderMessage::parse(payload) {
        ReaderMessage::Control(Control::PowerOff) => {
            card.power_off();
            Event::PowerOff
        }
        ReaderMessage::Control(Control::PowerOn) => {
            card.power_on();
            Event::PowerOn {
                atr: card.atr().to_vec(),
            }
        }
        ReaderMessage::Control(Control::Reset) => {
            card.reset();
            Event::Reset {
                atr: card.atr().to_vec(),
            }
        }
        ReaderMessage::Control(Control::GetAtr) => {
            // An ATR is at most 33 bytes: it always fits.
            let _ = codec.encode(card.atr(), out);
            Event::AtrPoll
        }
        ReaderMessage::UnknownControl(byte) => {
            Event::Link(format!("unknown control byte {byte:02X} ignored"))
        }
        ReaderMessage::Empty => Event::Link("empty frame ignored".to_owned()),
        ReaderMessage::Apdu(command) => {
            card.transmit_into(command, response);
            let elapsed = start.elapsed();
            let deliver = card.deliver();
            if let Deliver::Gone(_) | Deliver::DropLink = deliver {
                observe(Entry {
                    event: Event::Exchange(Exchange::new(command.to_vec(), Vec::new())),
                    elapsed,
                });
                observe(Entry::new(Event::Link(
                    if deliver == Deliver::DropLink {
                        "fault: the reader connection dropped before the answer"
                    } else {
                        "fault: the card left the reader before it answered"
                    }
                    .to_owned(),
                )));
                return deliver;
            }
            if codec.encode(response.as_slice(), out).is_err() {
                observe(Entry {
                    event: Event::Link(format!(
                        "a {}-byte response does not fit in a vpcd frame; 6F 00 sent instead",
                        response.len()
                    )),
                    elapsed: Duration::ZERO,
                });
                response.clear();
                response.extend_from_slice(&StatusWord::NoPreciseDiagnosis.to_bytes());
                let _ = codec.encode(response.as_slice(), out);
            }
            observe(Entry {
                event: Event::Exchange(Exchange::new(command.to_vec(), response.clone())),
                elapsed,
            });
            return deliver;
        }
    };
    observe(Entry {
        event,
        elapsed: start.elapsed(),
    });
    Deliver::Now
}

/// Why [`serve_connection`] returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// The reader closed the connection between frames (pcscd stopped or restarted).
    ReaderClosed,
    /// The `stop` future completed (the card was removed, or the program is stopping).
    Stopped,
    /// A fault took the card out of the reader mid-command; it comes back after this long,
    /// or never.
    CardLeft(Option<Duration>),
    /// A fault dropped the connection mid-command.
    LinkDropped,
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
    O: FnMut(Entry),
    F: Future<Output = ()>,
{
    let mut codec = FrameCodec;
    let mut input = BytesMut::with_capacity(4096);
    let mut output = BytesMut::with_capacity(4096);
    let mut response = Vec::with_capacity(1024);
    tokio::pin!(stop);
    loop {
        while let Some(frame) = codec.decode(&mut input)? {
            match answer_frame(&frame, card, &mut response, &mut output, &mut observe) {
                Deliver::Now => {}
                Deliver::After(delay) => {
                    tokio::select! {
                        biased;
                        () = &mut stop => return Ok(Ended::Stopped),
                        () = tokio::time::sleep(delay) => {}
                    }
                }
                Deliver::Gone(back) => return Ok(Ended::CardLeft(back)),
                Deliver::DropLink => return Ok(Ended::LinkDropped),
            }
        }
        if !output.is_empty() {
            // A reader that stops reading must not keep the card from being removed: the
            // write races `stop` like the read does.
            let written = tokio::select! {
                biased;
                () = &mut stop => return Ok(Ended::Stopped),
                written = async {
                    stream.write_all(&output).await?;
                    stream.flush().await
                } => written,
            };
            written?;
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
