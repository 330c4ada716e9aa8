//! The JSON report, format version 1: the summary, then every scenario with its steps, their
//! timings and exchanges (secrets masked unless asked). docs/reports.md documents each field.
//!
//! ```json
//! { "version": 1, "target": "sim", "mynasim": "0.1.0", "started": "2026-05-01T09:00:00Z",
//!   "redacted": true,
//!   "summary": { "passed": 1, "failed": 0, "invalid": 0, "not_applicable": 0, "unreachable": 0, "millis": 3 },
//!   "scenarios": [ { "id": "…", "name": "…", "tags": [], "target": "sim", "status": "passed",
//!     "steps": [ { "number": 1, "line": 7, "label": "select jpki", "status": "passed",
//!       "exchanges": [ { "command": "", "response": "", "micros": 2, "event": "power on, ATR …" },
//!                      { "command": "00A4…", "response": "9000", "micros": 1, "instruction": "SELECT" } ],
//!       "micros": 40 } ],
//!     "micros": 90 } ] }
//! ```
//!
//! The same types read a saved report back ([`parse`]; `mynasim report`). Fields added
//! within version 1 are optional, so every version-1 file reads: `mynasim`, `started`,
//! `redacted` (absent: treated as masked), a step's `note` and an exchange's `instruction`.
//! Unknown fields are ignored (a newer mynasim may add more); unknown *values* (a status
//! word that is not one of the five) are errors naming the field, line and column.

use mynasim_simulator::apdu::Instruction;
use mynasim_simulator::hex;
use mynasim_simulator::transcript::{Entry, Event, text};
use serde::{Deserialize, Serialize};

use crate::engine::{Outcome, Status, StepStatus, Summary};

/// The format version this mynasim writes and reads.
pub const VERSION: u32 = 1;

/// A run's report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    /// The format version ([`VERSION`]).
    pub version: u32,
    /// Where the scenarios ran (`sim`, `vpcd`, `pcsc:READER`).
    pub target: String,
    /// The mynasim version that ran them (added in 0.1; optional).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mynasim: Option<String>,
    /// When the run started (RFC 3339; optional).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started: Option<jiff::Timestamp>,
    /// Whether PINs and passwords are masked in the exchanges (`false`: the run had
    /// `--no-redact`). Optional: a report without it is treated as masked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redacted: Option<bool>,
    /// The counts.
    pub summary: SummaryView,
    /// Every scenario, in the order they ran.
    pub scenarios: Vec<ScenarioView>,
}

/// The counts of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SummaryView {
    /// Passed.
    pub passed: usize,
    /// Failed.
    pub failed: usize,
    /// Invalid scenario or profile.
    pub invalid: usize,
    /// Not applicable on the target.
    pub not_applicable: usize,
    /// The target could not be reached.
    pub unreachable: usize,
    /// Wall time of the run, in milliseconds.
    pub millis: u64,
}

impl SummaryView {
    /// Every scenario counted.
    pub fn total(&self) -> usize {
        self.passed + self.failed + self.invalid + self.not_applicable + self.unreachable
    }
}

/// How a scenario ended, as the report writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ScenarioStatus {
    /// `passed`.
    Passed,
    /// `failed`.
    Failed,
    /// `invalid`.
    Invalid,
    /// `not-applicable`.
    NotApplicable,
    /// `unreachable`.
    Unreachable,
}

impl From<Status> for ScenarioStatus {
    fn from(s: Status) -> Self {
        match s {
            Status::Passed => Self::Passed,
            Status::Failed => Self::Failed,
            Status::Invalid => Self::Invalid,
            Status::NotApplicable => Self::NotApplicable,
            Status::Unreachable => Self::Unreachable,
        }
    }
}

impl ScenarioStatus {
    /// Whether the scenario counts as not passed (failed, invalid, unreachable).
    pub fn is_failure(self) -> bool {
        matches!(self, Self::Failed | Self::Invalid | Self::Unreachable)
    }
}

/// One scenario.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScenarioView {
    /// `path` or `path#N` (the N-th scenario of a list file, from 1).
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its tags.
    pub tags: Vec<String>,
    /// The target it ran on (`exec` for a program under test).
    pub target: String,
    /// How it ended.
    pub status: ScenarioStatus,
    /// Why, for anything but passed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Its steps.
    pub steps: Vec<StepView>,
    /// Time spent, in microseconds.
    pub micros: u64,
}

