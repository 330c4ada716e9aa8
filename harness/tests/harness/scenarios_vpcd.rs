//! Bundled scenarios on the `vpcd` target: each scenario's own card goes into a private
//! pcscd's vpcd reader and the scenario drives it through PC/SC — the whole stack, nothing
//! mocked. A sample from every folder (the full library runs on `sim` as its own tests).

use std::time::Duration;

use crate::live::{require_tools, write_opensc_conf};
use crate::support::{TempDir, repo, tail, wait_until};

/// One or two scenarios from each folder, chosen to cover power control, every
/// application, extended-length APDUs, signing, corruption and faults.
const SAMPLE: &[&str] = &[
    "scenarios/pin/auth-pin-lockout.yaml",
    "scenarios/pin/sign-password-change.yaml",
    "scenarios/jpki/seq02-opensc-bind.yaml",
    "scenarios/jpki/seq03-auth-signature-sha256.yaml",
    "scenarios/jpki/signing-schemes.yaml",
    "scenarios/text/seq05-my-number.yaml",
    "scenarios/text/integrity-record.yaml",
    "scenarios/face/seq07-card-face-via-code-a.yaml",
    "scenarios/common/seq10-common-card-serial.yaml",
    "scenarios/mf/cv-chain-7f21.yaml",
    "scenarios/lifecycle/expired-certificates.yaml",
    "scenarios/corruption/integrity-signature.yaml",
    "scenarios/protocol/wrong-length-6700.yaml",
    "scenarios/protocol/secure-messaging-class.yaml",
    "scenarios/power/card-removed-mid-transaction.yaml",
    "scenarios/power/warm-reset-keeps-verified.yaml",
    "scenarios/faults/tear-verify-costs-one-try.yaml",
    "scenarios/faults/dropped-link.yaml",
    "scenarios/faults/corrupted-responses.yaml",
    "scenarios/faults/forced-status-words.yaml",
];

#[test]
fn a_sample_of_the_bundled_scenarios_passes_on_the_vpcd_target_through_pcscd_with_debians_driver() {
    require_tools();
    for path in SAMPLE {
        assert!(repo().join(path).is_file(), "{path} is not in the library");
    }
    let dir = TempDir::new("vpcd-target");
    write_opensc_conf(dir.path());
    let ports = crate::live::ports();
    // Debian's driver, explicitly: the default private pcscd loads mynasim-ifd, whose run of
    // the whole library is in ifd.rs; this keeps Debian's path tested.
    let pcscd = crate::live::pcscd_on(
        dir.path(),
        ports.base,
        &mynasim_harness::host::pcscd::Driver::Vpcd,
    );
    let in_namespace = |program: &str| {
        let mut c = pcscd.command(program);
        c.current_dir(repo())
            .env("OPENSC_CONF", dir.join("opensc.conf"))
            .env("HOME", dir.path());
        c
    };
    wait_until(
        Duration::from_secs(20),
        "pcscd to list its vpcd reader",
        || {
            let out = in_namespace("opensc-tool")
                .arg("--list-readers")
                .output()
                .ok()?;
            String::from_utf8_lossy(&out.stdout)
                .contains("Virtual PCD")
                .then_some(())
        },
        || tail(pcscd.log(), 40),
    );
    let junit = dir.join("junit.xml");
    let out = in_namespace(env!("CARGO_BIN_EXE_mynasim"))
        .args([
            "run",
            "--target",
            "vpcd",
            "--vpcd",
            &format!("127.0.0.1:{}", ports.base),
        ])
        .arg("--junit")
        .arg(&junit)
        // Absolute paths: nsenter does not keep the working folder.
        .args(SAMPLE.iter().map(|p| repo().join(p)))
        .output()
        .expect("mynasim runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "mynasim run --target vpcd failed ({}):\n{stdout}\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr),
        tail(pcscd.log(), 40)
    );
    // Every scenario passed on vpcd — none was n/a or skipped.
    let summary = stdout
        .lines()
        .find(|l| l.trim_start().starts_with("vpcd"))
        .unwrap_or("");
    let counts: Vec<&str> = summary.split_whitespace().collect();
    assert_eq!(
        counts.get(1),
        Some(&SAMPLE.len().to_string().as_str()),
        "passed: {summary}"
    );
    assert_eq!(
        counts.get(6),
        Some(&SAMPLE.len().to_string().as_str()),
        "total: {summary}"
    );
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert_eq!(xml.matches("<testcase").count(), SAMPLE.len());
    // The cards really went through pcscd: its log shows the vpcd reader's activity.
    assert!(
        std::fs::read_to_string(pcscd.log())
            .unwrap()
            .contains("Virtual PCD")
    );
}

/// On `pcsc:READER` the card is whatever is in the reader — here the default card behind
/// `mynasim serve` — so portable scenarios run and pass, and the others are reported n/a,
/// never passed.
#[test]
fn portable_scenarios_run_on_a_pcsc_reader_and_the_rest_are_not_applicable() {
    let live = crate::live::Live::start("pcsc-target", &[(0, "scenarios/profiles/default.yaml")]);
    let out = live
        .command(env!("CARGO_BIN_EXE_mynasim"))
        .args(["run", "--target", "pcsc:Virtual PCD 00 00"])
        .arg(repo().join("scenarios/protocol"))
        .arg(repo().join("scenarios/pin/auth-pin-lockout.yaml"))
        .output()
        .expect("mynasim runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        live.diagnostics()
    );
    let passed = stdout.lines().filter(|l| l.starts_with("PASS")).count();
    let not_applicable = stdout.lines().filter(|l| l.starts_with("N/A")).count();
    assert!(
        passed >= 5,
        "portable protocol scenarios pass on the reader:\n{stdout}"
    );
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("N/A") && l.contains("auth-pin-lockout")),
        "the lockout needs its own card: n/a\n{stdout}"
    );
    assert!(not_applicable >= 1);
    // The lockout did not run, so the card's PIN still has all its tries.
    let query = live.ok(
        env!("CARGO_BIN_EXE_mynasim"),
        &[
            "card",
            "apdu",
            "--reader",
            "Virtual PCD 00 00",
            "00A4040C0AD392F000260100000001",
            "00A4020C020018",
            "00200080",
        ],
    );
    assert!(query.trim_end().ends_with("63 C3"), "{query}");
}

/// The app scenarios (programs under test in exec's private pcscd) on Debian's vpcd driver
/// too: the default is mynasim-ifd where its library is found, and Debian's stays supported
/// (`MYNASIM_PCSCD_DRIVER=vpcd`).
#[test]
fn the_app_scenarios_pass_with_debians_driver_in_their_pcscd() {
    require_tools();
    let out = crate::support::mynasim()
        .current_dir(repo())
        .args(["run", "scenarios/apps", "-q"])
        .env("MYNASIM_PCSCD_DRIVER", "vpcd")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
