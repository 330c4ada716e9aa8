//! One slot: a loopback TCP port a vpcd card connects to, and the card behind it.
//!
//! The wire is vsmartcard's vpcd protocol, unchanged (`virtualsmartcard/src/vpcd/vpcd.c`,
//! `sendToVICC`/`recvFromVICC`; mynasim's card side is `simulator/src/transport/`): the
//! card is the TCP client; every message is a 2-byte big-endian length and a body; a
//! 1-byte body from the reader is a control byte — `00` power off, `01` power on, `02`
//! reset, `04` get ATR (answered with the ATR) — and any longer body is an APDU, answered
//! with the response APDU. As in vpcd's `ifd-vpcd.c`, power on and reset are the control
//! byte followed by get ATR, and an empty answer means the card is gone.
//!
//! What differs from vpcd is presence. vpcd learns that a card came or went only when pcscd
//! polls (every 400 ms: `PCSCLITE_STATUS_POLL_RATE`), by sending get ATR. Here a watcher
//! thread per slot waits in `poll(2)` on the listening socket (a card connecting) or on the
//! card's socket (`POLLRDHUP`: the card closed its side), and wakes whoever waits in
//! [`Slot::wait_event`] — pcscd's event thread, through `TAG_IFD_POLLING_THREAD_WITH_TIMEOUT`
//! — at once. A new connection is asked for its ATR (bounded by [`ATR_TIMEOUT`]) before the
//! card counts as inserted, so a peer that is not a vpcd card never shows up as one.
//!
//! A removal is always reported: when a card leaves and another connects before pcscd looked,
//! [`Slot::presence`] still answers "absent" once before "present", so pcscd resets the
//! reader's state and its clients see a new card (`SCARD_W_REMOVED_CARD`), as after a real
//! removal.
//!
//! Every read has a deadline ([`ATR_TIMEOUT`], [`APDU_TIMEOUT`]): a card that stops
//! answering costs its own slot that long, then counts as removed; it cannot hold pcscd.

use std::io::{self, Read as _, Write as _};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rustix::event::{PollFd, PollFlags, Timespec};

/// How long a card may take to send its ATR (after connecting, power on or reset).
pub const ATR_TIMEOUT: Duration = Duration::from_secs(2);

/// How long a card may take to answer an APDU. Long enough for any simulated latency or a
/// real card's slowest signature behind a relay; a card silent for longer is dropped.
pub const APDU_TIMEOUT: Duration = Duration::from_secs(60);

/// How often the watcher looks at its stop flag while nothing happens.
const WATCH_TICK: Duration = Duration::from_millis(50);

/// The largest vpcd body: the length is 16 bits.
pub const MAX_FRAME: usize = 0xFFFF;

/// The vpcd control bytes (`vpcd.h`: `VPCD_CTRL_OFF`, `_ON`, `_RESET`, `_ATR`).
mod control {
    pub(super) const POWER_OFF: u8 = 0x00;
    pub(super) const POWER_ON: u8 = 0x01;
    pub(super) const RESET: u8 = 0x02;
    pub(super) const GET_ATR: u8 = 0x04;
}

/// A power action (`ifdhandler.h`, `IFDHPowerICC`: `IFD_POWER_UP`, `IFD_POWER_DOWN`,
/// `IFD_RESET`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Power {
    /// Power the card up; answers the ATR.
    Up,
    /// Power it down.
    Down,
    /// Warm reset; answers the ATR.
    Reset,
}

/// Why a card operation failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CardFault {
    /// No card in the slot (or it left during the operation).
    Absent,
    /// The card did not answer in time; it has been dropped.
    Timeout,
    /// The answer does not fit the caller's buffer (or a vpcd frame).
    TooLong,
}

/// The current card connection.
#[derive(Debug)]
struct Card {
    stream: Arc<TcpStream>,
    atr: Vec<u8>,
}

