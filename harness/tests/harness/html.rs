//! The HTML run report, checked in a real browser: headless Chromium (Debian's `chromium`,
//! which `ci/setup` installs) loads the page `mynasim report` renders from a run's JSON. The
//! page must raise no console message (it has no script, and its Content-Security-Policy
//! turns any attempt to fetch something into one), its screenshot must decode and not be
//! blank, and its DOM must hold the run's key figures: the counts, the failing scenario
//! first, the instructions of the latency table, and the PIN masked, never in clear.
//!
//! Without chromium these tests fail with a pointer to `ci/setup`; they never skip.
//! Chromium runs with a profile folder of its own and under a time-out, so a hung browser
//! fails the test instead of hanging it.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::support::{TempDir, mynasim};

/// Long enough for a cold start on a loaded 2-core CI machine.
const BROWSER_TIMEOUT: Duration = Duration::from_secs(120);

/// The red of the FAILED badge (`--fail: #cf222e` in the page's stylesheet).
const FAIL_RED: [u8; 3] = [0xCF, 0x22, 0x2E];

/// Three bundled scenarios that pass (one VERIFYs the right PIN, one signs) and one from
/// the must-fail corpus (a wrong PIN), so the run fails.
const SCENARIOS: [&str; 3] = [
    "scenarios/pin/auth-pin-lockout.yaml",
    "scenarios/jpki/seq03-auth-signature-sha256.yaml",
    "harness/tests/must-fail/action-verify.yaml",
];

fn run(command: &mut Command) -> Output {
    command.output().expect("mynasim runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Debian's chromium on PATH, or a failure that says how to get it.
fn chromium() -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join("chromium"))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "chromium is not installed: the HTML report is checked in a real browser. \
                 Run ci/setup (it installs Debian's `chromium` package), or \
                 `apt-get install chromium`."
            )
        })
}

/// What one headless Chromium run left: standard output (`--dump-dom`) and its log.
pub(crate) struct BrowserRun {
    pub(crate) stdout: String,
    pub(crate) log: String,
}

impl BrowserRun {
    /// The console messages the page raised (Chromium logs every level of them as
    /// `…:CONSOLE…] "message", source: …`) and uncaught exceptions.
    pub(crate) fn console_problems(&self) -> Vec<&str> {
        self.log
            .lines()
            .filter(|l| l.contains(":CONSOLE") || l.contains("Uncaught"))
            .collect()
    }
}

/// Runs headless Chromium on `page` with `args`, in a profile folder of its own under
/// `dir`, killing it (its whole process group) after [`BROWSER_TIMEOUT`].
pub(crate) fn browse(dir: &Path, name: &str, page: &Path, args: &[String]) -> BrowserRun {
    use std::os::unix::process::CommandExt as _;
    let out_path = dir.join(format!("{name}.out"));
    let log_path = dir.join(format!("{name}.log"));
    let url = format!("file://{}", page.canonicalize().unwrap().display());
    let mut child = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!(
            "--user-data-dir={}",
            dir.join(format!("{name}.profile")).display()
        ))
        .args(args)
        .arg(&url)
        .stdin(Stdio::null())
        .stdout(File::create(&out_path).unwrap())
        .stderr(File::create(&log_path).unwrap())
        .process_group(0)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start chromium: {e} (run ci/setup)"));
    let group = rustix::process::Pid::from_raw(i32::try_from(child.id()).unwrap()).unwrap();
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > BROWSER_TIMEOUT {
            let _ = rustix::process::kill_process_group(group, rustix::process::Signal::KILL);
            let _ = child.wait();
            panic!(
                "chromium did not finish {name} within {BROWSER_TIMEOUT:?}\n{}",
                std::fs::read_to_string(&log_path).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    // Helpers it started and left behind (it normally leaves none).
    let _ = rustix::process::kill_process_group(group, rustix::process::Signal::KILL);
    let log = std::fs::read_to_string(&log_path).unwrap_or_default();
    assert!(status.success(), "chromium {name}: {status}\n{log}");
    BrowserRun {
        stdout: std::fs::read_to_string(&out_path).unwrap(),
        log,
    }
}

/// A decoded screenshot: the number of distinct colours, the share of pixels that are not
/// the most common colour, and whether the FAILED badge's red is there.
pub(crate) struct Screenshot {
    pub(crate) colours: usize,
    pub(crate) ink: f64,
    pub(crate) has_fail_red: bool,
}

pub(crate) fn look_at(png_path: &Path) -> Screenshot {
    let bytes = std::fs::read(png_path)
        .unwrap_or_else(|e| panic!("no screenshot at {}: {e}", png_path.display()));
    let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    let mut reader = decoder.read_info().expect("the screenshot is a PNG");
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).expect("the screenshot decodes");
    assert_eq!(info.bit_depth, png::BitDepth::Eight, "{info:?}");
    let per_pixel = info.color_type.samples();
    assert!(per_pixel >= 3, "a colour screenshot: {info:?}");
    let (w, h) = (info.width as usize, info.height as usize);
    assert_eq!((w, h), (1280, 2000), "the window size asked for");
    let mut counts = std::collections::HashMap::<&[u8], usize>::new();
    for row in buf[..info.buffer_size()].chunks(info.line_size) {
        for pixel in row.chunks(per_pixel).take(w) {
            *counts.entry(&pixel[..3]).or_default() += 1;
        }
    }
    let most = counts.values().copied().max().unwrap_or(0);
    Screenshot {
        colours: counts.len(),
        ink: 1.0 - most as f64 / (w * h) as f64,
        has_fail_red: counts.contains_key(&FAIL_RED[..]),
    }
}

