//! Field traces (issue 10) with the real tools: logs written by pcsc-lite's `pcsc-spy`,
//! pcscd's `--apdu` log and OpenSC's debug log while OpenSC and a pyscard application talk
//! to `mynasim serve` through a private pcscd, imported with `mynasim import`, must hold
//! exactly the exchanges the card itself recorded (`serve --record`). Secrets: the logs hold
//! the PIN as sent; the record and the import mask it unless `--keep-secrets`.
//!
//! Like the other end-to-end tests these need root and the Debian packages `ci/setup`
//! installs (pcscd, vsmartcard-vpcd, OpenSC, libpcsclite-dev for pcsc-spy and
//! libpcscspy, python3-pyscard), and fail — never skip — without them.

use std::ffi::OsString;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use mynasim_simulator::transcript::{Exchange, Transcript, jsonl};

use crate::live::Live;
use crate::support::{Process, mynasim, repo, wait_until};

const DEFAULT: &str = "scenarios/profiles/default.yaml";

/// Linux's `O_NONBLOCK`.
const O_NONBLOCK: i32 = 0o4000;

/// The default card's authentication PIN (`1234`) as the logs show it.
const PIN_HEX: &str = "31 32 33 34";

/// Where Debian's libpcsclite-dev puts the spy library, and the real library.
const SPY_LIBRARY: &str = "/usr/lib/x86_64-linux-gnu/libpcscspy.so.0";
const PCSCLITE: &str = "/usr/lib/x86_64-linux-gnu/libpcsclite.so.1";

/// A live card whose `serve` records to `record.jsonl` (secrets masked).
fn recorded(name: &str, apdu_log: bool) -> (Live, PathBuf) {
    for needed in [SPY_LIBRARY, PCSCLITE, "/usr/bin/pcsc-spy"] {
        assert!(
            Path::new(needed).exists(),
            "{needed} is missing: run ci/setup as root (Debian libpcsclite-dev)"
        );
    }
    let dir_record = std::env::temp_dir().join(format!(
        "mynasim-record-{name}-{}.jsonl",
        std::process::id()
    ));
    let live = Live::start_with(
        name,
        &[(0, DEFAULT)],
        apdu_log,
        &[OsString::from("--record"), dir_record.clone().into()],
    );
    let record = live.path("record.jsonl");
    std::fs::rename(&dir_record, &record).unwrap();
    (live, record)
}

/// The exchanges of a mynasim record.
fn record_exchanges(record: &Path) -> Vec<Exchange> {
    let text = std::fs::read_to_string(record).unwrap();
    jsonl::parse(&text)
        .unwrap_or_else(|e| panic!("{}: {e}", record.display()))
        .exchanges()
        .cloned()
        .collect()
}

/// `mynasim import FORMAT LOG -o OUT --scenario S` (secrets masked); the imported
/// exchanges. The scenario written must pass on the simulator (`mynasim run`), and hold no
/// PIN.
fn import(format: &str, log: &Path) -> Vec<Exchange> {
    let out = log.with_extension("imported.jsonl");
    let scenario = log.with_extension("scenario.yaml");
    let run = mynasim()
        .args(["import", format])
        .arg(log)
        .arg("-o")
        .arg(&out)
        .arg("--scenario")
        .arg(&scenario)
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "mynasim import {format} {}: {}",
        log.display(),
        String::from_utf8_lossy(&run.stderr)
    );
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(!text.contains(PIN_HEX), "the import shows the PIN:\n{text}");
    let yaml = std::fs::read_to_string(&scenario).unwrap();
    assert!(
        !yaml.contains("31323334"),
        "the scenario shows the PIN:\n{yaml}"
    );
    let replay = mynasim().arg("run").arg(&scenario).output().unwrap();
    assert!(
        replay.status.success(),
        "the scenario written from the {format} log does not pass on the simulator:\n{}\n{yaml}",
        String::from_utf8_lossy(&replay.stdout)
    );
    jsonl::parse(&text).unwrap().exchanges().cloned().collect()
}

