//! `mynasim serve`: simulated cards in pcscd's virtual reader (vsmartcard vpcd), one card per
//! slot, until Ctrl-C or SIGTERM.
//!
//! Each card runs in the one hosting loop ([`crate::host::slot`]). Control: `--control PATH`
//! answers one-line commands ([`crate::host::control`]), SIGUSR1 / SIGUSR2 remove / insert
//! every card; SIGINT, SIGTERM and SIGHUP stop it cleanly. Readiness: `--ready-file PATH` appears once every card has been seen by its
//! reader (and is removed on exit); the control command `ready` says the same.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::anyhow;
use mynasim_simulator::card::VirtualCard;
use mynasim_simulator::hex;
use mynasim_simulator::replay::{OnDivergence, ReplayCard};
use mynasim_simulator::transcript::{Event, text};
use mynasim_simulator::transport;
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::exit::Error;
use crate::host::config::{ConfigError, ServePlan, ServeRequest};
use crate::host::control::{self, ControlledSlot};
use crate::host::record::{self, Recorder};
use crate::host::replay::Reporting;
use crate::host::slot::{self, Disconnect, SlotEvent, SlotHandle, SlotSpec};
use crate::host::state::PersistentCard;

/// The longest `--wait`: a day. Longer waits are "for ever" in practice, and bounded
/// values keep the deadline arithmetic from overflowing.
pub const MAX_WAIT: f64 = 86_400.0;

/// How long stopping may take before the remaining tasks are abandoned.
const STOP_GRACE: Duration = Duration::from_secs(5);

/// What to serve.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Slots, profiles, vpcd address, control socket.
    pub request: ServeRequest,
    /// Give up (exit 3) if some card has not reached its reader within this time
    /// ([`parse_wait`]).
    pub wait: Option<Duration>,
    /// Create this file once every card has been seen by its reader.
    pub ready_file: Option<PathBuf>,
    /// Serve the cards' validation service (OCSP, CRLs) here, on loopback.
    pub validation: Option<std::net::SocketAddr>,
    /// Record every exchange and power event of every slot here (JSON Lines,
    /// [`crate::host::record`]).
    pub record: Option<PathBuf>,
    /// Keep PINs and passwords in the record instead of masking them.
    pub keep_secrets: bool,
    /// Answer from this recorded transcript instead of the simulated card
    /// ([`mynasim_simulator::replay`]); one card only.
    pub replay: Option<PathBuf>,
    /// What the replay card does once a command differs from the recording.
    pub on_divergence: OnDivergence,
    /// Relay the card in this PC/SC reader (`mynasim relay`) instead of a simulated card;
    /// one card.
    pub relay: Option<String>,
    /// With `relay`: faults applied on the way (`--fault YAML`, as for exec).
    pub relay_faults: Vec<String>,
}

/// Reads `--wait`: a number of seconds from 0 to a day.
///
/// # Errors
/// Anything else, with why.
pub fn parse_wait(text: &str) -> Result<Duration, String> {
    let seconds: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("`{text}` is not a number of seconds"))?;
    if !seconds.is_finite() || !(0.0..=MAX_WAIT).contains(&seconds) {
        return Err(format!(
            "`{text}`: give 0 to {MAX_WAIT} seconds (leave --wait out to wait for ever)"
        ));
    }
    Ok(Duration::from_secs_f64(seconds))
}

