//! HTML reports: self-contained pages (inline CSS, inline SVG, no script, no network, no
//! external fonts) that read on screen and printed.
//!
//! **Shared building blocks.** Everything in this module is meant for every HTML report
//! mynasim writes — the run report ([`run`]: `mynasim run --html`, `mynasim report`) and the certification report (`mynasim
//! certify`) — so that they look alike and escape alike:
//!
//! * [`escape`]: every piece of text that reaches a page goes through it;
//! * [`Page`]: the shell (title, the inline stylesheet [`STYLE`] with its `@media print`
//!   rules, a header, and a footer with the mynasim version and the generation time);
//! * [`badge`] and [`Tone`]: a status word in colour (`PASSED`, `FAILED`);
//! * [`figures`]: the key numbers of a report as tiles, each with an `id` tests can find;
//! * [`latency_table`] and [`latency_chart`]: per-label statistics from
//!   [`latency`](super::latency) as a table and as a hand-made SVG chart.
//!
//! Why hand-made SVG rather than a chart library: the charts are bars on a log scale, a few
//! dozen elements; a JavaScript library would need a script on the page (and a page that
//! runs no script cannot be made to misbehave by the scenario names it shows), and a Rust
//! one would add a dependency for what is 60 lines here. SVG is vector, so it prints sharp,
//! and a browser draws it without anything else. The page carries a Content-Security-Policy
//! that forbids scripts and every fetch, so "no network" is enforced by the browser, and a
//! violation shows as a console error that the browser test looks for.

pub mod run;

use std::fmt::Write as _;
use std::time::Duration;

use super::latency::{Row, format_duration};

