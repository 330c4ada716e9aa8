//! The whole certification run against the in-process card: the safety gate (what runs,
//! what is skipped and why, what reaches the card), capabilities deciding applicability,
//! verdicts, and a reader that hangs, vanishes or gives wrong answers.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::*;
use crate::scenario::load::load_str;
use crate::target::SimLink;

/// The default card, issued once per test.
fn default_card() -> mynasim_simulator::card::Card {
    let loaded = load_str(
        "version: 1\nname: card\nsteps:\n  - power: on\n",
        std::path::Path::new("card.yaml"),
    )
    .unwrap();
    let plan = crate::scenario::compile(&loaded[0], &CardCache::default()).unwrap();
    plan.card.card.clone()
}

/// How a test reader misbehaves.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Good,
    /// Every transmit blocks forever.
    Hangs,
    /// The reader is not there.
    Absent,
    /// The card is gone from the `n`-th open on.
    RemovedFrom(usize),
    /// READ BINARY answers have their first data byte flipped.
    Corrupts,
}

struct TestReader {
    card: mynasim_simulator::card::Card,
    extended: bool,
    mode: Mode,
    sent: Arc<Mutex<Vec<Vec<u8>>>>,
    opens: Mutex<usize>,
}

impl TestReader {
    fn new(mode: Mode, extended: bool) -> Arc<Self> {
        Arc::new(Self {
            card: default_card(),
            extended,
            mode,
            sent: Arc::default(),
            opens: Mutex::new(0),
        })
    }
}

struct TestLink {
    inner: SimLink,
    mode: Mode,
    sent: Arc<Mutex<Vec<Vec<u8>>>>,
}

impl Link for TestLink {
    fn describe(&self) -> String {
        "test".to_owned()
    }
    fn power_on(&mut self) -> Result<Vec<u8>, TargetError> {
        self.inner.power_on()
    }
    fn power_off(&mut self) -> Result<(), TargetError> {
        self.inner.power_off()
    }
    fn reset(&mut self) -> Result<Vec<u8>, TargetError> {
        self.inner.reset()
    }
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, TargetError> {
        self.sent.lock().unwrap().push(apdu.to_vec());
        if self.mode == Mode::Hangs {
            loop {
                std::thread::park();
            }
        }
        let mut r = self.inner.transmit(apdu)?;
        if self.mode == Mode::Corrupts && apdu.get(1) == Some(&0xB0) && r.len() > 2 {
            r[0] ^= 0xFF;
        }
        Ok(r)
    }
    fn runs_scenario_card(&self) -> bool {
        false
    }
}

impl Reader for TestReader {
    fn name(&self) -> String {
        "Test Reader 00 00".to_owned()
    }
    fn probe(&self) -> Result<Capabilities, TargetError> {
        if self.mode == Mode::Absent {
            return Err(TargetError::Unreachable(
                "no reader `Test Reader 00 00` (there are no readers)".to_owned(),
            ));
        }
        let mut link = SimLink::new(self.card.clone());
        let atr = link.power_on()?;
        Ok(Capabilities {
            reader: self.name(),
            vendor: Some("mynasim".to_owned()),
            model: Some("test".to_owned()),
            atr: mynasim_simulator::hex::spaced(&atr),
            protocol: "T=1".to_owned(),
            max_input: self.extended.then_some(65_526),
            ..Capabilities::default()
        })
    }
    fn open(&self) -> Result<Box<dyn Link + Send>, TargetError> {
        let n = {
            let mut opens = self.opens.lock().unwrap();
            *opens += 1;
            *opens
        };
        if let Mode::RemovedFrom(from) = self.mode
            && n >= from
        {
            return Err(TargetError::Removed(
                "connect: no card in reader `Test Reader 00 00`".to_owned(),
            ));
        }
        // Like SCardConnect, the card is powered when the connection is made.
        let mut inner = SimLink::new(self.card.clone());
        inner.power_on()?;
        Ok(Box::new(TestLink {
            inner,
            mode: self.mode,
            sent: Arc::clone(&self.sent),
        }))
    }
}

fn options(permissions: Permissions) -> Options {
    Options {
        step_timeout: Duration::from_secs(20),
        flow_runs: 2,
        permissions,
        secrets: CardSecrets::default(),
        only: Vec::new(),
    }
}

fn status_of<'a>(report: &'a Report, id: &str) -> &'a CaseResult {
    report.cases.iter().find(|c| c.id == id).unwrap()
}

/// A VERIFY with data, a signature, or a change of secret.
fn spends_or_signs(apdu: &[u8]) -> bool {
    matches!(apdu, [_, 0x20, _, _, _, ..] | [_, 0x2A | 0x24 | 0x32, ..])
}

