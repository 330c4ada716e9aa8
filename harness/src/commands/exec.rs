//! `mynasim exec -- CMD ARGS…`: a program under test with a simulated card in a PC/SC reader.
//!
//! By default exec starts a pcscd of its own ([`crate::host::pcscd`]: a mount namespace, a
//! vpcd entry on free ports), puts the card in its reader through the one hosting loop, waits
//! until PC/SC shows the card, runs CMD with `PCSCLITE_CSOCK_NAME` pointing at that pcscd, and
//! stops everything it started when CMD ends. `--pcscd system` uses the machine's pcscd and
//! its vpcd slot instead. CMD's exit status is exec's; when exec itself fails it exits 125
//! (126: CMD cannot be executed, 127: CMD not found), like `env` and `timeout`.

use std::ffi::OsString;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::anyhow;
use mynasim_simulator::card::VirtualCard;
use mynasim_simulator::transcript::{Event, Transcript};
use serde_saphyr::{Location, Spanned};

use crate::exit::{Error, ExecFailure};
use crate::host::pcscd::{Ports, PrivatePcscd};
use crate::host::slot::{SlotEvent, SlotSpec, ThreadSlot};
use crate::host::state::PersistentCard;
use crate::scenario::compile::card;
use crate::scenario::model::CardSpec;

/// The reader the card is in.
pub const READER: &str = "Virtual PCD 00 00";

/// Where pcscd comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pcscd {
    /// A pcscd of exec's own, in a mount namespace (needs root, or user namespaces).
    Private,
    /// The machine's pcscd and its vpcd slot at this address.
    System(String),
}

/// What to run with which card.
#[derive(Debug, Clone)]
pub struct Options {
    /// The profile.
    pub profile: String,
    /// `KEY=VALUE` overrides of profile fields (`pins.auth.tries_left=0`).
    pub sets: Vec<String>,
    /// Keep the card's secrets and counters in this file across runs.
    pub state: Option<PathBuf>,
    /// Write the APDU transcript here.
    pub transcript: Option<PathBuf>,
    /// Show secrets in the transcript.
    pub reveal: bool,
    /// Where pcscd comes from.
    pub pcscd: Pcscd,
    /// How long the card may take to appear in the reader.
    pub wait: Duration,
    /// The program and its arguments.
    pub command: Vec<OsString>,
}

/// Parses `--set KEY=VALUE` into a nested mapping (`pins.auth.tries_left=0` →
/// `{pins: {auth: {tries_left: 0}}}`); the value is YAML (`0`, `"0012"`, `[a, b]`).
///
/// # Errors
/// No `=`, an empty key segment, or a value that is not YAML.
pub fn parse_set(text: &str) -> Result<serde_json::Value, String> {
    let (key, value) = text
        .split_once('=')
        .ok_or_else(|| format!("`{text}`: expected KEY=VALUE, e.g. pins.auth.tries_left=0"))?;
    let value: serde_json::Value = mynasim_simulator::profile::from_yaml_str(value, "--set")
        .map_err(|e| format!("`{text}`: the value is not YAML: {}", e.message))?;
    let mut out = value;
    for segment in key.split('.').rev() {
        if segment.trim().is_empty() {
            return Err(format!("`{text}`: empty key segment in `{key}`"));
        }
        let mut map = serde_json::Map::new();
        map.insert(segment.trim().to_owned(), out);
        out = serde_json::Value::Object(map);
    }
    Ok(out)
}

/// Deep merge (mappings key by key, everything else replaces).
fn merge(base: &mut serde_json::Value, patch: serde_json::Value) {
    match (base, patch) {
        (serde_json::Value::Object(b), serde_json::Value::Object(p)) => {
            for (k, v) in p {
                match b.get_mut(&k) {
                    Some(existing) => merge(existing, v),
                    None => {
                        b.insert(k, v);
                    }
                }
            }
        }
        (b, p) => *b = p,
    }
}

