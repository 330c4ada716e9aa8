//! `mynasim exec`: real programs against the simulated card through a pcscd of exec's own.
//! Needs root and the Debian packages `ci/setup` installs (pcscd, vsmartcard-vpcd, OpenSC),
//! like the other end-to-end tests; fails, never skips, without them.

use std::process::{Command, Output};
use std::time::{Duration, Instant};

use crate::live::require_tools;
use crate::support::{TempDir, mynasim};

const READER: &str = "Virtual PCD 00 00";

fn exec(args: &[&str], command: &[&str]) -> Output {
    require_tools();
    mynasim()
        .arg("exec")
        .args(args)
        .arg("--")
        .args(command)
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// `opensc-tool --list-readers` in the output shows a card in exec's reader.
fn assert_card_listed(o: &Output) {
    assert!(
        String::from_utf8_lossy(&o.stdout)
            .lines()
            .any(|l| l.starts_with("0    Yes") && l.ends_with(READER)),
        "{}",
        text(o)
    );
}

#[test]
fn exec_shows_the_card_to_opensc_and_gives_back_the_programs_status() {
    let o = exec(&[], &["opensc-tool", "--list-readers"]);
    assert!(o.status.success(), "{}", text(&o));
    assert_card_listed(&o);
    let o = exec(&[], &["pkcs15-tool", "--dump"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("JPKI"), "{}", text(&o));
    assert_eq!(exec(&[], &["sh", "-c", "exit 7"]).status.code(), Some(7));
    let o = exec(&[], &["no-such-program-for-mynasim"]);
    assert_eq!(o.status.code(), Some(127));
    assert!(text(&o).contains("`no-such-program-for-mynasim`: command not found"));
    let dir = TempDir::new("exec-perm");
    let script = dir.join("not-executable.sh");
    std::fs::write(&script, "#!/bin/sh\nexit 0\n").unwrap();
    let o = exec(&[], &[script.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(126), "{}", text(&o));
    let o = exec(&[], &["sh", "-c", "kill -TERM $$"]);
    assert_eq!(o.status.code(), Some(143), "{}", text(&o));
    assert!(text(&o).contains("killed by signal 15"));
    // exec's own failures are 125, with the reason.
    let o = exec(&["--profile", "no-such-profile"], &["true"]);
    assert_eq!(o.status.code(), Some(125));
    assert!(
        text(&o).contains("--profile: no profile named `no-such-profile`"),
        "{}",
        text(&o)
    );
    let o = exec(&["--set", "pins.auth.nope=1"], &["true"]);
    assert_eq!(o.status.code(), Some(125));
    assert!(
        text(&o).contains("pins.auth.nope: unknown field `nope`"),
        "{}",
        text(&o)
    );
}

/// The card state lives on in `--state` across execs; the transcript shows what the program
/// sent, PINs masked; `--set` changes the card for one run.
#[test]
fn exec_keeps_state_writes_transcripts_and_takes_overrides() {
    let dir = TempDir::new("exec-state");
    let state = dir.join("card.json");
    let transcript = dir.join("card.log");
    let mynasim_bin = env!("CARGO_BIN_EXE_mynasim");
    let apdu = |extra: &str| {
        vec![
            mynasim_bin.to_owned(),
            "card".into(),
            "apdu".into(),
            "--reader".into(),
            READER.into(),
            "00A4040C0AD392F000260100000001".into(),
            "00A4020C020018".into(),
            extra.to_owned(),
        ]
    };
    let wrong = apdu("002000800430303030");
    let wrong: Vec<&str> = wrong.iter().map(String::as_str).collect();
    let o = exec(
        &[
            "--state",
            state.to_str().unwrap(),
            "--transcript",
            transcript.to_str().unwrap(),
        ],
        &wrong,
    );
    assert!(o.status.success(), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stdout).ends_with("63 C2\n"));
    let log = std::fs::read_to_string(&transcript).unwrap();
    assert!(
        log.contains(">> 00 20 00 80 04 ** ** ** **\n<< 63 C2"),
        "{log}"
    );
    assert!(!log.contains("30 30 30 30"));
    let query = apdu("00200080");
    let query: Vec<&str> = query.iter().map(String::as_str).collect();
    let o = exec(&["--state", state.to_str().unwrap()], &query);
    assert!(
        String::from_utf8_lossy(&o.stdout).ends_with("63 C2\n"),
        "the wrong PIN is remembered: {}",
        text(&o)
    );
    let o = exec(&["--set", "pins.auth.tries_left=1"], &query);
    assert!(
        String::from_utf8_lossy(&o.stdout).ends_with("63 C1\n"),
        "{}",
        text(&o)
    );
}

/// Two execs at once have a pcscd each; a signal to exec reaches the program, and nothing
/// exec started is left running.
#[test]
fn parallel_execs_do_not_meet_and_a_stopped_exec_leaves_nothing_behind() {
    require_tools();
    let started = Instant::now();
    let runs: Vec<_> = (0..2)
        .map(|_| std::thread::spawn(|| exec(&[], &["opensc-tool", "--list-readers"])))
        .collect();
    for run in runs {
        let o = run.join().unwrap();
        assert!(o.status.success(), "{}", text(&o));
        assert!(String::from_utf8_lossy(&o.stdout).contains("Yes             Virtual PCD 00 00"));
    }
    assert!(started.elapsed() < Duration::from_secs(30));
    let marker = format!("mynasim-exec-sleeper-{}", std::process::id());
    let mut child = mynasim()
        .args(["exec", "--", "sh", "-c"])
        .arg(format!("exec -a {marker} sleep 60"))
        .spawn()
        .unwrap();
    let running = |pattern: &str| {
        Command::new("pgrep")
            .args(["-f", pattern])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    crate::support::wait_until(
        Duration::from_secs(20),
        "the program to start",
        || running(&marker).then_some(()),
        String::new,
    );
    let exec_pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &exec_pid])
            .status()
            .unwrap()
            .success()
    );
    let status = crate::support::wait_until(
        Duration::from_secs(20),
        "exec to stop",
        || child.try_wait().unwrap(),
        String::new,
    );
    assert_eq!(
        status.code(),
        Some(143),
        "the program's SIGTERM is reported"
    );
    assert!(!running(&marker), "the program is gone");
    // The private pcscd exec started is gone too: no pcscd has exec's temp folder.
    let left = Command::new("pgrep")
        .args(["-f", &format!("mynasim-exec-{exec_pid}-")])
        .output()
        .unwrap();
    assert!(
        !left.status.success(),
        "{}",
        String::from_utf8_lossy(&left.stdout)
    );
}

