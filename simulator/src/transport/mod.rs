//! The vpcd transport: the simulated card behind vsmartcard's virtual PC/SC reader.
//!
//! This folder is the only place in the simulator that does I/O. Everything above it is
//! sans-IO; this module moves bytes between a socket and anything that implements
//! [`VirtualCard`](crate::card::VirtualCard) (the [`Card`](crate::Card), or the
//! [`EchoCard`](crate::card::EchoCard) of the benchmarks), and reports each frame as a
//! [`transcript`](crate::transcript) entry.
//!
//! # The protocol (vsmartcard `virtualsmartcard/src/vpcd/vpcd.c`, `ifd-vpcd/ifd-vpcd.c`)
//!
//! pcscd loads the vpcd driver (`libifdvpcd.so`), which *listens* on TCP: slot `i` of a
//! `reader.conf` entry with `CHANNELID 0xPORT` listens on `PORT + i` (`IFDHCreateChannel`), on
//! every interface. Debian's entry is `CHANNELID 0x8C7B`: ports 35963 and 35964, readers
//! "Virtual PCD 00 00" and "Virtual PCD 00 01". The card is the TCP *client*; it connects, and
//! nothing is sent at connection time. The driver accepts it on its next presence poll.
//!
//! Every message, both ways, is a frame ([`codec`]): a 2-byte big-endian length and a
//! payload of at most 65,535 bytes. From the reader, a 1-byte payload is a control code
//! ([`Control`]: `00` power off, `01` power on, `02` reset, `04` get ATR) and a longer one
//! a command APDU. The card answers get ATR with its ATR and an APDU with the response
//! APDU (data and SW1 SW2); it answers nothing else. pcscd polls with get ATR about every
//! 400 ms whether the card is powered or not, powers the card on (`01`, then `04`) when a
//! client connects, and powers an idle card off (`00`) about 5 s after the last client left.
//! The driver treats a closed socket, or an empty answer, as the card's removal
//! (`vicc_transmit` → `vicc_eject`).
//!
//! # Latency
//!
//! Debian's vpcd driver (vsmartcard-vpcd 3.3) writes a frame's length and its body in two
//! `send` calls on a socket with Nagle's algorithm on (upstream merged them in commit
//! `76e2679`, "send length + data at the same time"). The body then waits for the card's ACK
//! of the 2-byte length, and a receiver that delays its ACKs (Linux: up to 40 ms) costs every
//! APDU about 44 ms — what the stock Python vicc measures through Debian's pcscd. [`VpcdStream`] therefore sets `TCP_NODELAY`, sends every frame in one write,
//! and on Linux re-arms `TCP_QUICKACK` after every read (the kernel leaves quick-ACK mode on
//! its own), so the length is acknowledged at once and a round trip through pcscd costs a
//! fraction of a millisecond.

pub mod card_side;
pub mod codec;
pub mod reader;

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};

pub use card_side::{Ended, VpcdStream, answer_frame, connect, serve_connection};
pub use codec::{Control, FrameCodec, FrameError, MAX_FRAME, ReaderMessage};
pub use reader::{FakeReader, ReaderError, ReaderLink};

/// vpcd's default port (`VPCDPORT` in `vpcd.h`; `CHANNELID 0x8C7B` in Debian's reader.conf).
pub const DEFAULT_PORT: u16 = 35963;

/// Where the card of slot 0 connects by default: pcscd's vpcd on the loopback interface.
pub const DEFAULT_ADDR: SocketAddr =
    SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, DEFAULT_PORT));

/// The address of slot `slot` when slot 0 is at `base`: the port plus the slot number
/// (`ifd-vpcd.c` `IFDHCreateChannel`: `Channel + slot`). `None` past port 65535.
pub fn slot_addr(base: SocketAddr, slot: u16) -> Option<SocketAddr> {
    let port = base.port().checked_add(slot)?;
    Some(SocketAddr::new(base.ip(), port))
}
