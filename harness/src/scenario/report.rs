//! Reports: the terminal summary, failure details with the transcript, JUnit XML and JSON.

use std::fmt::Write as _;
use std::path::Path;

use mynasim_simulator::hex;
use mynasim_simulator::transcript;
use serde::Serialize;

use super::run::{Exchange, Outcome, Status, StepStatus};

/// Counts of a run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Passed.
    pub passed: usize,
    /// Failed.
    pub failed: usize,
    /// Invalid scenario or profile.
    pub invalid: usize,
    /// Not applicable on this target.
    pub not_applicable: usize,
    /// Target unreachable.
    pub unreachable: usize,
    /// Wall time in milliseconds.
    pub millis: u64,
}

impl Summary {
    /// Counts outcomes.
    pub fn of(outcomes: &[Outcome], millis: u64) -> Self {
        let mut s = Self {
            millis,
            ..Self::default()
        };
        for o in outcomes {
            match o.status {
                Status::Passed => s.passed += 1,
                Status::Failed => s.failed += 1,
                Status::Invalid => s.invalid += 1,
                Status::NotApplicable => s.not_applicable += 1,
                Status::Unreachable => s.unreachable += 1,
            }
        }
        s
    }

    /// Total scenarios.
    pub fn total(&self) -> usize {
        self.passed + self.failed + self.invalid + self.not_applicable + self.unreachable
    }

    /// The exit code: the most serious of 3 unreachable, 2 invalid, 1 failed, else 0.
    pub fn exit_code(&self) -> u8 {
        if self.unreachable > 0 {
            crate::exit::UNREACHABLE
        } else if self.invalid > 0 {
            crate::exit::INVALID
        } else if self.failed > 0 {
            crate::exit::FAILED
        } else {
            crate::exit::OK
        }
    }
}

/// Options for terminal output.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    /// Colour.
    pub colour: bool,
    /// Show secrets in transcripts.
    pub reveal: bool,
}

fn paint(style: Style, code: &str, text: &str) -> String {
    if style.colour {
        format!("\x1b[{code}m{text}\x1b[0m")
    } else {
        text.to_owned()
    }
}

/// One line per scenario.
pub fn line(o: &Outcome, style: Style) -> String {
    let (word, code) = match o.status {
        Status::Passed => ("PASS", "32"),
        Status::Failed => ("FAIL", "31;1"),
        Status::Invalid => ("INVALID", "35;1"),
        Status::NotApplicable => ("N/A", "33"),
        Status::Unreachable => ("UNREACHABLE", "31;1"),
    };
    format!(
        "{:<11} {:>8.2} ms  {}  {}",
        paint(style, code, word),
        o.micros as f64 / 1000.0,
        o.id,
        o.name
    )
}

/// The details of a scenario that did not pass: what was expected and what came back, with
/// the transcript around the failing step, decoded and with PINs redacted.
pub fn details(o: &Outcome, style: Style) -> String {
    let mut s = String::new();
    if let Some(m) = &o.message
        && o.status != Status::Failed
    {
        let _ = writeln!(s, "    {m}");
    }
    let Some(failed_index) = o
        .steps
        .iter()
        .position(|st| matches!(st.status, StepStatus::Failed(_)))
    else {
        return s;
    };
    let Some(step) = o.steps.get(failed_index) else {
        return s;
    };
    if let StepStatus::Failed(failures) = &step.status {
        let _ = writeln!(
            s,
            "    step {} ({}), line {}:",
            step.number, step.label, step.line
        );
        for f in failures {
            let _ = writeln!(s, "      {}", paint(style, "31", f));
        }
    }
    let _ = writeln!(
        s,
        "    transcript (steps {}-{}{}):",
        failed_index.saturating_sub(2) + 1,
        step.number,
        if style.reveal { "" } else { ", PINs redacted" }
    );
    for earlier in o
        .steps
        .iter()
        .take(failed_index + 1)
        .skip(failed_index.saturating_sub(2))
    {
        let _ = writeln!(s, "      -- step {}: {}", earlier.number, earlier.label);
        let last = earlier.exchanges.len().saturating_sub(1);
        for (i, x) in earlier.exchanges.iter().enumerate() {
            let marker = if earlier.number == step.number && i == last {
                "=>"
            } else {
                "  "
            };
            push_exchange(&mut s, x, marker, style);
        }
    }
    s
}

