//! `mynasim certify`: a reader-conformance run against the card in a named reader — real
//! hardware, or a simulated card behind pcscd — built from the bundled portable scenarios
//! ([`catalog`]) and reader probes ([`capabilities`]). `docs/certification.md` is the user's page.
//!
//! The run, in order: probe the reader (identity, ATR, protocol, sizes, part 10 features);
//! decide whether the card is known to be simulated ([`Permissions`]); then each case, in
//! catalog order, is gated ([`gate`]: capability, safety class, secrets) and run on a worker
//! thread under a watchdog ([`supervise`]): every PC/SC call has its own time-out, and a call
//! that never returns ends the case "timed out" and the run (a blocked PC/SC call cannot be
//! cancelled), never the process. The [`Report`] carries the environment, the capability
//! table, every case with its steps (expected and observed) and its masked transcript, the
//! timing of every exchange by instruction and of the typical flows, and the verdict;
//! [`report`] renders it as terminal text, JSON, JUnit and HTML.
//!
//! Nothing here knows PC/SC: a [`Reader`] opens links and probes; `reader` (feature `pcsc`)
//! is the real one, and the tests drive the same run with the in-process card.

pub mod capabilities;
pub mod catalog;
pub mod environment;
#[cfg(feature = "pcsc")]
pub mod reader;
pub mod report;
pub mod timing;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mynasim_simulator::transcript::{Event, command_name};
use serde::Serialize;

use crate::engine::{Outcome, Status, StepStatus, steps};
use crate::scenario::plan::{Body, Expectations, Plan};
use crate::scenario::safety::Safety;
use crate::scenario::{CardCache, CardSecrets, compile_with_secrets, load::load_str};
use crate::target::{Link, TargetError};

pub use capabilities::Capabilities;
pub use catalog::{CASES, CaseDef, Flow, Kind, Probe};
pub use environment::Environment;

/// How much a case matters for the verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Importance {
    /// The verdict fails when an applicable must-case does not pass.
    Must,
    /// Reported; does not decide the verdict.
    Should,
    /// Reported; does not decide the verdict.
    May,
}

impl Importance {
    /// `must`, `should`, `may`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Must => "must",
            Self::Should => "should",
            Self::May => "may",
        }
    }
}

/// How a case ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CaseStatus {
    /// Every step held.
    Passed,
    /// A step did not.
    Failed,
    /// A capability it needs is not declared.
    NotApplicable,
    /// Not run for safety (its class is not allowed, or a secret is missing).
    Skipped,
    /// A PC/SC call did not return within the step time-out.
    TimedOut,
    /// The card left the reader (before or during the case).
    CardRemoved,
    /// Not run: the reader hung, or was not found.
    NotRun,
    /// Something else went wrong (the reader or pcscd went away, a case did not compile).
    Error,
}

impl CaseStatus {
    /// The name reports use.
    pub fn name(self) -> &'static str {
        match self {
            Self::Passed => "passed",
            Self::Failed => "failed",
            Self::NotApplicable => "not applicable",
            Self::Skipped => "skipped",
            Self::TimedOut => "timed out",
            Self::CardRemoved => "card removed",
            Self::NotRun => "not run",
            Self::Error => "error",
        }
    }
}

/// One step of a case as reports show it.
#[derive(Debug, Clone, Serialize)]
pub struct StepRow {
    /// 1-based.
    pub number: usize,
    /// What it did (`read 000A`).
    pub label: String,
    /// What it expected.
    pub expected: String,
    /// What came back.
    pub observed: String,
    /// `passed`, `failed`, `skipped`.
    pub status: &'static str,
    /// What did not hold.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub failures: Vec<String>,
}

/// One case's result.
#[derive(Debug, Clone, Serialize)]
pub struct CaseResult {
    /// Stable ID.
    pub id: &'static str,
    /// What it checks.
    pub title: String,
    /// The clause.
    pub clause: &'static str,
    /// Importance.
    pub importance: Importance,
    /// Safety class.
    pub safety: Safety,
    /// Where it comes from (`scenarios/jpki/seq01-card-check.yaml`, `probe`).
    pub source: String,
    /// Result.
    pub status: CaseStatus,
    /// Why, for anything but passed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Steps.
    pub steps: Vec<StepRow>,
    /// The raw transcript, secrets masked (`>>`/`<<` text).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub transcript: String,
    /// Time spent, microseconds.
    pub micros: u64,
}

