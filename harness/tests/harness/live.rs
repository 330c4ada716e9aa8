//! A private pcscd per test, with `mynasim serve` connected to its vpcd reader.
//!
//! pcscd 1.9.9 has no option for its socket path (`/run/pcscd/pcscd.comm`), so each test
//! runs its own pcscd in a new mount namespace (`unshare --mount`) with a tmpfs on
//! /run/pcscd, and a reader.conf whose vpcd `DEVICENAME /dev/null:0xPORT` / `CHANNELID
//! 0xPORT` is unique to the test. Clients run in the same namespace (`nsenter --mount`) and
//! see only that pcscd, so these tests run in parallel. Everything started here is stopped
//! when the fixture is dropped, pass or fail; the namespace and its tmpfs vanish with pcscd.
//!
//! Nothing is skipped: a machine without pcscd, vsmartcard-vpcd, OpenSC or root fails the
//! test with the command that fixes it.

use std::fs::File;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::support::{Process, TempDir, mynasim, tail, wait_until};

/// Where Debian's vsmartcard-vpcd puts the driver.
pub(crate) const VPCD_DRIVER: &str = "/usr/lib/pcsc/drivers/serial/libifdvpcd.so";

/// OpenSC's PKCS#11 module, where Debian's opensc-pkcs11 puts it.
pub(crate) fn opensc_pkcs11() -> &'static str {
    const CANDIDATES: [&str; 3] = [
        "/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so",
        "/usr/lib/aarch64-linux-gnu/opensc-pkcs11.so",
        "/usr/lib/opensc-pkcs11.so",
    ];
    CANDIDATES
        .iter()
        .find(|p| Path::new(p).exists())
        .copied()
        .unwrap_or_else(|| panic!("OpenSC's PKCS#11 module is missing: {}", INSTALL_HINT))
}

const INSTALL_HINT: &str = "run `ci/setup` as root (it installs the Debian packages pcscd \
    vsmartcard-vpcd opensc pcsc-tools libpcsclite-dev pkg-config openssl); the end-to-end \
    tests need them and root (they run a private pcscd with unshare --mount)";

/// Checks once that everything the live tests need is here; panics with the fix if not.
pub(crate) fn require_tools() {
    static CHECKED: OnceLock<Result<(), String>> = OnceLock::new();
    let result = CHECKED.get_or_init(|| {
        let mut missing = Vec::new();
        for tool in [
            "pcscd",
            "opensc-tool",
            "pkcs15-tool",
            "pkcs11-tool",
            "scriptor",
            "openssl",
            "unshare",
            "nsenter",
            "mount",
        ] {
            let found = Command::new("sh")
                .args(["-c", &format!("command -v {tool}")])
                .output()
                .is_ok_and(|o| o.status.success());
            if !found {
                missing.push(tool.to_owned());
            }
        }
        if !Path::new(VPCD_DRIVER).exists() {
            missing.push(VPCD_DRIVER.to_owned());
        }
        let uid = Command::new("id").arg("-u").output().map(|o| o.stdout);
        if !uid.is_ok_and(|uid| uid == b"0\n") {
            missing.push("root".to_owned());
        }
        if missing.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "missing: {}. Fix: {INSTALL_HINT}",
                missing.join(", ")
            ))
        }
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}

/// Two consecutive TCP ports (slots 0 and 1) reserved for one test across every test
/// process: a lock file per port held for the test's life, and both ports checked free.
/// Ports come from 20000–31999, below Linux's ephemeral range, so no outgoing connection
/// can take them meanwhile.
pub(crate) struct Ports {
    pub(crate) base: u16,
    _locks: Vec<File>,
}