/// `--pcscd system`: the card goes into the machine's pcscd's vpcd slot, and the program
/// reaches that pcscd as any client does (here: a pcscd the test started, seen from inside
/// its namespace, where it is "the system's").
#[test]
fn exec_with_the_system_pcscd_uses_its_vpcd_slot() {
    let dir = TempDir::new("exec-system");
    let ports = crate::live::ports();
    let pcscd = crate::live::pcscd(dir.path(), ports.base);
    let o = pcscd
        .command(env!("CARGO_BIN_EXE_mynasim"))
        .args(["exec", "--pcscd", "system", "--vpcd"])
        .arg(format!("127.0.0.1:{}", ports.base))
        .args(["--", "opensc-tool", "--list-readers"])
        .current_dir(crate::support::repo())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    assert_card_listed(&o);
}

/// A user with no privileges (`nobody`, through util-linux's `setpriv`) gets a pcscd of its
/// own in a user namespace: exec needs no root where unprivileged user namespaces are
/// allowed (Debian's default).
#[test]
fn exec_runs_without_root_in_a_user_namespace() {
    require_tools();
    // The build may sit under a folder `nobody` cannot enter (a clone in /root): run a copy.
    let dir = TempDir::new("exec-nobody");
    let bin = dir.join("mynasim");
    std::fs::copy(env!("CARGO_BIN_EXE_mynasim"), &bin).unwrap();
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let o = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .arg(&bin)
        .args(["exec", "--", "opensc-tool", "--list-readers"])
        .current_dir("/")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    assert_card_listed(&o);
}