/// The overall verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// Every applicable must-case passed.
    Pass,
    /// An applicable must-case failed.
    Fail,
    /// The run could not finish: the reader hung, or the card left.
    Incomplete,
    /// The reader (or pcscd, or a card in it) was not found.
    ReaderNotFound,
}

impl Verdict {
    /// The name reports use.
    pub fn name(self) -> &'static str {
        match self {
            Self::Pass => "pass",
            Self::Fail => "fail",
            Self::Incomplete => "incomplete",
            Self::ReaderNotFound => "reader not found",
        }
    }
}

/// What the user allows on the card.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Permissions {
    /// `--simulated`: the user says the card is simulated (or a test card that may be spent).
    pub simulated: bool,
    /// `--allow-pin-use`: VERIFY with the user's PIN and signing may run.
    pub allow_pin_use: bool,
    /// `--allow-destructive`: wrong PINs, PIN changes, unknown instructions may run — on a
    /// simulated card only.
    pub allow_destructive: bool,
}

/// How to run.
#[derive(Debug, Clone)]
pub struct Options {
    /// The longest one PC/SC call (connect, transmit, reconnect) may take.
    pub step_timeout: Duration,
    /// How many times each flow case runs for its timing.
    pub flow_runs: usize,
    /// What is allowed.
    pub permissions: Permissions,
    /// The holder's secrets, standing in for `${card.pin.…}`.
    pub secrets: CardSecrets,
    /// Only the cases whose ID contains one of these (all when empty).
    pub only: Vec<String>,
}

/// A reader to certify: something that opens links to its card and probes it.
pub trait Reader: Send + Sync + 'static {
    /// The reader's name as asked for.
    fn name(&self) -> String;
    /// Connects and reads what the reader declares.
    ///
    /// # Errors
    /// The reader, pcscd or the card is not there.
    fn probe(&self) -> Result<Capabilities, TargetError>;
    /// A fresh connection to the card.
    ///
    /// # Errors
    /// The reader, pcscd or the card is not there.
    fn open(&self) -> Result<Box<dyn Link + Send>, TargetError>;
}

/// The whole result of a run.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Report format version.
    pub version: u32,
    /// When and where.
    pub environment: Environment,
    /// The reader as asked for.
    pub reader: String,
    /// What the reader declares (none when it was not found).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub capabilities: Option<Capabilities>,
    /// Why the reader could not be used, if it could not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reader_error: Option<String>,
    /// What was allowed.
    pub permissions: Permissions,
    /// Whether the card counts as simulated, and why.
    pub simulated: Option<String>,
    /// The step time-out, seconds.
    pub step_timeout_seconds: f64,
    /// Every case.
    pub cases: Vec<CaseResult>,
    /// Exchange times by instruction.
    pub instructions: Vec<timing::InstructionTiming>,
    /// The flows' times.
    pub flows: Vec<timing::FlowTiming>,
    /// The verdict.
    pub verdict: Verdict,
    /// Why the verdict is what it is, in a sentence.
    pub verdict_reason: String,
    /// Wall time, milliseconds.
    pub millis: u64,
}

impl Report {
    /// The cases not run for safety, with why.
    pub fn skipped(&self) -> impl Iterator<Item = &CaseResult> {
        self.cases
            .iter()
            .filter(|c| c.status == CaseStatus::Skipped)
    }

    /// Counts by status name, in a fixed order.
    pub fn counts(&self) -> Vec<(&'static str, usize)> {
        let all = [
            CaseStatus::Passed,
            CaseStatus::Failed,
            CaseStatus::NotApplicable,
            CaseStatus::Skipped,
            CaseStatus::TimedOut,
            CaseStatus::CardRemoved,
            CaseStatus::NotRun,
            CaseStatus::Error,
        ];
        all.iter()
            .map(|s| {
                (
                    s.name(),
                    self.cases.iter().filter(|c| c.status == *s).count(),
                )
            })
            .collect()
    }
}

// ---------------------------------------------------------------------------------------
// Gating

/// Whether a case may run, and why not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Gate {
    /// Run it.
    Run,
    /// Not applicable: a capability is missing.
    NotApplicable(String),
    /// Skipped for safety.
    Skipped(String),
}