/// Waits until the record holds the exchanges `seen` (from `from` on), then says they are
/// the same, exchange for exchange.
fn assert_card_saw(record: &Path, from: usize, seen: &[Exchange]) {
    assert!(seen.len() > 5, "too few exchanges imported: {}", seen.len());
    let card = wait_until(
        Duration::from_secs(10),
        "the record to hold every exchange",
        || {
            let all = record_exchanges(record);
            (all.len() >= from + seen.len()).then_some(all)
        },
        || {
            format!(
                "record:\n{}",
                std::fs::read_to_string(record).unwrap_or_default()
            )
        },
    );
    let card = card.get(from..).unwrap_or_default();
    for (i, (imported, recorded)) in seen.iter().zip(card).enumerate() {
        assert_eq!(
            Transcript::from_iter([mynasim_simulator::transcript::Entry::new(
                mynasim_simulator::transcript::Event::Exchange(imported.clone())
            )])
            .to_text(true),
            Transcript::from_iter([mynasim_simulator::transcript::Entry::new(
                mynasim_simulator::transcript::Event::Exchange(recorded.clone())
            )])
            .to_text(true),
            "exchange {i} differs"
        );
    }
    assert_eq!(
        card.len(),
        seen.len(),
        "the card saw more than the log shows"
    );
    let record_text = std::fs::read_to_string(record).unwrap();
    assert!(
        !record_text.contains(PIN_HEX),
        "the record shows the PIN:\n{record_text}"
    );
}

/// A folder where `libpcsclite.so.1` is the spy and `libpcsclite_nospy.so.1` the real
/// library: programs that dlopen libpcsclite (OpenSC, pyscard) load the spy from there
/// (pcsc-spy(1), "Application loading libpcsclite.so.1").
fn spy_libraries(dir: &Path) -> PathBuf {
    let libs = dir.join("spylib");
    std::fs::create_dir_all(&libs).unwrap();
    std::os::unix::fs::symlink(SPY_LIBRARY, libs.join("libpcsclite.so.1")).unwrap();
    std::os::unix::fs::symlink(PCSCLITE, libs.join("libpcsclite_nospy.so.1")).unwrap();
    libs
}

/// Runs `command` spied: the spy library writes to `$HOME/pcsc-spy` (a FIFO read by `cat`
/// into a raw log), then `pcsc-spy -n RAW` writes the readable log that users attach.
fn spied(live: &Live, mut command: Command) -> (Output, PathBuf) {
    let home = live.dir.path();
    let fifo = home.join("pcsc-spy");
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success(), "mkfifo {}", fifo.display());
    let raw = home.join("spy.raw");
    let mut cat = Process::spawn("cat pcsc-spy", Command::new("cat").arg(&fifo), &raw);
    let libs = spy_libraries(home);
    let out = command
        .env("HOME", home)
        .env("LD_LIBRARY_PATH", &libs)
        .output()
        .unwrap();
    // Opening and closing the FIFO ends `cat` even if the program never loaded the spy (then
    // the log is empty and the import below fails, saying so).
    // Non-blocking: with `cat` gone already (the spy wrote and closed), opening for writing
    // fails at once (ENXIO) instead of waiting for a reader that never comes.
    let _ = std::fs::OpenOptions::new()
        .write(true)
        .custom_flags(O_NONBLOCK)
        .open(&fifo);
    let status = cat.wait_exit(Duration::from_secs(10));
    assert!(status.success(), "cat of the spy FIFO: {status}");
    let spy = Command::new("pcsc-spy")
        .arg("-n")
        .arg(&raw)
        .output()
        .unwrap();
    let log = home.join("spy.log");
    std::fs::write(&log, &spy.stdout).unwrap();
    (out, log)
}

fn assert_ok(what: &str, out: &Output) {
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn pcsc_spy_log_of_opensc_imports_what_the_card_saw() {
    let (live, record) = recorded("trace-spy-opensc", false);
    let before = record_exchanges(&record).len();
    let mut command = live.command("pkcs15-tool");
    command.args([
        "--verify-pin",
        "--auth-id",
        "01",
        "--pin",
        "1234",
        "--read-certificate",
        "01",
    ]);
    let (out, log) = spied(&live, command);
    assert_ok("pkcs15-tool under pcsc-spy", &out);
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        text.contains(PIN_HEX),
        "the spy log should hold the PIN as sent"
    );
    assert_card_saw(&record, before, &import("pcsc-spy", &log));
}