/// The run, the JSON and both pages, once per test that needs them.
struct Rendered {
    dir: TempDir,
    run_page: String,
    report_page: PathBuf,
}

fn render_a_failing_run() -> Rendered {
    let dir = TempDir::new("html");
    let (json, run_html, report_html) = (
        dir.join("run.json"),
        dir.join("run.html"),
        dir.join("report.html"),
    );
    let o = run(mynasim()
        .arg("run")
        .args(SCENARIOS)
        .arg("--json")
        .arg(&json)
        .arg("--html")
        .arg(&run_html));
    assert_eq!(
        o.status.code(),
        Some(1),
        "one scenario fails\n{}{}",
        text(&o.stdout),
        text(&o.stderr)
    );
    let o = run(mynasim()
        .arg("report")
        .arg(&json)
        .arg("--html")
        .arg(&report_html));
    assert!(o.status.success(), "{}{}", text(&o.stdout), text(&o.stderr));
    Rendered {
        run_page: std::fs::read_to_string(&run_html).unwrap(),
        report_page: report_html,
        dir,
    }
}

/// The page up to its footer (which carries the time it was generated).
fn before_footer(page: &str) -> &str {
    &page[..page.find("<footer>").expect("a footer")]
}

#[test]
fn a_saved_run_renders_the_page_the_run_wrote() {
    let r = render_a_failing_run();
    let report_page = std::fs::read_to_string(&r.report_page).unwrap();
    assert_eq!(before_footer(&report_page), before_footer(&r.run_page));
}