/// How a step ended, as the report writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StepState {
    /// `passed`.
    Passed,
    /// `failed`.
    Failed,
    /// `skipped`: an earlier step failed.
    Skipped,
}

/// One step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepView {
    /// Step number (from 1).
    pub number: usize,
    /// Its line in the scenario file.
    pub line: u64,
    /// What it did.
    pub label: String,
    /// The scenario's note on the step (optional).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// How it ended.
    pub status: StepState,
    /// For a failed step: what was expected and what came back, one line each.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failures: Option<Vec<String>>,
    /// What passed between the harness and the card (the first step also has the
    /// power-on).
    pub exchanges: Vec<ExchangeView>,
    /// Time spent, in microseconds.
    pub micros: u64,
}

/// One transcript entry: an exchange's command and response in hex (secrets masked unless
/// the run had `--no-redact`), or an event's text (both hex fields then empty).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExchangeView {
    /// The command APDU.
    pub command: Hex,
    /// The response APDU (data, then SW1 SW2); empty when the card answered nothing.
    pub response: Hex,
    /// How long the card (or target) took, in microseconds.
    pub micros: u64,
    /// For an event that is not an exchange: what happened (`power on, ATR …`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<String>,
    /// The command's instruction by the instruction table (`READ BINARY`), when the card
    /// knows it (optional: readers may decode `command` themselves).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instruction: Option<String>,
}

/// Bytes written as upper-case hex without spaces (`00A4040C`); read back with spaces,
/// `:` or `_` allowed between digits.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Hex(pub Vec<u8>);

impl Serialize for Hex {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&hex::compact(&self.0))
    }
}

impl<'de> Deserialize<'de> for Hex {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = std::borrow::Cow::<'de, str>::deserialize(deserializer)?;
        hex::decode(&text)
            .map(Hex)
            .map_err(|e| serde::de::Error::custom(format!("not hex: {e}")))
    }
}

/// Transcript entries as the JSON reports write them (`mynasim exec --json` too).
pub fn exchanges(entries: &[Entry], reveal: bool) -> Vec<ExchangeView> {
    entries.iter().map(|e| exchange(e, reveal)).collect()
}

fn exchange(entry: &Entry, reveal: bool) -> ExchangeView {
    let micros = u64::try_from(entry.elapsed.as_micros()).unwrap_or(u64::MAX);
    match &entry.event {
        Event::Exchange(x) => {
            let mut x = x.clone();
            if !reveal {
                x.redact();
            }
            ExchangeView {
                instruction: Instruction::of(&x.command).map(|i| i.name().to_owned()),
                command: Hex(x.command),
                response: Hex(x.response),
                micros,
                event: None,
            }
        }
        other => {
            let mut line = String::new();
            text::push_event(&mut line, other, true);
            let line = line.trim_end();
            ExchangeView {
                command: Hex::default(),
                response: Hex::default(),
                micros,
                event: Some(line.strip_prefix("-- ").unwrap_or(line).to_owned()),
                instruction: None,
            }
        }
    }
}

impl Report {
    /// The report of a run: `reveal` keeps the secrets (`--no-redact`); `started` is when
    /// the run began, if known.
    pub fn of(
        outcomes: &[Outcome],
        sum: &Summary,
        target: &str,
        reveal: bool,
        started: Option<jiff::Timestamp>,
    ) -> Self {
        let scenarios = outcomes
            .iter()
            .map(|o| ScenarioView {
                id: o.id.clone(),
                name: o.name.clone(),
                tags: o.tags.clone(),
                target: o.target.clone(),
                status: o.status.into(),
                message: o.message.clone(),
                steps: o
                    .steps
                    .iter()
                    .enumerate()
                    .map(|(i, st)| {
                        let opening = if i == 0 { o.opening.as_slice() } else { &[] };
                        let (status, failures) = match &st.status {
                            StepStatus::Passed => (StepState::Passed, None),
                            StepStatus::Failed(f) => (StepState::Failed, Some(f.clone())),
                            StepStatus::Skipped => (StepState::Skipped, None),
                        };
                        StepView {
                            number: st.number,
                            line: st.line,
                            label: st.label.clone(),
                            note: st.note.clone(),
                            status,
                            failures,
                            exchanges: opening
                                .iter()
                                .chain(&st.entries)
                                .map(|e| exchange(e, reveal))
                                .collect(),
                            micros: st.micros,
                        }
                    })
                    .collect(),
                micros: o.micros,
            })
            .collect();
        Self {
            version: VERSION,
            target: target.to_owned(),
            mynasim: Some(env!("CARGO_PKG_VERSION").to_owned()),
            started,
            redacted: Some(!reveal),
            summary: SummaryView {
                passed: sum.passed,
                failed: sum.failed,
                invalid: sum.invalid,
                not_applicable: sum.not_applicable,
                unreachable: sum.unreachable,
                millis: sum.millis,
            },
            scenarios,
        }
    }

