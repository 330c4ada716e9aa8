//! Hostile input and stalled peers (issue 12): one regression test per finding, named after
//! it. Each failed before its fix. Findings 7 and 8 (dates, long names) are profile rules,
//! tested in the simulator's `profiles` tests.

use std::io::{Read as _, Write as _};
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use mynasim_simulator::hex;
use mynasim_simulator::transport::{FakeReader, ReaderError};

use crate::support::{Process, TempDir, mynasim, wait_until};

const SELECT_JPKI: &str = "00A4040C0AD392F000260100000001";

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

fn wait_for_socket(dir: &TempDir, control: &std::path::Path) {
    wait_until(
        Duration::from_secs(10),
        "the control socket",
        || control.exists().then_some(()),
        || log(dir),
    );
}

/// One control exchange on a raw socket: what the client writes, and everything it reads
/// until the server closes.
fn raw_control(control: &std::path::Path, bytes: &[u8]) -> String {
    let mut stream = UnixStream::connect(control).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    // The server may stop reading (and close) before all of it is written.
    let _ = stream.write_all(bytes);
    let _ = stream.shutdown(std::net::Shutdown::Write);
    let mut reply = String::new();
    stream.read_to_string(&mut reply).unwrap();
    reply
}

/// Finding 1: `--wait -1`, `NaN`, `inf`, `1e20` aborted with exit 101; `1.8e19` overflowed
/// an `Instant`.
#[test]
fn finding_1_wait_takes_sane_seconds_only_and_never_panics() {
    for wait in ["-1", "NaN", "inf", "1e20", "1.8e19", "86401"] {
        let o = mynasim()
            .args(["serve", &format!("--wait={wait}")])
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2), "--wait {wait}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains("give 0 to 86400 seconds"), "{err}");
    }
}

/// Finding 2: a reader that stops reading froze the card's task: removal answered ok and
/// did nothing, and SIGTERM never ended the process.
#[tokio::test(flavor = "multi_thread")]
async fn finding_2_a_reader_that_stops_reading_cannot_stall_removal_or_stop() {
    let dir = TempDir::new("rb-stall");
    let control = dir.join("control.sock");
    let fake = FakeReader::bind("127.0.0.1:0").await.unwrap();
    let addr = fake.local_addr().unwrap();
    let mut process = serve(
        &dir,
        &[
            "--vpcd",
            &addr.to_string(),
            "--control",
            control.to_str().unwrap(),
        ],
    );
    let mut link = tokio::time::timeout(Duration::from_secs(20), fake.accept())
        .await
        .expect("the card connects")
        .unwrap();
    wait_for_socket(&dir, &control);
    link.power_on().await.unwrap();
    assert_eq!(
        hex::spaced(
            &link
                .transmit(&hex::decode(SELECT_JPKI).unwrap())
                .await
                .unwrap()
        ),
        "90 00"
    );
    // Ask for 2 KB answers and never read them, until the socket buffers are full and the
    // card's writes block.
    let read_cert = hex::decode("00B0000000 0800").unwrap();
    let flood = async {
        link.send(&hex::decode("00A4020C02000A").unwrap())
            .await
            .unwrap();
        loop {
            if link.send(&read_cert).await.is_err() {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(3), flood).await;
    let status = |line: &str| {
        let out = mynasim()
            .arg("control")
            .arg(&control)
            .args(line.split_whitespace())
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    assert_eq!(status("remove 0"), "ok slot 0 removed\n");
    wait_until(
        Duration::from_secs(10),
        "the stalled card to be removed",
        || {
            status("status")
                .contains("slot 0 removed disconnected")
                .then_some(())
        },
        || log(&dir),
    );
    let started = Instant::now();
    process.signal("TERM");
    let exited = process.wait_exit(Duration::from_secs(10));
    assert!(exited.success(), "{exited}");
    assert!(started.elapsed() < Duration::from_secs(10));
}

/// Finding 3: `remove 0` then `insert 0` at once on one control connection both answered
/// ok, but the card never lost power: its PIN stayed verified.
#[tokio::test(flavor = "multi_thread")]
async fn finding_3_a_removal_right_before_an_insertion_still_cuts_the_power() {
    let dir = TempDir::new("rb-remove-insert");
    let control = dir.join("control.sock");
    let fake = FakeReader::bind("127.0.0.1:0").await.unwrap();
    let addr = fake.local_addr().unwrap();
    let _process = serve(
        &dir,
        &[
            "--vpcd",
            &addr.to_string(),
            "--control",
            control.to_str().unwrap(),
        ],
    );
    let accept = || async {
        tokio::time::timeout(Duration::from_secs(20), fake.accept())
            .await
            .expect("the card connects")
            .unwrap()
    };
    let mut link = accept().await;
    wait_for_socket(&dir, &control);
    link.power_on().await.unwrap();
    let tx = |apdu: &str| hex::decode(apdu).unwrap();
    link.transmit(&tx(SELECT_JPKI)).await.unwrap();
    link.transmit(&tx("00A4020C020018")).await.unwrap();
    assert_eq!(
        link.transmit(&tx("002000800431323334")).await.unwrap(),
        [0x90, 0x00]
    );
    let reply = raw_control(&control, b"remove 0\ninsert 0\n");
    assert_eq!(reply, "ok slot 0 removed\nok slot 0 inserted\n");
    let gone = tokio::time::timeout(Duration::from_secs(10), link.get_atr())
        .await
        .expect("the removal is seen");
    assert!(matches!(
        gone,
        Err(ReaderError::CardClosed | ReaderError::Frame(_))
    ));
    let mut link = accept().await;
    link.power_on().await.unwrap();
    link.transmit(&tx(SELECT_JPKI)).await.unwrap();
    link.transmit(&tx("00A4020C020017")).await.unwrap();
    let digest_info = format!("3031300D060960864801650304020105000420{}", "AB".repeat(32));
    assert_eq!(
        link.transmit(&tx(&format!("802A008033{digest_info}00")))
            .await
            .unwrap(),
        [0x69, 0x82],
        "the PIN must be verified again after the removal"
    );
}

/// Finding 4: `--control PATH` on a regular file deleted it; a folder gave exit 1.
#[test]
fn finding_4_control_never_replaces_a_file_or_a_folder() {
    let dir = TempDir::new("rb-control-path");
    let file = dir.join("important.txt");
    std::fs::write(&file, "keep me").unwrap();
    for path in [file.clone(), dir.path().to_owned()] {
        let o = mynasim()
            .args(["serve", "--vpcd", "127.0.0.1:9", "--control"])
            .arg(&path)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&o.stderr).contains("not a socket"));
    }
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "keep me");
}