/// Runs CMD with the card; returns CMD's exit status.
///
/// # Errors
/// exec could not set up or run CMD ([`ExecFailure`]).
pub fn run(options: &Options) -> Result<u8, Error> {
    let setup = |e: Error| Error::Exec(ExecFailure::Setup(Box::new(e)));
    // Signals are caught from the start, so a Ctrl-C during set-up still cleans up.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| setup(Error::io(anyhow!("cannot start the async runtime: {e}"))))?;
    let mut signals = runtime.block_on(async { Signals::new() }).map_err(setup)?;
    let card = issue(options).map_err(setup)?;
    let card: Box<dyn VirtualCard + Send> = match &options.state {
        None => Box::new(card),
        Some(path) => Box::new(
            PersistentCard::open(card, path)
                .map_err(|e| setup(Error::invalid(anyhow!("--state {e}"))))?,
        ),
    };
    let transcript = Arc::new(Mutex::new(Transcript::new()));
    let reader = Reader::start(&options.pcscd).map_err(setup)?;
    let socket = reader.socket.clone();
    let recorder = transcript.clone();
    let spec = SlotSpec {
        number: 0,
        addr: reader.addr,
    };
    let slot = ThreadSlot::spawn_observed(spec, card, move |event| {
        if let SlotEvent::Card(entry) = event
            && !matches!(entry.event, Event::AtrPoll)
            && let Ok(mut t) = recorder.lock()
        {
            t.entries.push(entry.clone());
        }
    })
    .map_err(|e| setup(Error::io(anyhow!("cannot start the card's thread: {e}"))))?;
    let outcome = wait_ready(&slot, socket.as_deref(), options.wait)
        .map_err(setup)
        .and_then(|()| match runtime.block_on(signals.pending()) {
            Some(signal) => Err(Error::Exec(ExecFailure::Signal(signal))),
            None => runtime.block_on(run_program(
                &options.command,
                socket.as_deref(),
                &mut signals,
            )),
        });
    // Remove the card, then stop pcscd; keep what CMD sent.
    drop(slot);
    drop(reader);
    if let Some(path) = &options.transcript {
        let text = transcript
            .lock()
            .map(|t| t.to_text(!options.reveal))
            .unwrap_or_default();
        std::fs::write(path, text).map_err(|e| {
            setup(Error::io(anyhow!(
                "cannot write the transcript {}: {e}",
                path.display()
            )))
        })?;
    }
    outcome
}

/// The card: the profile with `--set` merged over it (the scenarios' `card.set` rule).
fn issue(options: &Options) -> Result<mynasim_simulator::Card, Error> {
    let mut set: Option<serde_json::Value> = None;
    for text in &options.sets {
        let patch = parse_set(text).map_err(|e| Error::invalid(anyhow!("--set {e}")))?;
        match &mut set {
            Some(s) => merge(s, patch),
            None => set = Some(patch),
        }
    }
    let at = Location::UNKNOWN;
    let spec = CardSpec {
        profile: Spanned::new(options.profile.clone(), at, at),
        set: set.map(|s| Spanned::new(s, at, at)),
    };
    let (issued, _) = card::resolve(&spec, Path::new("."), "--set", &card::CardCache::default())
        .map_err(|mut e| {
            // Say it in the command line's words.
            if e.path == "card.profile" {
                "--profile".clone_into(&mut e.origin);
                e.path.clear();
            } else if let Some(rest) = e.path.strip_prefix("card.set.") {
                e.path = rest.to_owned();
            }
            Error::from(e)
        })?;
    Ok(issued.card.clone())
}

/// Where the card goes: a pcscd of exec's own, or the system's. Dropping it stops the
/// private pcscd and removes its folder.
struct Reader {
    /// exec's own pcscd and the ports it holds.
    private: Option<(PrivatePcscd, Ports)>,
    /// Its socket as seen from here (`None`: the default socket).
    socket: Option<PathBuf>,
    /// The vpcd address of slot 0.
    addr: SocketAddr,
}

