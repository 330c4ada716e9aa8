//! End to end through pcscd and vpcd with real clients — OpenSC's `opensc-tool`,
//! `pkcs15-tool` and `pkcs11-tool`, pcsc-tools' `scriptor`, `openssl` — against
//! `mynasim serve`. Nothing is mocked: each test has its own pcscd ([`Live`]).

use std::process::Command;
use std::time::Duration;

use mynasim_harness::host::pcscd::PrivatePcscd;

use crate::live::{Live, opensc_pkcs11};
use crate::support::{mynasim, wait_until};

const DEFAULT: &str = "scenarios/profiles/default.yaml";

/// A second card, different from the default in every way a client can see: another seed
/// (keys, serials, My Number), a contact ATR, other secrets.
const SECOND: &str = "\
version: 1
seed: 7
today: 2026-11-25
holder:
  name: 試験　次郎
  birth_date: 1990-08-20
  sex: male
card:
  issued: 2025-02-03
  atr: contact-da
pins:
  auth: { value: \"5678\" }
  sign: { value: \"XYZ789\" }
";

/// `mynasim card show --json` for a profile.
fn card_json(profile: &str) -> serde_json::Value {
    let out = mynasim()
        .args(["card", "show", "--json", "--profile", profile])
        .output()
        .unwrap();
    assert!(out.status.success());
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The base64 body of a PEM certificate, without line breaks.
fn pem_body(pem: &str) -> String {
    pem.lines()
        .skip_while(|l| !l.starts_with("-----BEGIN CERTIFICATE"))
        .skip(1)
        .take_while(|l| !l.starts_with("-----END"))
        .collect()
}

/// How many logged APDUs start with `prefix` (spaced hex).
fn count_apdus(log: &str, prefix: &str) -> usize {
    log.lines()
        .filter(|l| l.contains(&format!(">> {prefix}")))
        .count()
}

/// Every VERIFY in the log has its data masked.
fn assert_pins_masked(log: &str) {
    let verifies: Vec<&str> = log
        .lines()
        .filter(|l| l.contains(">> 00 20 00 80 0"))
        .collect();
    assert!(!verifies.is_empty(), "no VERIFY logged:\n{log}");
    for line in verifies {
        assert!(
            line.contains(" ** ** ** **"),
            "a PIN leaked into the log: {line}"
        );
    }
}

#[test]
fn opensc_lists_the_reader_and_prints_the_profiles_atr() {
    let live = Live::start("e2e-atr", &[(0, DEFAULT)]);
    let readers = live.ok("opensc-tool", &["--list-readers"]);
    assert!(
        readers
            .lines()
            .any(|l| l.starts_with("0    Yes") && l.ends_with("Virtual PCD 00 00")),
        "{readers}"
    );
    // Slot 1 of the same reader entry exists, empty.
    assert!(
        readers
            .lines()
            .any(|l| l.starts_with("1    No") && l.ends_with("Virtual PCD 00 01")),
        "{readers}"
    );
    let atr = live.ok("opensc-tool", &["--reader", "0", "--atr"]);
    assert_eq!(atr.trim(), "3b:88:80:01:00:00:05:e0:b3:81:a1:00:7f");
    assert_eq!(
        card_json(DEFAULT)["card"]["atr"],
        "3B 88 80 01 00 00 05 E0 B3 81 A1 00 7F"
    );
}

#[test]
fn pkcs15_dump_recognises_the_jpki_card_with_both_certificates_and_pins() {
    let live = Live::start("e2e-dump", &[(0, DEFAULT)]);
    let dump = live.ok("pkcs15-tool", &["--dump"]);
    for needle in [
        "PKCS#15 Card [JPKI]",
        "PIN [User Authentication PIN]",
        "PIN [Digital Signature PIN]",
        "X.509 Certificate [User Authentication Certificate]",
        "X.509 Certificate [Digital Signature Certificate]",
        "Private RSA Key [User Authentication Key]",
        "Private RSA Key [Digital Signature Key]",
    ] {
        assert!(dump.contains(needle), "missing `{needle}` in:\n{dump}");
    }
    // The dump really came from the card: OpenSC's JPKI bind sequence (reference §2.10
    // sequence 2) is in the APDU log.
    let log = live.serve.log_text();
    assert!(count_apdus(&log, "00 A4 04 0C 0A D3 92 F0 00 26 01 00 00 00 01") >= 1);
    assert!(log.contains(">> 00 20 00 80 << 63 C3"), "{log}");
    assert!(log.contains(">> 00 20 00 80 << 63 C5"), "{log}");
}

#[test]
fn certificates_read_through_pkcs15_equal_what_card_show_reports() {
    let live = Live::start("e2e-certs", &[(0, DEFAULT)]);
    let json = card_json(DEFAULT);
    // The authentication certificate needs no PIN.
    let auth = live.ok("pkcs15-tool", &["--read-certificate", "01"]);
    assert_eq!(
        pem_body(&auth),
        pem_body(json["certificates"]["auth"]["pem"].as_str().unwrap())
    );
    // The signature certificate needs the signature password (reference §2.3, §6 #3).
    let denied = live.run("pkcs15-tool", &["--read-certificate", "02"]);
    assert!(
        pem_body(&String::from_utf8_lossy(&denied.stdout)).is_empty(),
        "the signature certificate was read without the password"
    );
    assert!(live.serve.log_text().contains("<< 69 82"));
    let sign = live.ok(
        "pkcs15-tool",
        &[
            "--read-certificate",
            "02",
            "--verify-pin",
            "--auth-id",
            "02",
            "--pin",
            "ABC123",
        ],
    );
    assert_eq!(
        pem_body(&sign),
        pem_body(json["certificates"]["sign"]["pem"].as_str().unwrap())
    );
    assert_ne!(pem_body(&sign), pem_body(&auth));
}

#[test]
fn three_wrong_pins_block_the_auth_pin_and_a_fresh_card_is_unaffected() {
    let live = Live::start("e2e-lockout", &[(0, DEFAULT)]);
    let tries = |live: &Live| {
        let pins = live.ok("pkcs15-tool", &["--list-pins"]);
        let left: Vec<String> = pins
            .lines()
            .filter_map(|l| l.trim().strip_prefix("Tries left     : "))
            .map(str::to_owned)
            .collect();
        assert_eq!(left.len(), 2, "{pins}");
        left
    };
    assert_eq!(tries(&live), ["3", "5"]);
    for expected_left in ["2", "1", "0"] {
        let out = live.run(
            "pkcs15-tool",
            &["--verify-pin", "--auth-id", "01", "--pin", "0000"],
        );
        assert!(!out.status.success());
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("PIN code or key incorrect"),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(tries(&live)[0], expected_left);
    }
    assert_eq!(
        tries(&live),
        ["0", "5"],
        "the signature password is untouched"
    );
    // Blocked: even the right PIN is refused (69 84), and PKCS#11 says the PIN is locked.
    let out = live.run(
        "pkcs15-tool",
        &["--verify-pin", "--auth-id", "01", "--pin", "1234"],
    );
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("Reference data not usable"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let slots = live.ok(
        "pkcs11-tool",
        &["--module", opensc_pkcs11(), "--list-token-slots"],
    );
    let auth_token = slots
        .split("Slot ")
        .find(|s| s.contains("JPKI (User Authentication PIN)"))
        .unwrap_or_else(|| panic!("{slots}"));
    assert!(auth_token.contains("user PIN locked"), "{slots}");
    let log = live.serve.log_text();
    assert!(log.contains("<< 63 C0"), "{log}");
    assert!(
        log.contains(">> 00 20 00 80 04 ** ** ** ** << 69 84"),
        "{log}"
    );
    assert_pins_masked(&log);
    drop(live);

    // A new card from the same profile starts with full counters.
    let fresh = Live::start("e2e-lockout-fresh", &[(0, DEFAULT)]);
    assert_eq!(tries(&fresh), ["3", "5"]);
}

#[test]
fn pkcs11_signs_with_the_auth_key_and_openssl_verifies_it() {
    let live = Live::start("e2e-pkcs11", &[(0, DEFAULT)]);
    let data = live.path("data.txt");
    let signature = live.path("signature.bin");
    let cert = live.path("auth.pem");
    let public = live.path("auth.pub");
    std::fs::write(&data, "mynasim end-to-end test: sign me\n").unwrap();
    live.ok(
        "pkcs11-tool",
        &[
            "--module",
            opensc_pkcs11(),
            "--login",
            "--pin",
            "1234",
            "--sign",
            "--id",
            "01",
            "--mechanism",
            "SHA256-RSA-PKCS",
            "--input-file",
            data.to_str().unwrap(),
            "--output-file",
            signature.to_str().unwrap(),
        ],
    );
    assert_eq!(std::fs::metadata(&signature).unwrap().len(), 256);
    let pem = live.ok("pkcs15-tool", &["--read-certificate", "01"]);
    std::fs::write(&cert, pem).unwrap();
    let openssl = |args: &[&str]| {
        let out = Command::new("openssl").args(args).output().unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    let (ok, _) = openssl(&[
        "x509",
        "-in",
        cert.to_str().unwrap(),
        "-pubkey",
        "-noout",
        "-out",
        public.to_str().unwrap(),
    ]);
    assert!(ok);
    let verify = |file: &std::path::Path| {
        openssl(&[
            "dgst",
            "-sha256",
            "-verify",
            public.to_str().unwrap(),
            "-signature",
            signature.to_str().unwrap(),
            file.to_str().unwrap(),
        ])
    };
    let (ok, out) = verify(&data);
    assert!(ok && out.contains("Verified OK"), "{out}");
    // And it is a real check: other data does not verify.
    let other = live.path("other.txt");
    std::fs::write(&other, "something else\n").unwrap();
    assert!(!verify(&other).0);
    // The card computed it: VERIFY (masked) and COMPUTE DIGITAL SIGNATURE are in the log.
    let log = live.serve.log_text();
    assert!(
        log.contains(">> 00 20 00 80 04 ** ** ** ** << 90 00"),
        "{log}"
    );
    assert_eq!(count_apdus(&log, "80 2A 00 80 33"), 1, "{log}");
    assert_pins_masked(&log);
}

/// The hex bytes of every response in scriptor's output (`< 90 00 : Normal processing.`,
/// long responses wrapped over several lines).
fn scriptor_responses(out: &str) -> Vec<String> {
    let mut responses = Vec::new();
    let mut current: Option<String> = None;
    for line in out.lines() {
        if let Some(rest) = line.strip_prefix("< ") {
            current = Some(String::new());
            if let Some(c) = current.as_mut() {
                c.push_str(rest);
            }
        } else if let Some(c) = current.as_mut() {
            c.push(' ');
            c.push_str(line);
        }
        if let Some(c) = current.as_ref()
            && c.contains(':')
        {
            let bytes = c.split(':').next().unwrap_or_default();
            responses.push(bytes.split_whitespace().collect::<Vec<_>>().join(" "));
            current = None;
        }
    }
    responses
}

#[test]
fn scriptor_sends_typical_sequences_1_and_3() {
    let live = Live::start("e2e-scriptor", &[(0, DEFAULT)]);
    let message = live.path("message.txt");
    std::fs::write(&message, "sequence 3\n").unwrap();
    let digest = Command::new("openssl")
        .args(["dgst", "-sha256", "-hex", "-r"])
        .arg(&message)
        .output()
        .unwrap();
    let digest = String::from_utf8(digest.stdout).unwrap();
    let digest = digest.split_whitespace().next().unwrap().to_owned();
    assert_eq!(digest.len(), 64);
    // scriptor wants bytes separated by spaces.
    let digest: Vec<&str> = (0..32).map(|i| &digest[2 * i..2 * i + 2]).collect();
    let digest = digest.join(" ");
    // Reference §2.10: sequence 1 (card check) and 3 (auth signature over a SHA-256
    // DigestInfo).
    let script = format!(
        "# sequence 1\n\
         00 A4 04 0C 0A D3 92 F0 00 26 01 00 00 00 01\n\
         00 A4 02 0C 02 00 06\n\
         00 B0 00 00 20\n\
         # sequence 3\n\
         00 A4 04 0C 0A D3 92 F0 00 26 01 00 00 00 01\n\
         00 A4 02 0C 02 00 18\n\
         00 20 00 80\n\
         00 20 00 80 04 31 32 33 34\n\
         00 A4 02 0C 02 00 17\n\
         80 2A 00 80 33 30 31 30 0D 06 09 60 86 48 01 65 03 04 02 01 05 00 04 20 {digest} 00\n"
    );
    let script_path = live.path("sequences.apdu");
    std::fs::write(&script_path, script).unwrap();
    let out = live.ok(
        "scriptor",
        &["-r", &Live::reader(0), script_path.to_str().unwrap()],
    );
    let responses = scriptor_responses(&out);
    assert_eq!(responses.len(), 9, "{out}");
    assert_eq!(responses[0], "90 00");
    assert_eq!(responses[1], "90 00");
    let token: Vec<u8> = responses[2]
        .split_whitespace()
        .map(|h| u8::from_str_radix(h, 16).unwrap())
        .collect();
    assert_eq!(token.len(), 34);
    assert!(token.starts_with(b"JPKIAPICCTOKEN2"), "{}", responses[2]);
    assert!(token.ends_with(&[0x90, 0x00]));
    assert_eq!(
        &responses[3..8],
        ["90 00", "90 00", "63 C3", "90 00", "90 00"]
    );
    // The signature: 256 bytes + 90 00, verified by openssl against the auth certificate.
    let signature: Vec<u8> = responses[8]
        .split_whitespace()
        .map(|h| u8::from_str_radix(h, 16).unwrap())
        .collect();
    assert_eq!(signature.len(), 258, "{}", responses[8]);
    assert!(signature.ends_with(&[0x90, 0x00]));
    let sig_path = live.path("signature.bin");
    std::fs::write(&sig_path, &signature[..256]).unwrap();
    let cert = live.path("auth.pem");
    let public = live.path("auth.pub");
    std::fs::write(
        &cert,
        card_json(DEFAULT)["certificates"]["auth"]["pem"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    assert!(
        Command::new("openssl")
            .args(["x509", "-pubkey", "-noout", "-in"])
            .arg(&cert)
            .arg("-out")
            .arg(&public)
            .status()
            .unwrap()
            .success()
    );
    let verified = Command::new("openssl")
        .args(["dgst", "-sha256", "-verify"])
        .arg(&public)
        .arg("-signature")
        .arg(&sig_path)
        .arg(&message)
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&verified.stdout).contains("Verified OK"),
        "{}",
        String::from_utf8_lossy(&verified.stderr)
    );
}

#[test]
fn two_cards_in_two_slots_answer_independently_at_the_same_time() {
    let dir = crate::support::TempDir::new("e2e-two-profiles");
    let second = dir.join("second.yaml");
    std::fs::write(&second, SECOND).unwrap();
    let second = second.to_str().unwrap().to_owned();
    let live = Live::start("e2e-two", &[(0, DEFAULT), (1, &second)]);
    let first_json = card_json(DEFAULT);
    let second_json = card_json(&second);

    assert_eq!(
        live.ok("opensc-tool", &["--reader", "1", "--atr"]).trim(),
        "3b:da:13:ff:81:31:fb:46:80:12:39:2f:31:c1:73:c6:01:c0:3b"
    );
    // Both readers at once, repeatedly: each gets its own card's certificate.
    std::thread::scope(|s| {
        let workers: Vec<_> = [(0u16, &first_json), (1, &second_json)]
            .into_iter()
            .map(|(slot, json)| {
                let live = &live;
                s.spawn(move || {
                    for _ in 0..5 {
                        let pem = live.ok(
                            "pkcs15-tool",
                            &["--reader", &slot.to_string(), "--read-certificate", "01"],
                        );
                        assert_eq!(
                            pem_body(&pem),
                            pem_body(json["certificates"]["auth"]["pem"].as_str().unwrap()),
                            "slot {slot}"
                        );
                    }
                })
            })
            .collect();
        for worker in workers {
            worker.join().unwrap();
        }
    });
    // State is per card: a wrong PIN on slot 1 leaves slot 0's counter alone, and each
    // card takes only its own PIN.
    let out = live.run(
        "pkcs15-tool",
        &[
            "--reader",
            "1",
            "--verify-pin",
            "--auth-id",
            "01",
            "--pin",
            "1234",
        ],
    );
    assert!(!out.status.success(), "slot 1 took slot 0's PIN");
    live.ok(
        "pkcs15-tool",
        &[
            "--reader",
            "0",
            "--verify-pin",
            "--auth-id",
            "01",
            "--pin",
            "1234",
        ],
    );
    live.ok(
        "pkcs15-tool",
        &[
            "--reader",
            "1",
            "--verify-pin",
            "--auth-id",
            "01",
            "--pin",
            "5678",
        ],
    );
    let pins0 = live.ok("pkcs15-tool", &["--reader", "0", "--list-pins"]);
    let pins1 = live.ok("pkcs15-tool", &["--reader", "1", "--list-pins"]);
    assert!(pins0.contains("Tries left     : 3"), "{pins0}");
    assert!(pins1.contains("Tries left     : 3"), "{pins1}");
    let log = live.serve.log_text();
    assert!(log.contains("slot 0: >>") && log.contains("slot 1: >>"));
    assert!(
        log.contains("slot 1: >> 00 20 00 80 04 ** ** ** ** << 63 C2"),
        "{log}"
    );
}

#[test]
fn opensc_file_cache_is_off_so_every_read_reaches_the_card() {
    let live = Live::start("e2e-cache", &[(0, DEFAULT)]);
    // Prove OpenSC uses the test's configuration: it names a debug log.
    let conf = live.path("opensc.conf");
    let debug_log = live.path("opensc-debug.log");
    let text = std::fs::read_to_string(&conf).unwrap();
    std::fs::write(
        &conf,
        text.replace(
            "app default {\n",
            &format!(
                "app default {{\n    debug = 3;\n    debug_file = {};\n",
                debug_log.display()
            ),
        ),
    )
    .unwrap();
    let reads_before = count_apdus(&live.serve.log_text(), "00 B0");
    live.ok("pkcs15-tool", &["--read-certificate", "01"]);
    let first = count_apdus(&live.serve.log_text(), "00 B0") - reads_before;
    live.ok("pkcs15-tool", &["--read-certificate", "01"]);
    let second = count_apdus(&live.serve.log_text(), "00 B0") - reads_before - first;
    assert!(
        first >= 2,
        "a certificate takes a probe and chunks, got {first}"
    );
    assert_eq!(second, first, "the second read reached the card in full");
    // The debug file exists only because OpenSC read the test's configuration.
    let used = std::fs::read_to_string(&debug_log).unwrap_or_default();
    assert!(
        used.contains("[pkcs15-tool]"),
        "OpenSC did not read the test's configuration {}",
        conf.display()
    );
}

#[test]
fn removing_and_inserting_the_card_through_the_control_socket() {
    let live = Live::start("e2e-control", &[(0, DEFAULT)]);
    // One wrong PIN, then the right one: verified in this session.
    let wrong = live.run(
        "pkcs15-tool",
        &["--verify-pin", "--auth-id", "01", "--pin", "9999"],
    );
    assert!(!wrong.status.success());
    assert_eq!(live.serve.control("remove 0"), "ok slot 0 removed\n");
    live.wait_for_card(0, false);
    assert!(
        live.serve
            .control("status")
            .contains("slot 0 removed disconnected")
    );
    assert_eq!(live.serve.control("insert 0"), "ok slot 0 inserted\n");
    live.wait_for_card(0, true);
    // The retry counter is persistent, so it survived the removal.
    let pins = live.ok("pkcs15-tool", &["--list-pins"]);
    assert!(pins.contains("Tries left     : 2"), "{pins}");
    // Signals do the same for every card.
    live.serve.process.signal("USR1");
    live.wait_for_card(0, false);
    live.serve.process.signal("USR2");
    live.wait_for_card(0, true);
    let log = live.serve.log_text();
    assert!(log.contains("slot 0: card removed"), "{log}");
    assert!(log.contains("slot 0: card inserted"), "{log}");
}

#[test]
fn serve_waits_for_pcscd_and_reconnects_after_a_restart_and_stops_on_sigterm() {
    // mynasim first, pcscd later: the card waits and connects.
    let dir = crate::support::TempDir::new("e2e-restart");
    crate::live::write_opensc_conf(dir.path());
    let ports = crate::live::ports();
    let mut serve = crate::live::Serve::start(dir.path(), ports.base, &[(0, DEFAULT)]);
    wait_until(
        Duration::from_secs(20),
        "serve to report that it waits for pcscd",
        || {
            serve
                .log_text()
                .contains("waiting for pcscd's vpcd reader")
                .then_some(())
        },
        || serve.log_text(),
    );
    let present = |pcscd: &PrivatePcscd| {
        let out = pcscd
            .command("opensc-tool")
            .arg("--list-readers")
            .env("OPENSC_CONF", dir.join("opensc.conf"))
            .env("HOME", dir.path())
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        text.lines()
            .any(|l| l.starts_with("0    Yes") && l.ends_with("Virtual PCD 00 00"))
            .then_some(())
    };
    let first = dir.join("pcscd-1");
    let mut pcscd = crate::live::pcscd(&first, ports.base);
    wait_until(
        Duration::from_secs(20),
        "the card in the first pcscd",
        || present(&pcscd),
        || serve.log_text(),
    );
    let status = pcscd.stop(Duration::from_secs(10)).unwrap();
    assert!(status.success(), "pcscd stopped with {status}");
    let second = dir.join("pcscd-2");
    let pcscd = crate::live::pcscd(&second, ports.base);
    wait_until(
        Duration::from_secs(20),
        "the card in the restarted pcscd",
        || present(&pcscd),
        || serve.log_text(),
    );
    let log = serve.log_text();
    assert!(
        log.contains("vpcd closed the connection (pcscd stopped or restarted); reconnecting"),
        "{log}"
    );
    // At least twice (a stopping pcscd may accept, then reset, one more attempt).
    assert!(
        log.matches("slot 0: connected to vpcd").count() >= 2,
        "{log}"
    );
    // SIGTERM: a clean stop, exit 0, control socket removed.
    serve.process.signal("TERM");
    let status = serve.process.wait_exit(Duration::from_secs(10));
    assert!(status.success(), "{status}");
    assert!(!serve.control.exists());
    drop(pcscd);
}

#[cfg(feature = "pcsc")]
#[test]
fn card_apdu_reader_drives_the_card_through_pcsc() {
    let live = Live::start("e2e-pcsc", &[(0, DEFAULT)]);
    let bin = env!("CARGO_BIN_EXE_mynasim");
    let readers = live.ok(bin, &["card", "readers"]);
    assert!(
        readers.contains("Virtual PCD 00 00\tATR 3B 88 80 01 00 00 05 E0 B3 81 A1 00 7F"),
        "{readers}"
    );
    assert!(
        readers.contains("Virtual PCD 00 01\t(no card)"),
        "{readers}"
    );
    let text = live.ok(
        bin,
        &[
            "card",
            "apdu",
            "--reader",
            "PCD 00 00",
            "--transcript",
            "00A4040C0AD392F000260100000001",
            "00A4020C020018",
            "002000800431323334",
            "00A4020C020006",
            "00B0000010",
        ],
    );
    assert!(
        text.starts_with("-- power on, ATR 3B 88 80 01 00 00 05 E0 B3 81 A1 00 7F\n"),
        "{text}"
    );
    assert!(
        text.contains(">> 00 20 00 80 04 ** ** ** **\n<< 90 00\n"),
        "{text}"
    );
    assert!(
        text.ends_with("<< 4A 50 4B 49 41 50 49 43 43 54 4F 4B 45 4E 32 20 90 00\n"),
        "{text}"
    );
    // A reader that is not there: exit 3, and the readers are listed.
    let out = live.run(
        bin,
        &["card", "apdu", "--reader", "ACS ACR122U", "00A4040C00"],
    );
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("Virtual PCD 00 00"));
    // An empty slot: exit 3 too.
    let out = live.run(
        bin,
        &[
            "card",
            "apdu",
            "--reader",
            "Virtual PCD 00 01",
            "00A4040C00",
        ],
    );
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no card in reader"));
}

/// `mynasim pki export` gives a verifier what it needs to trust the simulated cards:
/// openssl verifies the card's authentication certificate against the exported bundle (and
/// refuses it without), and every DER file parses.
#[test]
fn exported_trust_anchors_let_openssl_verify_the_cards_certificate() {
    crate::live::require_tools();
    let dir = crate::support::TempDir::new("pki-export");
    let anchors = dir.join("anchors");
    let o = mynasim()
        .args(["pki", "export"])
        .arg(&anchors)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let card = dir.join("card");
    let o = mynasim()
        .args(["card", "show", "--export"])
        .arg(&card)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let verify = |ca: Option<&std::path::Path>| {
        let mut c = Command::new("openssl");
        c.arg("verify");
        match ca {
            Some(ca) => c.arg("-CAfile").arg(ca),
            // An empty trust store: nothing but what is given.
            None => c.arg("-CApath").arg(dir.path()).arg("-no-CAfile"),
        };
        c.arg(card.join("auth.pem")).output().unwrap()
    };
    let ok = verify(Some(&anchors.join("jpki-test-ca-bundle.pem")));
    assert!(
        ok.status.success() && String::from_utf8_lossy(&ok.stdout).contains(": OK"),
        "{}{}",
        String::from_utf8_lossy(&ok.stdout),
        String::from_utf8_lossy(&ok.stderr)
    );
    assert!(
        !verify(None).status.success(),
        "verifies without the anchors"
    );
    for (file, kind) in [
        ("jpki-auth-ca.der", "x509"),
        ("jpki-sign-ca.der", "x509"),
        ("cv-mf-root-7000020.der", "pkey"),
        ("cv-face-issuer-7000023.der", "pkey"),
        ("cv-text-issuer-7000033.der", "pkey"),
    ] {
        let mut c = Command::new("openssl");
        c.arg(kind);
        if kind == "pkey" {
            c.arg("-pubin");
        }
        let o = c
            .args(["-inform", "DER", "-noout", "-in"])
            .arg(anchors.join(file))
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "{file}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
    let readme = std::fs::read_to_string(anchors.join("README.txt")).unwrap();
    assert!(readme.contains("TEST"), "{readme}");
}
