//! A card in a PC/SC reader for a program under test, and the program run beside it: what
//! `mynasim exec` and scenarios with an `exec:` body share.
//!
//! [`CardInReader`] starts a pcscd of its own ([`crate::host::pcscd`]: a mount namespace, a
//! vpcd entry on free ports) or takes the system's, puts the card in its reader through the
//! one hosting loop, records every exchange in the one [`Transcript`], and says when PC/SC
//! shows the card. [`run_captured`] runs a program with a time limit and its output kept
//! (bounded); `mynasim exec` runs its program with the terminal instead. Nothing here picks
//! an exit code.

use std::ffi::OsString;
use std::net::SocketAddr;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mynasim_simulator::card::VirtualCard;
use mynasim_simulator::transcript::{Event, Transcript};

use super::pcscd::{Ports, PrivatePcscd};
use super::record::Recorder;
use super::slot::{SlotEvent, SlotSpec, ThreadSlot};

/// The reader the card is in, as PC/SC names it.
pub const READER: &str = "Virtual PCD 00 00";

/// Where pcscd comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pcscd {
    /// A pcscd of its own, in a mount namespace (needs root, or user namespaces).
    Private,
    /// The machine's pcscd and its vpcd slot at this address.
    System(String),
}

/// Why the card could not be put in a reader.
#[derive(Debug, thiserror::Error)]
pub enum HostError {
    /// A value given (an address) is wrong.
    #[error("{0}")]
    Invalid(String),
    /// pcscd or its reader did not come up, or did not show the card.
    #[error("{0}")]
    Unreachable(String),
    /// The system refused a resource (ports, a thread, a folder).
    #[error("{0}")]
    Io(String),
}

/// The most exchanges a transcript keeps; later ones are counted, not kept.
pub const TRANSCRIPT_LIMIT: usize = 100_000;

/// What the slot's observer fills.
#[derive(Debug, Default)]
struct Recording {
    transcript: Transcript,
    dropped: u64,
}

/// A card in a PC/SC reader, recorded. Dropping it removes the card and stops the private
/// pcscd (and removes its folder).
pub struct CardInReader {
    // Field order is drop order: the card leaves the reader before pcscd stops.
    slot: Option<ThreadSlot>,
    reader: Reader,
    recording: Arc<Mutex<Recording>>,
}

impl std::fmt::Debug for CardInReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CardInReader")
            .field("socket", &self.reader.socket)
            .field("addr", &self.reader.addr)
            .finish_non_exhaustive()
    }
}

impl CardInReader {
    /// Puts `card` in a reader and waits (up to `wait`) until PC/SC shows it. `probe` is a
    /// `mynasim` executable built with PC/SC support, run as `mynasim card readers` through
    /// the same socket to see the card as clients will; without one, the reader having
    /// powered the card is taken as ready.
    ///
    /// # Errors
    /// pcscd did not start, the card did not reach the reader, or PC/SC did not show it.
    pub fn start(
        card: Box<dyn VirtualCard + Send>,
        pcscd: &Pcscd,
        wait: Duration,
        probe: Option<&Path>,
    ) -> Result<Self, HostError> {
        Self::start_recorded(card, pcscd, wait, probe, None)
    }

    /// [`CardInReader::start`], also writing every entry to `record` as it happens (slot 0).
    ///
    /// # Errors
    /// As [`CardInReader::start`].
    pub fn start_recorded(
        card: Box<dyn VirtualCard + Send>,
        pcscd: &Pcscd,
        wait: Duration,
        probe: Option<&Path>,
        record: Option<Arc<Recorder>>,
    ) -> Result<Self, HostError> {
        let reader = Reader::start(pcscd)?;
        let recording = Arc::new(Mutex::new(Recording::default()));
        let recorder = recording.clone();
        let spec = SlotSpec {
            number: 0,
            addr: reader.addr,
        };
        let slot = ThreadSlot::spawn_observed(spec, card, move |event| {
            if let Some(record) = &record {
                match event {
                    SlotEvent::Card(entry) => record.entry(0, entry),
                    SlotEvent::Moved(inserted) => record.note(
                        0,
                        if *inserted {
                            "card inserted"
                        } else {
                            "card removed"
                        },
                    ),
                    _ => {}
                }
            }
            if let SlotEvent::Card(entry) = event
                && !matches!(entry.event, Event::AtrPoll)
                && let Ok(mut r) = recorder.lock()
            {
                if r.transcript.entries.len() < TRANSCRIPT_LIMIT {
                    r.transcript.entries.push(entry.clone());
                } else {
                    r.dropped += 1;
                }
            }
        })
        .map_err(|e| HostError::Io(format!("cannot start the card's thread: {e}")))?;
        let mut this = Self {
            slot: Some(slot),
            reader,
            recording,
        };
        if let Some((pcscd, _)) = this.reader.private.as_mut() {
            pcscd
                .wait_ready(Duration::from_secs(10))
                .map_err(|e| HostError::Unreachable(e.to_string()))?;
        }
        this.wait_ready(wait, probe)?;
        Ok(this)
    }