#[test]
fn the_safe_default_sends_no_secret_and_skips_what_needs_one_saying_why() {
    let reader = TestReader::new(Mode::Good, true);
    let report = run(reader.clone(), &options(Permissions::default()));
    assert_eq!(report.verdict, Verdict::Pass, "{}", report.verdict_reason);
    let sent = reader.sent.lock().unwrap();
    let bad: Vec<String> = sent
        .iter()
        .filter(|a| spends_or_signs(a) && a.as_slice() != [0x00, 0x20, 0x00, 0x80, 0x00])
        .map(|a| mynasim_simulator::hex::spaced(a))
        .collect();
    assert!(bad.is_empty(), "sent to the card: {bad:?}");
    for id in [
        "MNC-REF-JPKI-SIGN-01",
        "MNC-REF-JPKI-SIGN-02",
        "MNC-FLOW-SIGNATURE",
    ] {
        let c = status_of(&report, id);
        assert_eq!(c.status, CaseStatus::Skipped, "{id}");
        assert!(
            c.reason
                .as_deref()
                .unwrap_or("")
                .contains("--allow-pin-use")
        );
    }
    let destructive = status_of(&report, "MNC-7816-4-INS-01");
    assert_eq!(destructive.status, CaseStatus::Skipped);
    assert!(
        destructive
            .reason
            .as_deref()
            .unwrap_or("")
            .contains("--allow-destructive")
    );
    assert_eq!(
        status_of(&report, "MNC-REF-SEQ-08").status,
        CaseStatus::Passed
    );
    // The card is mynasim's (its CA says so), found by reading.
    assert!(report.simulated.as_deref().unwrap_or("").contains("000B"));
    let flows: Vec<(&str, bool)> = report
        .flows
        .iter()
        .map(|f| (f.flow.as_str(), f.micros.is_some()))
        .collect();
    assert_eq!(
        flows,
        [
            ("certificate read", true),
            ("card check", true),
            ("signature", false)
        ]
    );
    assert!(
        report
            .instructions
            .iter()
            .any(|t| t.instruction == "READ BINARY")
    );
}

#[test]
fn with_every_permission_every_case_runs_and_passes_on_the_simulated_card() {
    let reader = TestReader::new(Mode::Good, true);
    let report = run(
        reader,
        &options(Permissions {
            simulated: true,
            allow_pin_use: true,
            allow_destructive: true,
        }),
    );
    let not_passed: Vec<(&str, &str, String)> = report
        .cases
        .iter()
        .filter(|c| c.status != CaseStatus::Passed)
        .map(|c| (c.id, c.status.name(), c.reason.clone().unwrap_or_default()))
        .collect();
    assert!(not_passed.is_empty(), "{not_passed:#?}");
    assert_eq!(report.verdict, Verdict::Pass);
    let signature = report.flows.iter().find(|f| f.flow == "signature").unwrap();
    assert_eq!(signature.micros.map(|m| m.count), Some(2));
    // Transcripts are masked: the default card's PIN 1234 is sent as ** ** ** **.
    let flow = status_of(&report, "MNC-FLOW-SIGNATURE");
    assert!(
        flow.transcript.contains("00 20 00 80 04 ** ** ** **"),
        "{}",
        flow.transcript
    );
    let json = report::json(&report).unwrap();
    assert!(!json.contains("31 32 33 34") && !json.contains("31323334"));
}

#[test]
fn a_reader_without_extended_apdus_makes_extended_cases_not_applicable() {
    let report = run(
        TestReader::new(Mode::Good, false),
        &options(Permissions::default()),
    );
    for id in ["MNC-7816-4-LEN-02", "MNC-7816-4-READ-02"] {
        let c = status_of(&report, id);
        assert_eq!(c.status, CaseStatus::NotApplicable, "{id}");
        assert!(
            c.reason.as_deref().unwrap_or("").contains("extended"),
            "{id}"
        );
    }
    assert_eq!(report.verdict, Verdict::Pass);
}

#[test]
fn wrong_answers_fail_must_cases_and_the_verdict() {
    let report = run(
        TestReader::new(Mode::Corrupts, true),
        &options(Permissions::default()),
    );
    let c = status_of(&report, "MNC-REF-SEQ-01");
    assert_eq!(c.status, CaseStatus::Failed);
    let failed = c.steps.iter().find(|s| s.status == "failed").unwrap();
    assert!(!failed.failures.is_empty());
    assert_eq!(report.verdict, Verdict::Fail);
    assert!(report.verdict_reason.contains("MNC-REF-SEQ-01"));
}

#[test]
fn a_hanging_reader_ends_the_run_with_timed_out_and_not_run() {
    let mut opts = options(Permissions::default());
    opts.step_timeout = Duration::from_millis(300);
    let report = run(TestReader::new(Mode::Hangs, true), &opts);
    // The probe's identification read is the first transmit: it hangs.
    assert_eq!(report.verdict, Verdict::Incomplete);
    assert!(
        report
            .reader_error
            .as_deref()
            .unwrap_or("")
            .contains("did not answer")
    );
    let (first, rest) = report.cases.split_first().unwrap();
    assert_eq!(
        first.status,
        CaseStatus::TimedOut,
        "the case that met the hang"
    );
    assert!(first.reason.as_deref().unwrap_or("").contains("timed out"));
    assert!(rest.iter().all(|c| c.status == CaseStatus::NotRun));
}