#[derive(Debug, Default)]
struct State {
    card: Option<Card>,
    /// Bumped on every insertion and removal.
    generation: u64,
    /// The generation [`Slot::presence`] last reported.
    seen: u64,
    /// A card left and presence has not yet said "absent".
    removal_pending: bool,
    /// pcscd asked its event thread to stop waiting (`TAG_IFD_STOP_POLLING_THREAD`): the
    /// current (or next) wait returns, once. pcscd asks on every `SCardDisconnect`, to
    /// start the power-off grace period, and keeps calling the wait afterwards — a flag
    /// that stayed set would turn its event thread into a busy loop and cut the grace
    /// period to nothing (the card powered off the moment its last client left).
    stop_waiting: bool,
}

/// One slot of a reader. Shared between pcscd's threads and the slot's watcher.
#[derive(Debug)]
pub struct Slot {
    port: u16,
    state: Mutex<State>,
    changed: Condvar,
    /// Serialises card I/O (pcscd already does per slot; this keeps the driver sound alone).
    io: Mutex<()>,
    closing: AtomicBool,
}

/// A running slot: its shared state and its watcher thread, stopped on drop.
#[derive(Debug)]
pub struct SlotHost {
    slot: Arc<Slot>,
    watcher: Option<JoinHandle<()>>,
}

impl SlotHost {
    /// Listens on `127.0.0.1:port` and starts the watcher.
    ///
    /// # Errors
    /// The port cannot be bound, or the thread cannot be started.
    pub fn start(port: u16) -> io::Result<Self> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, port))?;
        listener.set_nonblocking(true)?;
        let slot = Arc::new(Slot {
            port,
            state: Mutex::new(State::default()),
            changed: Condvar::new(),
            io: Mutex::new(()),
            closing: AtomicBool::new(false),
        });
        let watched = Arc::clone(&slot);
        let watcher = std::thread::Builder::new()
            .name(format!("mynasim-ifd:{port}"))
            .spawn(move || watched.watch(&listener))?;
        Ok(Self {
            slot,
            watcher: Some(watcher),
        })
    }

    /// The slot.
    pub fn slot(&self) -> &Arc<Slot> {
        &self.slot
    }
}

impl Drop for SlotHost {
    fn drop(&mut self) {
        self.slot.closing.store(true, Ordering::SeqCst);
        self.slot.stop_waiting();
        if let Some(card) = self.slot.lock().card.take() {
            let _ = card.stream.shutdown(std::net::Shutdown::Both);
        }
        if let Some(watcher) = self.watcher.take() {
            let _ = watcher.join();
        }
    }
}

impl Slot {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The port the slot listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The watcher: accepts a card while the slot is empty, and notices when it leaves.
    fn watch(&self, listener: &TcpListener) {
        while !self.closing.load(Ordering::SeqCst) {
            let current = self.lock().card.as_ref().map(|c| Arc::clone(&c.stream));
            match current {
                None => {
                    if readable(listener, PollFlags::IN) {
                        self.accept(listener);
                    }
                }
                Some(stream) => {
                    if readable(&*stream, PollFlags::RDHUP) {
                        self.drop_card(&stream);
                    }
                }
            }
        }
    }

    /// Accepts a waiting connection and asks it for its ATR; a card that answers is
    /// inserted.
    fn accept(&self, listener: &TcpListener) {
        let Ok((stream, _)) = listener.accept() else {
            return;
        };
        let stream = match prepare(stream) {
            Ok(s) => s,
            Err(_) => return,
        };
        let atr = match exchange(&stream, &[control::GET_ATR], ATR_TIMEOUT) {
            Ok(atr) if !atr.is_empty() && atr.len() <= crate::MAX_ATR_SIZE => atr,
            _ => {
                crate::log(&format!(
                    "port {}: a peer connected but sent no ATR within {} s: dropped",
                    self.port,
                    ATR_TIMEOUT.as_secs()
                ));
                return;
            }
        };
        let mut state = self.lock();
        state.card = Some(Card {
            stream: Arc::new(stream),
            atr,
        });
        state.generation = state.generation.wrapping_add(1);
        drop(state);
        self.changed.notify_all();
    }

