//! `mynasim certify` end to end: a simulated card behind a private pcscd, with Debian's vpcd
//! driver and with mynasim-ifd (whose capability tables differ: only ours declares extended
//! APDUs), the safe default (nothing that could cost a try reaches the card — checked in
//! `serve --record`), every permission, secrets that never reach any output, an absent
//! reader, a card pulled mid-run and a reader that stops answering. Nothing is skipped: a
//! missing tool fails the test with the fix.

use std::ffi::OsString;
use std::io::{Read as _, Write as _};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use mynasim_harness::host::pcscd::{Driver, Ports, PrivatePcscd};

use crate::live::{Live, Serve};
use crate::support::{TempDir, repo, tail, wait_until};

const AUTH_PIN: &str = "4826";
const SIGN_PASSWORD: &str = "CERTIFY7Q";

/// The default profile with PINs of the test's own, written into `dir`.
fn profile_with_own_pins(dir: &Path) -> String {
    let default = std::fs::read_to_string(repo().join("scenarios/profiles/default.yaml")).unwrap();
    let own = default
        .replace("value: \"1234\"", &format!("value: \"{AUTH_PIN}\""))
        .replace("value: \"ABC123\"", &format!("value: \"{SIGN_PASSWORD}\""));
    assert!(
        own.contains(SIGN_PASSWORD),
        "the default profile's PINs moved"
    );
    let path = dir.join("own-pins.yaml");
    std::fs::write(&path, own).unwrap();
    path.display().to_string()
}

/// `mynasim certify` inside pcscd's namespace.
fn certify(pcscd: &PrivatePcscd, args: &[&str]) -> Command {
    let mut command = pcscd.command(env!("CARGO_BIN_EXE_mynasim"));
    command.arg("certify").args(args).current_dir(repo());
    command
}

fn run_to_end(mut command: Command, limit: Duration) -> Output {
    let child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_output(child, limit)
}

/// Waits for a child (the bound is a safety net against a hang, not a timing check).
fn wait_output(mut child: Child, limit: Duration) -> Output {
    let mut status = None;
    wait_until(
        limit,
        "mynasim certify to finish",
        || {
            status = child.try_wait().unwrap();
            status.map(|_| ())
        },
        String::new,
    );
    child.wait_with_output().unwrap()
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn case<'a>(report: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    report["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no case {id}"))
}

fn text(out: &Output) -> String {
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The commands the card saw, from `serve --record`.
fn recorded_commands(record: &Path) -> Vec<String> {
    std::fs::read_to_string(record)
        .unwrap()
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v["command"].as_str().map(str::to_owned))
        .collect()
}

/// A private pcscd loading mynasim-ifd (two slots).
fn ifd_pcscd(dir: &Path, port: u16) -> PrivatePcscd {
    let driver = Driver::mynasim(2).unwrap_or_else(|e| panic!("{e}"));
    crate::live::pcscd_on(dir, port, &driver)
}

#[test]
fn certify_the_safe_default_behind_debian_vpcd_sends_no_secret_and_declares_no_extended_apdus() {
    let dir = TempDir::new("certify-vpcd-record");
    let record = dir.join("card.jsonl");
    let live = Live::start_on(
        "certify-vpcd",
        &[(0, "default")],
        false,
        &[OsString::from("--record"), record.clone().into()],
        Some(&Driver::Vpcd),
    );
    let (report, junit, html) = (
        dir.join("report.json"),
        dir.join("report.xml"),
        dir.join("report.html"),
    );
    let out = run_to_end(
        {
            let mut c = certify(
                &live.pcscd,
                &["--reader", "Virtual PCD 00 00", "--flow-runs", "2"],
            );
            c.arg("--json")
                .arg(&report)
                .arg("--junit")
                .arg(&junit)
                .arg("--html")
                .arg(&html);
            c
        },
        Duration::from_secs(300),
    );
    assert!(
        out.status.success(),
        "certify failed ({}):\n{}\n{}",
        out.status,
        text(&out),
        live.diagnostics()
    );
    let r = json(&report);
    assert_eq!(r["verdict"], "pass", "{}", text(&out));
    // Debian's driver carries extended APDUs but declares none.
    assert!(r["capabilities"]["max_input"].is_null());
    assert!(r["capabilities"]["max_apdu_data"].is_null());
    assert_eq!(case(&r, "MNC-7816-4-LEN-02")["status"], "not-applicable");
    assert_eq!(case(&r, "MNC-REF-SEQ-01")["status"], "passed");
    assert_eq!(case(&r, "MNC-FLOW-CARD-CHECK")["status"], "passed");
    for id in [
        "MNC-REF-JPKI-SIGN-01",
        "MNC-REF-JPKI-SIGN-02",
        "MNC-FLOW-SIGNATURE",
    ] {
        let c = case(&r, id);
        assert_eq!(c["status"], "skipped", "{id}");
        assert!(
            c["reason"].as_str().unwrap().contains("--allow-pin-use"),
            "{id}"
        );
    }
    assert_eq!(case(&r, "MNC-7816-4-INS-01")["status"], "skipped");
    // What reached the card: retry queries, never a VERIFY with data, never a signature.
    drop(live);
    let commands = recorded_commands(&record);
    assert!(
        commands.iter().any(|c| c == "00 20 00 80"),
        "no retry query recorded"
    );
    let risky: Vec<&String> = commands
        .iter()
        .filter(|c| {
            c.starts_with("00 20 00 80 ") || c.starts_with("80 2A") || c.starts_with("00 24")
        })
        .collect();
    assert!(risky.is_empty(), "sent to the card: {risky:?}");
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains("Skipped for safety") && page.contains("<svg"));
    assert!(!page.contains("<script"));
    assert!(
        std::fs::read_to_string(&junit)
            .unwrap()
            .contains("MNC-REF-SEQ-08")
    );
}

