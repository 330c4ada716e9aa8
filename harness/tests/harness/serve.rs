//! `mynasim serve` against the simulator's fake reader (the listening half of vpcd), so
//! these run without pcscd: what goes over the wire, logging, control, signals, config.

use std::net::SocketAddr;
use std::time::Duration;

use mynasim_simulator::hex;
use mynasim_simulator::transport::{FakeReader, ReaderError, ReaderLink};

use crate::support::{Process, TempDir, mynasim, wait_until};

const SELECT_JPKI: &str = "00A4040C0AD392F000260100000001";
const DEFAULT_ATR: &str = "3B 88 80 01 00 00 05 E0 B3 81 A1 00 7F";

/// `mynasim serve` with `args`, debug logging into DIR/serve.log.
fn serve(dir: &TempDir, args: &[&str]) -> Process {
    let mut command = mynasim();
    command
        .arg("serve")
        .args(args)
        .env("MYNASIM_LOG", "mynasim_harness=debug");
    Process::spawn("mynasim serve", &mut command, &dir.join("serve.log"))
}

fn log(dir: &TempDir) -> String {
    std::fs::read_to_string(dir.join("serve.log")).unwrap_or_default()
}

/// A fake reader on a free loopback port.
async fn reader() -> (FakeReader, SocketAddr) {
    let fake = FakeReader::bind("127.0.0.1:0").await.unwrap();
    let addr = fake.local_addr().unwrap();
    (fake, addr)
}

/// Two fake readers on consecutive ports (slots 0 and 1).
async fn reader_pair() -> (FakeReader, FakeReader, SocketAddr) {
    for _ in 0..100 {
        let (first, addr) = reader().await;
        let Some(next) = addr.port().checked_add(1) else {
            continue;
        };
        if let Ok(second) = FakeReader::bind(("127.0.0.1", next)).await {
            return (first, second, addr);
        }
    }
    panic!("no two consecutive free ports");
}

async fn accept(fake: &FakeReader, dir: &TempDir) -> ReaderLink {
    match tokio::time::timeout(Duration::from_secs(20), fake.accept()).await {
        Ok(link) => link.unwrap(),
        Err(_) => panic!("the card never connected:\n{}", log(dir)),
    }
}

async fn tx(link: &mut ReaderLink, apdu: &str) -> String {
    hex::spaced(&link.transmit(&hex::decode(apdu).unwrap()).await.unwrap())
}