/// Runs `client` against a card whose pcscd logs APDUs, and returns the imported part of
/// pcscd's log that `client` caused, with the record's position before it ran.
fn pcscd_capture(live: &Live, record: &Path, client: impl FnOnce()) -> (usize, Vec<Exchange>) {
    let before = record_exchanges(record).len();
    let pcscd_log = live.pcscd.log().to_owned();
    let lines_before = std::fs::read_to_string(&pcscd_log).unwrap().lines().count();
    client();
    // Waits until pcscd has logged the last answer, then takes the run's part of its log.
    let part = live.path("pcscd-part.log");
    let seen = wait_until(
        Duration::from_secs(10),
        "pcscd's log to hold the run",
        || {
            let text = std::fs::read_to_string(&pcscd_log).unwrap();
            let run: Vec<&str> = text.lines().skip(lines_before).collect();
            std::fs::write(&part, run.join("\n") + "\n").unwrap();
            let seen = import("pcscd", &part);
            let card = record_exchanges(record).len() - before;
            (seen.len() >= card && card > 0).then_some(seen)
        },
        || std::fs::read_to_string(&pcscd_log).unwrap_or_default(),
    );
    assert!(
        std::fs::read_to_string(&part).unwrap().contains(PIN_HEX),
        "pcscd's log should hold the PIN as sent"
    );
    (before, seen)
}

#[test]
fn pcscd_apdu_log_of_opensc_imports_what_the_card_saw() {
    let (live, record) = recorded("trace-pcscd-opensc", true);
    let (before, seen) = pcscd_capture(&live, &record, || {
        live.ok(
            "pkcs15-tool",
            &[
                "--verify-pin",
                "--auth-id",
                "01",
                "--pin",
                "1234",
                "--read-certificate",
                "01",
            ],
        );
    });
    assert_card_saw(&record, before, &seen);
}

/// pyscard under pcsc-spy crashes in pcsc-lite 1.9.9's spy library (SCardTransmit with a
/// NULL pioRecvPci, LudovicRousseau/PCSC#159; docs/field-bugs.md), so the pyscard capture
/// is pcscd's log: the example app's login, a signature included.
#[test]
fn pcscd_apdu_log_of_a_pyscard_signature_imports_what_the_card_saw() {
    let (live, record) = recorded("trace-pcscd-pyscard", true);
    let (before, seen) = pcscd_capture(&live, &record, || {
        // nsenter's new mount namespace resets the working folder: the app comes by
        // PYTHONPATH.
        let out = live
            .command("/usr/bin/python3")
            .args(["-m", "myapp", "login", "1234"])
            .env("PYTHONPATH", repo().join("examples/python-app"))
            .output()
            .unwrap();
        assert_ok("the pyscard app", &out);
    });
    assert!(
        seen.iter()
            .any(|x| x.command.get(..2) == Some(&[0x80, 0x2A][..])),
        "no signature in pcscd's log"
    );
    assert_card_saw(&record, before, &seen);
}

#[test]
fn opensc_debug_log_imports_what_the_card_saw() {
    let (live, record) = recorded("trace-opensc", false);
    let before = record_exchanges(&record).len();
    let out = live
        .command("pkcs15-tool")
        .env("OPENSC_DEBUG", "9")
        .args(["--dump"])
        .output()
        .unwrap();
    assert_ok("pkcs15-tool --dump with OPENSC_DEBUG=9", &out);
    let log = live.path("opensc.log");
    std::fs::write(&log, &out.stderr).unwrap();
    assert_card_saw(&record, before, &import("opensc", &log));
}