impl Ports {
    pub(crate) fn reserve() -> Self {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        for attempt in 0..500u32 {
            let n = COUNTER.fetch_add(1, Ordering::SeqCst);
            let mix = std::process::id()
                .wrapping_mul(7919)
                .wrapping_add(n.wrapping_mul(104_729))
                .wrapping_add(nanos)
                .wrapping_add(attempt);
            let base = 20_000 + (mix % 6_000) as u16 * 2;
            let mut locks = Vec::new();
            // Lock files are never deleted: unlinking a lock file races with its next user.
            let folder = std::env::temp_dir().join("mynasim-vpcd-ports");
            let _ = std::fs::create_dir_all(&folder);
            for port in [base, base + 1] {
                let path = folder.join(format!("{port}.lock"));
                let Ok(file) = File::options()
                    .create(true)
                    .truncate(false)
                    .write(true)
                    .open(&path)
                else {
                    break;
                };
                if file.try_lock().is_err() {
                    break;
                }
                locks.push(file);
            }
            let free = locks.len() == 2
                && [base, base + 1]
                    .iter()
                    .all(|p| TcpListener::bind(("0.0.0.0", *p)).is_ok());
            if free {
                return Self {
                    base,
                    _locks: locks,
                };
            }
        }
        panic!("no free pair of TCP ports for a private vpcd in 20000–31999");
    }
}

/// A private pcscd with one vpcd reader entry (two slots) on `port` and `port + 1`.
pub(crate) struct Pcscd {
    process: Process,
    log: PathBuf,
}

impl Pcscd {
    pub(crate) fn start(dir: &Path, port: u16, log_name: &str) -> Self {
        require_tools();
        let conf = dir.join("reader.conf.d");
        std::fs::create_dir_all(&conf).unwrap();
        std::fs::write(
            conf.join("vpcd"),
            format!(
                "# mynasim end-to-end test: a private vpcd reader\n\
                 FRIENDLYNAME \"Virtual PCD\"\n\
                 DEVICENAME   /dev/null:0x{port:04X}\n\
                 LIBPATH      {VPCD_DRIVER}\n\
                 CHANNELID    0x{port:04X}\n"
            ),
        )
        .unwrap();
        // The mount point must exist on the host for the namespace to mount over it.
        std::fs::create_dir_all("/run/pcscd").unwrap();
        let log = dir.join(log_name);
        let process = Process::spawn(
            "pcscd",
            Command::new("unshare")
                .args(["--mount", "--propagation", "private", "--", "sh", "-c"])
                .arg(
                    "mount -t tmpfs -o size=1m,mode=0755 mynasim-pcscd /run/pcscd \
                     && exec pcscd --foreground --debug --config \"$0\"",
                )
                .arg(&conf),
            &log,
        );
        Self { process, log }
    }

    pub(crate) fn pid(&self) -> u32 {
        self.process.pid()
    }

    pub(crate) fn log(&self) -> &Path {
        &self.log
    }

    /// Stops pcscd now (SIGTERM) and waits for it.
    pub(crate) fn stop(&mut self) {
        self.process.signal("TERM");
        let status = self.process.wait_exit(Duration::from_secs(10));
        assert!(status.success(), "pcscd stopped with {status}");
    }
}

/// `mynasim serve` for a test.
pub(crate) struct Serve {
    pub(crate) process: Process,
    pub(crate) log: PathBuf,
    pub(crate) control: PathBuf,
}

impl Serve {
    /// Starts `mynasim serve --vpcd 127.0.0.1:PORT --slot …` with APDU logging.
    pub(crate) fn start(dir: &Path, port: u16, slots: &[(u16, &str)]) -> Self {
        let log = dir.join("serve.log");
        let control = dir.join("control.sock");
        let mut command = mynasim();
        command
            .args(["serve", "--vpcd", &format!("127.0.0.1:{port}")])
            .arg("--control")
            .arg(&control)
            .env("MYNASIM_LOG", "mynasim_harness=debug");
        for (slot, profile) in slots {
            command.arg("--slot").arg(format!("{slot}={profile}"));
        }
        let process = Process::spawn("mynasim serve", &mut command, &log);
        Self {
            process,
            log,
            control,
        }
    }