    /// The environment a program needs to find the card: `PCSCLITE_CSOCK_NAME` (a private
    /// pcscd's socket) and `MYNASIM_READER` (the reader's name).
    pub fn env(&self) -> Vec<(&'static str, OsString)> {
        let mut env = vec![("MYNASIM_READER", OsString::from(READER))];
        if let Some(socket) = &self.reader.socket {
            env.push(("PCSCLITE_CSOCK_NAME", socket.clone().into_os_string()));
        }
        env
    }

    /// Everything the reader and the card exchanged so far (ATR polls left out), and how
    /// many exchanges were past [`TRANSCRIPT_LIMIT`].
    pub fn transcript(&self) -> (Transcript, u64) {
        self.recording
            .lock()
            .map(|r| (r.transcript.clone(), r.dropped))
            .unwrap_or_default()
    }

    /// Takes the card out of the reader (the slot stops; the reader sees it go).
    pub fn remove(&mut self) {
        self.slot.take();
    }

    /// Pulls the card out of the reader `after` from now, and puts it back `back` later
    /// (never: `None`), on a thread of its own — card-side control while the program runs.
    /// The card loses power when it leaves, as in a real reader.
    pub fn schedule_removal(&self, after: Duration, back: Option<Duration>) {
        let Some(slot) = &self.slot else { return };
        let handle = slot.handle().clone();
        std::thread::spawn(move || {
            std::thread::sleep(after);
            if !handle.remove() {
                return;
            }
            if let Some(back) = back {
                std::thread::sleep(back);
                handle.insert();
            }
        });
    }

    /// Waits until the reader has the card: the slot is polled and powered by the vpcd
    /// driver, and (with a probe) `mynasim card readers` through the same socket shows its
    /// ATR.
    fn wait_ready(&self, wait: Duration, probe: Option<&Path>) -> Result<(), HostError> {
        let start = Instant::now();
        let Some(slot) = &self.slot else {
            return Err(HostError::Unreachable("the card was removed".into()));
        };
        let status = slot.wait_for(wait, |s| s.ready).map_err(|s| {
            HostError::Unreachable(format!(
                "the card did not reach pcscd's vpcd reader within {wait:?} ({}): is pcscd \
                 running with vsmartcard-vpcd?",
                s.last_error.as_deref().unwrap_or("no poll from the reader")
            ))
        })?;
        tracing::debug!("slot ready: {status:?}");
        let Some(probe) = probe else {
            // Without a PC/SC probe: pcscd powers a card on once it has seen it, and clients
            // can connect from then on.
            while start.elapsed() < wait {
                let powered = self.recording.lock().is_ok_and(|r| {
                    r.transcript
                        .entries
                        .iter()
                        .any(|e| matches!(e.event, Event::PowerOn { .. }))
                });
                if powered {
                    return Ok(());
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            return Err(HostError::Unreachable(format!(
                "pcscd did not power the card in `{READER}` on within {wait:?}"
            )));
        };
        while start.elapsed() < wait {
            let mut command = Command::new(probe);
            command.args(["card", "readers"]);
            if let Some(socket) = &self.reader.socket {
                command.env("PCSCLITE_CSOCK_NAME", socket);
            }
            if let Ok(out) = command.output()
                && String::from_utf8_lossy(&out.stdout)
                    .lines()
                    .any(|l| l.starts_with(READER) && l.contains("ATR"))
            {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Err(HostError::Unreachable(format!(
            "PC/SC did not show the card in `{READER}` within {wait:?}"
        )))
    }
}

/// Where the card goes: a pcscd of its own, or the system's. Dropping it stops the private
/// pcscd and removes its folder.
struct Reader {
    /// The private pcscd and the ports it holds.
    private: Option<(PrivatePcscd, Ports)>,
    /// Its socket as seen from here (`None`: the default socket).
    socket: Option<PathBuf>,
    /// The vpcd address of slot 0.
    addr: SocketAddr,
}

impl Reader {
    /// Starts a private pcscd, or takes the system's.
    fn start(mode: &Pcscd) -> Result<Self, HostError> {
        match mode {
            Pcscd::System(addr) => Ok(Self {
                private: None,
                socket: None,
                addr: super::config::parse_addr(addr).map_err(HostError::Invalid)?,
            }),
            Pcscd::Private => {
                let ports = Ports::reserve(2).map_err(|e| HostError::Io(e.to_string()))?;
                let dir = std::env::temp_dir().join(format!(
                    "mynasim-exec-{}-{}",
                    std::process::id(),
                    ports.base
                ));
                let pcscd = PrivatePcscd::start(&dir, ports.base, false).map_err(|e| {
                    // Nothing of it runs: its folder goes too.
                    let _ = std::fs::remove_dir_all(&dir);
                    HostError::Unreachable(format!(
                        "cannot start a private pcscd: {e} (it needs pcscd, vsmartcard-vpcd and \
                         unshare, and root or user namespaces; or use --pcscd system)"
                    ))
                })?;
                let socket = pcscd.socket();
                let addr = SocketAddr::from(([127, 0, 0, 1], ports.base));
                // Not waited for here: the card starts connecting at once, so pcscd's first
                // presence poll can already find it (the next comes 400 ms later).
                Ok(Self {
                    private: Some((pcscd, ports)),
                    socket: Some(socket),
                    addr,
                })
            }
        }
    }
}

impl Drop for Reader {
    fn drop(&mut self) {
        if let Some((pcscd, _)) = &mut self.private {
            let _ = pcscd.stop(Duration::from_secs(5));
            if let Some(dir) = pcscd.log().parent() {
                let _ = std::fs::remove_dir_all(dir);
            }
        }
    }
}

/// The most bytes of a program's stdout (and of its stderr) kept; the rest is read and
/// counted.
pub const OUTPUT_LIMIT: usize = 1 << 20;

/// How a program ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// It exited with this status.
    Exited(i32),
    /// A signal killed it.
    Signal(i32),
    /// It ran past its time limit and was killed (with its process group).
    TimedOut,
}

impl std::fmt::Display for Ending {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Exited(code) => write!(f, "exited with status {code}"),
            Self::Signal(signal) => write!(f, "was killed by signal {signal}"),
            Self::TimedOut => f.write_str("ran past its time limit and was killed"),
        }
    }
}

/// A program's output, bounded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Output {
    /// The first [`OUTPUT_LIMIT`] bytes.
    pub bytes: Vec<u8>,
    /// Bytes past the limit, read and dropped.
    pub dropped: u64,
}