#[test]
fn exec_records_the_session_with_power_events_and_no_secret() {
    crate::live::require_tools();
    let dir = crate::support::TempDir::new("trace-exec-record");
    crate::live::write_opensc_conf(dir.path());
    let record = dir.join("exec.jsonl");
    let out = mynasim()
        .args(["exec", "--record"])
        .arg(&record)
        .args([
            "--",
            "pkcs15-tool",
            "--verify-pin",
            "--auth-id",
            "01",
            "--pin",
            "1234",
        ])
        .env("OPENSC_CONF", dir.join("opensc.conf"))
        .output()
        .unwrap();
    assert_ok("mynasim exec --record", &out);
    let text = std::fs::read_to_string(&record).unwrap();
    assert!(!text.contains(PIN_HEX), "{text}");
    assert!(text.contains("\"event\":\"power_on\""), "{text}");
    assert!(
        text.lines()
            .skip(1)
            .all(|l| l.contains("\"slot\":0") && l.contains("\"at_us\":")),
        "{text}"
    );
    let exchanges = record_exchanges(&record);
    assert!(
        exchanges
            .iter()
            .any(|x| x.redacted && x.response == [0x90, 0x00]),
        "the VERIFY is recorded, masked: {text}"
    );
    // With --keep-secrets the PIN is there, and stderr says so.
    let kept = dir.join("kept.jsonl");
    let out = mynasim()
        .args(["exec", "--keep-secrets", "--record"])
        .arg(&kept)
        .args([
            "--",
            "pkcs15-tool",
            "--verify-pin",
            "--auth-id",
            "01",
            "--pin",
            "1234",
        ])
        .env("OPENSC_CONF", dir.join("opensc.conf"))
        .output()
        .unwrap();
    assert_ok("mynasim exec --keep-secrets --record", &out);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--keep-secrets"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(std::fs::read_to_string(&kept).unwrap().contains(PIN_HEX));
}

/// A session with the simulator (`card apdu --transcript`, secrets kept: a pasted trace)
/// becomes a scenario that passes on the simulator, names the PIN instead of writing it,
/// expects random data by length — and fails once one expected byte is wrong.
#[test]
fn a_pasted_trace_becomes_a_scenario_that_passes_and_fails_when_wrong() {
    let dir = crate::support::TempDir::new("trace-scenario");
    let digest_info = "3031300D060960864801650304020105000420";
    let apdus = [
        "00A4040C0AD392F000260100000001".to_owned(),
        "00A4020C020018".to_owned(),
        "002000800431313131".to_owned(),
        "002000800431323334".to_owned(),
        "00A4020C020017".to_owned(),
        format!("802A008033{digest_info}{}00", "AB".repeat(32)),
        "00A4020C02000A".to_owned(),
        "00B0000004".to_owned(),
        "0084000008".to_owned(),
    ];
    let session = mynasim()
        .args(["card", "apdu", "--transcript", "--no-redact"])
        .args(&apdus)
        .output()
        .unwrap();
    assert_ok("card apdu", &session);
    let trace = dir.join("pasted.txt");
    std::fs::write(&trace, &session.stdout).unwrap();
    // The certificate's first bytes as this simulator answers them (profiles change).
    let text = String::from_utf8(session.stdout.clone()).unwrap();
    let head = text
        .lines()
        .skip_while(|l| *l != ">> 00 B0 00 00 04")
        .nth(1)
        .and_then(|l| l.strip_prefix("<< "))
        .map(|l| l.replace(' ', ""))
        .unwrap_or_else(|| panic!("no READ BINARY in:\n{text}"));
    let head = head.strip_suffix("9000").unwrap_or(&head).to_owned();
    let mut wrong_head = head.clone();
    wrong_head.replace_range(7.., if head.ends_with('0') { "1" } else { "0" });
    let scenario = dir.join("pasted.yaml");
    let out = mynasim()
        .args(["import", "hex"])
        .arg(&trace)
        .arg("--scenario")
        .arg(&scenario)
        .output()
        .unwrap();
    assert_ok("import hex --scenario", &out);
    assert!(out.stdout.is_empty(), "only the scenario is written");
    let yaml = std::fs::read_to_string(&scenario).unwrap();
    for needle in [
        "verify: { pin: \"${card.pin.auth}\" }",
        "apdu: \"002000800430303030\"",
        "expect: { sw: \"63C2\" }",
        "expect: { sw: \"9000\", data_length: 256 }",
        "expect: { sw: \"9000\", data_length: 8 }",
        &format!("expect: {{ sw: \"9000\", data: \"{head}\" }}"),
    ] {
        assert!(yaml.contains(needle), "missing `{needle}` in:\n{yaml}");
    }
    assert!(
        !yaml.contains("31323334") && !yaml.contains("31313131"),
        "{yaml}"
    );
    let run = mynasim().arg("run").arg(&scenario).output().unwrap();
    assert_ok("mynasim run on the written scenario", &run);
    // A wrong expectation must fail.
    let wrong = dir.join("wrong.yaml");
    let wrong_yaml = yaml.replace(
        &format!("data: \"{head}\""),
        &format!("data: \"{wrong_head}\""),
    );
    assert_ne!(wrong_yaml, yaml, "the expectation to break is there");
    std::fs::write(&wrong, wrong_yaml).unwrap();
    let run = mynasim().arg("run").arg(&wrong).output().unwrap();
    assert_eq!(
        run.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&run.stdout)
    );
}

