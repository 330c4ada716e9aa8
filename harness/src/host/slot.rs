//! The one hosting loop: a card kept on a vpcd port.
//!
//! A slot connects its card to `HOST:PORT` (the card is the TCP client of pcscd's vpcd
//! driver), answers frames through [`transport::serve_connection`], and reconnects with
//! back-off when pcscd is not there yet or restarts. A card is *removed* by closing its
//! socket (the driver sees the card gone on its next presence poll) and *inserted* by
//! connecting again; removal also powers it off, so the session's verified PINs are gone
//! while files and retry counters stay, as on a real card.
//!
//! `mynasim serve`, the `vpcd` scenario target and the benchmarks all run their cards here.
//! Commands ([`SlotHandle::insert`], [`SlotHandle::remove`]) are queued in order, so a
//! removal followed at once by an insertion is still a removal: the card loses power before
//! it comes back. Everything the slot does is reported as a [`SlotEvent`], and its
//! [`SlotStatus`] says when it is *ready*: the reader has polled the card on its current
//! connection, which is when pcscd knows a card is there.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use mynasim_simulator::card::VirtualCard;
use mynasim_simulator::transcript::Entry;
use mynasim_simulator::transport::{self, Ended};
use tokio::sync::{mpsc, watch};

/// The shortest time a fault keeps a card out of the reader. pcscd learns of a vpcd card's
/// removal only by polling (every 400 ms; the driver has no card events), and a card back
/// before the next poll is never seen to have left — while pcscd has already failed the
/// command it was in — so the reader would show a card no client can connect to.
pub const MIN_ABSENCE: Duration = Duration::from_secs(1);

/// The shortest absence behind a reader driver with card events (mynasim-ifd,
/// `docs/readers.md`): it reports every removal to pcscd even when the card is back at
/// once, so the card need only stay out long enough to be a distinct connection.
/// [`SlotHandle::set_min_absence`] switches a slot to it.
pub const MIN_ABSENCE_WITH_EVENTS: Duration = Duration::from_millis(20);

/// Where a slot's card goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotSpec {
    /// The slot number (reader "Virtual PCD 00 0N" of Debian's vpcd entry).
    pub number: u16,
    /// The vpcd driver's port for this slot.
    pub addr: SocketAddr,
}

/// What a slot is doing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SlotStatus {
    /// The card is meant to be in the reader (not removed by a command).
    pub inserted: bool,
    /// The card is connected to the reader now.
    pub connected: bool,
    /// The reader has polled the card on the current connection: pcscd knows it is there.
    pub ready: bool,
    /// The card has connected at least once.
    pub ever_connected: bool,
    /// The last connection failure, until a connection succeeds.
    pub last_error: Option<String>,
}

/// Why a connection ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Disconnect {
    /// The card was removed by a command.
    Removed,
    /// The program is stopping.
    Stopping,
    /// The reader closed the connection (pcscd stopped or restarted).
    ReaderClosed,
    /// The connection failed.
    Failed(String),
}

/// What a slot reports, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SlotEvent {
    /// The reader is not there; the slot retries. `first` is the first failure in a row.
    Waiting {
        /// The connection error.
        error: String,
        /// Whether this is the first failure since the last connection.
        first: bool,
    },
    /// Connected to the reader.
    Connected,
    /// The reader polled the card for the first time on this connection.
    Ready,
    /// A frame went through: its transcript entry.
    Card(Entry),
    /// The connection ended.
    Disconnected(Disconnect),
    /// A command changed the card's place: `true` inserted, `false` removed.
    Moved(bool),
}

/// A command to a slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Command {
    Insert,
    Remove,
}

/// Controls a running slot. Cheap to clone.
#[derive(Debug, Clone)]
pub struct SlotHandle {
    spec: SlotSpec,
    commands: mpsc::UnboundedSender<Command>,
    status: watch::Receiver<SlotStatus>,
    min_absence: Arc<AtomicU64>,
}

