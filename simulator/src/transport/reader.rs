//! The reader side of vpcd, for tests and benchmarks that run without pcscd: it listens
//! like the vpcd driver (`vpcd.c` `opensock`/`waitforclient`), accepts a card, and drives it
//! with the same sequences the driver uses (`ifd-vpcd.c`): power on is `01` then get ATR,
//! reset is `02` then get ATR, presence is get ATR.
//!
//! It can also mimic Debian's driver byte for byte on the wire ([`ReaderLink::emulate_debian_vpcd`]:
//! Nagle on, length and body in two writes), which is what makes the card side's
//! `TCP_QUICKACK` handling measurable without pcscd.

use std::io;
use std::net::SocketAddr;

use bytes::BytesMut;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream, ToSocketAddrs};
use tokio_util::codec::{Decoder as _, Encoder as _};

use super::codec::{Control, FrameCodec, FrameError};

/// What can go wrong talking to a card.
#[derive(Debug, thiserror::Error)]
pub enum ReaderError {
    /// Framing or socket failure.
    #[error(transparent)]
    Frame(#[from] FrameError),
    /// The card closed the connection (it was removed).
    #[error("the card closed the connection")]
    CardClosed,
    /// The card answered with an empty frame (an unpowered card is mute); the vpcd driver
    /// would drop the connection here.
    #[error("the card answered nothing (unpowered?)")]
    Mute,
}

impl From<io::Error> for ReaderError {
    fn from(e: io::Error) -> Self {
        Self::Frame(FrameError::Io(e))
    }
}

/// A listening fake vpcd slot.
#[derive(Debug)]
pub struct FakeReader {
    listener: TcpListener,
}

impl FakeReader {
    /// Listens on `addr` (use port 0 for any free port).
    ///
    /// # Errors
    /// If the address cannot be bound.
    pub async fn bind(addr: impl ToSocketAddrs) -> io::Result<Self> {
        Ok(Self {
            listener: TcpListener::bind(addr).await?,
        })
    }

    /// Where it listens.
    ///
    /// # Errors
    /// If the socket has no local address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Waits for a card to connect. The link starts with `TCP_NODELAY` on.
    ///
    /// # Errors
    /// If accepting fails.
    pub async fn accept(&self) -> io::Result<ReaderLink> {
        let (stream, _) = self.listener.accept().await?;
        stream.set_nodelay(true)?;
        Ok(ReaderLink {
            stream,
            input: BytesMut::with_capacity(4096),
            output: BytesMut::with_capacity(4096),
            split_writes: false,
        })
    }
}

/// One accepted card connection.
#[derive(Debug)]
pub struct ReaderLink {
    stream: TcpStream,
    input: BytesMut,
    output: BytesMut,
    split_writes: bool,
}

impl ReaderLink {
    /// Behaves on the wire like Debian's vpcd driver: Nagle's algorithm on, and each frame
    /// written as two `send` calls, the length then the body (`vpcd.c` `sendToVICC` before
    /// upstream commit `76e2679`).
    ///
    /// # Errors
    /// If the socket option cannot be changed.
    pub fn emulate_debian_vpcd(&mut self) -> io::Result<()> {
        self.stream.set_nodelay(false)?;
        self.split_writes = true;
        Ok(())
    }

    /// Sends one frame with this payload.
    ///
    /// # Errors
    /// A payload over 65,535 bytes ([`FrameError::TooLong`], nothing is sent), or a socket
    /// error.
    pub async fn send(&mut self, payload: &[u8]) -> Result<(), FrameError> {
        self.output.clear();
        FrameCodec.encode(payload, &mut self.output)?;
        if self.split_writes {
            let body = self.output.split_off(2);
            self.stream.write_all(&self.output).await?;
            self.stream.write_all(&body).await?;
        } else {
            self.stream.write_all(&self.output).await?;
        }
        Ok(())
    }

    /// Sends raw bytes, framed or not (for testing how a card copes with bad input).
    ///
    /// # Errors
    /// A socket error.
    pub async fn send_bytes(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.stream.write_all(bytes).await
    }

    /// Receives the next frame; `None` when the card closed the connection between frames.
    ///
    /// # Errors
    /// A socket error, or a connection closed mid-frame.
    pub async fn receive(&mut self) -> Result<Option<BytesMut>, FrameError> {
        loop {
            if let Some(frame) = FrameCodec.decode(&mut self.input)? {
                return Ok(Some(frame));
            }
            if self.stream.read_buf(&mut self.input).await? == 0 {
                return FrameCodec.decode_eof(&mut self.input);
            }
        }
    }

    /// Sends a payload and receives the answer into `out` (cleared first).
    ///
    /// # Errors
    /// See [`ReaderError`].
    pub async fn request_into(
        &mut self,
        payload: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), ReaderError> {
        self.send(payload).await?;
        let frame = self.receive().await?.ok_or(ReaderError::CardClosed)?;
        if frame.is_empty() {
            return Err(ReaderError::Mute);
        }
        out.clear();
        out.extend_from_slice(&frame);
        Ok(())
    }

    /// Sends a control code that has no answer.
    ///
    /// # Errors
    /// A socket error.
    pub async fn control(&mut self, control: Control) -> Result<(), FrameError> {
        self.send(&[control.byte()]).await
    }

    /// Get ATR (`04`), as pcscd's presence poll does.
    ///
    /// # Errors
    /// See [`ReaderError`].
    pub async fn get_atr(&mut self) -> Result<Vec<u8>, ReaderError> {
        let mut atr = Vec::new();
        self.request_into(&[Control::GetAtr.byte()], &mut atr)
            .await?;
        Ok(atr)
    }

    /// Power on (`01`), then get ATR, as `IFDHPowerICC(IFD_POWER_UP)` does.
    ///
    /// # Errors
    /// See [`ReaderError`].
    pub async fn power_on(&mut self) -> Result<Vec<u8>, ReaderError> {
        self.control(Control::PowerOn).await?;
        self.get_atr().await
    }

    /// Power off (`00`).
    ///
    /// # Errors
    /// A socket error.
    pub async fn power_off(&mut self) -> Result<(), ReaderError> {
        Ok(self.control(Control::PowerOff).await?)
    }

    /// Warm reset (`02`), then get ATR, as `IFDHPowerICC(IFD_RESET)` does.
    ///
    /// # Errors
    /// See [`ReaderError`].
    pub async fn reset(&mut self) -> Result<Vec<u8>, ReaderError> {
        self.control(Control::Reset).await?;
        self.get_atr().await
    }

    /// Sends a command APDU, returns the response APDU.
    ///
    /// # Errors
    /// See [`ReaderError`].
    pub async fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, ReaderError> {
        let mut response = Vec::new();
        self.request_into(apdu, &mut response).await?;
        Ok(response)
    }
}
