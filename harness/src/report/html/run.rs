//! The run report as a page (`mynasim run --html`, `mynasim report RUN.json --html`): the
//! summary, every scenario — those that did not pass first — with its steps and decoded
//! transcript, and the latency per command as a chart and a table.
//!
//! It renders from the JSON report's types ([`Report`]), whether the run just happened or
//! was saved with `--json`, so both commands give the same page for the same run and the
//! JSON report is known to carry everything the page shows.

use std::fmt::Write as _;
use std::time::Duration;

use mynasim_simulator::apdu::Instruction;
use mynasim_simulator::hex;
use mynasim_simulator::transcript::Exchange;

use super::{Figure, Page, Tone, badge, escape, figures, latency_chart, latency_table};
use crate::report::json::{ExchangeView, Report, ScenarioStatus, ScenarioView, StepState};
use crate::report::latency::{self, Row, format_duration};

/// Responses longer than this many bytes (data and SW) are shortened to their first 16
/// bytes, their length and their status word, as in the terminal report.
const LONG_RESPONSE: usize = 34;

/// The page of a run; `generated` is the time the footer gives.
pub fn render(report: &Report, generated: jiff::Timestamp) -> String {
    let sum = &report.summary;
    let mut subtitle = format!(
        "target {} · {} scenario{}",
        report.target,
        sum.total(),
        if sum.total() == 1 { "" } else { "s" }
    );
    if let Some(started) = report.started {
        let _ = write!(
            subtitle,
            " · started {} UTC",
            started.strftime("%Y-%m-%d %H:%M:%S")
        );
    }
    let _ = write!(
        subtitle,
        " · {} · {}",
        format_duration(Duration::from_millis(sum.millis)),
        if report.masks_secrets() {
            "PINs and passwords masked"
        } else {
            "PINs and passwords shown (--no-redact)"
        }
    );
    let mut body = String::new();
    body.push_str(
        "<nav><a href=\"#summary\">Summary</a><a href=\"#scenarios\">Scenarios</a>\
         <a href=\"#latency\">Latency</a></nav>\n",
    );
    push_summary(&mut body, report);
    push_scenarios(&mut body, report);
    push_latency(&mut body, report);
    Page {
        title: "mynasim run report",
        subtitle: &subtitle,
        generated,
        style: "",
    }
    .render(&body)
}

fn push_summary(out: &mut String, report: &Report) {
    let sum = &report.summary;
    let not_passed = sum.failed + sum.invalid + sum.unreachable;
    out.push_str("<section id=\"summary\">\n<h2>Summary</h2>\n");
    if not_passed == 0 {
        let _ = writeln!(
            out,
            "<p id=\"verdict\">{} All {} scenarios passed (n/a counts as passed).</p>",
            badge(Tone::Pass, "PASSED"),
            sum.total()
        );
    } else {
        let _ = writeln!(
            out,
            "<p id=\"verdict\">{} {not_passed} of {} scenarios did not pass.</p>",
            badge(Tone::Fail, "FAILED"),
            sum.total()
        );
    }
    let tone = |n: usize, bad: Tone| if n == 0 { Tone::Neutral } else { bad };
    out.push_str(&figures(&[
        Figure {
            id: "count-total",
            label: "scenarios",
            value: sum.total().to_string(),
            tone: Tone::Neutral,
        },
        Figure {
            id: "count-passed",
            label: "passed",
            value: sum.passed.to_string(),
            tone: tone(sum.passed, Tone::Pass),
        },
        Figure {
            id: "count-failed",
            label: "failed",
            value: sum.failed.to_string(),
            tone: tone(sum.failed, Tone::Fail),
        },
        Figure {
            id: "count-invalid",
            label: "invalid",
            value: sum.invalid.to_string(),
            tone: tone(sum.invalid, Tone::Fail),
        },
        Figure {
            id: "count-not-applicable",
            label: "n/a",
            value: sum.not_applicable.to_string(),
            tone: Tone::Neutral,
        },
        Figure {
            id: "count-unreachable",
            label: "unreachable",
            value: sum.unreachable.to_string(),
            tone: tone(sum.unreachable, Tone::Fail),
        },
        Figure {
            id: "run-time",
            label: "time",
            value: format_duration(Duration::from_millis(sum.millis)),
            tone: Tone::Neutral,
        },
    ]));
    out.push_str("</section>\n");
}

