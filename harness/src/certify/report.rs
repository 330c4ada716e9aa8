//! The certification report as people and tools read it: terminal text, JSON (the
//! [`Report`] as is, format version 1), JUnit XML (one test case per case, named by its
//! ID) and a self-contained HTML page built from the shared
//! [`report::html`](crate::report::html) blocks. Secrets never reach a report: transcripts
//! are masked when the case ends, and nothing else carries a secret.

use std::fmt::Write as _;

use quick_junit::{NonSuccessKind, TestCase, TestCaseStatus, TestSuite};

use super::{CaseResult, CaseStatus, Importance, Report, Verdict};
use crate::report::html::{self, Figure, Page, Tone};
use crate::report::latency::{Row, format_duration};

fn tone(status: CaseStatus) -> Tone {
    match status {
        CaseStatus::Passed => Tone::Pass,
        CaseStatus::Failed | CaseStatus::TimedOut | CaseStatus::CardRemoved | CaseStatus::Error => {
            Tone::Fail
        }
        CaseStatus::Skipped => Tone::Warn,
        CaseStatus::NotApplicable | CaseStatus::NotRun => Tone::Neutral,
    }
}

fn verdict_tone(v: Verdict) -> Tone {
    match v {
        Verdict::Pass => Tone::Pass,
        Verdict::Fail | Verdict::ReaderNotFound => Tone::Fail,
        Verdict::Incomplete => Tone::Warn,
    }
}

/// The report as pretty JSON (with a final newline).
///
/// # Errors
/// Serialisation failed.
pub fn json(report: &Report) -> Result<String, serde_json::Error> {
    Ok(serde_json::to_string_pretty(report)? + "\n")
}

/// The report as JUnit XML: one suite, one test case per case (classname the ID).
///
/// # Errors
/// The XML cannot be serialised.
pub fn junit(report: &Report) -> Result<String, quick_junit::SerializeError> {
    let mut out = quick_junit::Report::new("mynasim certify");
    let mut suite = TestSuite::new(format!("mynasim certify ({})", report.reader));
    for case in &report.cases {
        let reason = case.reason.clone().unwrap_or_default();
        let status = match case.status {
            CaseStatus::Passed => TestCaseStatus::success(),
            CaseStatus::Failed => {
                let mut st = TestCaseStatus::non_success(NonSuccessKind::Failure);
                st.set_message(reason);
                st.set_description(failure_text(case));
                st
            }
            CaseStatus::TimedOut | CaseStatus::CardRemoved | CaseStatus::Error => {
                let mut st = TestCaseStatus::non_success(NonSuccessKind::Error);
                st.set_message(format!("{}: {reason}", case.status.name()));
                st.set_description(failure_text(case));
                st
            }
            CaseStatus::NotApplicable | CaseStatus::Skipped | CaseStatus::NotRun => {
                let mut st = TestCaseStatus::skipped();
                st.set_message(format!("{}: {reason}", case.status.name()));
                st
            }
        };
        let mut tc = TestCase::new(format!("{} {}", case.id, case.title), status);
        tc.set_classname(case.id);
        tc.set_time(std::time::Duration::from_micros(case.micros));
        suite.add_test_case(tc);
    }
    suite.set_time(std::time::Duration::from_millis(report.millis));
    out.add_test_suite(suite);
    out.to_string()
}

/// The failed steps of a case and its transcript, for JUnit and the terminal.
fn failure_text(case: &CaseResult) -> String {
    let mut out = String::new();
    for step in case.steps.iter().filter(|s| s.status == "failed") {
        let _ = writeln!(
            out,
            "step {} ({}): expected {}; observed {}",
            step.number, step.label, step.expected, step.observed
        );
        for f in &step.failures {
            let _ = writeln!(out, "  {f}");
        }
    }
    if !case.transcript.is_empty() {
        out.push_str(&case.transcript);
    }
    out
}