/// Serves until a stop signal.
///
/// # Errors
/// Invalid arguments or profiles (2); no reader within `--wait` (3); the runtime, a socket
/// or the ready file failing (4).
pub fn run(options: &Options) -> Result<(), Error> {
    let plan = ServePlan::resolve(&options.request).map_err(|e| match e {
        ConfigError::Profile(e) => Error::from(e),
        ConfigError::Argument(m) => Error::invalid(anyhow!(m)),
    })?;
    let wait = options.wait;
    let mut cards = Vec::new();
    // A replay card's divergence under `--on-divergence fail`: serve stops with it.
    let diverged = tokio::sync::mpsc::unbounded_channel::<String>();
    let mut service: Option<mynasim_simulator::validation::Service> = None;
    for (&number, slot) in &plan.slots {
        let issued = slot.profile.issue()?;
        if options.validation.is_some() {
            match &mut service {
                None => service = Some(mynasim_simulator::validation::Service::for_card(&issued)),
                Some(s) => s.register_card(&issued),
            }
        }
        let addr = transport::slot_addr(plan.vpcd, number)
            .ok_or_else(|| Error::invalid(anyhow!("slot {number}: port out of range")))?;
        tracing::info!(
            "slot {number}: {} (ATR {}) → vpcd {addr}",
            slot.profile.origin(),
            hex::spaced(issued.card.atr())
        );
        if let Some(reader) = &options.relay {
            if plan.slots.len() != 1 {
                return Err(Error::invalid(anyhow!(
                    "relay serves one card: give no other slots"
                )));
            }
            let mut card = relay_card(reader)?;
            // Seed 0: a relay's jitter is the same from run to run (docs/faults.md).
            if let Some(plan) = super::exec::compile_fault_args(&options.relay_faults, 0)? {
                tracing::info!(
                    "slot {number}: {} fault(s) applied on the way",
                    options.relay_faults.len()
                );
                card = Box::new(mynasim_simulator::card::Faulted::new(card, plan));
            }
            tracing::info!(
                "slot {number}: relaying the card in `{reader}` (ATR {}) → vpcd {addr}",
                hex::spaced(card.atr())
            );
            cards.push((
                SlotSpec { number, addr },
                format!("relay of {reader}"),
                card,
            ));
            continue;
        }
        if let Some(path) = &options.replay {
            if plan.slots.len() != 1 {
                return Err(Error::invalid(anyhow!(
                    "--replay serves one card: give no other slots"
                )));
            }
            let recording = record::read(path, None).map_err(|e| Error::invalid(anyhow!(e)))?;
            tracing::info!(
                "slot {number}: replaying {} ({} exchanges; on divergence: {})",
                path.display(),
                recording.exchanges().count(),
                match options.on_divergence {
                    OnDivergence::Fail => "fail",
                    OnDivergence::Simulate => "simulate",
                }
            );
            let fail = options.on_divergence == OnDivergence::Fail;
            let stop = diverged.0.clone();
            let card: Box<dyn VirtualCard + Send> = Box::new(Reporting::new(
                ReplayCard::new(&recording, options.on_divergence, Some(issued.card)),
                Box::new(move |divergence| {
                    tracing::error!("slot {number}: replay: {divergence}");
                    // `--on-divergence fail` stops serve (exit 1) with the divergence.
                    if fail {
                        let _ = stop.send(divergence.to_string());
                    }
                }),
            ));
            cards.push((SlotSpec { number, addr }, slot.profile.origin(), card));
            continue;
        }
        let card: Box<dyn VirtualCard + Send> = match &slot.state {
            None => Box::new(issued.card),
            Some(path) => {
                let card = PersistentCard::open(issued.card, path)
                    .map_err(|e| Error::invalid(anyhow!("slot {number}: --state {e}")))?;
                tracing::info!("slot {number}: state in {}", path.display());
                Box::new(card)
            }
        };
        cards.push((SlotSpec { number, addr }, slot.profile.origin(), card));
    }
    // The validation service for the served cards, on a thread of its own until serve ends.
    let _validation = match (options.validation, service) {
        (Some(addr), Some(service)) => {
            crate::host::validation::check_loopback(addr, false)
                .map_err(|e| Error::invalid(anyhow!("--validation {e}")))?;
            let server =
                crate::host::validation::Background::start(addr, service).map_err(|e| {
                    Error::io(anyhow!(
                        "cannot start the validation service on {addr}: {e}"
                    ))
                })?;
            tracing::info!("validation service (OCSP, CRLs) on {}", server.url());
            eprintln!("validation service (OCSP, CRLs) on {}", server.url());
            Some(server)
        }
        _ => None,
    };
    let recorder = match &options.record {
        Some(path) => {
            let recorder = Recorder::create(path, options.keep_secrets).map_err(|e| {
                Error::io(anyhow!("cannot create the record {}: {e}", path.display()))
            })?;
            if options.keep_secrets {
                eprintln!(
                    "warning: --keep-secrets: {} records PINs and passwords as they were sent",
                    path.display()
                );
            }
            Some(Arc::new(recorder))
        }
        None => None,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::io(anyhow!("cannot start the async runtime: {e}")))?;
    let served = runtime.block_on(serve(
        cards,
        plan.control,
        wait,
        options.ready_file.clone(),
        recorder.clone(),
        diverged.1,
    ));
    if let Some(recorder) = recorder {
        recorder.finish().map_err(|e| {
            Error::io(anyhow!(
                "the record {} is incomplete: {e}",
                recorder.path().display()
            ))
        })?;
    }
    served
}