fn push_exchange(s: &mut String, x: &Exchange, marker: &str, style: Style) {
    if let Some(event) = &x.event {
        let _ = writeln!(s, "      {marker} -- {event}");
        return;
    }
    let command = transcript::format_command(&x.command, !style.reveal);
    let _ = writeln!(
        s,
        "      {marker} >> {command:<48} {}",
        transcript::command_name(&x.command)
    );
    let response = if x.response.len() > 34 {
        format!(
            "{} … ({} bytes) {}",
            hex::spaced(x.response.get(..16).unwrap_or_default()),
            x.response.len() - 2,
            hex::spaced(x.response.get(x.response.len() - 2..).unwrap_or_default())
        )
    } else {
        hex::spaced(&x.response)
    };
    let meaning = mynasim_simulator::apdu::Response::parse(&x.response)
        .map_or("no response", |r| r.sw.meaning());
    let _ = writeln!(s, "      {marker} << {response:<48} {meaning}");
}

/// The summary table.
pub fn summary_table(sum: &Summary, target: &str) -> String {
    format!(
        "\n  target  passed  failed  invalid  n/a  unreachable  total   time\n  {target:<6} {:>7} {:>7} {:>8} {:>4} {:>12} {:>6} {:>6.2} s\n",
        sum.passed,
        sum.failed,
        sum.invalid,
        sum.not_applicable,
        sum.unreachable,
        sum.total(),
        sum.millis as f64 / 1000.0
    )
}

/// Writes JUnit XML: one test suite for the run, one test case per scenario.
pub fn write_junit(
    path: &Path,
    outcomes: &[Outcome],
    sum: &Summary,
    target: &str,
) -> anyhow::Result<()> {
    use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};
    let mut report = Report::new("mynasim");
    let mut suite = TestSuite::new(format!("mynasim run ({target})"));
    for o in outcomes {
        let status = match o.status {
            Status::Passed => TestCaseStatus::success(),
            Status::NotApplicable => {
                let mut st = TestCaseStatus::skipped();
                if let Some(m) = &o.message {
                    st.set_message(m.clone());
                }
                st
            }
            Status::Failed | Status::Invalid | Status::Unreachable => {
                let kind = if o.status == Status::Failed {
                    NonSuccessKind::Failure
                } else {
                    NonSuccessKind::Error
                };
                let mut st = TestCaseStatus::non_success(kind);
                st.set_message(o.message.clone().unwrap_or_default());
                st.set_description(details(
                    o,
                    Style {
                        colour: false,
                        reveal: false,
                    },
                ));
                st
            }
        };
        let mut case = TestCase::new(o.name.clone(), status);
        case.set_classname(o.id.clone());
        case.set_time(std::time::Duration::from_micros(o.micros));
        suite.add_test_case(case);
    }
    suite.set_time(std::time::Duration::from_millis(sum.millis));
    report.add_test_suite(suite);
    let xml = report.to_string()?;
    std::fs::write(path, xml)?;
    Ok(())
}

/// The JSON report.
#[derive(Debug, Serialize)]
pub struct JsonReport<'a> {
    /// Format version.
    pub version: u32,
    /// Target.
    pub target: &'a str,
    /// Counts.
    pub summary: &'a Summary,
    /// Every scenario, with per-step timings and exchanges (PINs redacted).
    pub scenarios: Vec<Outcome>,
}

/// Writes the JSON report; secrets in VERIFY/CHANGE data are masked unless `reveal`.
pub fn write_json(
    path: &Path,
    outcomes: &[Outcome],
    sum: &Summary,
    target: &str,
    reveal: bool,
) -> anyhow::Result<()> {
    let mut scenarios = outcomes.to_vec();
    if !reveal {
        for o in &mut scenarios {
            for step in &mut o.steps {
                for x in &mut step.exchanges {
                    mask_secret(&mut x.command);
                }
            }
        }
    }
    let report = JsonReport {
        version: 1,
        target,
        summary: sum,
        scenarios,
    };
    std::fs::write(path, serde_json::to_string_pretty(&report)? + "\n")?;
    Ok(())
}

/// Replaces the data field of VERIFY/CHANGE commands with `2A` (`*`) bytes.
fn mask_secret(apdu: &mut [u8]) {
    if let Some(range) = transcript::secret_range(apdu)
        && let Some(data) = apdu.get_mut(range)
    {
        data.fill(b'*');
    }
}