/// `trace diff`: identical transcripts exit 0; a changed answer exits 1 and names the first
/// difference; a file that is not a transcript exits 2 naming its line.
#[test]
fn trace_diff_exits_by_what_it_found() {
    let dir = crate::support::TempDir::new("trace-diff");
    let a = dir.join("a.txt");
    let b = dir.join("b.jsonl");
    std::fs::write(
        &a,
        ">> 00 A4 02 0C 02 00 18\n<< 90 00\n>> 00 B0 00 00 02\n<< 30 82 90 00\n",
    )
    .unwrap();
    let record = |answer: &str| {
        format!(
            "{}\n{{\"event\":\"exchange\",\"command\":\"00 A4 02 0C 02 00 18\",\"response\":\"90 00\"}}\n\
             {{\"event\":\"exchange\",\"command\":\"00 B0 00 00 02\",\"response\":\"{answer}\"}}\n",
            jsonl::header()
        )
    };
    std::fs::write(&b, record("30 82 90 00")).unwrap();
    let diff = |x: &Path, y: &Path| {
        mynasim()
            .args(["trace", "diff"])
            .arg(x)
            .arg(y)
            .output()
            .unwrap()
    };
    let same = diff(&a, &b);
    assert_eq!(
        same.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&same.stdout)
    );
    assert!(String::from_utf8_lossy(&same.stdout).ends_with(": identical\n"));
    std::fs::write(&b, record("6A 82")).unwrap();
    let differs = diff(&a, &b);
    let out = String::from_utf8_lossy(&differs.stdout);
    assert_eq!(differs.status.code(), Some(1), "{out}");
    assert!(
        out.contains(">>>>> first difference: exchange 2 of A, 2 of B"),
        "{out}"
    );
    assert!(out.contains("B << 6A 82"), "{out}");
    std::fs::write(&b, "{\"format\":\"mynasim-transcript\",\"version\":9}\n").unwrap();
    let invalid = diff(&a, &b);
    assert_eq!(invalid.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&invalid.stderr).contains("b.jsonl: line 1: version 9"),
        "{}",
        String::from_utf8_lossy(&invalid.stderr)
    );
}

/// The bundled trace scenarios are what `import --scenario` writes from the masked traces
/// committed beside them (so they can be rewritten, and the writer cannot drift from them).
#[test]
fn bundled_trace_scenarios_are_regenerated_from_their_traces() {
    let dir = crate::support::TempDir::new("trace-bundled");
    let folder = repo().join("scenarios/traces");
    let mut traces: Vec<PathBuf> = std::fs::read_dir(&folder)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .collect();
    traces.sort();
    assert!(traces.len() >= 3, "{traces:?}");
    let steps = |text: &str| -> String {
        text.lines()
            .skip_while(|l| *l != "steps:")
            .collect::<Vec<_>>()
            .join("\n")
    };
    for trace in traces {
        let record = std::fs::read_to_string(&trace).unwrap();
        assert!(!record.contains(PIN_HEX), "{}", trace.display());
        let written = dir.join("written.yaml");
        let out = mynasim()
            .args(["import", "jsonl"])
            .arg(&trace)
            .arg("--scenario")
            .arg(&written)
            .output()
            .unwrap();
        assert_ok("import jsonl --scenario", &out);
        let bundled = std::fs::read_to_string(trace.with_extension("yaml")).unwrap();
        let written = std::fs::read_to_string(&written).unwrap();
        assert!(steps(&bundled).len() > 100, "{}", trace.display());
        assert_eq!(steps(&written), steps(&bundled), "{}", trace.display());
    }
}