#[test]
fn the_report_loads_in_chromium_cleanly_and_shows_the_run() {
    let r = render_a_failing_run();
    let dir = r.dir.path();

    // The console check catches what it looks for: a page that logs an error and throws.
    let control = dir.join("control.html");
    std::fs::write(
        &control,
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>control</title></head>\
         <body><script>console.error('mynasim-control'); notDefined();</script></body></html>",
    )
    .unwrap();
    let c = browse(dir, "control", &control, &["--dump-dom".into()]);
    let problems = c.console_problems();
    assert!(
        problems.iter().any(|l| l.contains("mynasim-control"))
            && problems.iter().any(|l| l.contains("Uncaught")),
        "the console check must see the control page's error and exception:\n{}",
        c.log
    );

    // The DOM as Chromium built it.
    let page = browse(dir, "dom", &r.report_page, &["--dump-dom".into()]);
    assert!(
        page.console_problems().is_empty(),
        "console: {:#?}",
        page.console_problems()
    );
    let dom = &page.stdout;
    for figure in [
        "<dd id=\"count-total\">3</dd>",
        "<dd id=\"count-passed\">2</dd>",
        "<dd id=\"count-failed\">1</dd>",
        "<dd id=\"count-invalid\">0</dd>",
        "<dd id=\"count-unreachable\">0</dd>",
    ] {
        assert!(dom.contains(figure), "{figure} in the DOM:\n{dom}");
    }
    assert!(
        dom.contains("FAILED</span> 1 of 3 scenarios did not pass."),
        "{dom}"
    );
    let first = dom.find("<h3>").expect("scenarios");
    assert!(
        dom[first..].starts_with("<h3>must fail: action verify</h3>"),
        "the failing scenario comes first: {}",
        &dom[first..first + 80]
    );
    assert!(
        dom.contains("<li>SW: expected 90 00, got 63 C2</li>"),
        "why it failed"
    );
    let latency = &dom[dom
        .find("<table class=\"latency\">")
        .expect("a latency table")..];
    for instruction in [
        "SELECT",
        "READ BINARY",
        "VERIFY",
        "COMPUTE DIGITAL SIGNATURE",
    ] {
        assert!(
            latency.contains(&format!("<td>{instruction}</td>")),
            "{instruction}"
        );
    }
    assert!(dom.contains("<svg class=\"chart\""), "the latency chart");
    // The right PIN (1234) and the wrong ones (0000, 9999, 1111) were sent: all masked.
    assert!(
        dom.contains(">00 20 00 80 04 ** ** ** **<"),
        "masked VERIFY"
    );
    for pin in ["31 32 33 34", "30 30 30 30", "39 39 39 39", "31 31 31 31"] {
        assert!(
            !dom.contains(&format!("00 20 00 80 04 {pin}")),
            "PIN {pin} in clear"
        );
    }
    assert!(!dom.contains("<script"), "no script on the page");

    // What it looks like: a real picture, with the FAILED badge's red in it.
    let shot = dir.join("report.png");
    let s = browse(
        dir,
        "screenshot",
        &r.report_page,
        &[
            format!("--screenshot={}", shot.display()),
            "--window-size=1280,2000".into(),
            "--hide-scrollbars".into(),
        ],
    );
    assert!(
        s.console_problems().is_empty(),
        "console: {:#?}",
        s.console_problems()
    );
    let picture = look_at(&shot);
    assert!(
        picture.colours > 16 && picture.ink > 0.02,
        "the screenshot is blank or nearly: {} colours, {:.3} of pixels drawn",
        picture.colours,
        picture.ink
    );
    assert!(picture.has_fail_red, "the FAILED badge is drawn in its red");

    // Printed: Chromium's own print path (`@media print`) makes a PDF of several pages.
    let pdf = dir.join("report.pdf");
    let p = browse(
        dir,
        "print",
        &r.report_page,
        &[
            format!("--print-to-pdf={}", pdf.display()),
            "--no-pdf-header-footer".into(),
        ],
    );
    assert!(
        p.console_problems().is_empty(),
        "console: {:#?}",
        p.console_problems()
    );
    let bytes = std::fs::read(&pdf).unwrap_or_else(|e| panic!("no PDF at {}: {e}", pdf.display()));
    assert!(bytes.starts_with(b"%PDF-"), "a PDF");
    let pages = bytes
        .windows(b"/Type /Page\n".len())
        .filter(|w| w.starts_with(b"/Type /Page") && !w.starts_with(b"/Type /Pages"));
    assert!(
        pages.count() >= 2,
        "the printed report has pages ({} bytes)",
        bytes.len()
    );
}

/// The blank check is not vacuous: an empty page's screenshot fails it.
#[test]
fn a_blank_page_is_seen_as_blank() {
    let dir = TempDir::new("html-blank");
    let page = dir.join("blank.html");
    std::fs::write(&page, "<!DOCTYPE html><title>blank</title>").unwrap();
    let shot = dir.join("blank.png");
    browse(
        dir.path(),
        "blank",
        &page,
        &[
            format!("--screenshot={}", shot.display()),
            "--window-size=1280,2000".into(),
            "--hide-scrollbars".into(),
        ],
    );
    let picture = look_at(&shot);
    assert!(
        picture.colours <= 1 && picture.ink == 0.0,
        "{} colours",
        picture.colours
    );
    assert!(!picture.has_fail_red);
}