    /// Whether the exchanges' secrets are to be shown masked: unless the report says
    /// plainly that the run kept them.
    pub fn masks_secrets(&self) -> bool {
        self.redacted != Some(false)
    }
}

/// The report as pretty JSON (with a final newline).
///
/// # Errors
/// Serialisation failed.
pub fn render(report: &Report) -> Result<String, serde_json::Error> {
    Ok(serde_json::to_string_pretty(report)? + "\n")
}

/// Why a text is not a JSON report this mynasim reads. The messages carry serde_json's
/// `line L column C`; the caller adds the file's name.
#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    /// Not JSON, or JSON of another shape.
    #[error("not a mynasim JSON run report: {0}")]
    NotAReport(String),
    /// A report of a format version this mynasim does not read.
    #[error(
        "format version {0}: this mynasim reads JSON reports of version {VERSION} (a report \
         from a newer mynasim needs that mynasim to render it)"
    )]
    Version(u64),
    /// A report whose field is wrong.
    #[error("{path}: {error}")]
    Field {
        /// Where (`scenarios[2].steps[0].status`).
        path: String,
        /// What, with its line and column.
        error: serde_json::Error,
    },
}

/// The fields that tell a run report from other JSON.
#[derive(Deserialize)]
struct Probe {
    version: Option<serde_json::Value>,
    scenarios: Option<serde::de::IgnoredAny>,
    summary: Option<serde::de::IgnoredAny>,
    command: Option<serde::de::IgnoredAny>,
}