impl SlotHandle {
    /// The slot's number and address.
    pub fn spec(&self) -> &SlotSpec {
        &self.spec
    }

    /// Queues an insertion; `false` if the slot has stopped.
    pub fn insert(&self) -> bool {
        self.commands.send(Command::Insert).is_ok()
    }

    /// Queues a removal; `false` if the slot has stopped.
    pub fn remove(&self) -> bool {
        self.commands.send(Command::Remove).is_ok()
    }

    /// Sets how long a fault keeps the card out at least ([`MIN_ABSENCE`] until then).
    pub fn set_min_absence(&self, absence: Duration) {
        let ms = u64::try_from(absence.as_millis()).unwrap_or(u64::MAX);
        self.min_absence.store(ms, Ordering::Relaxed);
    }

    /// The slot's status now.
    pub fn status(&self) -> SlotStatus {
        self.status.borrow().clone()
    }

    /// Waits until `done` holds for the status; `false` if the slot stopped first.
    pub async fn wait_for(&self, done: impl FnMut(&SlotStatus) -> bool) -> bool {
        let mut status = self.status.clone();
        status.wait_for(done).await.is_ok()
    }
}

/// Reconnection delays: 50 ms doubling to 2 s; back to 50 ms after a connection.
#[derive(Debug)]
pub struct Backoff {
    next: Duration,
}

impl Backoff {
    const FIRST: Duration = Duration::from_millis(50);
    const MAX: Duration = Duration::from_secs(2);

    /// Starts at 50 ms.
    pub fn new() -> Self {
        Self { next: Self::FIRST }
    }

    /// The next delay.
    pub fn next_delay(&mut self) -> Duration {
        let now = self.next;
        self.next = (self.next * 2).min(Self::MAX);
        now
    }

    /// After a connection: start again at 50 ms.
    pub fn reset(&mut self) {
        self.next = Self::FIRST;
    }
}

impl Default for Backoff {
    fn default() -> Self {
        Self::new()
    }
}

/// A slot ready to run: [`Slot::run`] drives it, its [`SlotHandle`] controls it.
pub struct Slot<C> {
    spec: SlotSpec,
    card: C,
    commands: mpsc::UnboundedReceiver<Command>,
    status: watch::Sender<SlotStatus>,
    min_absence: Arc<AtomicU64>,
}

/// A new slot for `card`, inserted.
pub fn slot<C: VirtualCard>(spec: SlotSpec, card: C) -> (Slot<C>, SlotHandle) {
    let (commands_tx, commands) = mpsc::unbounded_channel();
    let (status, status_rx) = watch::channel(SlotStatus {
        inserted: true,
        ..SlotStatus::default()
    });
    let min_absence = Arc::new(AtomicU64::new(
        u64::try_from(MIN_ABSENCE.as_millis()).unwrap_or(1000),
    ));
    let handle = SlotHandle {
        spec: spec.clone(),
        commands: commands_tx,
        status: status_rx,
        min_absence: Arc::clone(&min_absence),
    };
    (
        Slot {
            spec,
            card,
            commands,
            status,
            min_absence,
        },
        handle,
    )
}

/// What interrupted a wait.
enum Woken {
    Command(Command),
    Stopping,
}