/// Where namespaces are refused (a container without CAP_SYS_ADMIN; forced here), exec runs
/// pcscd on the machine's socket path — and a second exec at the same time is refused with
/// the way out, not pointed at the first one's card.
#[test]
fn without_namespaces_exec_uses_the_machines_socket_one_at_a_time() {
    require_tools();
    let none = |command: &[&str]| {
        mynasim()
            .env("MYNASIM_PCSCD_ISOLATION", "none")
            .arg("exec")
            .arg("--")
            .args(command)
            .output()
            .unwrap()
    };
    let o = none(&[
        "sh",
        "-c",
        "opensc-tool --list-readers; echo \"at $PCSCLITE_CSOCK_NAME\"",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("at /run/pcscd/pcscd.comm"), "{}", text(&o));
    assert_card_listed(&o);
    // While one runs, a second is refused.
    let mut first = mynasim()
        .env("MYNASIM_PCSCD_ISOLATION", "none")
        .args(["exec", "--", "sleep", "3"])
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !std::path::Path::new("/run/pcscd/pcscd.comm").exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(200));
    let second = none(&["true"]);
    assert_eq!(second.status.code(), Some(125), "{}", text(&second));
    assert!(
        text(&second)
            .contains("a pcscd already listens on /run/pcscd/pcscd.comm: use `--pcscd system`"),
        "{}",
        text(&second)
    );
    assert!(first.wait().unwrap().success());
}

/// `--json FILE`: the command, how it ended, what it printed (still shown on the terminal),
/// timings and every exchange with the PIN masked.
#[test]
fn exec_json_records_the_programs_output_ending_and_exchanges() {
    let dir = TempDir::new("exec-json");
    let json = dir.join("run.json");
    let o = exec(
        &["--json", json.to_str().unwrap()],
        &[
            "sh",
            "-c",
            "opensc-tool -s 00A4040C0AD392F000260100000001 -s 00A4020C020018 \
             -s 002000800431323334; echo to-stderr >&2; exit 3",
        ],
    );
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stderr).contains("to-stderr"));
    let record: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(record["version"], 1);
    assert_eq!(record["ending"], serde_json::json!({ "exited": 3 }));
    assert_eq!(record["reader"], READER);
    assert!(
        record["stdout"]
            .as_str()
            .unwrap()
            .contains("Sending: 00 20 00 80")
    );
    assert!(record["stderr"].as_str().unwrap().contains("to-stderr"));
    assert!(record["ready_millis"].as_u64().is_some());
    let verify: Vec<&serde_json::Value> = record["exchanges"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["command"].as_str().unwrap_or("").starts_with("00200080"))
        .collect();
    assert_eq!(verify.len(), 1, "{record}");
    assert_eq!(
        verify[0]["command"], "00200080042A2A2A2A",
        "the PIN is masked"
    );
    assert_eq!(verify[0]["response"], "9000");
}

/// `--scenario FILE[#N]` runs the program against that scenario's card (its `card.set`,
/// faults and timing), with `--set` on top; a number past the list is refused.
#[test]
fn exec_takes_a_scenarios_card_and_overrides_on_top() {
    let scenario = crate::support::repo().join("scenarios/pin/auth-pin-lockout.yaml");
    let query = "opensc-tool -s 00A4040C0AD392F000260100000001 -s 00A4020C020018 -s 00200080";
    let o = exec(
        &[
            "--scenario",
            scenario.to_str().unwrap(),
            "--set",
            "pins.auth.tries_left=2",
        ],
        &["sh", "-c", query],
    );
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("SW1=0x63, SW2=0xC2"), "{}", text(&o));
    let torn = crate::support::repo().join("scenarios/faults/tear-verify-last-try-blocks.yaml");
    let o = exec(
        &["--scenario", torn.to_str().unwrap()],
        &["sh", "-c", query],
    );
    assert!(
        text(&o).contains("SW1=0x63, SW2=0xC1"),
        "its card.set applies: {}",
        text(&o)
    );
    let o = exec(
        &["--scenario", &format!("{}#2", scenario.display())],
        &["true"],
    );
    assert_eq!(o.status.code(), Some(125), "{}", text(&o));
    assert!(text(&o).contains("holds 1 scenario(s)"), "{}", text(&o));
}