/// Finding 5: malformed VERIFY/CHANGE commands and VERIFY in class 80 were logged and
/// reported with the PIN in clear.
#[tokio::test(flavor = "multi_thread")]
async fn finding_5_secrets_of_malformed_and_misclassed_commands_are_masked_everywhere() {
    let secret_hex = ["31 32 33 34", "31323334"];
    let malformed = [
        "00 20 00 80 05 31 32 33 34",    // Lc says 5, 4 bytes follow
        "80 20 00 80 04 31 32 33 34",    // VERIFY in the proprietary class
        "00 24 01 80 04 31 32 33 34 00", // CHANGE REFERENCE DATA with an Le
    ];
    // The serve log.
    let dir = TempDir::new("rb-secrets");
    let fake = FakeReader::bind("127.0.0.1:0").await.unwrap();
    let addr = fake.local_addr().unwrap();
    let _process = serve(&dir, &["--vpcd", &addr.to_string()]);
    let mut link = tokio::time::timeout(Duration::from_secs(20), fake.accept())
        .await
        .expect("the card connects")
        .unwrap();
    link.power_on().await.unwrap();
    for apdu in malformed {
        link.transmit(&hex::decode(apdu).unwrap()).await.unwrap();
    }
    wait_until(
        Duration::from_secs(10),
        "three APDU lines",
        || (log(&dir).matches("slot 0: >>").count() >= 3).then_some(()),
        || log(&dir),
    );
    let text = log(&dir);
    for s in secret_hex {
        assert!(!text.contains(s), "a PIN leaked into the log:\n{text}");
    }
    // A failing scenario's terminal report, JUnit and JSON.
    let scenario = dir.join("leak.yaml");
    let steps: String = malformed
        .iter()
        .map(|a| format!("  - apdu: \"{a}\"\n    expect: {{ sw: \"9000\" }}\n"))
        .collect();
    std::fs::write(
        &scenario,
        format!("version: 1\nname: secrets in malformed commands\nsteps:\n{steps}"),
    )
    .unwrap();
    let (junit, json) = (dir.join("r.xml"), dir.join("r.json"));
    let o = mynasim()
        .arg("run")
        .arg(&scenario)
        .arg("--junit")
        .arg(&junit)
        .arg("--json")
        .arg(&json)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let outputs = [
        String::from_utf8_lossy(&o.stdout).into_owned(),
        std::fs::read_to_string(&junit).unwrap(),
        std::fs::read_to_string(&json).unwrap(),
    ];
    assert!(
        outputs[0].contains("00 20 00 80 05 ** ** ** **"),
        "{}",
        outputs[0]
    );
    for out in outputs {
        for s in secret_hex {
            assert!(!out.contains(s), "a PIN leaked:\n{out}");
        }
    }
}

