//! The terminal report: a line per scenario, the details of every scenario that did not pass
//! (what was expected, what came back, the transcript around the failing step, decoded, PINs
//! masked), and the summary table.

use std::fmt::Write as _;

use mynasim_simulator::hex;
use mynasim_simulator::transcript::{self, Entry, Event};

use super::Style;
use crate::engine::{Outcome, Status, StepStatus, Summary};

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
    let failed_step = o.failed_step();
    if let Some(m) = &o.message
        && (o.status != Status::Failed || failed_step.is_none())
    {
        for line in m.lines() {
            let _ = writeln!(s, "    {line}");
        }
    }
    let Some((failed_index, step)) = failed_step else {
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
    for (i, earlier) in o
        .steps
        .iter()
        .enumerate()
        .take(failed_index + 1)
        .skip(failed_index.saturating_sub(2))
    {
        let _ = writeln!(s, "      -- step {}: {}", earlier.number, earlier.label);
        let opening = if i == 0 { o.opening.as_slice() } else { &[] };
        let entries: Vec<&Entry> = opening.iter().chain(&earlier.entries).collect();
        let last = entries.len().saturating_sub(1);
        for (j, entry) in entries.into_iter().enumerate() {
            let marker = if i == failed_index && j == last {
                "=>"
            } else {
                "  "
            };
            push_entry(&mut s, entry, marker, style);
        }
    }
    s
}

fn push_entry(s: &mut String, entry: &Entry, marker: &str, style: Style) {
    let Event::Exchange(x) = &entry.event else {
        let mut text = String::new();
        transcript::text::push_event(&mut text, &entry.event, !style.reveal);
        for line in text.lines() {
            let _ = writeln!(s, "      {marker} {line}");
        }
        return;
    };
    let command = x.format_command(!style.reveal);
    let _ = writeln!(s, "      {marker} >> {command:<48} {}", x.name());
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
    let meaning = x.sw().map_or("no response", |sw| sw.meaning());
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