    pub(crate) fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Sends a control command (`remove 0`, `insert`, `status`) and returns the reply.
    pub(crate) fn control(&self, command: &str) -> String {
        let out = mynasim()
            .arg("control")
            .arg(&self.control)
            .args(command.split_whitespace())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "mynasim control {command}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }
}

/// pcscd and `mynasim serve` with cards in the given slots, every card present.
pub(crate) struct Live {
    // Dropped in this order: the card, then pcscd, then the ports and the folder.
    pub(crate) serve: Serve,
    pub(crate) pcscd: Pcscd,
    _ports: Ports,
    pub(crate) dir: TempDir,
}

impl Live {
    /// Starts everything and waits (by polling OpenSC) until every slot shows its card.
    pub(crate) fn start(name: &str, slots: &[(u16, &str)]) -> Self {
        require_tools();
        let dir = TempDir::new(name);
        write_opensc_conf(dir.path());
        let ports = Ports::reserve();
        let pcscd = Pcscd::start(dir.path(), ports.base, "pcscd.log");
        let serve = Serve::start(dir.path(), ports.base, slots);
        let live = Self {
            serve,
            pcscd,
            _ports: ports,
            dir,
        };
        for (slot, _) in slots {
            live.wait_for_card(*slot, true);
        }
        live
    }

    /// A client command inside pcscd's namespace, with the test's OpenSC configuration and
    /// home folder.
    pub(crate) fn command(&self, program: &str) -> Command {
        let mut command = Command::new("nsenter");
        command
            .args(["--target", &self.pcscd.pid().to_string(), "--mount", "--"])
            .arg(program)
            .env("OPENSC_CONF", self.dir.join("opensc.conf"))
            .env("HOME", self.dir.path());
        command
    }

    /// Runs a client to completion.
    pub(crate) fn run(&self, program: &str, args: &[&str]) -> Output {
        self.command(program).args(args).output().unwrap()
    }

    /// Runs a client that must succeed; returns its standard output.
    pub(crate) fn ok(&self, program: &str, args: &[&str]) -> String {
        let out = self.run(program, args);
        assert!(
            out.status.success(),
            "{program} {args:?} failed ({}):\n{}\n{}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            self.diagnostics()
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// The reader name of a slot.
    pub(crate) fn reader(slot: u16) -> String {
        format!("Virtual PCD 00 {slot:02}")
    }

    /// Whether OpenSC sees a card in the slot's reader: `opensc-tool --list-readers` prints
    /// `N    Yes    Virtual PCD 00 0N`.
    pub(crate) fn card_present(&self, slot: u16) -> Option<bool> {
        let out = self.run("opensc-tool", &["--list-readers"]);
        let text = String::from_utf8_lossy(&out.stdout);
        let reader = Self::reader(slot);
        text.lines()
            .find(|l| l.trim_end().ends_with(&reader))
            .and_then(|l| l.split_whitespace().nth(1))
            .map(|card| card == "Yes")
    }

    /// Polls until the slot's card is present (or absent).
    pub(crate) fn wait_for_card(&self, slot: u16, present: bool) {
        wait_until(
            Duration::from_secs(20),
            &format!(
                "OpenSC to see {} in {}",
                if present { "a card" } else { "no card" },
                Self::reader(slot)
            ),
            || (self.card_present(slot) == Some(present)).then_some(()),
            || self.diagnostics(),
        );
    }

    /// The ends of both logs.
    pub(crate) fn diagnostics(&self) -> String {
        format!(
            "{}\n{}",
            tail(&self.serve.log, 40),
            tail(self.pcscd.log(), 40)
        )
    }

    /// A file in the test's folder.
    pub(crate) fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
}

/// OpenSC configuration for the tests: no file cache, so every read reaches the card and
/// shows in the APDU log.
pub(crate) fn write_opensc_conf(dir: &Path) {
    std::fs::write(
        dir.join("opensc.conf"),
        "# mynasim end-to-end tests: every certificate read reaches the card.\n\
         app default {\n\
         \x20   framework pkcs15 {\n\
         \x20       use_file_caching = no;\n\
         \x20   }\n\
         }\n",
    )
    .unwrap();
}