/// Reads a report written by `mynasim run --json`.
///
/// # Errors
/// The text is not JSON, not a run report (an `exec --json` record is named as such), of
/// another format version, or has a field of the wrong type or value.
pub fn parse(text: &str) -> Result<Report, ParseError> {
    let probe: Probe =
        serde_json::from_str(text).map_err(|e| ParseError::NotAReport(e.to_string()))?;
    if probe.command.is_some() && probe.scenarios.is_none() {
        return Err(ParseError::NotAReport(
            "this is a `mynasim exec --json` record (it has `command`, no `scenarios`)".into(),
        ));
    }
    let version = match probe.version {
        Some(serde_json::Value::Number(n)) => n.as_u64(),
        Some(_) => {
            return Err(ParseError::NotAReport(
                "`version` is not a whole number".into(),
            ));
        }
        None => None,
    };
    let (Some(version), Some(_), Some(_)) = (version, probe.summary, probe.scenarios) else {
        return Err(ParseError::NotAReport(
            "it lacks `version`, `summary` or `scenarios`".into(),
        ));
    };
    if version != u64::from(VERSION) {
        return Err(ParseError::Version(version));
    }
    let mut de = serde_json::Deserializer::from_str(text);
    serde_path_to_error::deserialize(&mut de).map_err(|e| ParseError::Field {
        path: e.path().to_string(),
        error: e.into_inner(),
    })
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;
    use std::time::Duration;

    use mynasim_simulator::transcript::Exchange;

    use super::*;
    use crate::engine::StepOutcome;

    fn outcome() -> Outcome {
        let step = |number: usize, status: StepStatus, entries: Vec<Entry>| StepOutcome {
            number,
            line: 6 + number as u64,
            label: format!("step {number}"),
            note: (number == 2).then(|| "the wrong PIN".to_owned()),
            status,
            entries,
            micros: 50,
        };
        let verify = Entry {
            event: Event::Exchange(Exchange::new(
                vec![0x00, 0x20, 0x00, 0x80, 0x04, 0x31, 0x32, 0x33, 0x34],
                vec![0x63, 0xC2],
            )),
            elapsed: Duration::from_micros(120),
        };
        Outcome {
            id: "scenarios/pin/x.yaml".into(),
            path: PathBuf::from("scenarios/pin/x.yaml"),
            index: 0,
            name: "x <b>".into(),
            tags: vec!["pin".into()],
            target: "sim".into(),
            status: Status::Failed,
            message: Some("step 2 failed".into()),
            opening: vec![Entry::new(Event::PowerOn {
                atr: vec![0x3B, 0x88],
            })],
            steps: vec![
                step(1, StepStatus::Passed, vec![]),
                step(
                    2,
                    StepStatus::Failed(vec!["SW: expected 90 00".into()]),
                    vec![verify],
                ),
                step(3, StepStatus::Skipped, vec![]),
            ],
            micros: 200,
        }
    }

    fn report(reveal: bool) -> Report {
        let o = [outcome()];
        Report::of(&o, &Summary::of(&o, 3), "sim", reveal, None)
    }

    #[test]
    fn a_written_report_reads_back_the_same() {
        for reveal in [false, true] {
            let r = report(reveal);
            let text = render(&r).unwrap();
            assert_eq!(parse(&text).unwrap(), r, "{text}");
        }
        let text = render(&report(false)).unwrap();
        assert!(
            text.contains("\"command\": \"00200080042A2A2A2A\""),
            "{text}"
        );
        assert!(text.contains("\"instruction\": \"VERIFY\""), "{text}");
        assert!(
            text.contains("\"event\": \"power on, ATR 3B 88\""),
            "{text}"
        );
        assert!(
            text.contains("\"redacted\": true") && text.contains("\"note\": \"the wrong PIN\"")
        );
        let clear = render(&report(true)).unwrap();
        assert!(
            clear.contains("\"command\": \"002000800431323334\"")
                && clear.contains("\"redacted\": false")
        );
    }

    /// A file from before the optional fields reads, and is shown masked.
    #[test]
    fn version_one_without_the_optional_fields_reads() {
        let text = r#"{ "version": 1, "target": "sim",
          "summary": { "passed": 1, "failed": 0, "invalid": 0, "not_applicable": 0, "unreachable": 0, "millis": 3 },
          "scenarios": [ { "id": "a.yaml", "name": "a", "tags": [], "target": "sim", "status": "passed",
            "steps": [ { "number": 1, "line": 7, "label": "select jpki", "status": "passed",
              "exchanges": [ { "command": "00A4040C", "response": "9000", "micros": 1 } ], "micros": 40 } ],
            "micros": 90, "some_future_field": [1, 2] } ] }"#;
        let r = parse(text).unwrap();
        assert!(r.masks_secrets());
        assert_eq!(
            r.scenarios[0].steps[0].exchanges[0].command.0,
            [0x00, 0xA4, 0x04, 0x0C]
        );
    }

    #[test]
    fn bad_input_is_named_with_its_place() {
        let e = |text: &str| parse(text).unwrap_err().to_string();
        assert!(e("").contains("not a mynasim JSON run report"), "{}", e(""));
        assert!(
            e("{ \"version\": 1,\n  \"x\": ").contains("line 2"),
            "{}",
            e("{ \"version\": 1,\n  \"x\": ")
        );
        assert!(e("[1, 2]").contains("not a mynasim JSON run report"));
        assert!(e("{\"a\": 1}").contains("lacks `version`"));
        assert!(
            e("{\"version\": 1, \"command\": [\"x\"], \"exchanges\": []}").contains("exec --json")
        );
        assert!(
            e("{\"version\": \"1\", \"summary\": {}, \"scenarios\": []}").contains("whole number")
        );
        let v2 = e("{\"version\": 2, \"summary\": {}, \"scenarios\": []}");
        assert!(
            v2.contains("format version 2") && v2.contains("version 1"),
            "{v2}"
        );
        let mut text = render(&report(false)).unwrap();
        text = text.replacen("\"status\": \"skipped\"", "\"status\": \"skipt\"", 1);
        let bad = e(&text);
        assert!(
            bad.starts_with("scenarios[0].steps[2].status: unknown variant `skipt`"),
            "{bad}"
        );
        assert!(bad.contains(" line ") && bad.contains(" column "), "{bad}");
        let text = render(&report(false))
            .unwrap()
            .replacen("\"63C2\"", "\"63C\"", 1);
        let bad = e(&text);
        assert!(bad.contains("response: not hex"), "{bad}");
    }
}