impl Output {
    /// Keeps what fits under [`OUTPUT_LIMIT`] of a chunk read, counts the rest.
    pub fn keep(&mut self, chunk: &[u8]) {
        let room = OUTPUT_LIMIT
            .saturating_sub(self.bytes.len())
            .min(chunk.len());
        self.bytes
            .extend_from_slice(chunk.get(..room).unwrap_or_default());
        self.dropped += (chunk.len() - room) as u64;
    }

    /// The kept bytes as text (invalid UTF-8 replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }
}

/// What a program did.
#[derive(Debug, Clone)]
pub struct Finished {
    /// How it ended.
    pub ending: Ending,
    /// Its standard output.
    pub stdout: Output,
    /// Its standard error.
    pub stderr: Output,
    /// Wall time.
    pub elapsed: Duration,
}

/// Why a program could not be started.
#[derive(Debug, thiserror::Error)]
pub enum SpawnError {
    /// Nothing to run.
    #[error("no command to run")]
    Empty,
    /// Not found.
    #[error("`{0}`: command not found")]
    NotFound(String),
    /// Found, not executable.
    #[error("`{0}`: permission denied (not executable)")]
    NotExecutable(String),
    /// Anything else.
    #[error("cannot start `{0}`: {1}")]
    Other(String, std::io::Error),
}

impl SpawnError {
    /// What a failed spawn of `program` means.
    pub fn of(program: &str, e: std::io::Error) -> Self {
        match e.kind() {
            std::io::ErrorKind::NotFound => Self::NotFound(program.to_owned()),
            std::io::ErrorKind::PermissionDenied => Self::NotExecutable(program.to_owned()),
            _ => Self::Other(program.to_owned(), e),
        }
    }
}

