//! A private pcscd for the benchmarks — the harness's own ([`PrivatePcscd`]), so a benchmark
//! never touches the system's pcscd; its socket is reachable from outside its namespace
//! through `PCSCLITE_CSOCK_NAME` — and Debian's vicc to compare with.

use std::io;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use mynasim_harness::host::pcscd::{Ports, PrivatePcscd};

/// Where Debian's python3-virtualsmartcard puts the `virtualsmartcard` package (outside
/// Python's path: it needs `PYTHONPATH`).
pub const VICC_PYTHONPATH: &str = "/usr/lib/python3/site-packages/virtualsmartcard";

/// Where Debian's python3-pycryptodome puts `Cryptodome` (vicc imports it as `Crypto`).
pub const CRYPTODOME: &str = "/usr/lib/python3/dist-packages/Cryptodome";

/// The harness's private pcscd (one vpcd entry, two slots, on ports of its own) for the
/// `pcscd` benchmark, its ports, and the folder holding its configuration (removed when
/// dropped).
///
/// # Errors
/// No free ports, or pcscd did not start (needs root, unshare, pcscd and vsmartcard-vpcd:
/// run ci/setup).
pub fn private_pcscd() -> io::Result<(PrivatePcscd, Ports, TempFolder)> {
    let ports = Ports::reserve(2)?;
    let dir = TempFolder(
        std::env::temp_dir().join(format!("mynasim-bench-pcscd-{}", std::process::id())),
    );
    let mut pcscd = PrivatePcscd::start(&dir.0, ports.base, false)?;
    pcscd.wait_ready(Duration::from_secs(10))?;
    Ok((pcscd, ports, dir))
}

/// A folder removed when dropped.
#[derive(Debug)]
pub struct TempFolder(pub PathBuf);

impl Drop for TempFolder {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
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