async fn serve(
    cards: Vec<(SlotSpec, String, Box<dyn VirtualCard + Send>)>,
    control_path: Option<PathBuf>,
    wait: Option<Duration>,
    ready_file: Option<PathBuf>,
    recorder: Option<Arc<Recorder>>,
    diverged: tokio::sync::mpsc::UnboundedReceiver<String>,
) -> Result<(), Error> {
    let signals = Signals::install()?;
    let (shutdown_tx, shutdown) = watch::channel(false);
    let listener = match &control_path {
        Some(path) => Some(
            control::bind(path)
                .await
                .map_err(|e| Error::invalid(anyhow!(e)))?,
        ),
        None => None,
    };
    let mut tasks = JoinSet::new();
    let mut slots = Vec::new();
    for (spec, origin, card) in cards {
        let log_spec = spec.clone();
        let (slot, handle) = slot::slot(spec, card);
        let mut stop = shutdown.clone();
        let recorder = recorder.clone();
        tasks.spawn(async move {
            slot.run(
                async move {
                    let _ = stop.wait_for(|v| *v).await;
                },
                move |event| {
                    log_event(&log_spec, event);
                    if let Some(recorder) = &recorder {
                        record_event(recorder, log_spec.number, event);
                    }
                },
            )
            .await;
        });
        slots.push(ControlledSlot { handle, origin });
    }
    if let Some(listener) = listener {
        tasks.spawn(control::serve(listener, slots.clone(), shutdown.clone()));
    }
    if let Some(path) = ready_file.clone() {
        let handles: Vec<SlotHandle> = slots.iter().map(|s| s.handle.clone()).collect();
        tasks.spawn(async move {
            for h in &handles {
                h.wait_for(|s| s.ready || !s.inserted).await;
            }
            match write_ready_file(&path, &handles) {
                Ok(()) => tracing::info!("ready: every card is in its reader ({})", path.display()),
                Err(e) => tracing::error!("cannot write --ready-file {}: {e}", path.display()),
            }
        });
    }
    let handles: Vec<SlotHandle> = slots.iter().map(|s| s.handle.clone()).collect();
    let outcome = wait_for_stop(signals, &handles, wait, diverged).await;
    let _ = shutdown_tx.send(true);
    let stopped = tokio::time::timeout(STOP_GRACE, async {
        while tasks.join_next().await.is_some() {}
    })
    .await;
    if stopped.is_err() {
        tracing::warn!("some tasks did not stop within {STOP_GRACE:?}; exiting anyway");
        tasks.abort_all();
    }
    if let Some(path) = &control_path {
        let _ = std::fs::remove_file(path);
    }
    if let Some(path) = &ready_file {
        let _ = std::fs::remove_file(path);
    }
    outcome
}

/// Writes the ready file atomically (a temporary file renamed into place): one line per slot.
fn write_ready_file(path: &Path, handles: &[SlotHandle]) -> std::io::Result<()> {
    let mut text = String::from("ready\n");
    for h in handles {
        text.push_str(&format!(
            "slot {} vpcd {}\n",
            h.spec().number,
            h.spec().addr
        ));
    }
    let tmp = path.with_extension("tmp-mynasim");
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, path)
}

/// The signals serve handles, installed before any card is served: a signal that arrives
/// once the first APDU has been answered must stop serve cleanly, not kill it.
struct Signals {
    term: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
    hup: tokio::signal::unix::Signal,
    usr1: tokio::signal::unix::Signal,
    usr2: tokio::signal::unix::Signal,
}

impl Signals {
    fn install() -> Result<Self, Error> {
        use tokio::signal::unix::{SignalKind, signal};
        let handler = |kind: SignalKind, name: &str| {
            signal(kind).map_err(|e| Error::io(anyhow!("cannot handle {name}: {e}")))
        };
        Ok(Self {
            term: handler(SignalKind::terminate(), "SIGTERM")?,
            int: handler(SignalKind::interrupt(), "SIGINT")?,
            hup: handler(SignalKind::hangup(), "SIGHUP")?,
            usr1: handler(SignalKind::user_defined1(), "SIGUSR1")?,
            usr2: handler(SignalKind::user_defined2(), "SIGUSR2")?,
        })
    }
}