impl<C: VirtualCard> Slot<C> {
    /// Connects, serves, reconnects and obeys commands until `shutdown` completes; returns
    /// the card (powered off).
    pub async fn run(
        mut self,
        shutdown: impl Future<Output = ()>,
        mut observe: impl FnMut(&SlotEvent),
    ) -> C {
        tokio::pin!(shutdown);
        let mut backoff = Backoff::new();
        let mut failures = 0u32;
        loop {
            if !self.status.borrow().inserted {
                match self.next_command(&mut shutdown).await {
                    Woken::Stopping => break,
                    Woken::Command(c) => {
                        self.apply(c, &mut observe);
                        continue;
                    }
                }
            }
            let connected = tokio::select! {
                biased;
                () = &mut shutdown => break,
                c = self.commands.recv() => {
                    match c {
                        Some(c) => self.apply(c, &mut observe),
                        None => std::future::pending::<()>().await,
                    }
                    continue;
                }
                c = transport::connect(self.spec.addr) => c,
            };
            let stream = match connected {
                Ok(stream) => stream,
                Err(e) => {
                    failures += 1;
                    let error = e.to_string();
                    self.status
                        .send_modify(|s| s.last_error = Some(error.clone()));
                    observe(&SlotEvent::Waiting {
                        error,
                        first: failures == 1,
                    });
                    if let Some(Woken::Stopping) = self
                        .pause(backoff.next_delay(), &mut shutdown, &mut observe)
                        .await
                    {
                        break;
                    }
                    continue;
                }
            };
            backoff.reset();
            failures = 0;
            self.status.send_modify(|s| {
                s.connected = true;
                s.ever_connected = true;
                s.last_error = None;
            });
            observe(&SlotEvent::Connected);
            let (ended, why) = self.serve(stream, &mut shutdown, &mut observe).await;
            self.card.power_off();
            self.status.send_modify(|s| {
                s.connected = false;
                s.ready = false;
            });
            let why = match (ended, why) {
                (_, Some(Woken::Stopping)) => Disconnect::Stopping,
                (_, Some(Woken::Command(Command::Remove))) => {
                    self.status.send_modify(|s| s.inserted = false);
                    observe(&SlotEvent::Disconnected(Disconnect::Removed));
                    observe(&SlotEvent::Moved(false));
                    continue;
                }
                (Ok(Ended::CardLeft(back)), _) => {
                    // A fault took the card out: out of the reader, back after `back`.
                    self.status.send_modify(|s| s.inserted = false);
                    observe(&SlotEvent::Disconnected(Disconnect::Removed));
                    observe(&SlotEvent::Moved(false));
                    if let Some(back) = back {
                        let out = back.max(self.min_absence());
                        match self.pause(out, &mut shutdown, &mut observe).await {
                            Some(Woken::Stopping) => break,
                            _ => {
                                if !self.status.borrow().inserted {
                                    self.apply(Command::Insert, &mut observe);
                                }
                            }
                        }
                    }
                    continue;
                }
                (Ok(Ended::LinkDropped), _) => {
                    observe(&SlotEvent::Disconnected(Disconnect::Failed(
                        "fault: the reader connection dropped".to_owned(),
                    )));
                    // Out long enough for pcscd to see the card go, then back.
                    if let Some(Woken::Stopping) = self
                        .pause(self.min_absence(), &mut shutdown, &mut observe)
                        .await
                    {
                        break;
                    }
                    continue;
                }
                (Ok(Ended::ReaderClosed), _) => Disconnect::ReaderClosed,
                (Ok(Ended::Stopped), _) => Disconnect::Stopping,
                (Err(e), _) => Disconnect::Failed(e.to_string()),
            };
            let stopping = why == Disconnect::Stopping;
            observe(&SlotEvent::Disconnected(why));
            if stopping {
                break;
            }
            // A stopping pcscd may still accept a connection for a moment: pause first.
            if let Some(Woken::Stopping) = self
                .pause(backoff.next_delay(), &mut shutdown, &mut observe)
                .await
            {
                break;
            }
        }
        self.card.power_off();
        self.status.send_modify(|s| {
            s.connected = false;
            s.ready = false;
        });
        self.card
    }