/// Escapes text for HTML content and attribute values (`&`, `<`, `>`, `"`, `'`). Markup in a
/// scenario name or a failure message is shown, never interpreted.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The inline stylesheet of every report page: system fonts only, light colours, tables,
/// badges, figures, collapsible sections, and print rules (no page background, colours
/// kept for badges and charts, rows not split across pages).
pub const STYLE: &str = r#"
:root { --fg: #1f2328; --muted: #57606a; --line: #d0d7de; --soft: #f6f8fa;
  --pass: #1a7f37; --fail: #cf222e; --warn: #9a6700; --neutral: #57606a; }
* { box-sizing: border-box; }
html { background: #fff; }
body { margin: 0 auto; max-width: 1120px; padding: 24px; color: var(--fg); background: #fff;
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "Noto Sans JP", sans-serif; }
header { border-bottom: 2px solid var(--fg); margin-bottom: 16px; }
header h1 { margin: 0 0 4px; font-size: 24px; }
header p { margin: 0 0 8px; color: var(--muted); }
footer { margin-top: 32px; padding-top: 8px; border-top: 1px solid var(--line); color: var(--muted); font-size: 12px; }
h2 { font-size: 18px; margin: 28px 0 8px; border-bottom: 1px solid var(--line); padding-bottom: 4px; }
h3 { font-size: 15px; margin: 0; display: inline; }
code, .mono, pre { font-family: ui-monospace, "SFMono-Regular", "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 12.5px; }
pre { white-space: pre-wrap; word-break: break-word; margin: 4px 0; }
table { border-collapse: collapse; margin: 8px 0; width: 100%; }
th, td { border-bottom: 1px solid var(--line); padding: 3px 8px; text-align: left; vertical-align: top; }
th { background: var(--soft); font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.badge { display: inline-block; min-width: 6.5em; padding: 1px 8px; border-radius: 10px; color: #fff;
  font-size: 11.5px; font-weight: 700; text-align: center; letter-spacing: .03em; }
.tone-pass { background: var(--pass); } .tone-fail { background: var(--fail); }
.tone-warn { background: var(--warn); } .tone-neutral { background: var(--neutral); }
.figures { display: flex; flex-wrap: wrap; gap: 10px; margin: 12px 0; padding: 0; }
.figure { border: 1px solid var(--line); border-left-width: 5px; border-radius: 6px; padding: 6px 14px; min-width: 110px; }
.figure.tone-pass { border-left-color: var(--pass); background: none; }
.figure.tone-fail { border-left-color: var(--fail); background: none; }
.figure.tone-warn { border-left-color: var(--warn); background: none; }
.figure.tone-neutral { border-left-color: var(--neutral); background: none; }
.figure dt { color: var(--muted); font-size: 12px; }
.figure dd { margin: 0; font-size: 22px; font-weight: 700; font-variant-numeric: tabular-nums; }
details { border: 1px solid var(--line); border-radius: 6px; margin: 8px 0; padding: 4px 10px; }
details > summary { cursor: pointer; padding: 2px 0; }
details[open] > summary { margin-bottom: 6px; }
details details { border-style: dashed; }
.muted { color: var(--muted); }
.message { border-left: 4px solid var(--fail); background: #fff5f5; padding: 4px 10px; margin: 6px 0; }
.failures { color: var(--fail); margin: 2px 0; padding-left: 18px; }
tr.failed > td { background: #fff5f5; }
tr.step > td { background: var(--soft); font-weight: 600; }
td.dir { width: 2.5em; color: var(--muted); white-space: nowrap; }
td.hex { word-break: break-all; }
td.mark { color: var(--fail); font-weight: 700; }
svg.chart { max-width: 820px; width: 100%; height: auto; display: block; }
nav { margin: 8px 0; } nav a { margin-right: 14px; }
@media print {
  @page { margin: 14mm; }
  body { max-width: none; padding: 0; font-size: 10pt; }
  nav { display: none; }
  * { print-color-adjust: exact; -webkit-print-color-adjust: exact; }
  a { color: inherit; text-decoration: none; }
  h2, h3 { break-after: avoid; }
  tr, .figure, svg.chart { break-inside: avoid; }
  details { border-color: #999; }
}
"#;

/// The shell of a report page.
#[derive(Debug, Clone)]
pub struct Page<'a> {
    /// The page's title (the `<title>` and the heading).
    pub title: &'a str,
    /// One line under the heading (`target sim · 12 scenarios`); empty for none.
    pub subtitle: &'a str,
    /// When the page was generated (the caller's clock: rendering stays pure).
    pub generated: jiff::Timestamp,
    /// CSS of the report's own, appended after [`STYLE`]; empty for none.
    pub style: &'a str,
}

impl Page<'_> {
    /// The whole document around `body` (HTML the caller built, its text escaped).
    pub fn render(&self, body: &str) -> String {
        let mut out = String::with_capacity(body.len() + STYLE.len() + 1024);
        out.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
        // No script and no fetch of any kind: the page is whole, and stays inert.
        out.push_str(
            "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; \
             style-src 'unsafe-inline'; img-src data:\">\n",
        );
        out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
        let _ = writeln!(
            out,
            "<meta name=\"generator\" content=\"mynasim {}\">",
            VERSION
        );
        let _ = writeln!(out, "<title>{}</title>", escape(self.title));
        let _ = writeln!(out, "<style>{STYLE}{}</style>\n</head>\n<body>", self.style);
        let _ = writeln!(out, "<header>\n<h1>{}</h1>", escape(self.title));
        if !self.subtitle.is_empty() {
            let _ = writeln!(out, "<p>{}</p>", escape(self.subtitle));
        }
        out.push_str("</header>\n<main>\n");
        out.push_str(body);
        out.push_str("</main>\n");
        let _ = writeln!(
            out,
            "<footer>Generated by mynasim {VERSION} on {} (UTC). Every key and certificate \
             mynasim uses is TEST data.</footer>\n</body>\n</html>",
            self.generated.strftime("%Y-%m-%d %H:%M:%S")
        );
        out
    }
}

/// The mynasim version pages name.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// How a status reads: its colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    /// Green: passed, accepted.
    Pass,
    /// Red: failed, invalid, unreachable.
    Fail,
    /// Amber: passed with a remark.
    Warn,
    /// Grey: not applicable, skipped, informational.
    Neutral,
}

impl Tone {
    /// The CSS class of the tone (`tone-fail`).
    pub fn class(self) -> &'static str {
        match self {
            Self::Pass => "tone-pass",
            Self::Fail => "tone-fail",
            Self::Warn => "tone-warn",
            Self::Neutral => "tone-neutral",
        }
    }
}

/// A status badge: `text` (escaped) on the tone's colour.
pub fn badge(tone: Tone, text: &str) -> String {
    format!(
        "<span class=\"badge {}\">{}</span>",
        tone.class(),
        escape(text)
    )
}

/// One key number of a report.
#[derive(Debug, Clone)]
pub struct Figure<'a> {
    /// The element id of the value (`count-failed`), for readers' links and tests.
    pub id: &'a str,
    /// What it counts.
    pub label: &'a str,
    /// The value as shown.
    pub value: String,
    /// Its colour.
    pub tone: Tone,
}

/// The key numbers as a row of tiles (`<dl>`; each value's `<dd>` has the figure's id).
pub fn figures(items: &[Figure<'_>]) -> String {
    let mut out = String::from("<dl class=\"figures\">\n");
    for f in items {
        let _ = writeln!(
            out,
            "<div class=\"figure {}\"><dt>{}</dt><dd id=\"{}\">{}</dd></div>",
            f.tone.class(),
            escape(f.label),
            escape(f.id),
            escape(&f.value)
        );
    }
    out.push_str("</dl>\n");
    out
}

/// Per-label statistics as a table: `heading` names the label column (`command`); count,
/// median, p95, p99 and max follow.
pub fn latency_table(rows: &[Row], heading: &str) -> String {
    let mut out = format!(
        "<table class=\"latency\">\n<thead><tr><th>{}</th><th class=\"num\">count</th>\
         <th class=\"num\">median</th><th class=\"num\">p95</th><th class=\"num\">p99</th>\
         <th class=\"num\">max</th></tr></thead>\n<tbody>\n",
        escape(heading)
    );
    for r in rows {
        let s = &r.stats;
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            escape(&r.label),
            s.count,
            format_duration(s.median),
            format_duration(s.p95),
            format_duration(s.p99),
            format_duration(s.max)
        );
    }
    out.push_str("</tbody>\n</table>\n");
    out
}

/// Chart geometry, in SVG user units.
const WIDTH: f64 = 820.0;
const LEFT: f64 = 240.0;
const RIGHT: f64 = 24.0;
const TOP: f64 = 40.0;
const ROW: f64 = 24.0;
const BAR: f64 = 14.0;
const AXIS: f64 = 30.0;
/// The narrowest bar, so that a time at the axis' start still shows.
const MIN_BAR: f64 = 3.0;
/// Longest label drawn in full (the full text is in the row's tooltip and the table); with
/// its count it fits the left margin in capitals.
const LABEL_CHARS: usize = 27;

/// The layers of a row, widest first: (what, colour, value).
const LAYERS: [(&str, &str); 4] = [
    ("max", "#c6dbef"),
    ("p99", "#9ecae1"),
    ("p95", "#4292c6"),
    ("median", "#08519c"),
];

/// A power of ten microseconds as an axis label: `100 µs`, `1 ms`, `10 s`.
fn decade_label(micros: u128) -> String {
    match micros {
        m if m < 1_000 => format!("{m} µs"),
        m if m < 1_000_000 => format!("{} ms", m / 1_000),
        m => format!("{} s", m / 1_000_000),
    }
}

/// Per-label statistics as a horizontal bar chart in SVG, on a logarithmic time axis (a
/// card's answers span microseconds to seconds: a READ BINARY next to an RSA signature).
/// Each row is four bars from the axis' start, drawn over each other: max (lightest), p99,
/// p95, median (darkest); hovering a row shows its numbers. `caption` is the chart's
/// accessible title. No rows: a sentence saying so.
pub fn latency_chart(rows: &[Row], caption: &str) -> String {
    let micros = |d: Duration| u128::max(d.as_micros(), 1);
    let (Some(low), Some(high)) = (
        rows.iter().map(|r| micros(r.stats.median)).min(),
        rows.iter().map(|r| micros(r.stats.max)).max(),
    ) else {
        return "<p class=\"muted\">No timed exchanges.</p>\n".to_owned();
    };
    // The axis runs from the decade below the fastest median (1 µs at least, the unit
    // reports keep) to the decade at or above the slowest maximum.
    let mut lo: u128 = 1;
    while lo.saturating_mul(10) < low {
        lo *= 10;
    }
    let mut hi = lo.saturating_mul(10);
    while hi < high {
        hi = hi.saturating_mul(10);
    }
    let plot = WIDTH - LEFT - RIGHT;
    let span = (hi as f64 / lo as f64).ln();
    let x = |d: Duration| {
        let v = micros(d) as f64 / lo as f64;
        LEFT + plot * (v.ln() / span).clamp(0.0, 1.0)
    };
    let bottom = TOP + ROW * rows.len() as f64;
    let height = bottom + AXIS;
    let mut out = format!(
        "<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {WIDTH} {height}\" \
         role=\"img\" aria-label=\"{0}\" font-size=\"12\" fill=\"#1f2328\">\n<title>{0}</title>\n",
        escape(caption)
    );
    // Legend.
    let mut lx = LEFT;
    for (name, colour) in LAYERS.iter().rev() {
        let _ = writeln!(
            out,
            "<rect x=\"{lx:.1}\" y=\"8\" width=\"12\" height=\"12\" fill=\"{colour}\"/>\
             <text x=\"{:.1}\" y=\"18\">{name}</text>",
            lx + 16.0
        );
        lx += 80.0;
    }
    let _ = writeln!(
        out,
        "<text x=\"{:.1}\" y=\"18\" text-anchor=\"end\" fill=\"#57606a\">log scale</text>",
        WIDTH - RIGHT
    );
    // Decade grid lines and their labels.
    let mut decade = lo;
    while decade <= hi {
        let gx = x(Duration::from_micros(
            u64::try_from(decade).unwrap_or(u64::MAX),
        ));
        let _ = writeln!(
            out,
            "<line x1=\"{gx:.1}\" y1=\"{:.1}\" x2=\"{gx:.1}\" y2=\"{bottom:.1}\" stroke=\"#d0d7de\"/>\
             <text x=\"{gx:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"#57606a\">{}</text>",
            TOP - 6.0,
            bottom + 18.0,
            decade_label(decade)
        );
        decade = decade.saturating_mul(10);
        if decade == u128::MAX {
            break;
        }
    }
    for (i, r) in rows.iter().enumerate() {
        let s = &r.stats;
        let y = TOP + ROW * i as f64 + (ROW - BAR) / 2.0;
        let label: String = if r.label.chars().count() > LABEL_CHARS {
            r.label.chars().take(LABEL_CHARS - 1).chain(['…']).collect()
        } else {
            r.label.clone()
        };
        let _ = writeln!(
            out,
            "<g><title>{}: {} × — median {}, p95 {}, p99 {}, max {}</title>",
            escape(&r.label),
            s.count,
            format_duration(s.median),
            format_duration(s.p95),
            format_duration(s.p99),
            format_duration(s.max)
        );
        let _ = writeln!(
            out,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{} <tspan fill=\"#57606a\">({})</tspan></text>",
            LEFT - 8.0,
            y + BAR - 3.0,
            escape(&label),
            s.count
        );
        for ((_, colour), value) in LAYERS.iter().zip([s.max, s.p99, s.p95, s.median]) {
            let _ = writeln!(
                out,
                "<rect x=\"{LEFT:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{BAR}\" fill=\"{colour}\"/>",
                (x(value) - LEFT).max(MIN_BAR)
            );
        }
        out.push_str("</g>\n");
    }
    let _ = writeln!(
        out,
        "<line x1=\"{LEFT}\" y1=\"{:.1}\" x2=\"{LEFT}\" y2=\"{bottom:.1}\" stroke=\"#57606a\"/>\n</svg>",
        TOP - 6.0
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::latency::{Stats, rows};

    #[test]
    fn escaping_makes_markup_inert() {
        assert_eq!(
            escape("<script>alert('x')</script> & \"q\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;"
        );
        assert_eq!(escape("読み取り µs"), "読み取り µs");
        let b = badge(Tone::Fail, "<b>FAILED</b>");
        assert!(
            b.contains("&lt;b&gt;FAILED&lt;/b&gt;") && b.contains("tone-fail"),
            "{b}"
        );
    }

    #[test]
    fn the_page_is_whole_and_forbids_scripts() {
        let page = Page {
            title: "Run <1>",
            subtitle: "target sim",
            generated: "2026-01-02T03:04:05Z".parse().unwrap(),
            style: "",
        }
        .render("<p>body</p>\n");
        assert!(page.starts_with("<!DOCTYPE html>"), "{page}");
        assert!(page.contains("<title>Run &lt;1&gt;</title>"));
        assert!(page.contains("default-src 'none'"));
        assert!(page.contains("@media print"));
        assert!(page.contains("<main>\n<p>body</p>\n</main>"));
        assert!(page.contains(&format!("mynasim {VERSION} on 2026-01-02 03:04:05")));
        assert!(!page.contains("<script"), "no script on a report page");
        assert!(
            !page.contains("src=") && !page.contains("href=\"http"),
            "nothing fetched"
        );
        assert!(page.trim_end().ends_with("</html>"));
    }

    #[test]
    fn figures_carry_their_ids() {
        let f = figures(&[Figure {
            id: "count-failed",
            label: "failed",
            value: "3".into(),
            tone: Tone::Fail,
        }]);
        assert!(f.contains("<dd id=\"count-failed\">3</dd>"), "{f}");
    }

    #[test]
    fn the_chart_has_a_row_and_a_bar_per_statistic() {
        let rows = rows([
            ("SELECT", Duration::from_micros(40)),
            ("COMPUTE DIGITAL SIGNATURE <x>", Duration::from_millis(120)),
            ("SELECT", Duration::from_micros(60)),
        ]);
        let svg = latency_chart(&rows, "latency per command");
        assert!(
            svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"),
            "{svg}"
        );
        assert_eq!(svg.matches("<g>").count(), 2);
        // 4 legend swatches + 4 bars per row.
        assert_eq!(svg.matches("<rect").count(), 4 + 8);
        assert!(svg.contains("COMPUTE DIGITAL SIGNATURE &lt;x&gt;"));
        // The axis spans 10 µs .. 1 s: a grid line per decade.
        for tick in ["10 µs", "100 µs", "1 ms", "10 ms", "100 ms", "1 s"] {
            assert!(svg.contains(&format!(">{tick}</text>")), "{tick} in {svg}");
        }
        assert!(!svg.contains("NaN") && !svg.contains("inf"), "{svg}");
        let table = latency_table(&rows, "command");
        assert!(
            table.contains("<td>SELECT</td><td class=\"num\">2</td>"),
            "{table}"
        );
    }

    #[test]
    fn the_chart_copes_with_zero_and_equal_times() {
        let zero = Stats::of(&[Duration::ZERO]).unwrap();
        let rows = [Row {
            label: "GET DATA".into(),
            stats: zero,
        }];
        let svg = latency_chart(&rows, "c");
        assert!(
            svg.contains(">1 µs</text>") && svg.contains(">10 µs</text>"),
            "{svg}"
        );
        assert!(!svg.contains("NaN"), "{svg}");
        assert!(latency_chart(&[], "c").contains("No timed exchanges"));
        let long = "a label far longer than the margin holds";
        let rows = [Row {
            label: long.into(),
            stats: zero,
        }];
        let svg = latency_chart(&rows, "c");
        assert!(
            svg.contains("<title>a label far longer than the margin holds: "),
            "{svg}"
        );
        assert!(svg.contains(">a label far longer than th… <tspan"), "{svg}");
    }
}