/// The terminal summary: the verdict, the capability table, one line per case, what was
/// skipped and why, the timing tables.
pub fn terminal(report: &Report, colour: bool) -> String {
    let paint = |tone: Tone, text: &str| {
        if !colour {
            return text.to_owned();
        }
        let code = match tone {
            Tone::Pass => "32",
            Tone::Fail => "31",
            Tone::Warn => "33",
            Tone::Neutral => "90",
        };
        format!("\x1b[{code}m{text}\x1b[0m")
    };
    let mut out = String::new();
    let _ = writeln!(out, "mynasim certify: {}", report.reader);
    if let Some(e) = &report.reader_error {
        let _ = writeln!(out, "  reader: {e}");
    }
    if let Some(caps) = &report.capabilities {
        for (k, v) in caps.rows() {
            let _ = writeln!(out, "  {k:<24} {v}");
        }
    }
    out.push('\n');
    for case in &report.cases {
        let status = paint(tone(case.status), case.status.name());
        let _ = writeln!(
            out,
            "  {:<28} {:<6} {:<14} {}",
            case.id,
            case.importance.name(),
            status,
            case.title
        );
        if matches!(
            case.status,
            CaseStatus::Failed | CaseStatus::TimedOut | CaseStatus::CardRemoved | CaseStatus::Error
        ) {
            if let Some(r) = &case.reason {
                let _ = writeln!(out, "      {r}");
            }
            for step in case.steps.iter().filter(|s| s.status == "failed") {
                let _ = writeln!(
                    out,
                    "      step {} ({}): expected {}; observed {}",
                    step.number, step.label, step.expected, step.observed
                );
                for f in &step.failures {
                    let _ = writeln!(out, "        {f}");
                }
            }
        }
    }
    let skipped: Vec<&CaseResult> = report.skipped().collect();
    if !skipped.is_empty() {
        let _ = writeln!(out, "\n  skipped for safety:");
        for c in skipped {
            let _ = writeln!(
                out,
                "    {} ({}): {}",
                c.id,
                c.safety,
                c.reason.as_deref().unwrap_or("")
            );
        }
    }
    if !report.instructions.is_empty() {
        let _ = writeln!(
            out,
            "\n  {:<28} {:>6} {:>10} {:>10} {:>10} {:>10}",
            "instruction", "count", "median", "p95", "p99", "max"
        );
        for t in &report.instructions {
            let s = &t.row.stats;
            let _ = writeln!(
                out,
                "  {:<28} {:>6} {:>10} {:>10} {:>10} {:>10}",
                t.instruction,
                s.count,
                format_duration(s.median),
                format_duration(s.p95),
                format_duration(s.p99),
                format_duration(s.max)
            );
        }
    }
    if !report.flows.is_empty() {
        out.push('\n');
        for f in &report.flows {
            match &f.row {
                Some(row) => {
                    let _ = writeln!(
                        out,
                        "  flow {:<22} {} runs, median {}, max {}",
                        f.flow,
                        row.stats.count,
                        format_duration(row.stats.median),
                        format_duration(row.stats.max)
                    );
                }
                None => {
                    let _ = writeln!(
                        out,
                        "  flow {:<22} no figures ({})",
                        f.flow,
                        f.missing.as_deref().unwrap_or("")
                    );
                }
            }
        }
    }
    let counts: Vec<String> = report
        .counts()
        .into_iter()
        .filter(|(_, n)| *n > 0)
        .map(|(name, n)| format!("{n} {name}"))
        .collect();
    let _ = writeln!(
        out,
        "\n  verdict: {} — {} ({}; {} ms)",
        paint(verdict_tone(report.verdict), report.verdict.name()),
        report.verdict_reason,
        counts.join(", "),
        report.millis
    );
    out
}

/// Extra CSS of the certification page.
const STYLE: &str = "
.verdict { font-size: 1.4em; margin: 0.5em 0; }
td.id { font-family: ui-monospace, monospace; white-space: nowrap; }
pre.transcript { font-size: 0.8em; max-height: 30em; overflow: auto; }
table.steps td, table.steps th { font-size: 0.9em; }
";