    /// Serves one connection until the reader closes it, a removal, or shutdown.
    async fn serve(
        &mut self,
        stream: transport::VpcdStream,
        shutdown: &mut std::pin::Pin<&mut impl Future<Output = ()>>,
        observe: &mut impl FnMut(&SlotEvent),
    ) -> (
        Result<Ended, mynasim_simulator::transport::FrameError>,
        Option<Woken>,
    ) {
        let mut why = None;
        let Self {
            card,
            commands,
            status,
            ..
        } = self;
        let stop = async {
            loop {
                tokio::select! {
                    biased;
                    () = &mut *shutdown => {
                        why = Some(Woken::Stopping);
                        return;
                    }
                    c = commands.recv() => match c {
                        // Already inserted: nothing to do.
                        Some(Command::Insert) => {}
                        Some(Command::Remove) => {
                            why = Some(Woken::Command(Command::Remove));
                            return;
                        }
                        None => std::future::pending::<()>().await,
                    },
                }
            }
        };
        let ended = transport::serve_connection(
            stream,
            card,
            |entry| {
                if !status.borrow().ready {
                    status.send_modify(|s| s.ready = true);
                    observe(&SlotEvent::Ready);
                }
                observe(&SlotEvent::Card(entry));
            },
            stop,
        )
        .await;
        (ended, why)
    }

    /// The shortest absence a fault causes now ([`SlotHandle::set_min_absence`]).
    fn min_absence(&self) -> Duration {
        Duration::from_millis(self.min_absence.load(Ordering::Relaxed))
    }

    /// Waits for the next command or shutdown.
    async fn next_command(
        &mut self,
        shutdown: &mut std::pin::Pin<&mut impl Future<Output = ()>>,
    ) -> Woken {
        tokio::select! {
            biased;
            () = &mut *shutdown => Woken::Stopping,
            c = self.commands.recv() => match c {
                Some(c) => Woken::Command(c),
                None => {
                    // Nobody can insert the card any more: wait for shutdown.
                    shutdown.await;
                    Woken::Stopping
                }
            },
        }
    }

    /// Sleeps `delay`, applying commands that arrive meanwhile; a removal ends the pause.
    async fn pause(
        &mut self,
        delay: Duration,
        shutdown: &mut std::pin::Pin<&mut impl Future<Output = ()>>,
        observe: &mut impl FnMut(&SlotEvent),
    ) -> Option<Woken> {
        let sleep = tokio::time::sleep(delay);
        tokio::pin!(sleep);
        loop {
            tokio::select! {
                biased;
                () = &mut *shutdown => return Some(Woken::Stopping),
                () = &mut sleep => return None,
                c = self.commands.recv() => match c {
                    Some(c) => {
                        self.apply(c, observe);
                        if c == Command::Remove {
                            return None;
                        }
                    }
                    None => std::future::pending::<()>().await,
                },
            }
        }
    }

    /// Records a command's effect on a slot that is not connected.
    fn apply(&mut self, command: Command, observe: &mut impl FnMut(&SlotEvent)) {
        let inserted = command == Command::Insert;
        let changed = self.status.send_if_modified(|s| {
            let changed = s.inserted != inserted;
            s.inserted = inserted;
            changed
        });
        if changed {
            observe(&SlotEvent::Moved(inserted));
        }
    }
}

/// A slot on a thread of its own with its own runtime, for callers that are not async: the
/// `vpcd` scenario target and the benchmarks. Dropping it stops the slot (the reader sees the
/// card go) and waits for the thread.
#[derive(Debug)]
pub struct ThreadSlot {
    handle: SlotHandle,
    runtime: tokio::runtime::Handle,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl ThreadSlot {
    /// Starts the slot.
    ///
    /// # Errors
    /// The thread's runtime could not be built.
    pub fn spawn<C: VirtualCard + Send + 'static>(
        spec: SlotSpec,
        card: C,
    ) -> std::io::Result<Self> {
        Self::spawn_observed(spec, card, |_| {})
    }