/// The rule (docs/certification.md, "Safety"): `read-only` and `pin-query` always run;
/// `uses-secret` needs `--allow-pin-use` and every PIN it presents given by the user (on a
/// simulated card a PIN not given is the default profile's); `destructive` needs
/// `--allow-destructive` and a simulated card. A case that sends extended APDUs needs a
/// reader that declares them.
pub fn gate(
    safety: Safety,
    card_values: &std::collections::BTreeSet<String>,
    extended: bool,
    caps: &Capabilities,
    permissions: Permissions,
    simulated: bool,
    secrets: &CardSecrets,
) -> Gate {
    if extended && !caps.extended() {
        return Gate::NotApplicable(
            "it sends extended-length APDUs, and the reader declares none \
             (SCARD_ATTR_MAXINPUT and dwMaxAPDUDataSize absent or at most 255)"
                .to_owned(),
        );
    }
    match safety {
        Safety::ReadOnly | Safety::PinQuery => Gate::Run,
        Safety::UsesSecret => {
            if !permissions.allow_pin_use {
                return Gate::Skipped(
                    "uses-secret: it presents the holder's PIN or signs, and a wrong PIN costs \
                     a try; run with --allow-pin-use and the PIN (--pin-env, --pin-file)"
                        .to_owned(),
                );
            }
            let missing: Vec<&str> = card_values
                .iter()
                .filter(|v| !secrets.has(v))
                .map(String::as_str)
                .collect();
            if !missing.is_empty() && !simulated {
                return Gate::Skipped(format!(
                    "uses-secret: it needs {} and none was given (--pin-env, --pin-file or \
                     --pin for {})",
                    missing
                        .iter()
                        .map(|m| format!("`{m}`"))
                        .collect::<Vec<_>>()
                        .join(", "),
                    missing
                        .iter()
                        .map(|m| m.trim_start_matches("pin."))
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
            Gate::Run
        }
        Safety::Destructive => {
            if !permissions.allow_destructive {
                Gate::Skipped(
                    "destructive: it spends PIN tries, changes secrets or sends instructions \
                     not known to be harmless; only on a simulated card with \
                     --allow-destructive"
                        .to_owned(),
                )
            } else if !simulated {
                Gate::Skipped(
                    "destructive: --allow-destructive was given, but the card is not known to \
                     be simulated (say --simulated, or use a mynasim card)"
                        .to_owned(),
                )
            } else {
                Gate::Run
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Supervision

/// What is in flight on a worker: since when, and what (no secrets: the command's name and
/// header).
#[derive(Debug, Default)]
pub struct Watch {
    in_flight: Mutex<Option<(Instant, String)>>,
    removed: AtomicBool,
}

impl Watch {
    fn begin(&self, what: String) {
        if let Ok(mut w) = self.in_flight.lock() {
            *w = Some((Instant::now(), what));
        }
    }

    fn end<T>(&self, result: &Result<T, TargetError>) {
        if let Ok(mut w) = self.in_flight.lock() {
            *w = None;
        }
        if let Err(TargetError::Removed(_)) = result {
            self.removed.store(true, Ordering::SeqCst);
        }
    }

    /// What has been in flight longer than `limit`.
    fn overdue(&self, limit: Duration) -> Option<String> {
        let w = self.in_flight.lock().ok()?;
        let (since, what) = w.as_ref()?;
        (since.elapsed() > limit).then(|| what.clone())
    }

    /// Whether a call found the card gone.
    pub fn saw_removal(&self) -> bool {
        self.removed.load(Ordering::SeqCst)
    }

    /// Runs one watched call.
    pub fn call<T>(
        &self,
        what: impl Into<String>,
        f: impl FnOnce() -> Result<T, TargetError>,
    ) -> Result<T, TargetError> {
        self.begin(what.into());
        let result = f();
        self.end(&result);
        result
    }
}

/// A link whose every call is watched.
pub struct Watched {
    inner: Box<dyn Link + Send>,
    watch: Arc<Watch>,
}

impl Watched {
    /// Wraps a link.
    pub fn new(inner: Box<dyn Link + Send>, watch: Arc<Watch>) -> Self {
        Self { inner, watch }
    }
}

/// A command as the watchdog names it: its name and header, never its data.
fn header(apdu: &[u8]) -> String {
    let head: Vec<String> = apdu.iter().take(4).map(|b| format!("{b:02X}")).collect();
    format!("{} ({})", command_name(apdu), head.join(" "))
}

impl Link for Watched {
    fn describe(&self) -> String {
        self.inner.describe()
    }
    fn power_on(&mut self) -> Result<Vec<u8>, TargetError> {
        let inner = &mut self.inner;
        self.watch.call("power on (reconnect)", || inner.power_on())
    }
    fn power_off(&mut self) -> Result<(), TargetError> {
        let inner = &mut self.inner;
        self.watch
            .call("power off (disconnect)", || inner.power_off())
    }
    fn reset(&mut self) -> Result<Vec<u8>, TargetError> {
        let inner = &mut self.inner;
        self.watch.call("reset (reconnect)", || inner.reset())
    }
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, TargetError> {
        let inner = &mut self.inner;
        self.watch.call(header(apdu), || inner.transmit(apdu))
    }
    fn runs_scenario_card(&self) -> bool {
        false
    }
}

/// How a supervised job ended.
#[derive(Debug)]
pub enum Supervised<T> {
    /// It finished.
    Done(T),
    /// A call was in flight longer than the time-out: what it was.
    TimedOut(String),
    /// The worker died (a panic; reported, not propagated).
    Died,
}

/// Runs `job` on a worker thread; returns when it finishes, or as soon as one of its
/// watched calls has been in flight longer than `limit`. A timed-out worker is left behind
/// (detached): a PC/SC call blocked in pcscd cannot be cancelled, and it ends with the
/// process.
pub fn supervise<T: Send + 'static>(
    watch: &Arc<Watch>,
    limit: Duration,
    job: impl FnOnce() -> T + Send + 'static,
) -> Supervised<T> {
    let (tx, rx) = std::sync::mpsc::channel();
    let spawned = std::thread::Builder::new()
        .name("certify-case".to_owned())
        .spawn(move || {
            let _ = tx.send(job());
        });
    if spawned.is_err() {
        return Supervised::Died;
    }
    loop {
        match rx.recv_timeout(Duration::from_millis(20)) {
            Ok(value) => return Supervised::Done(value),
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => return Supervised::Died,
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                if let Some(what) = watch.overdue(limit) {
                    return Supervised::TimedOut(what);
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// The run

/// Identifies a mynasim card by reading (read-only) the authentication CA certificate in
/// JPKI EF 000B: mynasim's TEST PKI names itself in every CA name. Returns how it was
/// identified.
fn identify(link: &mut dyn Link) -> Result<Option<String>, TargetError> {
    const SELECT_JPKI: [u8; 15] = [
        0x00, 0xA4, 0x04, 0x0C, 0x0A, 0xD3, 0x92, 0xF0, 0x00, 0x26, 0x01, 0x00, 0x00, 0x00, 0x01,
    ];
    const SELECT_000B: [u8; 7] = [0x00, 0xA4, 0x02, 0x0C, 0x02, 0x00, 0x0B];
    let ok = |r: &[u8]| r.ends_with(&[0x90, 0x00]);
    if !ok(&link.transmit(&SELECT_JPKI)?) || !ok(&link.transmit(&SELECT_000B)?) {
        return Ok(None);
    }
    let mut der = Vec::new();
    for block in 0u8..16 {
        let r = link.transmit(&[0x00, 0xB0, block, 0x00, 0x00])?;
        let Some((data, _)) = r.split_last_chunk::<2>().filter(|_| ok(&r)) else {
            break;
        };
        der.extend_from_slice(data);
        if data.len() < 256 {
            break;
        }
    }
    let found = der.windows(7).any(|w| w == b"mynasim");
    Ok(found.then(|| {
        "identified: the authentication CA certificate (JPKI EF 000B) is mynasim's TEST CA"
            .to_owned()
    }))
}

/// Runs the certification against `reader`.
pub fn run(reader: Arc<dyn Reader>, options: &Options) -> Report {
    let started = Instant::now();
    let environment = Environment::gather();
    let mut report = Report {
        version: 1,
        environment,
        reader: reader.name(),
        capabilities: None,
        reader_error: None,
        permissions: options.permissions,
        simulated: None,
        step_timeout_seconds: options.step_timeout.as_secs_f64(),
        cases: Vec::new(),
        instructions: Vec::new(),
        flows: Vec::new(),
        verdict: Verdict::Pass,
        verdict_reason: String::new(),
        millis: 0,
    };
    let selected: Vec<&'static CaseDef> = CASES
        .iter()
        .filter(|c| options.only.is_empty() || options.only.iter().any(|o| c.id.contains(o)))
        .collect();
    let limit = options.step_timeout;
    let watch = Arc::new(Watch::default());
    let probed = {
        let r = Arc::clone(&reader);
        let w = Arc::clone(&watch);
        supervise(&watch, limit, move || {
            w.call("connect and read the reader's attributes", || r.probe())
        })
    };
    let mut caps = match probed {
        Supervised::Done(Ok(caps)) => caps,
        Supervised::Done(Err(e)) => {
            return finish_without_reader(report, &selected, &e.to_string(), started);
        }
        Supervised::TimedOut(what) => {
            return finish_hung(
                report,
                &selected,
                limit,
                &what,
                "probing the reader",
                started,
            );
        }
        Supervised::Died => {
            return finish_without_reader(
                report,
                &selected,
                "probing the reader failed unexpectedly",
                started,
            );
        }
    };
    report.capabilities = Some(caps.clone());
    let identified = {
        let r = Arc::clone(&reader);
        let w = Arc::clone(&watch);
        supervise(&watch, limit, move || {
            let mut link = Watched::new(w.call("connect", || r.open())?, Arc::clone(&w));
            identify(&mut link)
        })
    };
    let identified = match identified {
        Supervised::Done(Ok(v)) => v,
        Supervised::Done(Err(e)) => {
            return finish_without_reader(report, &selected, &e.to_string(), started);
        }
        Supervised::TimedOut(what) => {
            return finish_hung(
                report,
                &selected,
                limit,
                &what,
                "reading the card's CA certificate (read-only)",
                started,
            );
        }
        Supervised::Died => {
            return finish_without_reader(
                report,
                &selected,
                "reading the card failed unexpectedly",
                started,
            );
        }
    };
    caps.identified_as_simulated.clone_from(&identified);
    let simulated = match (&identified, options.permissions.simulated) {
        (Some(how), _) => Some(how.clone()),
        (None, true) => Some("asserted by the user (--simulated)".to_owned()),
        (None, false) => None,
    };
    report.simulated.clone_from(&simulated);
    report.capabilities = Some(caps.clone());

    let cache = CardCache::default();
    let mut collector = timing::Collector::default();
    let mut hung: Option<String> = None;
    for def in selected {
        if let Some(why) = &hung {
            report.cases.push(not_run(def, format!("not run: {why}")));
            continue;
        }
        let result = match def.kind {
            Kind::Probe(p) => probe_case(def, p, &caps),
            Kind::Scenario { path, text } => {
                let ctx = CaseContext {
                    reader: &reader,
                    options,
                    caps: &caps,
                    simulated: simulated.is_some(),
                    cache: &cache,
                    watch_limit: limit,
                };
                let (result, flow) = scenario_case(def, path, text, &ctx, &mut collector);
                if let Some(flow) = flow {
                    report.flows.push(flow);
                }
                result
            }
        };
        if result.status == CaseStatus::TimedOut {
            hung = Some(format!(
                "the reader hung in {} (a PC/SC call that does not return cannot be \
                 cancelled, so no further case can run)",
                def.id
            ));
        }
        report.cases.push(result);
    }
    report.instructions = collector.table();
    let (verdict, reason) = decide(&report.cases);
    report.verdict = verdict;
    report.verdict_reason = reason;
    report.millis = millis(started);
    report
}

fn millis(started: Instant) -> u64 {
    u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// The report of a run whose reader stopped answering before the first case.
fn finish_hung(
    mut report: Report,
    selected: &[&'static CaseDef],
    limit: Duration,
    what: &str,
    doing: &str,
    started: Instant,
) -> Report {
    let why = format!(
        "timed out: the reader did not answer within {} s ({what}) while {doing}",
        limit.as_secs_f64()
    );
    report.reader_error = Some(why.clone());
    // The first case (the reader probes run first) is the one that met the hang: it ends
    // "timed out"; the rest did not run.
    report.cases = selected
        .iter()
        .enumerate()
        .map(|(i, d)| {
            if i == 0 {
                let mut r = blank(d);
                r.status = CaseStatus::TimedOut;
                r.reason = Some(why.clone());
                r
            } else {
                not_run(d, format!("not run: the reader hung ({why})"))
            }
        })
        .collect();
    report.verdict = Verdict::Incomplete;
    report.verdict_reason = why;
    report.millis = millis(started);
    report
}

/// The report of a run whose reader could not be used.
fn finish_without_reader(
    mut report: Report,
    selected: &[&'static CaseDef],
    why: &str,
    started: Instant,
) -> Report {
    report.reader_error = Some(why.to_owned());
    report.cases = selected
        .iter()
        .map(|d| not_run(d, format!("not run: the reader could not be used ({why})")))
        .collect();
    report.verdict = Verdict::ReaderNotFound;
    report.verdict_reason = format!("reader not found: {why}");
    report.millis = millis(started);
    report
}

/// The verdict: pass when every applicable must-case passed; incomplete when the reader hung
/// or the card left; fail when a must-case failed.
pub fn decide(cases: &[CaseResult]) -> (Verdict, String) {
    let incomplete: Vec<&str> = cases
        .iter()
        .filter(|c| {
            matches!(
                c.status,
                CaseStatus::TimedOut | CaseStatus::CardRemoved | CaseStatus::Error
            )
        })
        .map(|c| c.id)
        .collect();
    let failed: Vec<&str> = cases
        .iter()
        .filter(|c| c.importance == Importance::Must && c.status == CaseStatus::Failed)
        .map(|c| c.id)
        .collect();
    if !incomplete.is_empty() {
        return (
            Verdict::Incomplete,
            format!(
                "the run could not finish: {} ended without a result",
                incomplete.join(", ")
            ),
        );
    }
    if !failed.is_empty() {
        return (
            Verdict::Fail,
            format!("must-cases failed: {}", failed.join(", ")),
        );
    }
    let passed = cases
        .iter()
        .filter(|c| c.importance == Importance::Must && c.status == CaseStatus::Passed)
        .count();
    (
        Verdict::Pass,
        format!("every applicable must-case passed ({passed})"),
    )
}

fn not_run(def: &'static CaseDef, reason: String) -> CaseResult {
    let mut r = blank(def);
    r.status = CaseStatus::NotRun;
    r.reason = Some(reason);
    r
}

/// A case result with nothing in it yet.
fn blank(def: &'static CaseDef) -> CaseResult {
    let (title, safety, source) = match def.kind {
        Kind::Probe(p) => (
            probe_title(p).to_owned(),
            Safety::ReadOnly,
            "probe".to_owned(),
        ),
        Kind::Scenario { path, text } => {
            let loaded = load_str(text, std::path::Path::new(path)).ok();
            let scenario = loaded.as_ref().and_then(|l| l.first());
            (
                scenario.map_or_else(|| path.to_owned(), |l| l.scenario.value.name.value.clone()),
                scenario
                    .and_then(|l| l.scenario.value.safety.as_ref().map(|s| s.value))
                    .unwrap_or(Safety::Destructive),
                format!("scenarios/{path}"),
            )
        }
    };
    CaseResult {
        id: def.id,
        title,
        clause: def.clause,
        importance: def.importance,
        safety,
        source,
        status: CaseStatus::Passed,
        reason: None,
        steps: Vec::new(),
        transcript: String::new(),
        micros: 0,
    }
}

fn probe_title(p: Probe) -> &'static str {
    match p {
        Probe::Atr => "the card's ATR is well formed",
        Probe::Protocol => "the active protocol is T=1",
        Probe::Identity => "the reader names its vendor and model",
    }
}

/// A reader probe, judged from the capabilities.
fn probe_case(def: &'static CaseDef, p: Probe, caps: &Capabilities) -> CaseResult {
    let mut r = blank(def);
    let (expected, observed, problem) = match p {
        Probe::Atr => {
            let problem = capabilities::atr_problem(&hex_bytes(&caps.atr));
            (
                "TS 3B or 3F, the interface and historical bytes T0 announces, a correct TCK"
                    .to_owned(),
                caps.atr.clone(),
                problem,
            )
        }
        Probe::Protocol => (
            "T=1".to_owned(),
            caps.protocol.clone(),
            (caps.protocol != "T=1").then(|| format!("the active protocol is {}", caps.protocol)),
        ),
        Probe::Identity => {
            let observed = format!(
                "vendor {}, model {}",
                caps.vendor.as_deref().unwrap_or("not declared"),
                caps.model.as_deref().unwrap_or("not declared")
            );
            let missing = caps.vendor.as_deref().is_none_or(str::is_empty)
                || caps.model.as_deref().is_none_or(str::is_empty);
            (
                "SCARD_ATTR_VENDOR_NAME and SCARD_ATTR_VENDOR_IFD_TYPE answered".to_owned(),
                observed,
                missing.then(|| "the reader does not name its vendor and model".to_owned()),
            )
        }
    };
    r.status = if problem.is_some() {
        CaseStatus::Failed
    } else {
        CaseStatus::Passed
    };
    r.steps.push(StepRow {
        number: 1,
        label: probe_title(p).to_owned(),
        expected,
        observed,
        status: if problem.is_some() {
            "failed"
        } else {
            "passed"
        },
        failures: problem.iter().cloned().collect(),
    });
    r.reason = problem;
    r
}

fn hex_bytes(text: &str) -> Vec<u8> {
    let digits: Vec<char> = text.chars().filter(char::is_ascii_hexdigit).collect();
    digits
        .chunks(2)
        .filter_map(|p| {
            let s: String = p.iter().collect();
            u8::from_str_radix(&s, 16).ok()
        })
        .collect()
}

/// What a scenario case needs to run.
struct CaseContext<'a> {
    reader: &'a Arc<dyn Reader>,
    options: &'a Options,
    caps: &'a Capabilities,
    simulated: bool,
    cache: &'a CardCache,
    watch_limit: Duration,
}

/// Runs a scenario case (a flow several times); its result and, for a flow, its timing.
fn scenario_case(
    def: &'static CaseDef,
    path: &'static str,
    text: &'static str,
    ctx: &CaseContext<'_>,
    collector: &mut timing::Collector,
) -> (CaseResult, Option<timing::FlowTiming>) {
    let mut r = blank(def);
    let flow_row = |missing: String| {
        def.flow
            .map(|f| timing::FlowTiming::of(f.name(), def.id, &[], Some(missing)))
    };
    let origin = std::path::Path::new("scenarios").join(path);
    let plan = load_str(text, &origin)
        .map_err(|e| e.to_string())
        .and_then(|mut l| {
            l.pop()
                .ok_or_else(|| "the scenario file is empty".to_owned())
        })
        .and_then(|loaded| {
            compile_with_secrets(&loaded, ctx.cache, &ctx.options.secrets)
                .map_err(|e| e.to_string())
        });
    let plan = match plan {
        Ok(p) => Arc::new(p),
        Err(e) => {
            r.status = CaseStatus::Error;
            r.reason = Some(format!("the case's scenario does not compile: {e}"));
            let missing = flow_row(r.reason.clone().unwrap_or_default());
            return (r, missing);
        }
    };
    r.safety = plan.needs.safety;
    match gate(
        plan.needs.safety,
        &plan.needs.card_values,
        plan.needs.extended,
        ctx.caps,
        ctx.options.permissions,
        ctx.simulated,
        &ctx.options.secrets,
    ) {
        Gate::Run => {}
        Gate::NotApplicable(why) => {
            r.status = CaseStatus::NotApplicable;
            r.reason = Some(why.clone());
            return (r, flow_row(format!("not applicable: {why}")));
        }
        Gate::Skipped(why) => {
            r.status = CaseStatus::Skipped;
            r.reason = Some(why.clone());
            return (r, flow_row(format!("skipped: {why}")));
        }
    }
    let runs = if def.flow.is_some() {
        ctx.options.flow_runs.max(1)
    } else {
        1
    };
    let mut flow_samples = Vec::new();
    for run in 0..runs {
        let (status, reason, outcome) = run_once(&plan, ctx);
        if let Some(o) = &outcome {
            let mut total = Duration::ZERO;
            for step in &o.steps {
                for entry in &step.entries {
                    if let Event::Exchange(x) = &entry.event {
                        collector.add(command_name(&x.command), entry.elapsed);
                        total += entry.elapsed;
                    }
                }
            }
            if status == CaseStatus::Passed {
                flow_samples.push(total);
            }
            if run == 0 || status != CaseStatus::Passed {
                r.steps = step_rows(&plan, o);
                r.transcript = o.transcript().to_text(true);
                r.micros = o.micros;
            }
        }
        r.status = status;
        r.reason = reason;
        if status != CaseStatus::Passed {
            break;
        }
    }
    let flow = def.flow.map(|f| {
        let why = format!(
            "{}: {}",
            r.status.name(),
            r.reason.clone().unwrap_or_default()
        );
        timing::FlowTiming::of(f.name(), def.id, &flow_samples, Some(why))
    });
    (r, flow)
}

/// Runs a plan once on a fresh connection under the watchdog.
fn run_once(
    plan: &Arc<Plan>,
    ctx: &CaseContext<'_>,
) -> (CaseStatus, Option<String>, Option<Outcome>) {
    let watch = Arc::new(Watch::default());
    let job = {
        let reader = Arc::clone(ctx.reader);
        let plan = Arc::clone(plan);
        let w = Arc::clone(&watch);
        move || {
            let link = w.call("connect", || reader.open())?;
            let mut link = Watched::new(link, Arc::clone(&w));
            Ok::<_, TargetError>(steps::run(&plan, &mut link))
        }
    };
    match supervise(&watch, ctx.watch_limit, job) {
        Supervised::TimedOut(what) => (
            CaseStatus::TimedOut,
            Some(format!(
                "timed out: the reader did not answer within {} s ({what})",
                ctx.watch_limit.as_secs_f64()
            )),
            None,
        ),
        Supervised::Died => (
            CaseStatus::Error,
            Some("the case's worker stopped unexpectedly".to_owned()),
            None,
        ),
        Supervised::Done(Err(e)) => match e {
            TargetError::Removed(why) => (
                CaseStatus::CardRemoved,
                Some(format!("card removed: no card in the reader ({why})")),
                None,
            ),
            other => (
                CaseStatus::Error,
                Some(format!("the reader could not be used: {other}")),
                None,
            ),
        },
        Supervised::Done(Ok(outcome)) => {
            let (status, reason) = match outcome.status {
                Status::Passed => (CaseStatus::Passed, None),
                Status::Failed => (CaseStatus::Failed, outcome.message.clone()),
                Status::NotApplicable => (CaseStatus::NotApplicable, outcome.message.clone()),
                Status::Unreachable if watch.saw_removal() => (
                    CaseStatus::CardRemoved,
                    Some(format!(
                        "card removed: {}",
                        outcome.message.clone().unwrap_or_default()
                    )),
                ),
                Status::Unreachable | Status::Invalid => {
                    (CaseStatus::Error, outcome.message.clone())
                }
            };
            (status, reason, Some(outcome))
        }
    }
}

/// The steps of an outcome as rows: expected (from the plan) and observed (the step's last
/// exchange).
fn step_rows(plan: &Plan, outcome: &Outcome) -> Vec<StepRow> {
    let Body::Steps(planned) = &plan.body else {
        return Vec::new();
    };
    outcome
        .steps
        .iter()
        .map(|s| {
            let expected = planned
                .iter()
                .find(|p| p.number == s.number)
                .map_or_else(String::new, |p| describe(&p.expect));
            let last = s.entries.iter().rev().find_map(|e| match &e.event {
                Event::Exchange(x) => Some(x),
                _ => None,
            });
            let observed = match (&s.status, last) {
                (StepStatus::Skipped, _) => "not run (an earlier step failed)".to_owned(),
                (_, Some(x)) if x.response.len() >= 2 => {
                    let data = x.data().len();
                    let sw = match x.response.split_last_chunk::<2>() {
                        Some((_, [a, b])) => format!("{a:02X} {b:02X}"),
                        None => String::new(),
                    };
                    if data == 0 {
                        format!("SW {sw}")
                    } else {
                        format!("SW {sw}, {data} bytes")
                    }
                }
                (_, Some(_)) => "no answer".to_owned(),
                (_, None) => "nothing sent".to_owned(),
            };
            let (status, failures) = match &s.status {
                StepStatus::Passed => ("passed", Vec::new()),
                StepStatus::Failed(f) => ("failed", f.clone()),
                StepStatus::Skipped => ("skipped", Vec::new()),
            };
            StepRow {
                number: s.number,
                label: s.label.clone(),
                expected,
                observed,
                status,
                failures,
            }
        })
        .collect()
}

/// An expectation in a few words (`SW 9000; 160 bytes; starts 4A504B`).
fn describe(e: &Expectations) -> String {
    if e.no_answer {
        return "no answer".to_owned();
    }
    let mut parts = vec![format!("SW {}", String::from_utf8_lossy(&e.sw.text))];
    if let Some(n) = e.data_length {
        parts.push(format!("{n} bytes"));
    }
    if let Some(p) = &e.data_prefix {
        let hex: String = p.iter().map(|b| format!("{b:02X}")).collect();
        parts.push(format!("starts {hex}"));
    }
    if e.data.is_some() {
        parts.push("exact data".to_owned());
    }
    if e.data_matches.is_some() {
        parts.push("data matches a pattern".to_owned());
    }
    if e.text.is_some() {
        parts.push("text".to_owned());
    }
    if e.certificate.is_some() {
        parts.push("X.509 certificate checks".to_owned());
    }
    if e.signature_verifies_with.is_some() {
        parts.push("signature verifies".to_owned());
    }
    if !e.tlv.is_empty() {
        parts.push(format!("{} TLV checks", e.tlv.len()));
    }
    parts.join("; ")
}

#[cfg(test)]
mod tests;