impl Reader {
    /// Starts a private pcscd, or takes the system's.
    fn start(mode: &Pcscd) -> Result<Self, Error> {
        match mode {
            Pcscd::System(addr) => Ok(Self {
                private: None,
                socket: None,
                addr: crate::host::config::parse_addr(addr)
                    .map_err(|e| Error::invalid(anyhow!(e)))?,
            }),
            Pcscd::Private => {
                let ports = Ports::reserve(2).map_err(|e| Error::io(anyhow!("{e}")))?;
                let dir = std::env::temp_dir().join(format!(
                    "mynasim-exec-{}-{}",
                    std::process::id(),
                    ports.base
                ));
                let pcscd = PrivatePcscd::start(&dir, ports.base, false).map_err(|e| {
                    Error::io(anyhow!(
                        "cannot start a private pcscd: {e} (it needs pcscd, vsmartcard-vpcd, \
                         unshare and root; or use --pcscd system)"
                    ))
                })?;
                let socket = pcscd.socket();
                let addr = SocketAddr::from(([127, 0, 0, 1], ports.base));
                // Made before the wait, so a pcscd that never gets ready is still stopped.
                let mut reader = Self {
                    private: Some((pcscd, ports)),
                    socket: Some(socket),
                    addr,
                };
                if let Some((pcscd, _)) = reader.private.as_mut() {
                    pcscd
                        .wait_ready(Duration::from_secs(10))
                        .map_err(|e| Error::io(anyhow!("{e}")))?;
                }
                Ok(reader)
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

/// Waits until the reader has the card: the slot is polled by the vpcd driver, and (with
/// PC/SC support) `mynasim card readers` through the same socket shows its ATR.
fn wait_ready(slot: &ThreadSlot, socket: Option<&Path>, wait: Duration) -> Result<(), Error> {
    let start = Instant::now();
    let status = slot.wait_for(wait, |s| s.ready).map_err(|s| {
        Error::unreachable(anyhow!(
            "the card did not reach pcscd's vpcd reader within {wait:?} ({}): is pcscd \
                 running with vsmartcard-vpcd?",
            s.last_error.as_deref().unwrap_or("no poll from the reader")
        ))
    })?;
    tracing::debug!("slot ready: {status:?}");
    if !cfg!(feature = "pcsc") {
        return Ok(());
    }
    let exe = std::env::current_exe().map_err(|e| Error::io(anyhow!("{e}")))?;
    while start.elapsed() < wait {
        let mut command = std::process::Command::new(&exe);
        command.args(["card", "readers"]);
        if let Some(socket) = socket {
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
    Err(Error::unreachable(anyhow!(
        "PC/SC did not show the card in `{READER}` within {wait:?}"
    )))
}

/// SIGINT, SIGTERM and SIGHUP, caught for the whole run.
struct Signals {
    int: tokio::signal::unix::Signal,
    term: tokio::signal::unix::Signal,
    hup: tokio::signal::unix::Signal,
}

impl Signals {
    fn new() -> Result<Self, Error> {
        use tokio::signal::unix::{SignalKind, signal};
        let handler =
            |kind| signal(kind).map_err(|e| Error::io(anyhow!("cannot handle signals: {e}")));
        Ok(Self {
            int: handler(SignalKind::interrupt())?,
            term: handler(SignalKind::terminate())?,
            hup: handler(SignalKind::hangup())?,
        })
    }

    /// The next signal (2, 15 or 1).
    async fn next(&mut self) -> i32 {
        tokio::select! {
            _ = self.int.recv() => 2,
            _ = self.term.recv() => 15,
            _ = self.hup.recv() => 1,
        }
    }

    /// A signal that arrived during set-up, if any.
    async fn pending(&mut self) -> Option<i32> {
        tokio::select! {
            biased;
            signal = self.next() => Some(signal),
            () = std::future::ready(()) => None,
        }
    }
}

/// Runs CMD to its end, passing SIGINT, SIGTERM and SIGHUP on to it.
async fn run_program(
    command: &[OsString],
    socket: Option<&Path>,
    signals: &mut Signals,
) -> Result<u8, Error> {
    let Some((program, args)) = command.split_first() else {
        return Err(Error::invalid(anyhow!("no command after `--`")));
    };
    let mut cmd = tokio::process::Command::new(program);
    cmd.args(args).env("MYNASIM_READER", READER);
    if let Some(socket) = socket {
        cmd.env("PCSCLITE_CSOCK_NAME", socket);
    }
    let mut child = cmd.spawn().map_err(|e| {
        let name = program.to_string_lossy().into_owned();
        match e.kind() {
            std::io::ErrorKind::NotFound => Error::Exec(ExecFailure::NotFound(name)),
            std::io::ErrorKind::PermissionDenied => Error::Exec(ExecFailure::NotExecutable(name)),
            _ => Error::Exec(ExecFailure::Setup(Box::new(Error::io(anyhow!(
                "cannot start `{name}`: {e}"
            ))))),
        }
    })?;
    let pid = child.id();
    let status = loop {
        tokio::select! {
            status = child.wait() => break status,
            signal = signals.next() => {
                if let Some(pid) = pid {
                    let _ = std::process::Command::new("kill")
                        .arg(format!("-{signal}"))
                        .arg(pid.to_string())
                        .status();
                }
            }
        }
    }
    .map_err(|e| Error::io(anyhow!("cannot wait for the command: {e}")))?;
    use std::os::unix::process::ExitStatusExt as _;
    match (status.code(), status.signal()) {
        (Some(code), _) => Ok(u8::try_from(code).unwrap_or(u8::MAX)),
        (None, Some(signal)) => Err(Error::Exec(ExecFailure::Signal(signal))),
        (None, None) => Err(Error::io(anyhow!("the command ended without a status"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sets_nest_and_read_yaml_values() {
        assert_eq!(
            parse_set("pins.auth.tries_left=0"),
            Ok(serde_json::json!({ "pins": { "auth": { "tries_left": 0 } } }))
        );
        assert_eq!(
            parse_set("today=2031-01-01"),
            Ok(serde_json::json!({ "today": "2031-01-01" }))
        );
        assert_eq!(
            parse_set("card.atr=contact"),
            Ok(serde_json::json!({ "card": { "atr": "contact" } }))
        );
        assert!(
            parse_set("pins")
                .unwrap_err()
                .contains("expected KEY=VALUE")
        );
        assert!(
            parse_set("pins..auth=1")
                .unwrap_err()
                .contains("empty key segment")
        );
        assert!(parse_set("a=[1,").unwrap_err().contains("not YAML"));
        let mut base = parse_set("pins.auth.tries_left=0").unwrap_or_default();
        merge(
            &mut base,
            parse_set("pins.sign.tries_left=1").unwrap_or_default(),
        );
        assert_eq!(
            base,
            serde_json::json!({ "pins": { "auth": { "tries_left": 0 }, "sign": { "tries_left": 1 } } })
        );
    }
}