#[test]
fn certify_with_mynasim_ifd_and_every_permission_passes_and_no_pin_reaches_any_output() {
    let dir = TempDir::new("certify-ifd");
    let ports = Ports::reserve(2).unwrap();
    let pcscd = ifd_pcscd(dir.path(), ports.base);
    let profile = profile_with_own_pins(dir.path());
    let record = dir.join("card.jsonl");
    let serve = Serve::start_with(
        dir.path(),
        ports.base,
        &[(0, profile.as_str())],
        &[OsString::from("--record"), record.clone().into()],
    );
    serve.wait_ready(&pcscd);
    let pin_file = dir.join("sign-password.txt");
    std::fs::write(&pin_file, format!("{SIGN_PASSWORD}\n")).unwrap();
    let (report, junit, html) = (dir.join("r.json"), dir.join("r.xml"), dir.join("r.html"));
    let mut command = certify(
        &pcscd,
        &[
            "Virtual PCD 00 00",
            "--simulated",
            "--allow-pin-use",
            "--allow-destructive",
            "--pin-env",
            "auth=CERTIFY_TEST_AUTH_PIN",
            "--flow-runs",
            "2",
        ],
    );
    command
        .env("CERTIFY_TEST_AUTH_PIN", AUTH_PIN)
        .arg("--pin-file")
        .arg(format!("sign={}", pin_file.display()))
        .arg("--json")
        .arg(&report)
        .arg("--junit")
        .arg(&junit)
        .arg("--html")
        .arg(&html);
    let out = run_to_end(command, Duration::from_secs(300));
    let r = json(&report);
    let not_passed: Vec<String> = r["cases"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"] != "passed")
        .map(|c| format!("{} {} {}", c["id"], c["status"], c["reason"]))
        .collect();
    assert!(out.status.success(), "{}\n{not_passed:#?}", text(&out));
    assert!(not_passed.is_empty(), "{not_passed:#?}");
    // Only mynasim-ifd declares extended APDUs.
    assert_eq!(r["capabilities"]["max_apdu_data"], 65_526);
    assert_eq!(r["capabilities"]["vendor"], "mynasim");
    assert_eq!(case(&r, "MNC-7816-4-LEN-02")["status"], "passed");
    assert!(r["simulated"].as_str().unwrap().contains("TEST CA"));
    let flows = r["flows"].as_array().unwrap();
    assert!(flows.iter().all(|f| f["count"] == 2), "{flows:#?}");
    drop(serve);
    drop(pcscd);
    // The PINs, as text and as the hex a transcript would show, appear nowhere.
    let hex = |s: &str| s.bytes().map(|b| format!("{b:02X}")).collect::<Vec<_>>();
    let forms: Vec<String> = [AUTH_PIN, SIGN_PASSWORD]
        .iter()
        .flat_map(|p| [hex(p).join(" "), hex(p).join("")])
        .chain([SIGN_PASSWORD.to_owned()])
        .collect();
    let outputs = [
        ("stdout and stderr", text(&out)),
        ("json", std::fs::read_to_string(&report).unwrap()),
        ("junit", std::fs::read_to_string(&junit).unwrap()),
        ("html", std::fs::read_to_string(&html).unwrap()),
        ("record", std::fs::read_to_string(&record).unwrap()),
    ];
    for (what, content) in &outputs {
        for form in &forms {
            assert!(
                !content.contains(form.as_str()),
                "{what} holds a PIN ({form})"
            );
        }
    }
    assert!(
        outputs[4].1.contains("00 20 00 80 04 ** ** ** **"),
        "the PIN was sent"
    );
    the_certification_page_passes_the_browser_check(&dir, &html, &r);
}

/// The certification report in a real browser (as the run report, `html.rs`): no console
/// message, the verdict and the figures in the DOM as Chromium built it, a screenshot that
/// is a picture.
fn the_certification_page_passes_the_browser_check(
    dir: &TempDir,
    page: &Path,
    report: &serde_json::Value,
) {
    let dom = crate::html::browse(dir.path(), "certify-dom", page, &["--dump-dom".into()]);
    assert!(
        dom.console_problems().is_empty(),
        "console: {:#?}",
        dom.console_problems()
    );
    let cases = report["cases"].as_array().unwrap();
    let verdict = report["verdict"].as_str().unwrap();
    assert_eq!(verdict, "pass");
    assert!(
        dom.stdout.contains("id=\"verdict\"") && dom.stdout.contains(&format!(">{verdict}</span>")),
        "the verdict ({verdict}) in the DOM:\n{}",
        dom.stdout
    );
    assert!(
        dom.stdout
            .contains(&format!("<dd id=\"count-passed\">{}</dd>", cases.len())),
        "every case passed, counted in the DOM:\n{}",
        dom.stdout
    );
    for id in ["MNC-7816-4-LEN-02", "capabilities", "cases"] {
        assert!(dom.stdout.contains(id), "{id} in the DOM");
    }
    assert!(
        dom.stdout.contains("<svg class=\"chart\""),
        "the latency chart"
    );
    let shot = dir.join("certify.png");
    let s = crate::html::browse(
        dir.path(),
        "certify-screenshot",
        page,
        &[
            format!("--screenshot={}", shot.display()),
            "--window-size=1280,2000".into(),
            "--hide-scrollbars".into(),
        ],
    );
    assert!(
        s.console_problems().is_empty(),
        "{:#?}",
        s.console_problems()
    );
    let picture = crate::html::look_at(&shot);
    assert!(
        picture.colours > 16 && picture.ink > 0.02,
        "the certification screenshot is blank or nearly: {} colours, {:.3} drawn",
        picture.colours,
        picture.ink
    );
}

#[test]
fn certify_a_reader_that_does_not_exist_writes_a_report_saying_so_and_exits_3() {
    let dir = TempDir::new("certify-absent");
    let ports = Ports::reserve(2).unwrap();
    let pcscd = ifd_pcscd(dir.path(), ports.base);
    let report = dir.join("r.json");
    let html = dir.join("r.html");
    let mut command = certify(&pcscd, &["No Such Reader"]);
    command.arg("--json").arg(&report).arg("--html").arg(&html);
    let out = run_to_end(command, Duration::from_secs(60));
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let r = json(&report);
    assert_eq!(r["verdict"], "reader-not-found");
    assert!(
        r["reader_error"]
            .as_str()
            .unwrap()
            .contains("No Such Reader")
    );
    assert!(text(&out).contains("reader not found"));
    assert!(
        std::fs::read_to_string(&html)
            .unwrap()
            .contains("reader not found")
    );
}

#[test]
fn certify_a_card_removed_mid_run_ends_that_case_card_removed() {
    let dir = TempDir::new("certify-removed");
    let ports = Ports::reserve(2).unwrap();
    let pcscd = ifd_pcscd(dir.path(), ports.base);
    let record = dir.join("card.jsonl");
    let serve = Serve::start_with(
        dir.path(),
        ports.base,
        &[(0, "default")],
        &[OsString::from("--record"), record.clone().into()],
    );
    serve.wait_ready(&pcscd);
    let report = dir.join("r.json");
    // One long flow: the certificate read, many times over, while the card is pulled.
    let mut command = certify(
        &pcscd,
        &[
            "Virtual PCD 00 00",
            "--only",
            "MNC-FLOW-CERT-READ,MNC-REF-SEQ-08",
            "--flow-runs",
            "1000",
        ],
    );
    command
        .arg("--json")
        .arg(&report)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = command.spawn().unwrap();
    // Pull the card once the flow is under way: the card has answered some READ BINARYs.
    wait_until(
        Duration::from_secs(60),
        "the certificate-read flow to start",
        || {
            let reads = std::fs::read_to_string(&record)
                .unwrap_or_default()
                .matches("\"00 B0 ")
                .count();
            (reads > 40).then_some(())
        },
        || tail(&serve.log, 20),
    );
    serve.control("remove 0");
    let out = wait_output(child, Duration::from_secs(120));
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let r = json(&report);
    assert_eq!(
        case(&r, "MNC-FLOW-CERT-READ")["status"],
        "card-removed",
        "{}",
        text(&out)
    );
    assert_eq!(case(&r, "MNC-REF-SEQ-08")["status"], "card-removed");
    assert_eq!(r["verdict"], "incomplete");
}

/// A vpcd card that gives its ATR and then never answers an APDU.
fn silent_card(port: u16) {
    std::thread::spawn(move || {
        let mut stream = loop {
            match std::net::TcpStream::connect(("127.0.0.1", port)) {
                Ok(s) => break s,
                Err(_) => std::thread::sleep(Duration::from_millis(50)),
            }
        };
        let atr = [
            0x3B, 0x88, 0x80, 0x01, 0x00, 0x00, 0x05, 0xE0, 0xB3, 0x81, 0xA1, 0x00, 0x7F,
        ];
        let mut len = [0u8; 2];
        while stream.read_exact(&mut len).is_ok() {
            let mut body = vec![0u8; usize::from(u16::from_be_bytes(len))];
            if stream.read_exact(&mut body).is_err() {
                return;
            }
            // Control byte 04 (get ATR) is answered; power on/off/reset need no answer; an
            // APDU never gets one.
            if body == [0x04] {
                let mut frame = u16::try_from(atr.len()).unwrap().to_be_bytes().to_vec();
                frame.extend_from_slice(&atr);
                if stream.write_all(&frame).is_err() {
                    return;
                }
            }
        }
    });
}

#[test]
fn certify_a_reader_that_stops_answering_times_out_and_still_reports() {
    let dir = TempDir::new("certify-hang");
    let ports = Ports::reserve(2).unwrap();
    let pcscd = ifd_pcscd(dir.path(), ports.base);
    silent_card(ports.base);
    wait_until(
        Duration::from_secs(20),
        "the silent card to be seen",
        || {
            let out = pcscd
                .command(env!("CARGO_BIN_EXE_mynasim"))
                .args(["card", "readers"])
                .output()
                .unwrap();
            String::from_utf8_lossy(&out.stdout)
                .contains("3B 88 80 01")
                .then_some(())
        },
        || tail(pcscd.log(), 40),
    );
    let report = dir.join("r.json");
    let mut command = certify(&pcscd, &["Virtual PCD 00 00", "--step-timeout", "2s"]);
    command.arg("--json").arg(&report);
    // mynasim-ifd itself gives up on an APDU after 60 s; certify must not wait for that.
    let out = run_to_end(command, Duration::from_secs(45));
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let r = json(&report);
    assert_eq!(r["verdict"], "incomplete");
    let why = r["verdict_reason"].as_str().unwrap();
    assert!(
        why.contains("timed out") && why.contains("within 2 s"),
        "{why}"
    );
    let (first, rest) = r["cases"].as_array().unwrap().split_first().unwrap();
    assert_eq!(
        first["status"], "timed-out",
        "the case that met the hang: {first}"
    );
    assert!(
        rest.iter()
            .all(|c| c["status"] == "not-run" && c["reason"].as_str().unwrap().contains("hung"))
    );
    assert!(
        r["capabilities"]["atr"]
            .as_str()
            .unwrap()
            .starts_with("3B 88 80 01")
    );
}

/// The portable scenarios added for certification pass on the vpcd target too (each
/// scenario's own card inserted behind pcscd, here through mynasim-ifd).
#[test]
fn the_certification_scenarios_pass_on_the_vpcd_target() {
    let dir = TempDir::new("certify-vpcd-target");
    let ports = Ports::reserve(2).unwrap();
    let pcscd = ifd_pcscd(dir.path(), ports.base);
    let mut command = pcscd.command(env!("CARGO_BIN_EXE_mynasim"));
    command
        .current_dir(repo())
        .args(["run", "--target", "vpcd", "--vpcd"])
        .arg(format!("127.0.0.1:{}", ports.base))
        .arg(repo().join("scenarios/portable"));
    let out = run_to_end(command, Duration::from_secs(300));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}\n{}",
        text(&out),
        tail(pcscd.log(), 40)
    );
    assert_eq!(
        stdout.lines().filter(|l| l.starts_with("PASS")).count(),
        17,
        "{stdout}"
    );
}