/// Finding 6: a self-link ran a scenario 41 times; two links made `run --list` walk forever.
#[test]
fn finding_6_symlink_loops_in_a_scenario_folder_are_walked_once() {
    let dir = TempDir::new("rb-links");
    let folder = dir.join("lib");
    std::fs::create_dir_all(folder.join("sub")).unwrap();
    std::fs::copy(
        crate::support::repo().join("scenarios/jpki/seq01-card-check.yaml"),
        folder.join("sub/one.yaml"),
    )
    .unwrap();
    std::os::unix::fs::symlink(".", folder.join("self")).unwrap();
    std::os::unix::fs::symlink("../sub", folder.join("sub/back")).unwrap();
    std::os::unix::fs::symlink("b", folder.join("a")).unwrap();
    std::os::unix::fs::symlink("a", folder.join("b")).unwrap();
    let started = Instant::now();
    let o = mynasim()
        .arg("run")
        .arg("--list")
        .arg(&folder)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(started.elapsed() < Duration::from_secs(20));
    let listed = String::from_utf8_lossy(&o.stdout);
    assert_eq!(listed.lines().count(), 1, "{listed}");
    let o = mynasim().arg("run").arg(&folder).output().unwrap();
    assert!(o.status.success());
    assert!(String::from_utf8_lossy(&o.stdout).contains("  1 "));
}

/// Finding 9: `/dev/zero` as a profile, a scenario's profile or a photo was read until
/// memory ran out, and a FIFO hung.
#[test]
fn finding_9_special_files_are_refused_before_reading() {
    let dir = TempDir::new("rb-files");
    let fifo = dir.join("profile.yaml");
    let status = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(status.success());
    for profile in ["/dev/zero", fifo.to_str().unwrap()] {
        let started = Instant::now();
        let o = mynasim()
            .args(["card", "show", "--profile", profile])
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2), "{profile}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains("not a regular file"), "{err}");
        assert!(started.elapsed() < Duration::from_secs(10));
    }
    let scenario = dir.join("zero.yaml");
    std::fs::write(
        &scenario,
        "version: 1\nname: zero\ncard: { profile: /dev/zero }\nsteps:\n  - select: jpki\n",
    )
    .unwrap();
    let o = mynasim().arg("run").arg(&scenario).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stdout).contains("not a regular file (a character device)"));
    let photo = dir.join("photo.yaml");
    std::fs::write(
        &photo,
        "version: 1\ntoday: 2026-11-25\nholder: { birth_date: 1985-04-12 }\ncard: { issued: 2024-06-01, photo: /dev/zero }\n",
    )
    .unwrap();
    let o = mynasim()
        .args(["card", "show", "--profile"])
        .arg(&photo)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("card.photo") && err.contains("not a regular file"),
        "{err}"
    );
}

/// Finding 11: a control line without a newline grew memory without bound and was echoed;
/// invalid UTF-8 closed the connection without a reply; the socket followed the umask.
#[test]
fn finding_11_control_lines_are_bounded_and_answered_and_the_socket_is_private() {
    let dir = TempDir::new("rb-control");
    let control = dir.join("control.sock");
    let _process = serve(
        &dir,
        &[
            "--vpcd",
            "127.0.0.1:9",
            "--control",
            control.to_str().unwrap(),
        ],
    );
    wait_for_socket(&dir, &control);
    use std::os::unix::fs::PermissionsExt as _;
    let mode = std::fs::metadata(&control).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "{mode:o}");
    let long = raw_control(&control, &vec![b'x'; 1 << 20]);
    assert_eq!(long, "error a command is at most 256 bytes\n");
    let binary = raw_control(&control, b"\xFF\xFE status\nstatus\n");
    let mut lines = binary.lines();
    assert!(
        lines
            .next()
            .is_some_and(|l| l.starts_with("error a command is UTF-8 text")),
        "{binary}"
    );
    assert_eq!(lines.next(), Some("ok"), "the connection goes on");
}

/// Finding 12: SIGHUP killed the process and left the control socket behind.
#[test]
fn finding_12_sighup_stops_cleanly() {
    let dir = TempDir::new("rb-hup");
    let control = dir.join("control.sock");
    let mut process = serve(
        &dir,
        &[
            "--vpcd",
            "127.0.0.1:9",
            "--control",
            control.to_str().unwrap(),
        ],
    );
    wait_for_socket(&dir, &control);
    process.signal("HUP");
    let status = process.wait_exit(Duration::from_secs(10));
    assert!(status.success(), "{status}");
    assert!(!control.exists(), "the control socket is removed");
    assert!(log(&dir).contains("SIGHUP: stopping"));
}