/// Waits for SIGINT/SIGTERM, handling SIGUSR1/SIGUSR2 meanwhile.
async fn wait_for_stop(
    signals: Signals,
    handles: &[SlotHandle],
    wait: Option<Duration>,
    mut diverged: tokio::sync::mpsc::UnboundedReceiver<String>,
) -> Result<(), Error> {
    let Signals {
        mut term,
        mut int,
        mut hup,
        mut usr1,
        mut usr2,
    } = signals;
    let mut deadline = wait.map(|w| tokio::time::Instant::now() + w);
    loop {
        let until = deadline;
        let timeout = async move {
            match until {
                Some(d) => tokio::time::sleep_until(d).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = term.recv() => {
                tracing::info!("SIGTERM: stopping");
                return Ok(());
            }
            _ = int.recv() => {
                tracing::info!("interrupted: stopping");
                return Ok(());
            }
            // The terminal went away: stop cleanly, as for SIGTERM (no configuration reload).
            _ = hup.recv() => {
                tracing::info!("SIGHUP: stopping");
                return Ok(());
            }
            Some(divergence) = diverged.recv() => {
                tracing::info!("the replay left its recording: stopping (--on-divergence fail)");
                return Err(Error::Differs(format!("replay: {divergence}")));
            }
            _ = usr1.recv() => {
                for h in handles {
                    h.remove();
                }
            }
            _ = usr2.recv() => {
                for h in handles {
                    h.insert();
                }
            }
            () = timeout => {
                let missing: Vec<String> = handles
                    .iter()
                    .filter(|h| !h.status().ever_connected)
                    .map(|h| format!("slot {} ({})", h.spec().number, h.spec().addr))
                    .collect();
                if !missing.is_empty() {
                    return Err(Error::unreachable(anyhow!(
                        "no vpcd reader accepted {} within {:?}: is pcscd running with \
                         vsmartcard-vpcd (ci/setup installs it)?",
                        missing.join(", "),
                        wait.unwrap_or_default()
                    )));
                }
                // Every card reached its reader in time: no deadline from now on.
                deadline = None;
            }
        }
    }
}

/// The card in a PC/SC reader, as a virtual card ([`crate::target::relay`]).
#[cfg(feature = "pcsc")]
fn relay_card(reader: &str) -> Result<Box<dyn VirtualCard + Send>, Error> {
    let link = crate::target::pcsc::PcscLink::open(reader)?;
    let atr = link.atr().to_vec();
    Ok(Box::new(crate::target::relay::LinkCard::new(link, atr)))
}

/// Without PC/SC support there is no reader to relay.
#[cfg(not(feature = "pcsc"))]
fn relay_card(_reader: &str) -> Result<Box<dyn VirtualCard + Send>, Error> {
    Err(crate::target::TargetError::NotBuilt.into())
}

/// What a record keeps of an event: the card's entries, and removals and insertions.
fn record_event(recorder: &Recorder, slot: u16, event: &SlotEvent) {
    match event {
        SlotEvent::Card(entry) => recorder.entry(slot, entry),
        SlotEvent::Moved(inserted) => recorder.note(
            slot,
            if *inserted {
                "card inserted"
            } else {
                "card removed"
            },
        ),
        _ => {}
    }
}

/// One log line per event: connections at info, APDUs and power at debug (PINs masked),
/// pcscd's presence polls (get ATR, every ~400 ms) at trace, link anomalies as warnings.
fn log_event(spec: &SlotSpec, event: &SlotEvent) {
    let (slot, addr) = (spec.number, spec.addr);
    match event {
        SlotEvent::Waiting { error, first: true } => tracing::info!(
            "slot {slot}: waiting for pcscd's vpcd reader at {addr} ({error}); retrying"
        ),
        SlotEvent::Waiting {
            error,
            first: false,
        } => {
            tracing::debug!("slot {slot}: vpcd at {addr}: {error}");
        }
        SlotEvent::Connected => tracing::info!("slot {slot}: connected to vpcd at {addr}"),
        SlotEvent::Ready => tracing::debug!("slot {slot}: seen by the reader"),
        SlotEvent::Moved(inserted) => tracing::info!(
            "slot {slot}: card {}",
            if *inserted { "inserted" } else { "removed" }
        ),
        SlotEvent::Disconnected(why) => match why {
            Disconnect::ReaderClosed => tracing::info!(
                "slot {slot}: vpcd closed the connection (pcscd stopped or restarted); reconnecting"
            ),
            Disconnect::Failed(e) => tracing::warn!("slot {slot}: {e}; reconnecting"),
            Disconnect::Removed | Disconnect::Stopping => {}
        },
        SlotEvent::Card(entry) => match &entry.event {
            Event::AtrPoll => tracing::trace!("slot {slot}: get ATR"),
            Event::Link(what) => tracing::warn!("slot {slot}: {what}"),
            Event::Exchange(x) if x.response.is_empty() => tracing::debug!(
                "slot {slot}: >> {} << (nothing: the card is unpowered) ({} µs)",
                x.format_command(true),
                entry.elapsed.as_micros()
            ),
            Event::Exchange(x) => tracing::debug!(
                "slot {slot}: >> {} << {} ({} µs)",
                x.format_command(true),
                hex::spaced(&x.response),
                entry.elapsed.as_micros()
            ),
            other => {
                let mut line = String::new();
                text::push_event(&mut line, other, true);
                let line = line.trim_end();
                tracing::debug!("slot {slot}: {}", line.strip_prefix("-- ").unwrap_or(line));
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wait_takes_a_day_at_most_and_no_nonsense() {
        assert_eq!(parse_wait("0.5"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_wait("0"), Ok(Duration::ZERO));
        for bad in ["-1", "NaN", "inf", "1e20", "1.8e19", "x", ""] {
            assert!(parse_wait(bad).is_err(), "{bad}");
        }
    }
}
