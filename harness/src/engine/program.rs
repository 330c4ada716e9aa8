//! Running a scenario with an `exec:` body: the setup steps on the card in process, then the
//! card in a PC/SC reader ([`crate::host::exec`]) and the program under test beside it, then
//! the checks ([`check::program`]). The program's run is reported as one more step, whose
//! entries are everything it exchanged with the card, so every report shows it decoded.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mynasim_simulator::card::{Card, CardEvent, VirtualCard};
use mynasim_simulator::transcript::{Entry, Event};

use super::check::program::{self as checks, CardAfter, Ended};
use super::outcome::{Outcome, Status, StepOutcome, StepStatus};
use super::steps;
use crate::host::exec::{CardInReader, Ending, HostError, Pcscd, run_captured};
use crate::scenario::plan::{Captures, ExecPlan, Plan};
use crate::target::SimLink;

/// Where programs under test find their card.
#[derive(Debug, Clone)]
pub struct ExecHost {
    /// pcscd: a private one per scenario (the default), or the system's.
    pub pcscd: Pcscd,
    /// A `mynasim` built with PC/SC support, to see the card as clients will before the
    /// program starts (see [`CardInReader::start`]).
    pub probe: Option<PathBuf>,
    /// How long the card may take to appear.
    pub wait: Duration,
    /// Why programs cannot run here (what is missing), if they cannot: their scenarios are
    /// then not applicable, and say why.
    pub missing: Option<String>,
}

impl ExecHost {
    /// A private pcscd per scenario, when this machine has what it needs; `probe` as
    /// [`ExecHost::probe`].
    pub fn private(probe: Option<PathBuf>) -> Self {
        Self {
            pcscd: Pcscd::Private,
            probe,
            wait: Duration::from_secs(20),
            missing: crate::host::pcscd::missing(),
        }
    }
}

/// The most bytes of a program's output shown in a failure.
const SHOWN_OUTPUT: usize = 4096;

/// Runs an `exec:` scenario.
pub fn run(plan: &Plan, exec: &ExecPlan, host: &ExecHost) -> Outcome {
    let started = Instant::now();
    if let Some(missing) = &host.missing {
        let mut outcome = steps::fresh(plan, "exec".to_owned());
        outcome.status = Status::NotApplicable;
        outcome.message = Some(format!(
            "the scenario runs a program with the card in a PC/SC reader, and {missing} \
             ({})",
            crate::host::pcscd::INSTALL_HINT
        ));
        return outcome;
    }
    let card = SharedCard::new(plan.card.card.clone());
    let (mut outcome, captures) = if exec.setup.is_empty() {
        (steps::fresh(plan, String::new()), Captures::new())
    } else {
        let mut link = SimLink::new(card.clone());
        steps::run_steps(plan, &exec.setup, &mut link)
    };
    outcome.target = "exec".to_owned();
    if outcome.status != Status::Passed {
        return outcome;
    }
    let number = exec.setup.len() + 1;
    let label = format!("exec {}", exec.shown.join(" "));
    let mut step = StepOutcome {
        number,
        line: exec.line,
        label: label.clone(),
        note: None,
        status: StepStatus::Passed,
        entries: Vec::new(),
        micros: 0,
    };
    let reader = match CardInReader::start(
        Box::new(card.clone()),
        &host.pcscd,
        host.wait,
        host.probe.as_deref(),
    ) {
        Ok(r) => r,
        Err(e) => {
            outcome.status = match e {
                HostError::Invalid(_) => Status::Invalid,
                HostError::Unreachable(_) | HostError::Io(_) => Status::Unreachable,
            };
            outcome.message = Some(format!("cannot put the card in a PC/SC reader: {e}"));
            return outcome;
        }
    };
    card.start_counting();
    let (failures, entries) = run_program(plan, exec, &captures, &card, reader);
    step.entries = entries;
    step.micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
    if !failures.is_empty() {
        outcome.status = Status::Failed;
        outcome.message = Some(format!("step {number} ({label}) failed"));
        step.status = StepStatus::Failed(failures);
    }
    outcome.steps.push(step);
    outcome.micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
    outcome
}

