//! A private pcscd per test (the harness's own [`PrivatePcscd`]: a mount namespace, a tmpfs on
//! /run/pcscd, a vpcd entry on ports of the test's own), with `mynasim serve` connected to
//! its vpcd reader. Clients run in the same namespace (`nsenter --mount`) and see only that
//! pcscd, so these tests run in parallel. Everything started here is stopped when the
//! fixture is dropped, pass or fail; the namespace and its tmpfs vanish with pcscd.
//!
//! Nothing is skipped: a machine without pcscd, vsmartcard-vpcd, OpenSC or root fails the
//! test with the command that fixes it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::Duration;

use mynasim_harness::host::pcscd::{Driver, INSTALL_HINT, Ports, PrivatePcscd, VPCD_DRIVER};

use crate::support::{Process, TempDir, mynasim, tail, wait_until};

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
            "/usr/bin/python3",
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

/// Two consecutive TCP ports (slots 0 and 1) held for one test across every test process.
pub(crate) fn ports() -> Ports {
    Ports::reserve(2).unwrap_or_else(|e| panic!("{e}"))
}

/// A private pcscd with one vpcd reader entry (two slots) on `port` and `port + 1`, its
/// socket ready.
pub(crate) fn pcscd(dir: &Path, port: u16) -> PrivatePcscd {
    let driver = Driver::from_env().unwrap_or_else(|e| panic!("{e}"));
    pcscd_on(dir, port, &driver)
}

/// [`pcscd`] loading `driver`.
pub(crate) fn pcscd_on(dir: &Path, port: u16, driver: &Driver) -> PrivatePcscd {
    require_tools();
    let mut pcscd = PrivatePcscd::start_with(dir, port, true, driver)
        .unwrap_or_else(|e| panic!("cannot start pcscd: {e}. Fix: {INSTALL_HINT}"));
    pcscd
        .wait_ready(Duration::from_secs(10))
        .unwrap_or_else(|e| panic!("{e}"));
    pcscd
}

/// `mynasim serve` for a test.
pub(crate) struct Serve {
    pub(crate) process: Process,
    pub(crate) log: PathBuf,
    pub(crate) control: PathBuf,
    pub(crate) ready: PathBuf,
}

impl Serve {
    /// Starts `mynasim serve --vpcd 127.0.0.1:PORT --slot …` with APDU logging.
    pub(crate) fn start(dir: &Path, port: u16, slots: &[(u16, &str)]) -> Self {
        Self::start_with(dir, port, slots, &[])
    }

    /// [`Serve::start`] with more arguments (`--record FILE`, …).
    pub(crate) fn start_with(
        dir: &Path,
        port: u16,
        slots: &[(u16, &str)],
        extra: &[std::ffi::OsString],
    ) -> Self {
        let log = dir.join("serve.log");
        let control = dir.join("control.sock");
        let ready = dir.join("serve.ready");
        let mut command = mynasim();
        command
            .args(["serve", "--vpcd", &format!("127.0.0.1:{port}")])
            .arg("--control")
            .arg(&control)
            .arg("--ready-file")
            .arg(&ready)
            .env("MYNASIM_LOG", "mynasim_harness=debug");
        for (slot, profile) in slots {
            command.arg("--slot").arg(format!("{slot}={profile}"));
        }
        command.args(extra);
        let process = Process::spawn("mynasim serve", &mut command, &log);
        Self {
            process,
            log,
            control,
            ready,
        }
    }

    /// Waits until every card is in its reader (serve's ready file); on time-out the
    /// failure shows serve's log and `pcscd`'s.
    pub(crate) fn wait_ready(&self, pcscd: &PrivatePcscd) {
        wait_until(
            Duration::from_secs(20),
            "mynasim serve's ready file",
            || self.ready.exists().then_some(()),
            || format!("{}\n{}", tail(&self.log, 40), tail(pcscd.log(), 40)),
        );
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
    pub(crate) pcscd: PrivatePcscd,
    _ports: Ports,
    pub(crate) dir: TempDir,
}

impl Live {
    /// Starts everything and waits until mynasim says every card is in its reader (its
    /// ready file) and OpenSC sees each card.
    pub(crate) fn start(name: &str, slots: &[(u16, &str)]) -> Self {
        Self::start_with(name, slots, false, &[])
    }

    /// [`Live::start`], pcscd logging APDUs (`--debug --apdu`, in [`PrivatePcscd::log`])
    /// when `apdu_log`, and `mynasim serve` given `serve_args` too.
    pub(crate) fn start_with(
        name: &str,
        slots: &[(u16, &str)],
        apdu_log: bool,
        serve_args: &[std::ffi::OsString],
    ) -> Self {
        Self::start_on(name, slots, apdu_log, serve_args, None)
    }

    /// [`Live::start_with`] with pcscd loading `driver` (default: [`Driver::from_env`]'s).
    pub(crate) fn start_on(
        name: &str,
        slots: &[(u16, &str)],
        apdu_log: bool,
        serve_args: &[std::ffi::OsString],
        driver: Option<&Driver>,
    ) -> Self {
        require_tools();
        let dir = TempDir::new(name);
        write_opensc_conf(dir.path());
        let ports = ports();
        let pcscd = if let Some(driver) = driver {
            assert!(
                !apdu_log,
                "an APDU log with a chosen driver is not needed yet"
            );
            let mut pcscd = PrivatePcscd::start_with(dir.path(), ports.base, true, driver)
                .unwrap_or_else(|e| panic!("cannot start pcscd: {e}. Fix: {INSTALL_HINT}"));
            pcscd
                .wait_ready(Duration::from_secs(10))
                .unwrap_or_else(|e| panic!("{e}"));
            pcscd
        } else if apdu_log {
            let mut pcscd = PrivatePcscd::start_logging_apdus(dir.path(), ports.base)
                .unwrap_or_else(|e| panic!("cannot start pcscd: {e}. Fix: {INSTALL_HINT}"));
            pcscd
                .wait_ready(Duration::from_secs(10))
                .unwrap_or_else(|e| panic!("{e}"));
            pcscd
        } else {
            pcscd(dir.path(), ports.base)
        };
        let serve = Serve::start_with(dir.path(), ports.base, slots, serve_args);
        let live = Self {
            serve,
            pcscd,
            _ports: ports,
            dir,
        };
        wait_until(
            Duration::from_secs(20),
            "mynasim serve's ready file",
            || live.serve.ready.exists().then_some(()),
            || live.diagnostics(),
        );
        for (slot, _) in slots {
            live.wait_for_card(*slot, true);
        }
        live
    }

    /// A client command inside pcscd's namespace, with the test's OpenSC configuration and
    /// home folder.
    pub(crate) fn command(&self, program: &str) -> Command {
        let mut command = self.pcscd.command(program);
        command
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