#[test]
fn report_refuses_what_is_not_a_run_report_naming_file_and_place() {
    let dir = TempDir::new("html-bad");
    let out = dir.join("out.html");
    let report = |input: &Path| {
        let o = run(mynasim().arg("report").arg(input).arg("--html").arg(&out));
        (o.status.code(), text(&o.stderr))
    };
    let write = |name: &str, body: &str| {
        let p = dir.join(name);
        std::fs::write(&p, body).unwrap();
        p
    };
    let (code, err) = report(&dir.join("missing.json"));
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("missing.json"), "{err}");

    let junk = write("junk.json", "{\n  \"version\": 1,\n  oops\n}");
    let (code, err) = report(&junk);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("junk.json") && err.contains("line 3 column 3"),
        "{err}"
    );

    let future = write(
        "future.json",
        "{\"version\": 9, \"summary\": {}, \"scenarios\": []}",
    );
    let (code, err) = report(&future);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("future.json: format version 9"), "{err}");

    let wrong = write(
        "wrong.json",
        "{\"version\": 1, \"target\": \"sim\", \"summary\": {\"passed\": 1, \"failed\": 0, \
         \"invalid\": 0, \"not_applicable\": 0, \"unreachable\": 0, \"millis\": 1},\n\
         \"scenarios\": [{\"id\": \"a\", \"name\": \"a\", \"tags\": [], \"target\": \"sim\",\n\
         \"status\": \"fine\", \"steps\": [], \"micros\": 1}]}",
    );
    let (code, err) = report(&wrong);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("wrong.json: scenarios[0].status: unknown variant `fine`")
            && err.contains("line 3"),
        "{err}"
    );

    let binary = dir.join("binary.json");
    std::fs::write(&binary, [0x89, b'P', b'N', b'G', 0xFF, 0xFE]).unwrap();
    let (code, err) = report(&binary);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("binary.json") && err.contains("not UTF-8"),
        "{err}"
    );

    // Refused by its size before a byte is read (a sparse file: no disk used).
    let huge = dir.join("huge.json");
    File::create(&huge)
        .unwrap()
        .set_len(257 * 1024 * 1024)
        .unwrap();
    let (code, err) = report(&huge);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("huge.json") && err.contains("256 MiB"),
        "{err}"
    );

    let (code, err) = {
        let o = run(mynasim().arg("report").arg(&junk).arg("--html").arg(&junk));
        (o.status.code(), text(&o.stderr))
    };
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("would replace the report"), "{err}");
    assert!(
        std::fs::read_to_string(&junk).unwrap().contains("oops"),
        "input untouched"
    );

    assert!(!out.exists(), "nothing written for bad input");
}

#[test]
fn pages_that_cannot_be_written_exit_4() {
    let dir = TempDir::new("html-unwritable");
    let nowhere = dir.join("no-such-folder").join("out.html");
    let json = dir.join("run.json");
    let o = run(mynasim()
        .args(["run", "scenarios/pin/auth-pin-lockout.yaml", "--json"])
        .arg(&json)
        .arg("--html")
        .arg(&nowhere));
    assert_eq!(o.status.code(), Some(4), "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains("out.html"), "{}", text(&o.stderr));
    let o = run(mynasim()
        .arg("report")
        .arg(&json)
        .arg("--html")
        .arg(&nowhere));
    assert_eq!(o.status.code(), Some(4), "{}", text(&o.stderr));
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(left.len(), 1, "only run.json, no temporary file: {left:?}");
}

#[test]
fn report_help_teaches_with_an_example() {
    let o = run(mynasim().args(["report", "--help"]));
    assert!(o.status.success());
    let help = text(&o.stdout);
    assert!(
        help.contains("mynasim report run.json --html run.html"),
        "{help}"
    );
    let o = run(mynasim().args(["run", "--help"]));
    let help = text(&o.stdout);
    assert!(
        help.contains("--html <FILE>") && help.contains("--html run.html"),
        "{help}"
    );
}