/// Runs the program with the card in the reader, takes the card out, and checks; the
/// failures and the session's entries.
fn run_program(
    plan: &Plan,
    exec: &ExecPlan,
    captures: &Captures,
    card: &SharedCard,
    mut reader: CardInReader,
) -> (Vec<String>, Vec<Entry>) {
    let render = |t: &crate::scenario::plan::Template| {
        String::from_utf8_lossy(&t.render(captures)).into_owned()
    };
    let argv: Vec<String> = exec.argv.iter().map(render).collect();
    let mut env: Vec<(&str, OsString)> = reader.env();
    // The scenario card's validation service, for as long as the program runs.
    let service = if exec.validation {
        match crate::host::validation::Background::start(
            std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
            mynasim_simulator::validation::Service::for_card(&plan.card),
        ) {
            Ok(server) => Some(server),
            Err(e) => {
                return (
                    vec![format!("cannot start the validation service: {e}")],
                    Vec::new(),
                );
            }
        }
    } else {
        None
    };
    if let Some(server) = &service {
        env.push(("MYNASIM_VALIDATION_URL", OsString::from(server.url())));
    }
    for (key, value) in &exec.env {
        env.push((key.as_str(), OsString::from(render(value))));
    }
    let dir = plan
        .path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or_else(|| Path::new("."));
    if let Some((after, back)) = exec.removal {
        reader.schedule_removal(after, back);
    }
    let finished = run_captured(&argv, &env, dir, exec.timeout);
    drop(service);
    let state = card.after();
    reader.remove();
    let (transcript, dropped) = reader.transcript();
    drop(reader);
    let mut entries = transcript.entries.clone();
    if dropped > 0 {
        entries.push(Entry::new(Event::Comment(format!(
            "{dropped} more exchanges not kept"
        ))));
    }
    let finished = match finished {
        Ok(f) => f,
        Err(e) => return (vec![format!("cannot run the program: {e}")], entries),
    };
    let ended = match finished.ending {
        Ending::Exited(code) => Ended::Exited(code),
        Ending::Signal(signal) => Ended::Signal(signal),
        Ending::TimedOut => Ended::TimedOut,
    };
    let stdout = finished.stdout.text();
    let stderr = finished.stderr.text();
    let mut failures = Vec::new();
    if ended == Ended::TimedOut {
        failures.push(format!(
            "the program ran past its time limit of {:?} and was killed (the transcript shows \
             what it sent until then)",
            exec.timeout
        ));
    }
    failures.extend(checks::exit(exec.exit, ended));
    failures.extend(checks::output("stdout", &exec.stdout, &stdout));
    failures.extend(checks::output("stderr", &exec.stderr, &stderr));
    failures.extend(checks::rules(&exec.rules, &transcript));
    failures.extend(checks::after(&exec.after, &state));
    if !failures.is_empty() {
        failures.push(format!(
            "the program {} after {} ms",
            finished.ending,
            finished.elapsed.as_millis()
        ));
        for (name, text) in [("stdout", &stdout), ("stderr", &stderr)] {
            if !text.is_empty() {
                failures.push(format!("{name}:\n{}", tail(text, SHOWN_OUTPUT)));
            }
        }
    }
    (failures, entries)
}

/// The last `limit` bytes of a text (on a character boundary), marked when cut.
fn tail(text: &str, limit: usize) -> String {
    if text.len() <= limit {
        return text.trim_end().to_owned();
    }
    let mut start = text.len() - limit;
    while !text.is_char_boundary(start) {
        start += 1;
    }
    format!(
        "[… {start} bytes before]\n{}",
        text.get(start..).unwrap_or("").trim_end()
    )
}

/// What the shared card counts while the program runs.
#[derive(Debug)]
struct Shared {
    card: Card,
    counting: bool,
    /// The program has sent a command: power events from here on are its resets (before
    /// it, pcscd's own power-on of a freshly inserted card may still arrive).
    commanded: bool,
    signatures: BTreeMap<String, u32>,
    resets: u32,
}

