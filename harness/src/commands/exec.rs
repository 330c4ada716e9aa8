//! `mynasim exec -- CMD ARGS…`: a program under test with a simulated card in a PC/SC reader.
//!
//! By default exec starts a pcscd of its own ([`crate::host::pcscd`]: a mount namespace, a
//! vpcd entry on free ports), puts the card in its reader through the one hosting loop, waits
//! until PC/SC shows the card, runs CMD with `PCSCLITE_CSOCK_NAME` pointing at that pcscd, and
//! stops everything it started when CMD ends. `--pcscd system` uses the machine's pcscd and
//! its vpcd slot instead. CMD's exit status is exec's; when exec itself fails it exits 125
//! (126: CMD cannot be executed, 127: CMD not found), like `env` and `timeout`.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::anyhow;
use mynasim_simulator::card::{FaultPlan, FaultSpec, VirtualCard};
use serde_saphyr::{Location, Spanned};

use crate::exit::{Error, ExecFailure};
use crate::host::exec::{CardInReader, HostError, Output, SpawnError};
use crate::host::record::Recorder;
use crate::host::state::PersistentCard;
use crate::scenario::compile::card;
use crate::scenario::model::CardSpec;

pub use crate::host::exec::{Pcscd, READER};

/// What to run with which card.
#[derive(Debug, Clone)]
pub struct Options {
    /// The profile.
    pub profile: String,
    /// Or the card of a scenario: `FILE` or `FILE#N`.
    pub scenario: Option<String>,
    /// `KEY=VALUE` overrides of profile fields (`pins.auth.tries_left=0`).
    pub sets: Vec<String>,
    /// Faults to add, each a YAML mapping as in a profile's `faults:`.
    pub faults: Vec<String>,
    /// Pull the card out this long after the program starts; back after the second value.
    pub removal: Option<(Duration, Option<Duration>)>,
    /// Keep the card's secrets and counters in this file across runs.
    pub state: Option<PathBuf>,
    /// Answer from this recording instead of the simulated card (a record, an import's JSON
    /// Lines, or the `>>`/`<<` text form), and what to do on divergence.
    pub replay: Option<(PathBuf, mynasim_simulator::replay::OnDivergence)>,
    /// Write the APDU transcript here.
    pub transcript: Option<PathBuf>,
    /// Write a JSON record here: the command, how it ended, its output, timings and the
    /// exchanges.
    pub json: Option<PathBuf>,
    /// Show secrets in the transcript.
    pub reveal: bool,
    /// Record every exchange and power event here as it happens (JSON Lines,
    /// [`crate::host::record`]).
    pub record: Option<PathBuf>,
    /// Keep PINs and passwords in the record instead of masking them.
    pub keep_secrets: bool,
    /// Where pcscd comes from.
    pub pcscd: Pcscd,
    /// How long the card may take to appear in the reader.
    pub wait: Duration,
    /// Start the card's validation service here for the program (`MYNASIM_VALIDATION_URL`).
    pub validation: Option<std::net::SocketAddr>,
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
    let (card, issued) = issue(options).map_err(setup)?;
    // The card's validation service, for as long as CMD runs.
    let validation = match options.validation {
        None => None,
        Some(addr) => {
            crate::host::validation::check_loopback(addr, false)
                .map_err(|e| setup(Error::invalid(anyhow!("--validation {e}"))))?;
            Some(
                crate::host::validation::Background::start(
                    addr,
                    mynasim_simulator::validation::Service::for_card(&issued),
                )
                .map_err(|e| {
                    setup(Error::io(anyhow!(
                        "cannot start the validation service on {addr}: {e}"
                    )))
                })?,
            )
        }
    };
    let card: Box<dyn VirtualCard + Send> = match (&options.state, &options.replay) {
        (_, Some((path, on_divergence))) => {
            let recording = crate::host::record::read(path, None)
                .map_err(|e| setup(Error::invalid(anyhow!(e))))?;
            Box::new(crate::host::replay::Reporting::new(
                mynasim_simulator::replay::ReplayCard::new(&recording, *on_divergence, Some(card)),
                Box::new(|divergence| eprintln!("mynasim exec: replay: {divergence}")),
            ))
        }
        (None, None) => Box::new(card),
        (Some(path), None) => Box::new(
            PersistentCard::open(card, path)
                .map_err(|e| setup(Error::invalid(anyhow!("--state {e}"))))?,
        ),
    };
    let probe = if cfg!(feature = "pcsc") {
        std::env::current_exe().ok()
    } else {
        None
    };
    let recorder = match &options.record {
        Some(path) => {
            let recorder = Recorder::create(path, options.keep_secrets).map_err(|e| {
                setup(Error::io(anyhow!(
                    "cannot create the record {}: {e}",
                    path.display()
                )))
            })?;
            if options.keep_secrets {
                eprintln!(
                    "mynasim exec: warning: --keep-secrets: {} records PINs and passwords as \
                     they were sent",
                    path.display()
                );
            }
            Some(Arc::new(recorder))
        }
        None => None,
    };
    let started = Instant::now();
    let mut reader = CardInReader::start_recorded(
        card,
        &options.pcscd,
        options.wait,
        probe.as_deref(),
        recorder.clone(),
    )
    .map_err(|e| setup(host_error(e)))?;
    let ready = started.elapsed();
    let mut output = Captured::default();
    if let Some((after, back)) = options.removal {
        reader.schedule_removal(after, back);
    }
    let outcome = match runtime.block_on(signals.pending()) {
        Some(signal) => Err(Error::Exec(ExecFailure::Signal(signal))),
        None => runtime.block_on(run_program(
            &options.command,
            &reader
                .env()
                .into_iter()
                .chain(
                    validation
                        .as_ref()
                        .map(|v| ("MYNASIM_VALIDATION_URL", OsString::from(v.url()))),
                )
                .collect::<Vec<_>>(),
            &mut signals,
            options.json.is_some().then_some(&mut output),
        )),
    };
    let ran = started.elapsed().saturating_sub(ready);
    // Remove the card, then stop pcscd; keep what CMD sent.
    reader.remove();
    let (transcript, dropped) = reader.transcript();
    drop(reader);
    if let Some(recorder) = &recorder {
        recorder.finish().map_err(|e| {
            setup(Error::io(anyhow!(
                "the record {} is incomplete: {e}",
                recorder.path().display()
            )))
        })?;
    }
    if let Some(path) = &options.transcript {
        std::fs::write(path, transcript.to_text(!options.reveal)).map_err(|e| {
            setup(Error::io(anyhow!(
                "cannot write the transcript {}: {e}",
                path.display()
            )))
        })?;
    }
    if let Some(path) = &options.json {
        let ending = match &outcome {
            Ok(code) => serde_json::json!({ "exited": code }),
            Err(Error::Exec(ExecFailure::Signal(signal))) => {
                serde_json::json!({ "signal": signal })
            }
            Err(e) => serde_json::json!({ "failed": e.to_string() }),
        };
        let record = serde_json::json!({
            "version": 1,
            "command": options.command.iter().map(|a| a.to_string_lossy()).collect::<Vec<_>>(),
            "reader": crate::host::exec::READER,
            "ending": ending,
            "ready_millis": u64::try_from(ready.as_millis()).unwrap_or(u64::MAX),
            "run_millis": u64::try_from(ran.as_millis()).unwrap_or(u64::MAX),
            "stdout": output.stdout.text(),
            "stderr": output.stderr.text(),
            "output_dropped_bytes": output.stdout.dropped + output.stderr.dropped,
            "exchanges": crate::report::json::exchanges(&transcript.entries, options.reveal),
            "exchanges_dropped": dropped,
        });
        let text = serde_json::to_string_pretty(&record).unwrap_or_default() + "\n";
        std::fs::write(path, text)
            .map_err(|e| setup(Error::io(anyhow!("cannot write {}: {e}", path.display()))))?;
    }
    outcome
}

