//! mynasim-ifd (`ifd/`), the workspace's own reader driver, loaded into a real private
//! pcscd: sixteen cards from one `mynasim serve` answering sixteen PC/SC clients at once,
//! Debian's vicc working through it unchanged, and the bundled library on the vpcd target.
//! Insertion latency is measured by `ci/bench insertion`, not here.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use mynasim_harness::host::pcscd::{Driver, INSTALL_HINT, Ports, PrivatePcscd};

use crate::live::{Serve, write_opensc_conf};
use crate::support::{Process, TempDir, repo, tail, wait_until};

/// A private pcscd loading mynasim-ifd with `slots` slots from `port`.
fn pcscd(dir: &Path, port: u16, slots: u16) -> PrivatePcscd {
    let driver = Driver::mynasim(slots).unwrap_or_else(|e| panic!("{e}"));
    crate::live::pcscd_on(dir, port, &driver)
}

/// The reader of slot `n`: pcsc-lite numbers a reader's slots in hex (`RFAddReader`).
fn reader(n: u16) -> String {
    format!("Virtual PCD 00 {n:02X}")
}

/// `mynasim card readers` in pcscd's namespace: the readers and, for each, the card's ATR.
fn readers(pcscd: &PrivatePcscd) -> String {
    let out = pcscd
        .command(env!("CARGO_BIN_EXE_mynasim"))
        .args(["card", "readers"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn sixteen_cards_from_one_serve_answer_sixteen_clients_at_once_through_one_pcscd() {
    let dir = TempDir::new("ifd-sixteen");
    let ports = Ports::reserve(16).unwrap();
    let pcscd = pcscd(dir.path(), ports.base, 16);
    let slots: Vec<(u16, &str)> = (0..16).map(|n| (n, "default")).collect();
    let serve = Serve::start(dir.path(), ports.base, &slots);
    wait_until(
        Duration::from_secs(20),
        "mynasim serve's ready file (all sixteen cards seen by their readers)",
        || serve.ready.exists().then_some(()),
        || format!("{}\n{}", tail(&serve.log, 40), tail(pcscd.log(), 40)),
    );
    // Sixteen PC/SC clients, each a process of its own, all started before any is waited
    // for: each selects the JPKI application and reads 32 bytes of its token.
    let clients: Vec<_> = (0..16)
        .map(|n| {
            pcscd
                .command(env!("CARGO_BIN_EXE_mynasim"))
                .args(["card", "apdu", "--reader", &reader(n)])
                .args([
                    "00A4040C0AD392F000260100000001",
                    "00A4020C020006",
                    "00B0000020",
                ])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for (n, client) in clients.into_iter().enumerate() {
        let out = client.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "client {n} failed ({}):\n{stdout}\n{}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr),
            tail(pcscd.log(), 40)
        );
        let answers: Vec<&str> = stdout.lines().filter(|l| !l.trim().is_empty()).collect();
        assert_eq!(answers.len(), 3, "client {n}: {stdout}");
        assert!(
            answers.iter().all(|a| a.replace(' ', "").ends_with("9000")),
            "client {n}: {stdout}"
        );
        // The token: "JPKIAPICCTOKEN2" padded, 32 bytes, then 90 00.
        assert_eq!(
            answers[2].replace(' ', "").len(),
            2 * 34,
            "client {n}: {stdout}"
        );
    }
    // One pcscd, one reader entry, sixteen readers each with a card.
    let listing = readers(&pcscd);
    for n in 0..16 {
        assert!(
            listing
                .lines()
                .any(|l| l.contains(&reader(n)) && l.contains("3B")),
            "{} holds no card:\n{listing}",
            reader(n)
        );
    }
    drop(serve);
}

/// Debian's vicc (python3-virtualsmartcard, `vicc -t iso7816`) on `port`: what the `vicc`
/// script does, as Debian ships the library without the script.
fn vicc(dir: &Path, port: u16) -> Process {
    const LIBRARY: &str = "/usr/lib/python3/site-packages/virtualsmartcard";
    const CRYPTODOME: &str = "/usr/lib/python3/dist-packages/Cryptodome";
    assert!(
        Path::new(LIBRARY).is_dir() && Path::new(CRYPTODOME).is_dir(),
        "vicc needs python3-virtualsmartcard and python3-pycryptodome. Fix: {INSTALL_HINT}"
    );
    // vicc imports pycryptodome as `Crypto`; Debian ships it as `Cryptodome`.
    let shim = dir.join("pyshim");
    std::fs::create_dir_all(&shim).unwrap();
    std::os::unix::fs::symlink(CRYPTODOME, shim.join("Crypto")).unwrap();
    let script = format!(
        "import logging\n\
         from virtualsmartcard.VirtualSmartcard import VirtualICC\n\
         VirtualICC(None, 'iso7816', '127.0.0.1', {port}, logginglevel=logging.INFO).run()\n"
    );
    let mut command = Command::new("/usr/bin/python3");
    command
        .args(["-c", &script])
        .env("PYTHONPATH", format!("{LIBRARY}:{}", shim.display()));
    Process::spawn("vicc", &mut command, &dir.join("vicc.log"))
}

#[test]
fn vicc_works_through_mynasim_ifd_unchanged() {
    let dir = TempDir::new("ifd-vicc");
    let ports = Ports::reserve(2).unwrap();
    let pcscd = pcscd(dir.path(), ports.base, 2);
    let _vicc = vicc(dir.path(), ports.base);
    wait_until(
        Duration::from_secs(20),
        "vicc's card in Virtual PCD 00 00",
        || {
            readers(&pcscd)
                .lines()
                .any(|l| l.contains(&reader(0)) && l.contains("3B"))
                .then_some(())
        },
        || {
            format!(
                "{}\n{}",
                tail(&dir.join("vicc.log"), 20),
                tail(pcscd.log(), 40)
            )
        },
    );
    // SELECT MF, then a command vicc's ISO 7816 card does not know.
    let out = pcscd
        .command(env!("CARGO_BIN_EXE_mynasim"))
        .args(["card", "apdu", "--reader", &reader(0)])
        .args(["00A4000C023F00", "00CA010000"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        tail(pcscd.log(), 40)
    );
    let answers: Vec<String> = stdout
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.replace(' ', ""))
        .collect();
    assert_eq!(answers.len(), 2, "{stdout}");
    assert_eq!(answers[0], "9000", "{stdout}");
    assert!(!answers[1].ends_with("9000"), "{stdout}");
}

/// The whole library on the vpcd target, four scenarios at a time: each job's card goes into
/// a slot of its own (`--jobs 4`, a reader with 4 slots), and every scenario that can pass
/// on a reader does.
#[test]
fn the_bundled_library_passes_on_the_vpcd_target_through_mynasim_ifd() {
    let dir = TempDir::new("ifd-vpcd-target");
    write_opensc_conf(dir.path());
    let ports = Ports::reserve(4).unwrap();
    let pcscd = pcscd(dir.path(), ports.base, 4);
    let junit = dir.join("junit.xml");
    let out = pcscd
        .command(env!("CARGO_BIN_EXE_mynasim"))
        .current_dir(repo())
        .env("OPENSC_CONF", dir.join("opensc.conf"))
        .env("HOME", dir.path())
        .args(["run", "--target", "vpcd", "--jobs", "4", "--vpcd"])
        .arg(format!("127.0.0.1:{}", ports.base))
        .arg("--junit")
        .arg(&junit)
        // Absolute paths: nsenter does not keep the working folder.
        .arg(repo().join("scenarios"))
        .output()
        .expect("mynasim runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    // The scenarios that cannot pass on any reader: a `fault:` step, and the validation
    // steps that write new certificates into the card (`find_card`, `renew`), need the
    // in-process card (they say so); everything else passes.
    const IN_PROCESS_ONLY: [&str; 3] = [
        "fault-step-mid-session",
        "lost-then-found",
        "renewed-today-vs-yesterday",
    ];
    let not_passed: Vec<&str> = stdout
        .lines()
        .filter(|l| {
            ["FAIL", "UNREACHABLE", "INVALID", "N/A"]
                .iter()
                .any(|k| l.starts_with(k))
        })
        .collect();
    assert!(
        !not_passed.is_empty()
            && not_passed
                .iter()
                .all(|l| l.starts_with("UNREACHABLE")
                    && IN_PROCESS_ONLY.iter().any(|s| l.contains(s)))
            && IN_PROCESS_ONLY
                .iter()
                .all(|s| not_passed.iter().any(|l| l.contains(s))),
        "{stdout}\n{}",
        tail(pcscd.log(), 40)
    );
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(xml.matches("<testcase").count() > 100);
}

/// A PC/SC client that holds its connection across a removal: connects to `reader`, sends
/// SELECT MF, says `ready`, waits for a line on stdin, then sends SELECT MF again and prints
/// the outcome (`ok` or the PC/SC error code in hex).
const HOLDING_CLIENT: &str = r#"
import sys
from smartcard.scard import *
_, ctx = SCardEstablishContext(SCARD_SCOPE_USER)
rc, card, _ = SCardConnect(ctx, sys.argv[1], SCARD_SHARE_SHARED, SCARD_PROTOCOL_ANY)
assert rc == SCARD_S_SUCCESS, hex(rc & 0xFFFFFFFF)
apdu = [0x00, 0xA4, 0x04, 0x0C, 0x0A, 0xD3, 0x92, 0xF0, 0x00, 0x26, 0x01, 0x00, 0x00, 0x00, 0x01]
rc, response = SCardTransmit(card, SCARD_PCI_T1, apdu)
assert rc == SCARD_S_SUCCESS and response[-2:] == [0x90, 0x00], (hex(rc & 0xFFFFFFFF), response)
print("ready", flush=True)
sys.stdin.readline()
rc, response = SCardTransmit(card, SCARD_PCI_T1, apdu)
print("ok" if rc == SCARD_S_SUCCESS else hex(rc & 0xFFFFFFFF), flush=True)
"#;

#[test]
fn a_card_removed_and_reinserted_at_once_is_still_seen_removed_by_a_connected_client() {
    use std::io::{BufRead as _, BufReader, Write as _};

    let dir = TempDir::new("ifd-quick-reinsert");
    let ports = Ports::reserve(2).unwrap();
    let pcscd = pcscd(dir.path(), ports.base, 2);
    let serve = Serve::start(dir.path(), ports.base, &[(0, "default")]);
    serve.wait_ready(&pcscd);
    let mut client = pcscd
        .command("/usr/bin/python3")
        .args(["-c", HOLDING_CLIENT, &reader(0)])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(client.stdout.take().unwrap()).lines();
    let first = lines.next().map(Result::unwrap);
    assert_eq!(first.as_deref(), Some("ready"), "{}", tail(pcscd.log(), 40));
    // Out and back in with nothing in between: a removal none of pcscd's 400 ms polls would
    // ever have seen behind Debian's driver.
    assert!(serve.control("remove 0").starts_with("ok"));
    assert!(serve.control("insert 0").starts_with("ok"));
    wait_until(
        Duration::from_secs(20),
        "the card back in its reader",
        || {
            readers(&pcscd)
                .lines()
                .any(|l| l.contains(&reader(0)) && l.contains("3B"))
                .then_some(())
        },
        || format!("{}\n{}", tail(&serve.log, 40), tail(pcscd.log(), 40)),
    );
    writeln!(client.stdin.take().unwrap()).unwrap();
    let second = lines.next().map(Result::unwrap);
    let out = client.wait_with_output().unwrap();
    // SCARD_W_REMOVED_CARD: the connection belonged to the card that left.
    assert_eq!(
        second.as_deref(),
        Some("0x80100069"),
        "{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        tail(pcscd.log(), 40)
    );
}