/// The report as one self-contained HTML page (inline CSS and SVG, no script, no network;
/// readable printed). `generated` is the caller's clock.
pub fn html(report: &Report, generated: jiff::Timestamp) -> String {
    let e = html::escape;
    let mut body = String::new();
    let _ = writeln!(
        body,
        "<section><p class=\"verdict\" id=\"verdict\">Verdict: {}</p><p>{}</p>",
        html::badge(verdict_tone(report.verdict), report.verdict.name()),
        e(&report.verdict_reason)
    );
    let counts = report.counts();
    let ids: Vec<String> = counts
        .iter()
        .map(|(name, _)| format!("count-{}", name.replace(' ', "-")))
        .collect();
    let figures: Vec<Figure<'_>> = counts
        .iter()
        .zip(&ids)
        .map(|((name, n), id)| Figure {
            id,
            label: name,
            value: n.to_string(),
            tone: match *name {
                "passed" if *n > 0 => Tone::Pass,
                "failed" | "timed out" | "card removed" | "error" if *n > 0 => Tone::Fail,
                "skipped" if *n > 0 => Tone::Warn,
                _ => Tone::Neutral,
            },
        })
        .collect();
    body.push_str(&html::figures(&figures));
    body.push_str("</section>\n");

    body.push_str("<section><h2>Environment</h2>\n<table>\n");
    for (k, v) in report.environment.rows() {
        let _ = writeln!(body, "<tr><th>{}</th><td>{}</td></tr>", e(k), e(&v));
    }
    let _ = writeln!(
        body,
        "<tr><th>step time-out</th><td>{} s</td></tr>",
        report.step_timeout_seconds
    );
    let allowed = [
        ("--simulated", report.permissions.simulated),
        ("--allow-pin-use", report.permissions.allow_pin_use),
        ("--allow-destructive", report.permissions.allow_destructive),
    ]
    .iter()
    .filter(|(_, on)| *on)
    .map(|(n, _)| *n)
    .collect::<Vec<_>>()
    .join(" ");
    let _ = writeln!(
        body,
        "<tr><th>options</th><td>{}</td></tr>",
        e(if allowed.is_empty() {
            "safe default (read-only and pin-query cases only)"
        } else {
            &allowed
        })
    );
    let _ = writeln!(
        body,
        "<tr><th>simulated card</th><td>{}</td></tr>",
        e(report
            .simulated
            .as_deref()
            .unwrap_or("no (not identified, not asserted)"))
    );
    body.push_str("</table></section>\n");

    body.push_str("<section><h2>Declared capabilities</h2>\n");
    match (&report.capabilities, &report.reader_error) {
        (Some(caps), _) => {
            body.push_str("<table id=\"capabilities\">\n");
            for (k, v) in caps.rows() {
                let _ = writeln!(body, "<tr><th>{}</th><td>{}</td></tr>", e(k), e(&v));
            }
            body.push_str("</table>\n");
        }
        (None, Some(err)) => {
            let _ = writeln!(body, "<p id=\"reader-error\">{}</p>", e(err));
        }
        (None, None) => body.push_str("<p>Not probed.</p>\n"),
    }
    body.push_str("</section>\n");

    body.push_str(
        "<section><h2>Cases</h2>\n<table id=\"cases\">\n<thead><tr><th>ID</th><th>case</th>\
         <th>clause</th><th>importance</th><th>safety</th><th>result</th></tr></thead>\n<tbody>\n",
    );
    for c in &report.cases {
        let _ = writeln!(
            body,
            "<tr><td class=\"id\"><a href=\"#{0}\">{0}</a></td><td>{1}</td><td>{2}</td>\
             <td>{3}</td><td>{4}</td><td>{5}</td></tr>",
            e(c.id),
            e(&c.title),
            e(c.clause),
            e(c.importance.name()),
            e(c.safety.name()),
            html::badge(tone(c.status), c.status.name())
        );
    }
    body.push_str("</tbody></table></section>\n");

    let skipped: Vec<&CaseResult> = report.skipped().collect();
    if !skipped.is_empty() {
        body.push_str("<section><h2>Skipped for safety</h2>\n<ul id=\"skipped\">\n");
        for c in skipped {
            let _ = writeln!(
                body,
                "<li><span class=\"id\">{}</span> ({}): {}</li>",
                e(c.id),
                e(c.safety.name()),
                e(c.reason.as_deref().unwrap_or(""))
            );
        }
        body.push_str("</ul></section>\n");
    }

    body.push_str("<section><h2>Timing</h2>\n");
    let rows: Vec<Row> = report.instructions.iter().map(|t| t.row.clone()).collect();
    body.push_str(&html::latency_table(&rows, "instruction"));
    body.push_str(&html::latency_chart(&rows, "Exchange times by instruction"));
    let flow_rows: Vec<Row> = report.flows.iter().filter_map(|f| f.row.clone()).collect();
    body.push_str("<h3>Typical flows</h3>\n");
    body.push_str(&html::latency_table(&flow_rows, "flow"));
    body.push_str(&html::latency_chart(&flow_rows, "Whole-flow times"));
    for f in report.flows.iter().filter(|f| f.row.is_none()) {
        let _ = writeln!(
            body,
            "<p class=\"muted\">{}: no figures ({})</p>",
            e(&f.flow),
            e(f.missing.as_deref().unwrap_or(""))
        );
    }
    body.push_str("</section>\n");

    body.push_str("<section><h2>Case details</h2>\n");
    for c in &report.cases {
        let open = if matches!(c.importance, Importance::Must)
            && matches!(
                c.status,
                CaseStatus::Failed | CaseStatus::TimedOut | CaseStatus::CardRemoved
            ) {
            " open"
        } else {
            ""
        };
        let _ = writeln!(
            body,
            "<details id=\"{0}\"{1}><summary><span class=\"id\">{0}</span> {2} {3}</summary>",
            e(c.id),
            open,
            e(&c.title),
            html::badge(tone(c.status), c.status.name())
        );
        let _ = writeln!(
            body,
            "<p>{} · {} · {} · {}</p>",
            e(c.clause),
            e(c.importance.name()),
            e(c.safety.name()),
            e(&c.source)
        );
        if let Some(r) = &c.reason {
            let _ = writeln!(body, "<p>{}</p>", e(r));
        }
        if !c.steps.is_empty() {
            body.push_str(
                "<table class=\"steps\"><thead><tr><th>#</th><th>step</th><th>expected</th>\
                 <th>observed</th><th>result</th></tr></thead><tbody>\n",
            );
            for s in &c.steps {
                let failures = if s.failures.is_empty() {
                    String::new()
                } else {
                    format!("<br>{}", e(&s.failures.join("; ")))
                };
                let st = match s.status {
                    "passed" => Tone::Pass,
                    "failed" => Tone::Fail,
                    _ => Tone::Neutral,
                };
                let _ = writeln!(
                    body,
                    "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}{}</td><td>{}</td></tr>",
                    s.number,
                    e(&s.label),
                    e(&s.expected),
                    e(&s.observed),
                    failures,
                    html::badge(st, s.status)
                );
            }
            body.push_str("</tbody></table>\n");
        }
        if !c.transcript.is_empty() {
            let _ = writeln!(body, "<pre class=\"transcript\">{}</pre>", e(&c.transcript));
        }
        body.push_str("</details>\n");
    }
    body.push_str("</section>\n");
    let subtitle = format!(
        "{} · {} cases · {}",
        report.reader,
        report.cases.len(),
        report.environment.started
    );
    Page {
        title: "mynasim certify",
        subtitle: &subtitle,
        generated,
        style: STYLE,
    }
    .render(&body)
}