/// What CMD printed, for `--json` (it still reaches the terminal), bounded like a program
/// under test's output.
#[derive(Debug, Default)]
struct Captured {
    stdout: Output,
    stderr: Output,
}

/// Copies a child's stream to ours, keeping what [`Output::keep`] keeps.
async fn tee(
    mut from: impl tokio::io::AsyncRead + Unpin,
    mut to: impl tokio::io::AsyncWrite + Unpin,
) -> Output {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let mut kept = Output::default();
    let mut buf = vec![0u8; 8192];
    loop {
        match from.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                let chunk = buf.get(..n).unwrap_or_default();
                let _ = to.write_all(chunk).await;
                let _ = to.flush().await;
                kept.keep(chunk);
            }
        }
    }
    kept
}

/// The exit class of a failure to put the card in a reader.
fn host_error(e: HostError) -> Error {
    match e {
        HostError::Invalid(m) => Error::invalid(anyhow!(m)),
        HostError::Unreachable(m) => Error::unreachable(anyhow!(m)),
        HostError::Io(m) => Error::io(anyhow!(m)),
    }
}

/// The card: the profile with `--set` merged over it (the scenarios' `card.set` rule).
fn issue(
    options: &Options,
) -> Result<
    (
        mynasim_simulator::Card,
        mynasim_simulator::profile::IssuedCard,
    ),
    Error,