/// The card, shared between the reader's thread and the engine, which reads its state when
/// the program has ended. Counts signatures once [`SharedCard::start_counting`] is called,
/// and resets (power-ons, warm resets) once the program has sent its first command.
#[derive(Debug, Clone)]
struct SharedCard {
    shared: Arc<Mutex<Shared>>,
    /// This handle's copy of the card's ATR, refreshed at every power-on and reset it
    /// makes (the ATR can change per activation: [`mynasim_simulator::card::Reader::Pupi`]).
    atr: Vec<u8>,
}

/// `jpki/0018`.
fn key_name(app: &str, fid: u16) -> String {
    format!("{app}/{fid:04X}")
}

impl SharedCard {
    fn new(card: Card) -> Self {
        let atr = card.atr().to_vec();
        Self {
            shared: Arc::new(Mutex::new(Shared {
                card,
                counting: false,
                commanded: false,
                signatures: BTreeMap::new(),
                resets: 0,
            })),
            atr,
        }
    }

    fn with<R>(&self, f: impl FnOnce(&mut Shared) -> R) -> Option<R> {
        self.shared.lock().ok().map(|mut s| f(&mut s))
    }

    fn start_counting(&self) {
        self.with(|s| {
            s.card.take_events();
            s.counting = true;
        });
    }

    /// Counts what the card did since the last call.
    fn count(s: &mut Shared) {
        for event in s.card.take_events() {
            if !s.counting {
                continue;
            }
            match event {
                CardEvent::Signed { app, key, .. } => {
                    *s.signatures.entry(key_name(app.name(), key.0)).or_default() += 1;
                }
                CardEvent::PoweredOn | CardEvent::WarmReset if s.commanded => s.resets += 1,
                _ => {}
            }
        }
    }

    /// The card's state now.
    fn after(&self) -> CardAfter {
        self.with(|s| {
            Self::count(s);
            let state = s.card.state();
            let mut verified = Vec::new();
            for df in s.card.dfs() {
                for ef in &df.files {
                    if matches!(ef.body, mynasim_simulator::card::EfBody::Pin(_))
                        && s.card.is_verified(df.app, ef.fid)
                    {
                        verified.push(key_name(df.app.name(), ef.fid.0));
                    }
                }
            }
            verified.sort();
            CardAfter {
                tries_left: state
                    .keys
                    .iter()
                    .map(|k| (format!("{}/{}", k.app, k.key), k.tries_left))
                    .collect(),
                signatures: s.signatures.iter().map(|(k, n)| (k.clone(), *n)).collect(),
                verified,
                resets: s.resets,
            }
        })
        .unwrap_or_default()
    }
}

impl VirtualCard for SharedCard {
    fn atr(&self) -> &[u8] {
        &self.atr
    }

    fn power_on(&mut self) {
        if let Some(atr) = self.with(|s| {
            let atr = s.card.power_on().to_vec();
            Self::count(s);
            atr
        }) {
            self.atr = atr;
        }
    }

    fn power_off(&mut self) {
        self.with(|s| {
            s.card.power_off();
            Self::count(s);
        });
    }

    fn reset(&mut self) {
        if let Some(atr) = self.with(|s| {
            let atr = s.card.reset().to_vec();
            Self::count(s);
            atr
        }) {
            self.atr = atr;
        }
    }

    fn transmit_into(&mut self, apdu: &[u8], out: &mut Vec<u8>) {
        let done = self.with(|s| {
            s.card.transmit_into(apdu, out);
            Self::count(s);
            s.commanded |= s.counting;
        });
        if done.is_none() {
            out.clear();
        }
    }

    fn deliver(&mut self) -> mynasim_simulator::card::Deliver {
        self.with(|s| s.card.deliver()).unwrap_or_default()
    }

    fn arm_faults(&mut self, plan: mynasim_simulator::card::FaultPlan) -> bool {
        self.with(|s| s.card.arm_faults(plan)).unwrap_or(false)
    }

    fn with_card(&mut self, change: &mut dyn FnMut(&mut Card)) -> bool {
        self.with(|s| {
            change(&mut s.card);
        })
        .is_some()
    }
}