/// `serve --state`: a process killed (SIGKILL) at random moments during a burst of VERIFYs,
/// again and again, and restarted on the same file: the file always parses, and no try the
/// reader saw paid for is ever given back — the counter after the restart is what the last
/// answer said, or one less (a try in flight is paid before it is compared), or full again
/// when the command in flight was the right secret and it got through.
#[tokio::test(flavor = "multi_thread")]
async fn state_survives_sigkill_during_a_verify_burst() {
    use std::sync::{Arc, Mutex};
    let dir = TempDir::new("rb-state");
    let state = dir.join("card.json");
    let fake = FakeReader::bind("127.0.0.1:0").await.unwrap();
    let addr = fake.local_addr().unwrap().to_string();
    let start = || serve(&dir, &["--vpcd", &addr, "--state", state.to_str().unwrap()]);
    let accept = || async {
        tokio::time::timeout(Duration::from_secs(20), fake.accept())
            .await
            .expect("the card connects")
            .unwrap()
    };
    let apdu = |hex_text: &str| hex::decode(hex_text).unwrap();
    let (wrong, right) = (apdu("002000800430303030"), apdu("002000800431323334"));
    // A cheap deterministic generator for the kill moments.
    let mut seed = u64::from(std::process::id()) | 1;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let (mut kills, mut blocked) = (0, 0);
    for _ in 0..12 {
        let mut process = start();
        let mut link = accept().await;
        link.power_on().await.unwrap();
        link.transmit(&apdu(SELECT_JPKI)).await.unwrap();
        link.transmit(&apdu("00A4020C020018")).await.unwrap();
        let before = link.transmit(&apdu("00200080")).await.unwrap();
        if before == [0x63, 0xC0] {
            // Blocked by a kill during a right VERIFY on the last try (as a real card
            // would be): start a new card.
            drop(link);
            process.signal("KILL");
            process.wait_exit(Duration::from_secs(10));
            std::fs::remove_file(&state).unwrap();
            blocked += 1;
            continue;
        }
        // The counter the last answer the reader saw implies.
        let seen: Arc<Mutex<u8>> = Arc::new(Mutex::new(before[1] & 0x0F));
        let burst_seen = seen.clone();
        let (wrong, right) = (wrong.clone(), right.clone());
        let burst = tokio::spawn(async move {
            loop {
                // Wrong secrets while two or more tries are left, then the right one.
                let left = *burst_seen.lock().unwrap();
                let command = if left <= 1 { &right } else { &wrong };
                let Ok(answer) = link.transmit(command).await else {
                    return;
                };
                let left = match answer.as_slice() {
                    [0x90, 0x00] => 3,
                    [0x63, x] => x & 0x0F,
                    other => panic!("unexpected answer {}", hex::spaced(other)),
                };
                *burst_seen.lock().unwrap() = left;
            }
        });
        tokio::time::sleep(Duration::from_millis(5 + next() % 60)).await;
        process.signal("KILL");
        process.wait_exit(Duration::from_secs(10));
        burst.abort();
        let _ = burst.await;
        kills += 1;
        let last_seen = *seen.lock().unwrap();
        let text = std::fs::read_to_string(&state).unwrap();
        let parsed: serde_json::Value = serde_json::from_str(&text).expect("the state parses");
        let on_disk = parsed["keys"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["app"] == "jpki" && k["key"] == "0018")
            .unwrap()["tries_left"]
            .as_u64()
            .unwrap();
        // What the command in flight may have done: a wrong secret (two or more tries
        // left) paid one more try; the right one (one try left) paid it on disk before the
        // comparison and then, if it got that far, restored all three.
        let seen = u64::from(last_seen);
        let possible = if seen >= 2 {
            vec![seen, seen - 1]
        } else {
            vec![seen, seen.saturating_sub(1), 3]
        };
        assert!(
            possible.contains(&on_disk),
            "the reader last saw {last_seen} tries left; the file says {on_disk}"
        );
        // The restarted card agrees with its file.
        let mut process = start();
        let mut link = accept().await;
        link.power_on().await.unwrap();
        link.transmit(&apdu(SELECT_JPKI)).await.unwrap();
        link.transmit(&apdu("00A4020C020018")).await.unwrap();
        let query = link.transmit(&apdu("00200080")).await.unwrap();
        assert_eq!(
            u64::from(query[1] & 0x0F),
            on_disk,
            "{}",
            hex::spaced(&query)
        );
        drop(link);
        process.signal("TERM");
        process.wait_exit(Duration::from_secs(10));
    }
    assert!(kills >= 6, "{kills} kills, {blocked} blocked cards");
}