> {
    let mut set: Option<serde_json::Value> = None;
    for text in &options.sets {
        let patch = parse_set(text).map_err(|e| Error::invalid(anyhow!("--set {e}")))?;
        match &mut set {
            Some(s) => merge(s, patch),
            None => set = Some(patch),
        }
    }
    let at = Location::UNKNOWN;
    let (spec, dir, origin) = match &options.scenario {
        None => (
            CardSpec {
                profile: Spanned::new(options.profile.clone(), at, at),
                set: set.map(|s| Spanned::new(s, at, at)),
                ..CardSpec::default()
            },
            PathBuf::from("."),
            "--set".to_owned(),
        ),
        Some(text) => {
            let (file, index) = match text.rsplit_once('#') {
                Some((f, n)) => (
                    f,
                    n.parse::<usize>().ok().filter(|n| *n >= 1).ok_or_else(|| {
                        Error::invalid(anyhow!(
                            "--scenario {text}: `#{n}` is not a scenario number (from 1)"
                        ))
                    })?,
                ),
                None => (text.as_str(), 1),
            };
            let path = Path::new(file);
            let loaded = crate::scenario::load_file(path).map_err(Error::from)?;
            let count = loaded.len();
            let one = loaded.into_iter().nth(index - 1).ok_or_else(|| {
                Error::invalid(anyhow!(
                    "--scenario {text}: {file} holds {count} scenario(s)"
                ))
            })?;
            let mut spec = one.scenario.value.card.clone();
            if let Some(patch) = set {
                let mut merged = spec
                    .set
                    .as_ref()
                    .map_or(serde_json::json!({}), |s| s.value.clone());
                merge(&mut merged, patch);
                spec.set = Some(Spanned::new(merged, at, at));
            }
            let dir = path
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or_else(|| Path::new("."))
                .to_owned();
            (spec, dir, file.to_owned())
        }
    };
    let (issued, _) =
        card::resolve(&spec, &dir, &origin, &card::CardCache::default()).map_err(|mut e| {
            // Say it in the command line's words (a scenario's own errors keep its file).
            if options.scenario.is_some() {
            } else if e.path == "card.profile" {
                "--profile".clone_into(&mut e.origin);
                e.path.clear();
            } else if let Some(rest) = e.path.strip_prefix("card.set.") {
                e.path = rest.to_owned();
            }
            Error::from(e)
        })?;
    let mut card = issued.card.clone();
    if let Some(extra) = compile_fault_args(&options.faults, issued.personalisation.seed)? {
        card.add_faults(extra);
    }
    Ok((card, (*issued).clone()))
}

/// The `--fault YAML` arguments (exec, relay) as one plan; `None` when there are none.
/// Compiled alone, so a mistake is named by its own `--fault #N` (docs/faults.md).
pub(crate) fn compile_fault_args(texts: &[String], seed: u64) -> Result<Option<FaultPlan>, Error> {
    let mut specs = Vec::new();
    for (i, text) in texts.iter().enumerate() {
        let origin = format!("--fault #{}", i + 1);
        let spec: FaultSpec = mynasim_simulator::profile::from_yaml_str(text, &origin)?;
        specs.push(spec);
    }
    if specs.is_empty() {
        return Ok(None);
    }
    FaultPlan::compile(&specs, seed)
        .map(Some)
        .map_err(|(path, message)| {
            let n: usize = path
                .strip_prefix("faults[")
                .and_then(|r| r.split(']').next())
                .and_then(|n| n.parse().ok())
                .unwrap_or(0);
            let rest = path.split_once(']').map_or("", |(_, r)| r);
            Error::invalid(anyhow!(
                "--fault #{}{}{}: {message}",
                n + 1,
                if rest.is_empty() { "" } else { ": " },
                rest.trim_start_matches('.')
            ))
        })
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
    env: &[(&str, OsString)],
    signals: &mut Signals,
    capture: Option<&mut Captured>,
) -> Result<u8, Error> {
    let Some((program, args)) = command.split_first() else {
        return Err(Error::invalid(anyhow!("no command after `--`")));
    };
    let mut cmd = tokio::process::Command::new(program);
    cmd.args(args);
    for (key, value) in env {
        cmd.env(key, value);
    }
    if capture.is_some() {
        cmd.stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
    }
    let mut child =
        cmd.spawn()
            .map_err(|e| match SpawnError::of(&program.to_string_lossy(), e) {
                SpawnError::NotFound(name) => Error::Exec(ExecFailure::NotFound(name)),
                SpawnError::NotExecutable(name) => Error::Exec(ExecFailure::NotExecutable(name)),
                other => Error::Exec(ExecFailure::Setup(Box::new(Error::io(anyhow!("{other}"))))),
            })?;
    let pid = child.id();
    let tees = child
        .stdout
        .take()
        .zip(child.stderr.take())
        .map(|(out, err)| {
            (
                tokio::spawn(tee(out, tokio::io::stdout())),
                tokio::spawn(tee(err, tokio::io::stderr())),
            )
        });
    let status = loop {
        tokio::select! {
            status = child.wait() => break status,
            signal = signals.next() => {
                let to = match signal {
                    2 => rustix::process::Signal::INT,
                    1 => rustix::process::Signal::HUP,
                    _ => rustix::process::Signal::TERM,
                };
                if let Some(pid) = pid
                    .and_then(|p| i32::try_from(p).ok())
                    .and_then(rustix::process::Pid::from_raw)
                {
                    let _ = rustix::process::kill_process(pid, to);
                }
            }
        }
    }
    .map_err(|e| Error::io(anyhow!("cannot wait for the command: {e}")))?;
    if let (Some(captured), Some((out, err))) = (capture, tees) {
        *captured = Captured {
            stdout: out.await.unwrap_or_default(),
            stderr: err.await.unwrap_or_default(),
        };
    }
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