/// Scenarios that did not pass first (failed, invalid, unreachable), then passed, then
/// n/a; each group in the order the scenarios ran.
pub fn ordered(scenarios: &[ScenarioView]) -> Vec<&ScenarioView> {
    let rank = |s: &ScenarioView| match s.status {
        ScenarioStatus::Failed | ScenarioStatus::Invalid | ScenarioStatus::Unreachable => 0,
        ScenarioStatus::Passed => 1,
        ScenarioStatus::NotApplicable => 2,
    };
    let mut list: Vec<&ScenarioView> = scenarios.iter().collect();
    list.sort_by_key(|s| rank(s));
    list
}

fn status_badge(status: ScenarioStatus) -> String {
    match status {
        ScenarioStatus::Passed => badge(Tone::Pass, "PASSED"),
        ScenarioStatus::Failed => badge(Tone::Fail, "FAILED"),
        ScenarioStatus::Invalid => badge(Tone::Fail, "INVALID"),
        ScenarioStatus::NotApplicable => badge(Tone::Neutral, "N/A"),
        ScenarioStatus::Unreachable => badge(Tone::Fail, "UNREACHABLE"),
    }
}

fn status_name(status: ScenarioStatus) -> &'static str {
    match status {
        ScenarioStatus::Passed => "passed",
        ScenarioStatus::Failed => "failed",
        ScenarioStatus::Invalid => "invalid",
        ScenarioStatus::NotApplicable => "not-applicable",
        ScenarioStatus::Unreachable => "unreachable",
    }
}

fn push_scenarios(out: &mut String, report: &Report) {
    out.push_str("<section id=\"scenarios\">\n<h2>Scenarios</h2>\n");
    if report.scenarios.is_empty() {
        out.push_str("<p class=\"muted\">No scenarios.</p>\n");
    }
    for (n, s) in ordered(&report.scenarios).into_iter().enumerate() {
        push_scenario(out, n + 1, s, report.masks_secrets());
    }
    out.push_str("</section>\n");
}

fn push_scenario(out: &mut String, n: usize, s: &ScenarioView, mask: bool) {
    let failure = s.status.is_failure();
    let _ = writeln!(
        out,
        "<details class=\"scenario\" id=\"scenario-{n}\" data-status=\"{}\"{}>\n<summary>{} \
         <h3>{}</h3> <span class=\"mono muted\">{}</span> <span class=\"muted\">{}</span></summary>",
        status_name(s.status),
        if failure { " open" } else { "" },
        status_badge(s.status),
        escape(&s.name),
        escape(&s.id),
        format_duration(Duration::from_micros(s.micros))
    );
    if let Some(m) = &s.message {
        let class = if failure { "message" } else { "muted" };
        let _ = writeln!(out, "<pre class=\"{class}\">{}</pre>", escape(m));
    }
    if !s.tags.is_empty() || !s.target.is_empty() {
        let _ = writeln!(
            out,
            "<p class=\"muted\">target {}{}{}</p>",
            escape(if s.target.is_empty() { "-" } else { &s.target }),
            if s.tags.is_empty() { "" } else { " · tags " },
            escape(&s.tags.join(", "))
        );
    }
    if !s.steps.is_empty() {
        push_steps(out, s);
        push_transcript(out, s, mask);
    }
    out.push_str("</details>\n");
}