/// The replay card serves a real client from a recording with no simulator behind it:
/// `pkcs15-tool --dump` prints the same as against the card it was recorded from; the next
/// command past the recording is a divergence the log names.
#[test]
fn the_replay_card_serves_pkcs15_dump_from_a_recording() {
    let (live, record) = recorded("trace-replay-source", false);
    let original = live.ok("pkcs15-tool", &["--dump"]);
    let keep = crate::support::TempDir::new("trace-replay-record");
    let recording = keep.join("record.jsonl");
    std::fs::copy(&record, &recording).unwrap();
    drop(live);
    let mut replay = Live::start_with(
        "trace-replay",
        &[(0, DEFAULT)],
        false,
        &[OsString::from("--replay"), recording.into_os_string()],
    );
    let replayed = replay.ok("pkcs15-tool", &["--dump"]);
    assert_eq!(replayed, original);
    assert!(
        replay.serve.log_text().contains("replaying"),
        "{}",
        replay.serve.log_text()
    );
    // The recording is used up: the next client diverges, and the log says where.
    let out = replay.run("pkcs15-tool", &["--list-pins"]);
    assert!(!out.status.success());
    let log = replay.serve.log_text();
    assert!(
        log.contains("replay: command ") && log.contains("but the recording has only"),
        "{log}"
    );
    // `--on-divergence fail` (the default) stops serve, exit status 1.
    let status = replay.serve.process.wait_exit(Duration::from_secs(15));
    assert_eq!(status.code(), Some(1), "{}", replay.serve.log_text());
}

/// `--on-divergence simulate`: past the recording, the profile's card answers, in the state
/// the recorded session left it — a client the recording never saw still works, and serve
/// keeps serving.
#[test]
fn a_hybrid_replay_hands_over_to_the_simulated_card() {
    let (live, record) = recorded("trace-hybrid-source", false);
    let original = live.ok("pkcs15-tool", &["--dump"]);
    let keep = crate::support::TempDir::new("trace-hybrid-record");
    let recording = keep.join("record.jsonl");
    std::fs::copy(&record, &recording).unwrap();
    drop(live);
    let mut replay = Live::start_with(
        "trace-hybrid",
        &[(0, DEFAULT)],
        false,
        &[
            OsString::from("--replay"),
            recording.into_os_string(),
            OsString::from("--on-divergence"),
            OsString::from("simulate"),
        ],
    );
    assert_eq!(replay.ok("pkcs15-tool", &["--dump"]), original);
    let pins = replay.ok("pkcs15-tool", &["--list-pins"]);
    assert!(
        pins.contains("User Authentication PIN") || pins.contains("PIN"),
        "{pins}"
    );
    let log = replay.serve.log_text();
    assert!(log.contains("replay: command "), "{log}");
    assert!(replay.serve.process.running(), "{log}");
}

/// A relay running: the second pcscd, its private folder and the relay's record.
struct Relay {
    pcscd: mynasim_harness::host::pcscd::PrivatePcscd,
    dir: crate::support::TempDir,
    record: PathBuf,
    _relay: Process,
}

impl Relay {
    /// `mynasim relay` of `real`'s slot 0 behind a second pcscd's virtual reader, with
    /// `extra` arguments; returns once OpenSC on the second pcscd sees the card.
    fn start(real: &Live, name: &str, extra: &[&str]) -> Self {
        let dir = crate::support::TempDir::new(name);
        crate::live::write_opensc_conf(dir.path());
        let ports = crate::live::ports();
        let pcscd = crate::live::pcscd(dir.path(), ports.base);
        let record = dir.join("relay.jsonl");
        let ready = dir.join("relay.ready");
        let log = dir.join("relay.log");
        let relay = Process::spawn(
            "mynasim relay",
            mynasim()
                .args(["relay", "--reader", "Virtual PCD 00 00", "--vpcd"])
                .arg(format!("127.0.0.1:{}", ports.base))
                .arg("--record")
                .arg(&record)
                .arg("--ready-file")
                .arg(&ready)
                .args(extra)
                .env("PCSCLITE_CSOCK_NAME", real.pcscd.socket())
                .env("MYNASIM_LOG", "mynasim_harness=debug"),
            &log,
        );
        wait_until(
            Duration::from_secs(20),
            "the relay's ready file",
            || ready.exists().then_some(()),
            || crate::support::tail(&log, 40),
        );
        let this = Self {
            pcscd,
            dir,
            record,
            _relay: relay,
        };
        wait_until(
            Duration::from_secs(20),
            "OpenSC to see the relayed card",
            || {
                let out = this.client("opensc-tool", &["--list-readers"]);
                String::from_utf8_lossy(&out.stdout)
                    .lines()
                    .any(|l| l.contains("Yes") && l.ends_with("Virtual PCD 00 00"))
                    .then_some(())
            },
            || crate::support::tail(&log, 40),
        );
        this
    }