/// `--remove-after` pulls the card out while the program runs (and `--reinsert-after` puts
/// it back): PC/SC shows the card, then no card, then the card again.
#[test]
fn exec_pulls_the_card_out_and_puts_it_back_on_time() {
    let o = exec(
        &["--remove-after", "0.5", "--reinsert-after", "2.5"],
        &[
            "sh",
            "-c",
            "opensc-tool -l; sleep 2; opensc-tool -l; sleep 2.5; opensc-tool -l",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let seen: Vec<&str> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .filter(|l| l.ends_with(READER))
        .map(|l| {
            if l.starts_with("0    Yes") {
                "in"
            } else {
                "out"
            }
        })
        .collect::<Vec<_>>()
        .into_iter()
        .collect();
    assert_eq!(seen, ["in", "out", "in"], "{}", text(&o));
}

/// `exec --validation` starts the card's validation service for the program: a relying
/// party (pyscard reads the certificate, `openssl ocsp` asks) accepts a good card and refuses
/// a suspended one.
#[test]
fn exec_validation_serves_the_cards_status_to_a_relying_party() {
    let rp = "./scenarios/apps/relying-party/check_login.py";
    let good = exec(&["--validation", "127.0.0.1:0"], &[rp]);
    assert_eq!(good.status.code(), Some(0), "{}", text(&good));
    assert!(
        text(&good).contains(r#""verdict": "good""#),
        "{}",
        text(&good)
    );
    let held = exec(
        &[
            "--validation",
            "127.0.0.1:0",
            "--set",
            "certificates.auth.status=suspended",
        ],
        &[rp],
    );
    assert_eq!(held.status.code(), Some(1), "{}", text(&held));
    assert!(text(&held).contains("certificateHold"), "{}", text(&held));
    let public = exec(&["--validation", "0.0.0.0:0"], &["true"]);
    assert_eq!(public.status.code(), Some(125), "{}", text(&public));
    assert!(
        text(&public).contains("not a loopback address"),
        "{}",
        text(&public)
    );
}

/// `exec --replay`: the program meets the recording's bytes (a challenge no simulator would
/// give twice), and a command past the recording either ends the session (`fail`, named on
/// stderr) or goes to the simulated card (`simulate`).
#[test]
fn exec_replays_a_recording_and_says_where_the_program_left_it() {
    let dir = TempDir::new("exec-replay");
    let recording = dir.join("recording.log");
    std::fs::write(
        &recording,
        ">> 00 84 00 00 08\n<< 01 02 03 04 05 06 07 08 90 00\n",
    )
    .unwrap();
    let mynasim_bin = env!("CARGO_BIN_EXE_mynasim");
    let challenges = |n: usize| {
        let mut c = vec![mynasim_bin, "card", "apdu", "--reader", READER];
        c.extend(std::iter::repeat_n("0084000008", n));
        c
    };
    let replay = ["--replay", recording.to_str().unwrap()];
    let o = exec(&replay, &challenges(1));
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("01 02 03 04 05 06 07 08 90 00"),
        "{}",
        text(&o)
    );
    // Past the recording, `fail` (the default): the card leaves, stderr says where.
    let o = exec(&replay, &challenges(2));
    assert!(!o.status.success(), "{}", text(&o));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains("replay: command 2 differs from the recording: sent 00 84 00 00 08, but the recording has only 1 exchanges"),
        "{}",
        text(&o)
    );
    // `simulate`: the simulated card answers the second challenge.
    let mut hybrid = replay.to_vec();
    hybrid.extend(["--on-divergence", "simulate"]);
    let o = exec(&hybrid, &challenges(2));
    assert!(o.status.success(), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    let answers: Vec<&str> = out.lines().filter(|l| l.ends_with("90 00")).collect();
    assert_eq!(answers.len(), 2, "{}", text(&o));
    assert_eq!(answers[0], "01 02 03 04 05 06 07 08 90 00", "{}", text(&o));
    assert_ne!(answers[1], answers[0], "{}", text(&o));
}