fn push_steps(out: &mut String, s: &ScenarioView) {
    out.push_str(
        "<table class=\"steps\">\n<thead><tr><th class=\"num\">step</th><th class=\"num\">line</th>\
         <th>what</th><th>status</th><th class=\"num\">time</th></tr></thead>\n<tbody>\n",
    );
    for st in &s.steps {
        let (class, status) = match st.status {
            StepState::Passed => ("", badge(Tone::Pass, "passed")),
            StepState::Failed => (" class=\"failed\"", badge(Tone::Fail, "failed")),
            StepState::Skipped => ("", badge(Tone::Neutral, "skipped")),
        };
        let _ = write!(
            out,
            "<tr{class}><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}",
            st.number,
            st.line,
            escape(&st.label)
        );
        if let Some(note) = &st.note {
            let _ = write!(out, "<br><span class=\"muted\">{}</span>", escape(note));
        }
        if let Some(failures) = st.failures.as_ref().filter(|f| !f.is_empty()) {
            out.push_str("<ul class=\"failures\">");
            for f in failures {
                let _ = write!(out, "<li>{}</li>", escape(f));
            }
            out.push_str("</ul>");
        }
        let _ = writeln!(
            out,
            "</td><td>{status}</td><td class=\"num\">{}</td></tr>",
            format_duration(Duration::from_micros(st.micros))
        );
    }
    out.push_str("</tbody>\n</table>\n");
}

fn push_transcript(out: &mut String, s: &ScenarioView, mask: bool) {
    let count = s
        .steps
        .iter()
        .flat_map(|st| &st.exchanges)
        .filter(|x| x.event.is_none())
        .count();
    let _ = writeln!(
        out,
        "<details class=\"transcript\"{}>\n<summary>transcript: {count} exchange{}{}</summary>\n\
         <table class=\"apdu\">\n<tbody>",
        if s.status.is_failure() { " open" } else { "" },
        if count == 1 { "" } else { "s" },
        if mask { ", PINs masked" } else { "" }
    );
    for st in &s.steps {
        if st.status == StepState::Skipped {
            continue;
        }
        let failed = st.status == StepState::Failed;
        let _ = write!(
            out,
            "<tr class=\"step{}\"><td colspan=\"4\">step {}: {}",
            if failed { " failed" } else { "" },
            st.number,
            escape(&st.label)
        );
        if let Some(note) = &st.note {
            let _ = write!(out, " <span class=\"muted\">— {}</span>", escape(note));
        }
        out.push_str("</td></tr>\n");
        let last = st.exchanges.len().saturating_sub(1);
        for (i, x) in st.exchanges.iter().enumerate() {
            push_entry(out, x, mask, failed && i == last);
        }
    }
    out.push_str("</tbody>\n</table>\n</details>\n");
}

/// One transcript entry as rows: `>>` the command and its name, `<<` the response and the
/// status word's meaning; an event as one `--` row. The failing step's last exchange is
/// marked (`=>` in the terminal report).
fn push_entry(out: &mut String, x: &ExchangeView, mask: bool, culprit: bool) {
    let time = format_duration(Duration::from_micros(x.micros));
    if let Some(event) = &x.event {
        let _ = writeln!(
            out,
            "<tr><td class=\"dir\">--</td><td colspan=\"2\">{}</td><td class=\"num\">{time}</td></tr>",
            escape(event)
        );
        return;
    }
    let exchange = Exchange::new(x.command.0.clone(), x.response.0.clone());
    let class = if culprit { " class=\"failed\"" } else { "" };
    let _ = writeln!(
        out,
        "<tr{class}><td class=\"dir\">&gt;&gt;</td><td class=\"hex mono\">{}</td><td>{}</td>\
         <td class=\"num\">{time}</td></tr>",
        escape(&exchange.format_command(mask)),
        escape(exchange.name())
    );
    let response = &exchange.response;
    let shown = if response.len() > LONG_RESPONSE {
        format!(
            "{} … ({} bytes) {}",
            hex::spaced(response.get(..16).unwrap_or_default()),
            response.len() - 2,
            hex::spaced(response.get(response.len() - 2..).unwrap_or_default())
        )
    } else {
        hex::spaced(response)
    };
    let meaning = exchange.sw().map_or("no response", |sw| sw.meaning());
    let _ = writeln!(
        out,
        "<tr{class}><td class=\"dir\">&lt;&lt;</td><td class=\"hex mono\">{}</td><td>{}</td>\
         <td></td></tr>",
        escape(&shown),
        escape(meaning)
    );
}