    /// A program on the second pcscd (the relay's virtual reader).
    fn client(&self, program: &str, args: &[&str]) -> Output {
        self.pcscd
            .command(program)
            .env("OPENSC_CONF", self.dir.join("opensc.conf"))
            .env("HOME", self.dir.path())
            .args(args)
            .output()
            .unwrap()
    }
}

/// `mynasim relay`: the card of one pcscd's reader (a simulated card standing in for a real
/// one) behind another pcscd's virtual reader. OpenSC on the second sees the same card as on
/// the first, and the relay records the session with the PIN masked.
#[test]
fn relay_puts_the_card_of_one_reader_behind_the_virtual_reader_of_another() {
    let real = Live::start("trace-relay-real", &[(0, DEFAULT)]);
    let direct = real.ok("pkcs15-tool", &["--dump"]);
    let relay = Relay::start(&real, "trace-relay", &[]);
    let relayed = relay.client("pkcs15-tool", &["--dump"]);
    assert_ok("pkcs15-tool --dump through the relay", &relayed);
    assert_eq!(String::from_utf8_lossy(&relayed.stdout), direct);
    let verified = relay.client(
        "pkcs15-tool",
        &["--verify-pin", "--auth-id", "01", "--pin", "1234"],
    );
    assert_ok("pkcs15-tool --verify-pin through the relay", &verified);
    let text = std::fs::read_to_string(&relay.record).unwrap();
    assert!(!text.contains(PIN_HEX), "{text}");
    let exchanges = record_exchanges(&relay.record);
    assert!(exchanges.len() > 10, "{text}");
    assert!(
        exchanges
            .iter()
            .any(|x| x.redacted && x.response == [0x90, 0x00]),
        "{text}"
    );
}

/// `mynasim relay --fault`: the fault plan acts between the program and the card in the
/// real reader. A forced status word never reaches the card (the real card's own transcript
/// lacks the command), and the record holds what the program saw.
#[test]
fn relay_applies_a_fault_plan_on_the_way() {
    let real = Live::start("trace-relay-fault-real", &[(0, DEFAULT)]);
    let relay = Relay::start(
        &real,
        "trace-relay-fault",
        &["--fault", "{on: \"00 B0 ..\", status: 6F00}"],
    );
    let apdu = |args: &[&str]| {
        let mut all = vec!["card", "apdu", "--reader", "Virtual PCD 00 00"];
        all.extend(args);
        let out = relay
            .pcscd
            .command(env!("CARGO_BIN_EXE_mynasim"))
            .args(&all)
            .output()
            .unwrap();
        assert_ok("mynasim card apdu through the relay", &out);
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    // SELECT JPKI, its auth certificate EF, then READ BINARY twice: the first is the
    // fault's (times: 1 by default), the second the card's.
    let out = apdu(&[
        "00A4040C0AD392F000260100000001",
        "00A4020C02000A",
        "00B0000004",
        "00B0000004",
    ]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 4, "{out}");
    assert_eq!(lines[2], "6F 00", "{out}");
    assert!(
        lines[3].starts_with("30 82") && lines[3].ends_with("90 00"),
        "{out}"
    );
    // The card behind got one READ BINARY, not two.
    let serve_log = real.serve.log_text();
    let reads = serve_log.matches(">> 00 B0 00 00 04").count();
    assert_eq!(reads, 1, "{serve_log}");
    let exchanges = record_exchanges(&relay.record);
    assert!(
        exchanges.iter().any(|x| x.response == [0x6F, 0x00]),
        "{}",
        std::fs::read_to_string(&relay.record).unwrap()
    );
}
