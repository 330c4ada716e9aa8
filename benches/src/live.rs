//! A private pcscd for the benchmarks, and Debian's vicc: the same isolation as the
//! end-to-end tests (`unshare --mount`, a tmpfs on /run/pcscd, a reader.conf with ports of
//! its own), so a benchmark never touches the system's pcscd. The daemon's socket is
//! reachable from outside its namespace as `/proc/PID/root/run/pcscd/pcscd.comm`, which
//! libpcsclite's clients take from `PCSCLITE_CSOCK_NAME`.

use std::io;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Where Debian's vsmartcard-vpcd puts the driver.
pub const VPCD_DRIVER: &str = "/usr/lib/pcsc/drivers/serial/libifdvpcd.so";

/// Where Debian's python3-virtualsmartcard puts the `virtualsmartcard` package (outside
/// Python's path: it needs `PYTHONPATH`).
pub const VICC_PYTHONPATH: &str = "/usr/lib/python3/site-packages/virtualsmartcard";

/// Where Debian's python3-pycryptodome puts `Cryptodome` (vicc imports it as `Crypto`).
pub const CRYPTODOME: &str = "/usr/lib/python3/dist-packages/Cryptodome";

/// A pcscd in its own mount namespace, stopped when dropped.
#[derive(Debug)]
pub struct PrivatePcscd {
    child: Child,
    dir: PathBuf,
    /// Slot 0 of the first reader entry; entry `e` slot `s` is `base + 2e + s`.
    pub base_port: u16,
}

impl PrivatePcscd {
    /// Starts pcscd with `entries` vpcd reader entries ("Virtual PCD 0e 0s"), two slots
    /// each, on free ports; waits until its socket exists. The vpcd driver keeps its
    /// connections in one static array indexed by slot (`ifd-vpcd.c` `ctx[slot]`), so entries
    /// after the first clobber it: use one.
    ///
    /// # Errors
    /// No free ports, pcscd or unshare missing, not root, or pcscd not ready in 10 s.
    pub fn start(entries: u16) -> io::Result<Self> {
        let base_port = free_ports(entries * 2)?;
        let dir = std::env::temp_dir().join(format!("mynasim-bench-pcscd-{}", std::process::id()));
        let conf = dir.join("reader.conf.d");
        std::fs::create_dir_all(&conf)?;
        for entry in 0..entries {
            let port = base_port + 2 * entry;
            std::fs::write(
                conf.join(format!("vpcd{entry}")),
                format!(
                    "FRIENDLYNAME \"Virtual PCD\"\nDEVICENAME   /dev/null:0x{port:04X}\n\
                     LIBPATH      {VPCD_DRIVER}\nCHANNELID    0x{port:04X}\n"
                ),
            )?;
        }
        std::fs::create_dir_all("/run/pcscd")?;
        let log = std::fs::File::create(dir.join("pcscd.log"))?;
        let child = Command::new("unshare")
            .args(["--mount", "--propagation", "private", "--", "sh", "-c"])
            .arg(
                "mount -t tmpfs -o size=1m,mode=0755 mynasim-pcscd /run/pcscd \
                 && exec pcscd --foreground --config \"$0\"",
            )
            .arg(&conf)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()?;
        let mut pcscd = Self {
            child,
            dir,
            base_port,
        };
        let start = Instant::now();
        while !pcscd.socket().exists() {
            if pcscd.child.try_wait()?.is_some() || start.elapsed() > Duration::from_secs(10) {
                let log = std::fs::read_to_string(pcscd.dir.join("pcscd.log")).unwrap_or_default();
                return Err(io::Error::other(format!(
                    "private pcscd did not start (needs root, unshare, pcscd and \
                     vsmartcard-vpcd: run ci/setup):\n{log}"
                )));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(pcscd)
    }

    /// The daemon's socket, as seen from outside its namespace.
    pub fn socket(&self) -> PathBuf {
        PathBuf::from(format!(
            "/proc/{}/root/run/pcscd/pcscd.comm",
            self.child.id()
        ))
    }
}

impl Drop for PrivatePcscd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// `count` consecutive free TCP ports in 20000–31999 (below Linux's ephemeral range).
///
/// # Errors
/// If none are found.
pub fn free_ports(count: u16) -> io::Result<u16> {
    let seed = std::process::id();
    for attempt in 0..2000u32 {
        let base =
            20_000 + ((seed.wrapping_mul(7919).wrapping_add(attempt * 104_729)) % 11_000) as u16;
        if (base..base + count).all(|p| TcpListener::bind(("0.0.0.0", p)).is_ok()) {
            return Ok(base);
        }
    }
    Err(io::Error::other("no free TCP ports for a private vpcd"))
}

/// Debian's vicc (`vicc -t iso7816`, the stock Python card) connected to `port`, stopped when
/// dropped.
#[derive(Debug)]
pub struct Vicc {
    child: Child,
    shim: PathBuf,
}

impl Vicc {
    /// Starts vicc, or says what to install.
    ///
    /// # Errors
    /// python3-virtualsmartcard or python3-pycryptodome missing (`ci/setup --bench`).
    pub fn start(port: u16) -> io::Result<Self> {
        if !Path::new(VICC_PYTHONPATH).is_dir() || !Path::new(CRYPTODOME).is_dir() {
            return Err(io::Error::other(
                "vicc needs the Debian packages python3-virtualsmartcard and \
                 python3-pycryptodome: run `ci/setup --bench`",
            ));
        }
        // vicc imports pycryptodome as `Crypto`; Debian ships it as `Cryptodome`.
        let shim = std::env::temp_dir().join(format!("mynasim-vicc-shim-{}", std::process::id()));
        std::fs::create_dir_all(&shim)?;
        let link = shim.join("Crypto");
        if !link.exists() {
            std::os::unix::fs::symlink(CRYPTODOME, &link)?;
        }
        // What the `vicc` script (vsmartcard `vicc.in`) does for `-t iso7816 --hostname
        // 127.0.0.1 --port PORT`; Debian's package ships the library without the script.
        let script = format!(
            "import logging\n\
             from virtualsmartcard.VirtualSmartcard import VirtualICC\n\
             VirtualICC(None, 'iso7816', '127.0.0.1', {port}, logginglevel=logging.CRITICAL).run()\n"
        );
        let child = Command::new("/usr/bin/python3")
            .args(["-c", &script])
            .env(
                "PYTHONPATH",
                format!("{VICC_PYTHONPATH}:{}", shim.display()),
            )
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        Ok(Self { child, shim })
    }
}

impl Drop for Vicc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.shim);
    }
}