/// The label an exchange's time is counted under, and its place in the table: the
/// instruction table's name and order, then reader pseudo-APDUs, then unknown instructions
/// by their bytes.
fn instruction_label(command: &[u8]) -> (usize, String) {
    if let Some(i) = Instruction::of(command) {
        let place = Instruction::ALL
            .iter()
            .position(|x| *x == i)
            .unwrap_or(usize::MAX);
        return (place, i.name().to_owned());
    }
    match command {
        [0xFF, ..] => (Instruction::ALL.len(), "reader pseudo-APDU".to_owned()),
        [cla, ins, ..] => (
            Instruction::ALL.len() + 1,
            format!("unknown CLA {cla:02X} INS {ins:02X}"),
        ),
        _ => (Instruction::ALL.len() + 2, "(too short)".to_owned()),
    }
}

/// The exchanges' times by instruction, over the whole run.
pub fn latency_rows(report: &Report) -> Vec<Row> {
    let mut samples: Vec<((usize, String), Duration)> = report
        .scenarios
        .iter()
        .flat_map(|s| &s.steps)
        .flat_map(|st| &st.exchanges)
        .filter(|x| x.event.is_none() && !x.command.0.is_empty())
        .map(|x| {
            (
                instruction_label(&x.command.0),
                Duration::from_micros(x.micros),
            )
        })
        .collect();
    samples.sort_by(|a, b| a.0.cmp(&b.0));
    latency::rows(samples.into_iter().map(|((_, label), d)| (label, d)))
}