    /// Forgets `stream` if it is still the slot's card: the card has left.
    fn drop_card(&self, stream: &Arc<TcpStream>) {
        let mut state = self.lock();
        if state
            .card
            .as_ref()
            .is_some_and(|c| Arc::ptr_eq(&c.stream, stream))
        {
            state.card = None;
            state.removal_pending = true;
            state.generation = state.generation.wrapping_add(1);
            drop(state);
            let _ = stream.shutdown(std::net::Shutdown::Both);
            self.changed.notify_all();
        }
    }

    /// Whether a card is in the slot, as pcscd should see it now (`IFDHICCPresence`).
    pub fn presence(&self) -> bool {
        let mut state = self.lock();
        if state.removal_pending {
            state.removal_pending = false;
            if state.card.is_none() {
                state.seen = state.generation;
            }
            // Otherwise a new card is already there: the next wait returns at once.
            return false;
        }
        state.seen = state.generation;
        state.card.is_some()
    }

    /// The card's ATR, if one is in the slot.
    pub fn atr(&self) -> Option<Vec<u8>> {
        self.lock().card.as_ref().map(|c| c.atr.clone())
    }

    /// Waits until a card comes or goes, `timeout` passes, or pcscd asks to stop
    /// (`TAG_IFD_POLLING_THREAD_WITH_TIMEOUT`'s function).
    pub fn wait_event(&self, timeout: Duration) {
        let deadline = Instant::now().checked_add(timeout);
        let mut state = self.lock();
        loop {
            if state.stop_waiting {
                state.stop_waiting = false;
                return;
            }
            if self.closing.load(Ordering::SeqCst)
                || state.generation != state.seen
                || state.removal_pending
            {
                return;
            }
            let left = match deadline {
                Some(d) => d.saturating_duration_since(Instant::now()),
                None => Duration::from_secs(3600),
            };
            if left.is_zero() {
                return;
            }
            state = self
                .changed
                .wait_timeout(state, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }

    /// Ends the current [`Slot::wait_event`], or the next one when none is waiting
    /// (`TAG_IFD_STOP_POLLING_THREAD`); once the slot is closing, every wait ends at once.
    pub fn stop_waiting(&self) {
        self.lock().stop_waiting = true;
        self.changed.notify_all();
    }

    /// Powers the card up or down, or resets it; answers the ATR for up and reset.
    ///
    /// # Errors
    /// No card, or it did not answer in time.
    pub fn power(&self, action: Power) -> Result<Vec<u8>, CardFault> {
        let _io = self.io.lock().unwrap_or_else(PoisonError::into_inner);
        let stream = self.stream()?;
        let result = match action {
            Power::Down => send(&stream, &[control::POWER_OFF]).map(|()| Vec::new()),
            Power::Up => exchange2(&stream, control::POWER_ON, ATR_TIMEOUT),
            Power::Reset => exchange2(&stream, control::RESET, ATR_TIMEOUT),
        };
        match result {
            Ok(atr) if action == Power::Down => Ok(atr),
            Ok(atr) if !atr.is_empty() && atr.len() <= crate::MAX_ATR_SIZE => {
                if let Some(card) = self.lock().card.as_mut() {
                    card.atr.clone_from(&atr);
                }
                Ok(atr)
            }
            Ok(atr) if atr.len() > crate::MAX_ATR_SIZE => Err(CardFault::TooLong),
            other => Err(self.fail(&stream, other.err())),
        }
    }

    /// Sends an APDU and returns the card's response.
    ///
    /// # Errors
    /// No card, an APDU longer than a vpcd frame, or no answer in time.
    pub fn transmit(&self, apdu: &[u8]) -> Result<Vec<u8>, CardFault> {
        // A body of one byte would be read as a control byte.
        if apdu.len() < 2 || apdu.len() > MAX_FRAME {
            return Err(CardFault::TooLong);
        }
        let _io = self.io.lock().unwrap_or_else(PoisonError::into_inner);
        let stream = self.stream()?;
        match exchange(&stream, apdu, APDU_TIMEOUT) {
            Ok(response) if !response.is_empty() => Ok(response),
            other => Err(self.fail(&stream, other.err())),
        }
    }

    fn stream(&self) -> Result<Arc<TcpStream>, CardFault> {
        self.lock()
            .card
            .as_ref()
            .map(|c| Arc::clone(&c.stream))
            .ok_or(CardFault::Absent)
    }

    /// A failed exchange: the card is gone (vpcd's rule: an empty answer or a broken link
    /// is a removal).
    fn fail(&self, stream: &Arc<TcpStream>, error: Option<io::Error>) -> CardFault {
        self.drop_card(stream);
        match error {
            Some(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                crate::log(&format!(
                    "port {}: the card did not answer in time: dropped",
                    self.port
                ));
                CardFault::Timeout
            }
            _ => CardFault::Absent,
        }
    }
}

/// Waits up to [`WATCH_TICK`] for `flags` on `fd`; also true on hang-up or error.
fn readable(fd: &impl rustix::fd::AsFd, flags: PollFlags) -> bool {
    let mut fds = [PollFd::new(fd, flags)];
    let tick = Timespec {
        tv_sec: 0,
        tv_nsec: WATCH_TICK.subsec_nanos().into(),
    };
    match rustix::event::poll(&mut fds, Some(&tick)) {
        Ok(n) if n > 0 => fds.iter().any(|f| !f.revents().is_empty()),
        _ => false,
    }
}

/// A connected card's socket: blocking, no Nagle (a frame goes out in one write).
fn prepare(stream: TcpStream) -> io::Result<TcpStream> {
    stream.set_nonblocking(false)?;
    stream.set_nodelay(true)?;
    stream.set_write_timeout(Some(ATR_TIMEOUT))?;
    Ok(stream)
}

/// Writes one frame (length and body in one write, so no delayed ACK holds it).
fn send(stream: &TcpStream, body: &[u8]) -> io::Result<()> {
    let len = u16::try_from(body.len()).map_err(|_| io::Error::other("frame too long"))?;
    let mut frame = Vec::with_capacity(body.len() + 2);
    frame.extend_from_slice(&len.to_be_bytes());
    frame.extend_from_slice(body);
    let mut writer = stream;
    writer.write_all(&frame)
}

/// Sends a control byte then get ATR (power on, reset), in one write; reads the ATR.
fn exchange2(stream: &TcpStream, first: u8, timeout: Duration) -> io::Result<Vec<u8>> {
    let mut writer = stream;
    writer.write_all(&[0x00, 0x01, first, 0x00, 0x01, control::GET_ATR])?;
    receive(stream, timeout)
}

/// Sends one frame and reads the answer.
fn exchange(stream: &TcpStream, body: &[u8], timeout: Duration) -> io::Result<Vec<u8>> {
    send(stream, body)?;
    receive(stream, timeout)
}

/// Reads one frame within `timeout`.
fn receive(stream: &TcpStream, timeout: Duration) -> io::Result<Vec<u8>> {
    let deadline = Instant::now() + timeout;
    let mut header = [0u8; 2];
    read_by(stream, &mut header, deadline)?;
    let mut body = vec![0u8; usize::from(u16::from_be_bytes(header))];
    read_by(stream, &mut body, deadline)?;
    // The card side may delay its ACKs; ours go out at once so it never waits on them.
    let _ = socket2::SockRef::from(stream).set_tcp_quickack(true);
    Ok(body)
}

/// Fills `buf` before `deadline`.
fn read_by(stream: &TcpStream, buf: &mut [u8], deadline: Instant) -> io::Result<()> {
    let mut filled = 0;
    let mut reader = stream;
    while filled < buf.len() {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::ErrorKind::TimedOut.into());
        }
        stream.set_read_timeout(Some(left))?;
        let rest = buf.get_mut(filled..).unwrap_or_default();
        match reader.read(rest) {
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
