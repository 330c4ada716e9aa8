//! The JSON report, format version 1: the summary, then every scenario with its steps, their
//! timings and exchanges (secrets masked unless asked).
//!
//! ```json
//! { "version": 1, "target": "sim",
//!   "summary": { "passed": 1, "failed": 0, "invalid": 0, "not_applicable": 0, "unreachable": 0, "millis": 3 },
//!   "scenarios": [ { "id": "…", "name": "…", "tags": [], "target": "sim", "status": "passed",
//!     "steps": [ { "number": 1, "line": 7, "label": "select jpki", "status": "passed",
//!       "exchanges": [ { "command": "", "response": "", "micros": 2, "event": "power on, ATR …" },
//!                      { "command": "00A4…", "response": "9000", "micros": 1 } ],
//!       "micros": 40 } ],
//!     "micros": 90 } ] }
//! ```

use mynasim_simulator::hex;
use mynasim_simulator::transcript::{Entry, Event, text};
use serde::Serialize;

use crate::engine::{Outcome, StepStatus, Summary};

#[derive(Serialize)]
struct Report<'a> {
    version: u32,
    target: &'a str,
    summary: SummaryView,
    scenarios: Vec<ScenarioView<'a>>,
}

#[derive(Serialize)]
struct SummaryView {
    passed: usize,
    failed: usize,
    invalid: usize,
    not_applicable: usize,
    unreachable: usize,
    millis: u64,
}

#[derive(Serialize)]
struct ScenarioView<'a> {
    id: &'a str,
    name: &'a str,
    tags: &'a [String],
    target: &'a str,
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<&'a str>,
    steps: Vec<StepView<'a>>,
    micros: u64,
}

#[derive(Serialize)]
struct StepView<'a> {
    number: usize,
    line: u64,
    label: &'a str,
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    failures: Option<&'a [String]>,
    exchanges: Vec<ExchangeView>,
    micros: u64,
}

/// One transcript entry as the JSON reports write it: an exchange's command and response in
/// hex (secrets masked unless `reveal`), or an event's text.
#[derive(Debug, Serialize)]
pub struct ExchangeView {
    command: String,
    response: String,
    micros: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    event: Option<String>,
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
                command: hex::compact(&x.command),
                response: hex::compact(&x.response),
                micros,
                event: None,
            }
        }
        other => {
            let mut line = String::new();
            text::push_event(&mut line, other, true);
            let line = line.trim_end();
            ExchangeView {
                command: String::new(),
                response: String::new(),
                micros,
                event: Some(line.strip_prefix("-- ").unwrap_or(line).to_owned()),
            }
        }
    }
}

/// The report as pretty JSON (with a final newline).
///
/// # Errors
/// Serialisation failed.
pub fn render(
    outcomes: &[Outcome],
    sum: &Summary,
    target: &str,
    reveal: bool,
) -> Result<String, serde_json::Error> {
    let scenarios = outcomes
        .iter()
        .map(|o| ScenarioView {
            id: &o.id,
            name: &o.name,
            tags: &o.tags,
            target: &o.target,
            status: o.status.name(),
            message: o.message.as_deref(),
            steps: o
                .steps
                .iter()
                .enumerate()
                .map(|(i, st)| {
                    let opening = if i == 0 { o.opening.as_slice() } else { &[] };
                    let (status, failures) = match &st.status {
                        StepStatus::Passed => ("passed", None),
                        StepStatus::Failed(f) => ("failed", Some(f.as_slice())),
                        StepStatus::Skipped => ("skipped", None),
                    };
                    StepView {
                        number: st.number,
                        line: st.line,
                        label: &st.label,
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
    let report = Report {
        version: 1,
        target,
        summary: SummaryView {
            passed: sum.passed,
            failed: sum.failed,
            invalid: sum.invalid,
            not_applicable: sum.not_applicable,
            unreachable: sum.unreachable,
            millis: sum.millis,
        },
        scenarios,
    };
    Ok(serde_json::to_string_pretty(&report)? + "\n")
}