#[test]
fn an_absent_reader_gives_a_whole_report_saying_so() {
    let report = run(
        TestReader::new(Mode::Absent, true),
        &options(Permissions::default()),
    );
    assert_eq!(report.verdict, Verdict::ReaderNotFound);
    assert_eq!(report.cases.len(), CASES.len());
    assert!(report.cases.iter().all(|c| c.status == CaseStatus::NotRun));
    let text = report::terminal(&report, false);
    assert!(text.contains("reader not found"), "{text}");
    let page = report::html(&report, jiff::Timestamp::UNIX_EPOCH);
    assert!(page.contains("no reader `Test Reader 00 00`"));
    assert!(report::junit(&report).unwrap().contains("MNC-REF-SEQ-01"));
}

#[test]
fn a_card_gone_ends_each_later_case_as_card_removed() {
    // Open 1 identifies the card; opens 2 and 3 run the first two scenario cases.
    let report = run(
        TestReader::new(Mode::RemovedFrom(4), true),
        &options(Permissions::default()),
    );
    let removed: Vec<&str> = report
        .cases
        .iter()
        .filter(|c| c.status == CaseStatus::CardRemoved)
        .map(|c| c.id)
        .collect();
    assert!(
        removed.len() > 10,
        "{removed:?} {:#?}",
        report
            .cases
            .iter()
            .map(|c| (c.id, c.status, c.reason.clone()))
            .collect::<Vec<_>>()
    );
    assert_eq!(
        status_of(&report, "MNC-7816-4-LEN-01").status,
        CaseStatus::Passed
    );
    assert_eq!(report.verdict, Verdict::Incomplete);
}

#[test]
fn the_gate_follows_the_safety_rules() {
    let caps = Capabilities::default();
    let none = BTreeSet::new();
    let auth: BTreeSet<String> = BTreeSet::from(["pin.auth".to_owned()]);
    let mut given = CardSecrets::default();
    given.set_pin("auth", "0000".to_owned());
    let safe = Permissions::default();
    let pins = Permissions {
        allow_pin_use: true,
        ..safe
    };
    let all = Permissions {
        simulated: true,
        allow_pin_use: true,
        allow_destructive: true,
    };
    let empty = CardSecrets::default();
    let g =
        |s, v: &BTreeSet<String>, p, sim, sec: &CardSecrets| gate(s, v, false, &caps, p, sim, sec);
    assert_eq!(g(Safety::ReadOnly, &none, safe, false, &empty), Gate::Run);
    assert_eq!(g(Safety::PinQuery, &none, safe, false, &empty), Gate::Run);
    assert!(matches!(
        g(Safety::UsesSecret, &auth, safe, true, &given),
        Gate::Skipped(_)
    ));
    // Allowed, but no PIN given for a card that is not simulated.
    let Gate::Skipped(why) = g(Safety::UsesSecret, &auth, pins, false, &empty) else {
        panic!("ran without the PIN");
    };
    assert!(
        why.contains("pin.auth") && why.contains("--pin-env"),
        "{why}"
    );
    assert_eq!(g(Safety::UsesSecret, &auth, pins, false, &given), Gate::Run);
    assert_eq!(g(Safety::UsesSecret, &auth, pins, true, &empty), Gate::Run);
    assert!(matches!(
        g(Safety::Destructive, &none, pins, true, &empty),
        Gate::Skipped(_)
    ));
    let no_sim = Permissions {
        simulated: false,
        ..all
    };
    let Gate::Skipped(why) = g(Safety::Destructive, &none, no_sim, false, &empty) else {
        panic!("destructive ran on a card not known to be simulated");
    };
    assert!(why.contains("simulated"), "{why}");
    assert_eq!(g(Safety::Destructive, &none, all, true, &empty), Gate::Run);
    assert!(matches!(
        gate(Safety::ReadOnly, &none, true, &caps, all, true, &empty),
        Gate::NotApplicable(_)
    ));
}

#[test]
fn verdicts_count_only_applicable_must_cases() {
    let case = |id: &'static str, importance, status| CaseResult {
        id,
        title: String::new(),
        clause: "",
        importance,
        safety: Safety::ReadOnly,
        source: String::new(),
        status,
        reason: None,
        steps: Vec::new(),
        transcript: String::new(),
        micros: 0,
    };
    let pass = decide(&[
        case("A", Importance::Must, CaseStatus::Passed),
        case("B", Importance::Must, CaseStatus::Skipped),
        case("C", Importance::Must, CaseStatus::NotApplicable),
        case("D", Importance::Should, CaseStatus::Failed),
    ]);
    assert_eq!(pass.0, Verdict::Pass);
    let fail = decide(&[
        case("A", Importance::Must, CaseStatus::Failed),
        case("B", Importance::May, CaseStatus::Passed),
    ]);
    assert_eq!(fail.0, Verdict::Fail);
    assert!(fail.1.contains('A'));
    let hung = decide(&[
        case("A", Importance::May, CaseStatus::TimedOut),
        case("B", Importance::Must, CaseStatus::NotRun),
    ]);
    assert_eq!(hung.0, Verdict::Incomplete);
}