    /// Starts the slot; `observe` sees every [`SlotEvent`] (on the slot's thread).
    ///
    /// # Errors
    /// The thread's runtime could not be built.
    pub fn spawn_observed<C: VirtualCard + Send + 'static>(
        spec: SlotSpec,
        card: C,
        observe: impl FnMut(&SlotEvent) + Send + 'static,
    ) -> std::io::Result<Self> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let handle_rt = runtime.handle().clone();
        let (slot, handle) = slot(spec, card);
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name(format!("mynasim-slot-{}", handle.spec.number))
            .spawn(move || {
                runtime.block_on(slot.run(
                    async {
                        let _ = stopped.await;
                    },
                    observe,
                ));
            })?;
        Ok(Self {
            handle,
            runtime: handle_rt,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// The slot's handle.
    pub fn handle(&self) -> &SlotHandle {
        &self.handle
    }

    /// Blocks until `done` holds for the status, or `timeout`; the status at the end.
    pub fn wait_for(
        &self,
        timeout: Duration,
        done: impl FnMut(&SlotStatus) -> bool,
    ) -> Result<SlotStatus, SlotStatus> {
        let handle = self.handle.clone();
        let reached = self.runtime.block_on(async {
            tokio::time::timeout(timeout, handle.wait_for(done))
                .await
                .unwrap_or(false)
        });
        let status = self.handle.status();
        if reached { Ok(status) } else { Err(status) }
    }
}

impl Drop for ThreadSlot {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use mynasim_simulator::card::EchoCard;
    use mynasim_simulator::transport::{FakeReader, ReaderError};

    use super::*;

    #[test]
    fn backoff_doubles_to_a_cap_and_resets() {
        let mut b = Backoff::new();
        let delays: Vec<u128> = (0..8).map(|_| b.next_delay().as_millis()).collect();
        assert_eq!(delays, [50, 100, 200, 400, 800, 1600, 2000, 2000]);
        b.reset();
        assert_eq!(b.next_delay().as_millis(), 50);
    }

    async fn reader() -> (FakeReader, SocketAddr) {
        let fake = FakeReader::bind("127.0.0.1:0").await.unwrap();
        let addr = fake.local_addr().unwrap();
        (fake, addr)
    }

    /// A removal queued right before an insertion still takes the card out: the reader sees
    /// the connection close and a new one arrive.
    #[tokio::test(flavor = "multi_thread")]
    async fn a_quick_remove_and_insert_is_still_a_removal() {
        let (fake, addr) = reader().await;
        let (slot, handle) = slot(SlotSpec { number: 0, addr }, EchoCard);
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let events = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let seen = events.clone();
        let task = tokio::spawn(slot.run(
            async {
                let _ = stop_rx.await;
            },
            move |e| seen.lock().unwrap().push(e.clone()),
        ));
        let mut link = fake.accept().await.unwrap();
        link.get_atr().await.unwrap();
        assert!(handle.wait_for(|s| s.ready).await);
        assert!(handle.remove());
        assert!(handle.insert());
        // The old connection ends...
        let gone = tokio::time::timeout(Duration::from_secs(10), link.get_atr())
            .await
            .expect("removal is seen");
        assert!(matches!(
            gone,
            Err(ReaderError::CardClosed | ReaderError::Frame(_))
        ));
        // ...and the card comes back on a new one.
        let mut again = fake.accept().await.unwrap();
        again.get_atr().await.unwrap();
        assert!(handle.wait_for(|s| s.ready && s.inserted).await);
        stop_tx.send(()).unwrap();
        task.await.unwrap();
        let events = events.lock().unwrap();
        assert!(events.contains(&SlotEvent::Disconnected(Disconnect::Removed)));
        assert!(events.contains(&SlotEvent::Moved(true)));
        assert_eq!(events.iter().filter(|e| **e == SlotEvent::Ready).count(), 2);
    }

    #[test]
    fn a_thread_slot_reports_an_absent_reader_and_stops_when_dropped() {
        let addr = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        // Nothing listens there now.
        let slot = ThreadSlot::spawn(SlotSpec { number: 0, addr }, EchoCard).unwrap();
        let status = slot
            .wait_for(Duration::from_secs(10), |s| s.last_error.is_some())
            .unwrap();
        assert!(!status.connected && !status.ever_connected);
        drop(slot);
    }
}