/// Runs `argv` in `dir` with `env` added, standard input closed and its output kept
/// (bounded), for at most `timeout`. The program leads a process group of its own, so a time
/// out kills what it started too.
///
/// # Errors
/// The program could not be started.
pub fn run_captured(
    argv: &[String],
    env: &[(&str, OsString)],
    dir: &Path,
    timeout: Duration,
) -> Result<Finished, SpawnError> {
    let Some((program, args)) = argv.split_first() else {
        return Err(SpawnError::Empty);
    };
    let started = Instant::now();
    let mut command = Command::new(program);
    command
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    for (key, value) in env {
        command.env(key, value);
    }
    let mut child = command.spawn().map_err(|e| SpawnError::of(program, e))?;
    let stdout = child.stdout.take().map(drain);
    let stderr = child.stderr.take().map(drain);
    let group = rustix::process::Pid::from_raw(i32::try_from(child.id()).unwrap_or(0));
    let ending = loop {
        match child.try_wait() {
            Ok(Some(status)) => break ending_of(status),
            Ok(None) if started.elapsed() >= timeout => {
                if let Some(group) = group {
                    let _ =
                        rustix::process::kill_process_group(group, rustix::process::Signal::KILL);
                }
                let _ = child.kill();
                let _ = child.wait();
                break Ending::TimedOut;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(5)),
            Err(e) => {
                let _ = child.kill();
                return Err(SpawnError::Other(program.clone(), e));
            }
        }
    };
    // The program is gone; whatever it left running in its group still holds the pipes.
    if let Some(group) = group {
        let _ = rustix::process::kill_process_group(group, rustix::process::Signal::KILL);
    }
    let join = |h: Option<std::thread::JoinHandle<Output>>| {
        h.and_then(|h| h.join().ok()).unwrap_or_default()
    };
    Ok(Finished {
        ending,
        stdout: join(stdout),
        stderr: join(stderr),
        elapsed: started.elapsed(),
    })
}

/// The ending a wait status means.
pub fn ending_of(status: std::process::ExitStatus) -> Ending {
    use std::os::unix::process::ExitStatusExt as _;
    match (status.code(), status.signal()) {
        (Some(code), _) => Ending::Exited(code),
        (None, Some(signal)) => Ending::Signal(signal),
        (None, None) => Ending::Exited(-1),
    }
}

/// Reads a pipe to its end on a thread, keeping the first [`OUTPUT_LIMIT`] bytes.
fn drain(mut pipe: impl std::io::Read + Send + 'static) -> std::thread::JoinHandle<Output> {
    std::thread::spawn(move || {
        let mut out = Output::default();
        let mut buf = [0u8; 8192];
        loop {
            match pipe.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => out.keep(buf.get(..n).unwrap_or_default()),
            }
        }
        out
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    fn sh(script: &str, timeout: Duration) -> Finished {
        run_captured(
            &["sh".into(), "-c".into(), script.into()],
            &[("MYNASIM_TEST", "x".into())],
            Path::new("/"),
            timeout,
        )
        .unwrap()
    }

    #[test]
    fn output_status_env_and_folder_are_kept() {
        let f = sh(
            "echo out; echo err >&2; pwd; echo $MYNASIM_TEST; exit 3",
            Duration::from_secs(10),
        );
        assert_eq!(f.ending, Ending::Exited(3));
        assert_eq!(f.stdout.text(), "out\n/\nx\n");
        assert_eq!(f.stderr.text(), "err\n");
    }

    #[test]
    fn a_hang_is_killed_with_its_children() {
        let f = sh("sleep 30 & sleep 30", Duration::from_millis(200));
        assert_eq!(f.ending, Ending::TimedOut);
        assert!(f.elapsed < Duration::from_secs(10), "{:?}", f.elapsed);
    }

    #[test]
    fn a_signal_is_an_ending_of_its_own() {
        let f = sh("kill -TERM $$", Duration::from_secs(10));
        assert_eq!(f.ending, Ending::Signal(15));
    }

    #[test]
    fn output_past_the_limit_is_counted_not_kept() {
        let f = sh("head -c 1048676 /dev/zero; exit 0", Duration::from_secs(10));
        assert_eq!(f.stdout.bytes.len(), OUTPUT_LIMIT);
        assert_eq!(f.stdout.dropped, 100);
    }

    #[test]
    fn missing_and_unexecutable_programs_are_told_apart() {
        let run = |p: &str| run_captured(&[p.into()], &[], Path::new("/"), Duration::from_secs(5));
        assert!(matches!(
            run("/nonexistent/mynasim-prog"),
            Err(SpawnError::NotFound(_))
        ));
        assert!(matches!(
            run("/etc/passwd"),
            Err(SpawnError::NotExecutable(_))
        ));
        assert!(matches!(
            run_captured(&[], &[], Path::new("/"), Duration::from_secs(1)),
            Err(SpawnError::Empty)
        ));
    }
}