fn push_latency(out: &mut String, report: &Report) {
    let rows = latency_rows(report);
    let _ = writeln!(
        out,
        "<section id=\"latency\">\n<h2>Latency per command</h2>\n<p class=\"muted\">Each \
         exchange's time as the harness measured it on target {} (command sent to response \
         received), by instruction over the whole run. Percentiles are by nearest rank.</p>",
        escape(&report.target)
    );
    out.push_str(&latency_chart(&rows, "Latency per command (log scale)"));
    out.push_str(&latency_table(&rows, "command"));
    out.push_str("</section>\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::json::{Hex, StepView, SummaryView};

    fn exchange(command: &[u8], response: &[u8], micros: u64) -> ExchangeView {
        ExchangeView {
            command: Hex(command.to_vec()),
            response: Hex(response.to_vec()),
            micros,
            event: None,
            instruction: None,
        }
    }

    fn scenario(name: &str, status: ScenarioStatus) -> ScenarioView {
        let failed = status == ScenarioStatus::Failed;
        ScenarioView {
            id: format!("scenarios/{name}.yaml"),
            name: name.to_owned(),
            tags: vec!["pin".into()],
            target: "sim".into(),
            status,
            message: failed.then(|| "step 2 failed".to_owned()),
            steps: vec![
                StepView {
                    number: 1,
                    line: 5,
                    label: "select jpki".into(),
                    note: None,
                    status: StepState::Passed,
                    failures: None,
                    exchanges: vec![
                        ExchangeView {
                            command: Hex::default(),
                            response: Hex::default(),
                            micros: 3,
                            event: Some("power on, ATR 3B 88".into()),
                            instruction: None,
                        },
                        exchange(&[0x00, 0xA4, 0x04, 0x0C, 0x01, 0xD3], &[0x90, 0x00], 40),
                    ],
                    micros: 50,
                },
                StepView {
                    number: 2,
                    line: 6,
                    label: "verify 0018".into(),
                    note: Some("a wrong PIN".into()),
                    status: if failed {
                        StepState::Failed
                    } else {
                        StepState::Passed
                    },
                    failures: failed.then(|| vec!["SW: expected 90 00, got 63 C2".to_owned()]),
                    exchanges: vec![exchange(
                        &[0x00, 0x20, 0x00, 0x80, 0x04, 0x31, 0x32, 0x33, 0x34],
                        &[0x63, 0xC2],
                        1_500,
                    )],
                    micros: 1_600,
                },
            ],
            micros: 2_000,
        }
    }

    fn report(scenarios: Vec<ScenarioView>, redacted: Option<bool>) -> Report {
        let count = |st: ScenarioStatus| scenarios.iter().filter(|s| s.status == st).count();
        Report {
            version: 1,
            target: "sim".into(),
            mynasim: None,
            started: None,
            redacted,
            summary: SummaryView {
                passed: count(ScenarioStatus::Passed),
                failed: count(ScenarioStatus::Failed),
                invalid: count(ScenarioStatus::Invalid),
                not_applicable: count(ScenarioStatus::NotApplicable),
                unreachable: count(ScenarioStatus::Unreachable),
                millis: 1234,
            },
            scenarios,
        }
    }

    fn page(r: &Report) -> String {
        render(r, "2026-05-01T09:00:00Z".parse().unwrap())
    }

    #[test]
    fn failures_come_first_then_passed_then_not_applicable() {
        let scenarios = vec![
            scenario("a-pass", ScenarioStatus::Passed),
            scenario("b-na", ScenarioStatus::NotApplicable),
            scenario("c-fail", ScenarioStatus::Failed),
            scenario("d-pass", ScenarioStatus::Passed),
            scenario("e-invalid", ScenarioStatus::Invalid),
        ];
        let names: Vec<&str> = ordered(&scenarios)
            .iter()
            .map(|s| s.name.as_str())
            .collect();
        assert_eq!(names, ["c-fail", "e-invalid", "a-pass", "d-pass", "b-na"]);
        let html = page(&report(scenarios, None));
        let at = |needle: &str| html.find(needle).unwrap_or_else(|| panic!("{needle}"));
        assert!(at("<h3>c-fail</h3>") < at("<h3>e-invalid</h3>"));
        assert!(at("<h3>e-invalid</h3>") < at("<h3>a-pass</h3>"));
        assert!(at("<h3>d-pass</h3>") < at("<h3>b-na</h3>"));
    }

    #[test]
    fn a_failing_run_says_failed_and_shows_why() {
        let html = page(&report(
            vec![
                scenario("ok", ScenarioStatus::Passed),
                scenario("locked out", ScenarioStatus::Failed),
            ],
            None,
        ));
        assert!(
            html.contains("<p id=\"verdict\"><span class=\"badge tone-fail\">FAILED</span> 1 of 2 scenarios did not pass."),
            "{html}"
        );
        assert!(html.contains("<dd id=\"count-failed\">1</dd>"));
        assert!(html.contains("<dd id=\"count-passed\">1</dd>"));
        assert!(html.contains("<li>SW: expected 90 00, got 63 C2</li>"));
        assert!(html.contains("data-status=\"failed\" open>"));
        assert!(
            html.contains("data-status=\"passed\">"),
            "passed ones start closed"
        );
        let passing = page(&report(vec![scenario("ok", ScenarioStatus::Passed)], None));
        assert!(passing.contains("tone-pass\">PASSED</span> All 1 scenarios passed"));
        assert!(!passing.contains(">FAILED<"));
    }

    #[test]
    fn names_with_markup_are_shown_not_run() {
        let html = page(&report(
            vec![scenario(
                "<script>alert(1)</script><img src=x>",
                ScenarioStatus::Failed,
            )],
            None,
        ));
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("<img"));
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x&gt;"));
    }

    #[test]
    fn pins_are_masked_unless_the_run_kept_them() {
        for redacted in [None, Some(true)] {
            let html = page(&report(
                vec![scenario("v", ScenarioStatus::Passed)],
                redacted,
            ));
            assert!(
                html.contains(">00 20 00 80 04 ** ** ** **</td><td>VERIFY</td>"),
                "{html}"
            );
            assert!(!html.contains("31 32 33 34"));
            assert!(html.contains("PINs and passwords masked"));
        }
        let html = page(&report(
            vec![scenario("v", ScenarioStatus::Passed)],
            Some(false),
        ));
        assert!(html.contains(">00 20 00 80 04 31 32 33 34</td>"), "{html}");
        assert!(html.contains("shown (--no-redact)"));
    }

    /// The page's skeleton: one section each, in order, the transcript's rows, the latency
    /// table in instruction-table order (SELECT before VERIFY whatever the run's order).
    #[test]
    fn the_page_has_its_sections_in_order() {
        let mut s = scenario("x", ScenarioStatus::Failed);
        s.steps.reverse();
        let html = page(&report(vec![s], Some(true)));
        let at = |needle: &str| {
            html.find(needle)
                .unwrap_or_else(|| panic!("{needle} in {html}"))
        };
        assert!(at("<section id=\"summary\">") < at("<section id=\"scenarios\">"));
        assert!(at("<section id=\"scenarios\">") < at("<section id=\"latency\">"));
        assert_eq!(html.matches("<section").count(), 3);
        assert_eq!(html.matches("</section>").count(), 3);
        assert_eq!(
            html.matches("<details").count(),
            html.matches("</details>").count()
        );
        assert!(
            html.contains("<td class=\"dir\">--</td><td colspan=\"2\">power on, ATR 3B 88</td>")
        );
        assert!(html.contains(
            "<tr class=\"failed\"><td class=\"dir\">&lt;&lt;</td><td class=\"hex mono\">63 C2</td>"
        ));
        assert!(html.contains("transcript: 2 exchanges, PINs masked"));
        let table = &html[at("<table class=\"latency\">")..];
        assert!(table.find("<td>SELECT</td>").unwrap() < table.find("<td>VERIFY</td>").unwrap());
        assert!(
            table.contains("<td>VERIFY</td><td class=\"num\">1</td><td class=\"num\">1.50 ms</td>")
        );
        assert!(html.contains("<svg class=\"chart\""));
        assert!(html.contains("target sim · 1 scenario · 1.23 s · PINs and passwords masked"));
    }

    #[test]
    fn long_responses_and_unknown_commands_are_shortened_and_named() {
        let mut s = scenario("x", ScenarioStatus::Passed);
        let mut long = vec![0xAB; 40];
        long.extend([0x90, 0x00]);
        s.steps[0]
            .exchanges
            .push(exchange(&[0x00, 0xB0, 0x00, 0x00, 0x28], &long, 10));
        s.steps[0]
            .exchanges
            .push(exchange(&[0x00, 0x77, 0x00, 0x00], &[0x6D, 0x00], 10));
        s.steps[0]
            .exchanges
            .push(exchange(&[0xFF, 0xCA, 0x00, 0x00, 0x00], &[], 10));
        let r = report(vec![s], None);
        let html = page(&r);
        assert!(
            html.contains(&format!("{} … (40 bytes) 90 00", ["AB"; 16].join(" "))),
            "{html}"
        );
        assert!(html.contains("<td>no response</td>"));
        let labels: Vec<String> = latency_rows(&r).into_iter().map(|row| row.label).collect();
        assert_eq!(
            labels,
            [
                "SELECT",
                "READ BINARY",
                "VERIFY",
                "reader pseudo-APDU",
                "unknown CLA 00 INS 77"
            ]
        );
    }
}
