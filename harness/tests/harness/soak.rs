//! A bounded soak (issue 12): both slots of a private pcscd, several PC/SC clients on each
//! for 60 s, a card removal and a pcscd restart in the middle. No client may ever see a
//! wrong answer; the cards come back; their counters are intact; `mynasim serve`'s memory
//! and file descriptors stay flat. The figures go to the test's output.
//!
//! Each client is a loop of `mynasim card apdu --reader` processes inside the pcscd's mount
//! namespace: a PC/SC connection, five APDUs in one transaction, the answers checked.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::live::{Serve, pcscd, ports, write_opensc_conf};
use crate::support::{TempDir, mynasim, wait_until};

const DURATION: Duration = Duration::from_secs(60);
const CLIENTS_PER_SLOT: usize = 3;

/// `VmRSS` in KiB and the number of open descriptors of a process.
fn footprint(pid: u32) -> (u64, usize) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let rss = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .count();
    (rss, fds)
}

#[derive(Default)]
struct Counts {
    ok: AtomicU64,
    errors: AtomicU64,
    after_restart: AtomicU64,
}

/// What one client does over and over: its transaction, and the answers it must get.
struct Client {
    reader: String,
    apdus: Vec<&'static str>,
    answers: Vec<String>,
}

fn run(
    client: &Client,
    pcscd_pid: &AtomicU32,
    stop: &AtomicBool,
    restarted: &AtomicBool,
    counts: &Counts,
) -> Result<(), String> {
    while !stop.load(Ordering::SeqCst) {
        let pid = pcscd_pid.load(Ordering::SeqCst);
        let out = std::process::Command::new("nsenter")
            .args(["--target", &pid.to_string(), "--mount", "--"])
            .arg(env!("CARGO_BIN_EXE_mynasim"))
            .args(["card", "apdu", "--reader", &client.reader])
            .args(&client.apdus)
            .output()
            .unwrap();
        if !out.status.success() {
            // Removed, reset, pcscd away: the client tries again, as real ones do.
            counts.errors.fetch_add(1, Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(50));
            continue;
        }
        let answers: Vec<String> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::to_owned)
            .collect();
        if answers != client.answers {
            return Err(format!(
                "{}: expected {:?}, got {answers:?}",
                client.reader, client.answers
            ));
        }
        counts.ok.fetch_add(1, Ordering::SeqCst);
        if restarted.load(Ordering::SeqCst) {
            counts.after_restart.fetch_add(1, Ordering::SeqCst);
        }
    }
    Ok(())
}

#[test]
fn two_slots_many_clients_a_removal_and_a_pcscd_restart_and_nothing_wrong() {
    let dir = TempDir::new("soak");
    write_opensc_conf(dir.path());
    let ports = ports();
    let mut first = pcscd(&dir.join("pcscd-1"), ports.base);
    // The second card: another holder and seed, so another certificate.
    let second = dir.join("second.yaml");
    std::fs::write(
        &second,
        "version: 1\nseed: 7\ntoday: 2026-11-25\nholder: { birth_date: 1970-01-02 }\ncard: { issued: 2025-01-01 }\n",
    )
    .unwrap();
    let profiles = [
        "scenarios/profiles/default.yaml".to_owned(),
        second.display().to_string(),
    ];
    let serve = Serve::start(
        dir.path(),
        ports.base,
        &[(0, &profiles[0]), (1, &profiles[1])],
    );
    wait_until(
        Duration::from_secs(20),
        "serve's ready file",
        || serve.ready.exists().then_some(()),
        || serve.log_text(),
    );
    let clients: Vec<Arc<Client>> = profiles
        .iter()
        .enumerate()
        .map(|(slot, profile)| {
            let o = mynasim()
                .args(["card", "show", "--json", "--profile", profile])
                .output()
                .unwrap();
            let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
            let size = v["certificates"]["auth"]["size"].as_u64().unwrap() - 4;
            let [hi, lo] = u16::try_from(size).unwrap().to_be_bytes();
            Arc::new(Client {
                reader: format!("Virtual PCD 00 {slot:02}"),
                apdus: vec![
                    "00A4040C0AD392F000260100000001",
                    "00A4020C02000A",
                    "00B0000004",
                    "00A4020C020018",
                    "00200080",
                ],
                answers: vec![
                    "90 00".to_owned(),
                    "90 00".to_owned(),
                    format!("30 82 {hi:02X} {lo:02X} 90 00"),
                    "90 00".to_owned(),
                    "63 C3".to_owned(),
                ],
            })
        })
        .collect();
    let pcscd_pid = Arc::new(AtomicU32::new(first.pid()));
    let stop = Arc::new(AtomicBool::new(false));
    let restarted = Arc::new(AtomicBool::new(false));
    let counts = Arc::new(Counts::default());
    let mut threads = Vec::new();
    for client in &clients {
        for _ in 0..CLIENTS_PER_SLOT {
            let (client, pid, stop, restarted, counts) = (
                client.clone(),
                pcscd_pid.clone(),
                stop.clone(),
                restarted.clone(),
                counts.clone(),
            );
            threads.push(std::thread::spawn(move || {
                run(&client, &pid, &stop, &restarted, &counts)
            }));
        }
    }
    let started = Instant::now();
    std::thread::sleep(Duration::from_secs(5));
    let before = footprint(serve.process.pid());
    // A removal and an insertion of slot 0.
    std::thread::sleep((DURATION / 3).saturating_sub(started.elapsed()));
    serve.control("remove 0");
    std::thread::sleep(Duration::from_secs(1));
    serve.control("insert 0");
    // pcscd restarts: serve reconnects both cards by itself.
    std::thread::sleep((2 * DURATION / 3).saturating_sub(started.elapsed()));
    let status = first.stop(Duration::from_secs(10)).unwrap();
    assert!(status.success(), "{status}");
    let second_pcscd = pcscd(&dir.join("pcscd-2"), ports.base);
    pcscd_pid.store(second_pcscd.pid(), Ordering::SeqCst);
    restarted.store(true, Ordering::SeqCst);
    std::thread::sleep(DURATION.saturating_sub(started.elapsed()));
    let after = footprint(serve.process.pid());
    stop.store(true, Ordering::SeqCst);
    for t in threads {
        if let Err(wrong) = t.join().unwrap() {
            panic!("a client saw a wrong answer: {wrong}\n{}", serve.log_text());
        }
    }
    let (ok, errors, after_restart) = (
        counts.ok.load(Ordering::SeqCst),
        counts.errors.load(Ordering::SeqCst),
        counts.after_restart.load(Ordering::SeqCst),
    );
    eprintln!(
        "soak: {} s, {} clients, {ok} good transactions ({after_restart} after the pcscd \
         restart), {errors} retried; mynasim serve RSS {} -> {} KiB, fds {} -> {}",
        started.elapsed().as_secs(),
        clients.len() * CLIENTS_PER_SLOT,
        before.0,
        after.0,
        before.1,
        after.1
    );
    assert!(ok > 100, "{ok} transactions");
    assert!(after_restart > 10, "the cards came back after the restart");
    assert!(
        after.1 <= before.1 + 2,
        "file descriptors grew: {before:?} -> {after:?}"
    );
    assert!(
        after.0 <= before.0 + 4096,
        "memory grew: {before:?} -> {after:?}"
    );
}