/// Waits until the log contains `needle`.
fn wait_log(dir: &TempDir, needle: &str) {
    wait_until(
        Duration::from_secs(20),
        &format!("`{needle}` in the log"),
        || log(dir).contains(needle).then_some(()),
        || log(dir),
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn serve_answers_the_reader_and_logs_each_apdu_with_pins_masked() {
    let dir = TempDir::new("serve-log");
    let (fake, addr) = reader().await;
    let mut process = serve(&dir, &["--vpcd", &addr.to_string()]);
    let mut link = accept(&fake, &dir).await;
    assert_eq!(hex::spaced(&link.get_atr().await.unwrap()), DEFAULT_ATR);
    assert_eq!(hex::spaced(&link.power_on().await.unwrap()), DEFAULT_ATR);
    assert_eq!(tx(&mut link, SELECT_JPKI).await, "90 00");
    assert_eq!(tx(&mut link, "00A4020C020018").await, "90 00");
    assert_eq!(tx(&mut link, "002000800431323335").await, "63 C2");
    assert_eq!(tx(&mut link, "002000800431323334").await, "90 00");
    wait_log(&dir, "<< 90 00 (");
    wait_until(
        Duration::from_secs(10),
        "four APDU lines",
        || (log(&dir).matches("slot 0: >>").count() == 4).then_some(()),
        || log(&dir),
    );
    let text = log(&dir);
    assert!(
        text.contains("slot 0: >> 00 20 00 80 04 ** ** ** ** << 63 C2"),
        "{text}"
    );
    assert!(
        !text.contains("31 32 33"),
        "a PIN leaked into the log:\n{text}"
    );
    assert!(text.contains("slot 0: power on"), "{text}");
    assert!(
        !text.contains("get ATR"),
        "presence polls are logged at trace level only"
    );
    process.signal("INT");
    assert!(process.wait_exit(Duration::from_secs(10)).success());
    assert!(log(&dir).contains("interrupted: stopping"));
}

#[tokio::test(flavor = "multi_thread")]
async fn serve_waits_for_the_reader_and_reconnects_when_it_goes_away() {
    let dir = TempDir::new("serve-reconnect");
    let (fake, addr) = reader().await;
    drop(fake);
    let _process = serve(&dir, &["--vpcd", &addr.to_string()]);
    wait_log(&dir, "waiting for pcscd's vpcd reader at");
    let fake = FakeReader::bind(addr).await.unwrap();
    let mut link = accept(&fake, &dir).await;
    link.power_on().await.unwrap();
    assert_eq!(tx(&mut link, SELECT_JPKI).await, "90 00");
    drop(link);
    // The reader went away between frames: the card comes back by itself, unpowered.
    let mut link = accept(&fake, &dir).await;
    assert!(matches!(
        link.transmit(&hex::decode(SELECT_JPKI).unwrap()).await,
        Err(ReaderError::Mute)
    ));
    let text = log(&dir);
    assert!(text.contains("vpcd closed the connection"), "{text}");
    assert!(text.contains("(nothing: the card is unpowered)"), "{text}");
}

#[tokio::test(flavor = "multi_thread")]
async fn control_socket_removes_and_inserts_and_the_card_keeps_its_counters() {
    let dir = TempDir::new("serve-control");
    let control = dir.join("control.sock");
    let (fake, addr) = reader().await;
    let _process = serve(
        &dir,
        &[
            "--vpcd",
            &addr.to_string(),
            "--control",
            control.to_str().unwrap(),
        ],
    );
    let mut link = accept(&fake, &dir).await;
    wait_until(
        Duration::from_secs(10),
        "the control socket",
        || control.exists().then_some(()),
        || log(&dir),
    );
    link.power_on().await.unwrap();
    tx(&mut link, SELECT_JPKI).await;
    tx(&mut link, "00A4020C020018").await;
    assert_eq!(tx(&mut link, "002000800431313131").await, "63 C2");
    assert_eq!(tx(&mut link, "002000800431323334").await, "90 00");

    let ctl = |args: &[&str]| {
        mynasim()
            .arg("control")
            .arg(&control)
            .args(args)
            .output()
            .unwrap()
    };
    let out = ctl(&["remove", "0"]);
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout), "ok slot 0 removed\n");
    // Removal closes the socket: the reader sees the card gone.
    let gone = tokio::time::timeout(Duration::from_secs(10), link.get_atr())
        .await
        .expect("removal is seen");
    assert!(matches!(
        gone,
        Err(ReaderError::CardClosed | ReaderError::Frame(_))
    ));
    let status = String::from_utf8(ctl(&["status"]).stdout).unwrap();
    assert!(
        status.starts_with("ok\nslot 0 removed disconnected vpcd"),
        "{status}"
    );
    assert!(ctl(&["insert"]).status.success());
    let mut link = accept(&fake, &dir).await;
    // Removal cut the power: the PIN must be verified again; the counter stayed at 3
    // (restored by the correct PIN), as counters are persistent.
    link.power_on().await.unwrap();
    tx(&mut link, SELECT_JPKI).await;
    tx(&mut link, "00A4020C020018").await;
    assert_eq!(tx(&mut link, "00200080").await, "63 C3");
    tx(&mut link, "00A4020C020017").await;
    let digest_info = format!("3031300D060960864801650304020105000420{}", "AB".repeat(32));
    assert_eq!(
        tx(&mut link, &format!("802A008033{digest_info}00")).await,
        "69 82"
    );
    // Mistakes are exit 2 with the reason; a socket nobody serves is exit 3.
    let bad = ctl(&["remove", "5"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("no card in slot 5"));
    let nobody = mynasim()
        .args([
            "control",
            dir.join("nothing.sock").to_str().unwrap(),
            "status",
        ])
        .output()
        .unwrap();
    assert_eq!(nobody.status.code(), Some(3));
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_stops_cleanly_and_the_reader_sees_the_card_go() {
    let dir = TempDir::new("serve-sigterm");
    let control = dir.join("control.sock");
    let (fake, addr) = reader().await;
    let mut process = serve(
        &dir,
        &[
            "--vpcd",
            &addr.to_string(),
            "--control",
            control.to_str().unwrap(),
        ],
    );
    let mut link = accept(&fake, &dir).await;
    link.power_on().await.unwrap();
    process.signal("TERM");
    let status = process.wait_exit(Duration::from_secs(10));
    assert!(status.success(), "{status}");
    assert!(matches!(link.receive().await, Ok(None) | Err(_)));
    assert!(!control.exists(), "the control socket is removed");
    assert!(log(&dir).contains("SIGTERM: stopping"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_config_file_serves_two_slots_on_consecutive_ports() {
    let dir = TempDir::new("serve-config");
    let (first, second, addr) = reader_pair().await;
    let config = dir.join("cards.yaml");
    std::fs::write(
        dir.join("contact.yaml"),
        "version: 1\nseed: 3\ntoday: 2026-11-25\nholder: { birth_date: 1970-01-02 }\ncard: { issued: 2025-01-01, atr: contact }\n",
    )
    .unwrap();
    std::fs::write(
        &config,
        format!(
            "version: 1\nvpcd: {addr}\nslots:\n  - {{ slot: 0, profile: default }}\n  - {{ slot: 1, profile: contact.yaml }}\n"
        ),
    )
    .unwrap();
    let _process = serve(&dir, &["--config", config.to_str().unwrap()]);
    let mut a = accept(&first, &dir).await;
    let mut b = accept(&second, &dir).await;
    assert_eq!(hex::spaced(&a.power_on().await.unwrap()), DEFAULT_ATR);
    assert_eq!(
        hex::spaced(&b.power_on().await.unwrap()),
        "3B E0 00 FF 81 31 FE 45 14"
    );
    assert_eq!(tx(&mut a, SELECT_JPKI).await, "90 00");
    assert_eq!(tx(&mut b, SELECT_JPKI).await, "90 00");
    wait_log(&dir, "slot 1: >> 00 A4 04 0C");
}

#[test]
fn bad_arguments_and_configurations_are_exit_2() {
    let dir = TempDir::new("serve-bad");
    let run = |args: &[&str]| mynasim().arg("serve").args(args).output().unwrap();
    let stderr = |o: &std::process::Output| String::from_utf8_lossy(&o.stderr).into_owned();

    let config = dir.join("bad.yaml");
    std::fs::write(
        &config,
        "version: 1\nslots:\n  - { slot: 0, profil: default }\n",
    )
    .unwrap();
    let o = run(&["--config", config.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("bad.yaml:3:"), "{}", stderr(&o));
    assert!(stderr(&o).contains("profil"), "{}", stderr(&o));

    let o = run(&["--slot", "0=default", "--slot", "0=default"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("slot 0 is given twice"));

    let o = run(&["--slot", "16=default"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("out of range"));

    let o = run(&["--vpcd", "no-port-here"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("HOST:PORT"));

    let o = run(&["--profile", "no-such-profile"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("no profile named `no-such-profile`"));
}

#[tokio::test(flavor = "multi_thread")]
async fn wait_gives_up_with_exit_3_when_no_reader_appears() {
    let (fake, addr) = reader().await;
    drop(fake);
    let out = mynasim()
        .args(["serve", "--vpcd", &addr.to_string(), "--wait", "0.5"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("slot 0 ({addr})")), "{err}");
    assert!(err.contains("is pcscd running"), "{err}");
}

/// Readiness without reading logs: the ready file appears once the reader has polled every
/// card, and `control ready` says so; both go when mynasim stops.
#[tokio::test(flavor = "multi_thread")]
async fn the_ready_file_and_control_ready_say_when_the_reader_has_the_card() {
    let dir = TempDir::new("serve-ready");
    let control = dir.join("control.sock");
    let ready = dir.join("ready");
    let (fake, addr) = reader().await;
    let mut process = serve(
        &dir,
        &[
            "--vpcd",
            &addr.to_string(),
            "--control",
            control.to_str().unwrap(),
            "--ready-file",
            ready.to_str().unwrap(),
        ],
    );
    let mut link = accept(&fake, &dir).await;
    wait_until(
        Duration::from_secs(10),
        "the control socket",
        || control.exists().then_some(()),
        || log(&dir),
    );
    let ctl = |args: &[&str]| {
        mynasim()
            .arg("control")
            .arg(&control)
            .args(args)
            .output()
            .unwrap()
    };
    // Connected, but the reader has not polled the card yet: not ready.
    assert!(!ready.exists());
    let not_yet = ctl(&["ready"]);
    assert_eq!(not_yet.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&not_yet.stdout).starts_with("error not ready: slot 0"));
    link.get_atr().await.unwrap();
    wait_until(
        Duration::from_secs(10),
        "the ready file",
        || ready.exists().then_some(()),
        || log(&dir),
    );
    assert!(
        std::fs::read_to_string(&ready)
            .unwrap()
            .starts_with("ready\nslot 0 vpcd ")
    );
    let yes = ctl(&["ready"]);
    assert!(yes.status.success());
    assert_eq!(String::from_utf8_lossy(&yes.stdout), "ok ready\n");
    process.signal("TERM");
    assert!(process.wait_exit(Duration::from_secs(10)).success());
    assert!(!ready.exists(), "the ready file goes with the process");
}

/// `serve --validation` serves the cards' validation service beside them: both slots' cards
/// are in its CRL index, and OCSP answers about the served card's certificate.
#[tokio::test(flavor = "multi_thread")]
async fn serve_validation_answers_for_every_served_card() {
    let dir = TempDir::new("serve-validation");
    let (_first, _second, addr) = reader_pair().await;
    let _process = serve(
        &dir,
        &[
            "--vpcd",
            &addr.to_string(),
            "--slot",
            "0=default",
            "--slot",
            "1=scenarios/profiles/corrupt-short-integrity.yaml",
            "--validation",
            "127.0.0.1:0",
        ],
    );
    wait_log(&dir, "validation service (OCSP, CRLs) on");
    let text = log(&dir);
    let url = text
        .split("validation service (OCSP, CRLs) on ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap()
        .to_owned();
    let out = std::process::Command::new("curl")
        .args(["-sf", &format!("{url}crl/index.json")])
        .output()
        .unwrap();
    assert!(out.status.success(), "{text}");
    let index: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(index.as_object().unwrap().len(), 2, "{index}");
    let status = mynasim_harness::host::validation::http_post(
        &format!("{url}ocsp"),
        "application/ocsp-request",
        b"garbage",
        Duration::from_secs(5),
    )
    .unwrap();
    assert_eq!(
        mynasim_simulator::pki::ocsp::parse_response(&status)
            .unwrap()
            .response_status,
        mynasim_simulator::pki::ocsp::ResponseStatus::MalformedRequest
    );
}
