//! A private pcscd: its own reader configuration with a vpcd entry on ports of its own, in
//! its own mount namespace, so it never meets the system's pcscd or another test's.
//!
//! pcscd 1.9 has no option for its socket path (`/run/pcscd/pcscd.comm`), so it runs under
//! `unshare --mount` with a tmpfs on /run/pcscd. Clients reach it either inside the
//! namespace (`nsenter --mount`, [`PrivatePcscd::command`]) or from outside through
//! `PCSCLITE_CSOCK_NAME` set to [`PrivatePcscd::socket`] (`/proc/PID/root/run/pcscd/…`).
//! Needs `unshare`/`nsenter` (util-linux), pcscd and vsmartcard-vpcd (`ci/setup`), and either
//! root or unprivileged user namespaces ([`Isolation`]); where both are refused (a container
//! without `CAP_SYS_ADMIN`) it runs pcscd on the machine's socket path, one at a time.
//! The end-to-end tests and the benchmarks use it; it is stopped when dropped.
//!
//! It loads one of two reader drivers ([`Driver`]): Debian's vsmartcard-vpcd (two slots,
//! card presence polled every 400 ms) or mynasim-ifd, the workspace's own (`ifd/`: up to 16
//! slots, card events). Both speak the vpcd protocol, so the cards are the same.
//! `MYNASIM_PCSCD_DRIVER=vpcd|mynasim` picks it; unset, mynasim-ifd where its library is
//! found ([`Driver::from_env`]).

use std::fs::File;
use std::io;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Where Debian's vsmartcard-vpcd puts the driver.
pub const VPCD_DRIVER: &str = "/usr/lib/pcsc/drivers/serial/libifdvpcd.so";

/// The environment variable naming the driver of a private pcscd: `vpcd` (Debian's, the
/// default) or `mynasim` (mynasim-ifd).
pub const DRIVER_ENV: &str = "MYNASIM_PCSCD_DRIVER";

/// The environment variable giving mynasim-ifd's library (`libmynasim_ifd.so`) when it is
/// not next to the running binary.
pub const IFD_LIBRARY_ENV: &str = "MYNASIM_IFD_LIBRARY";

/// The file name of mynasim-ifd's library.
pub const IFD_LIBRARY: &str = "libmynasim_ifd.so";

/// The reader driver a private pcscd loads. Both speak the vpcd protocol on
/// `127.0.0.1:PORT + slot`, so the same cards (`mynasim serve`, vicc) work with either.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Driver {
    /// Debian's vsmartcard-vpcd ([`VPCD_DRIVER`]): slots 0 and 1; pcscd polls presence every
    /// 400 ms.
    Vpcd,
    /// mynasim-ifd (`ifd/`, `docs/readers.md`): `slots` slots (1–16); pcscd is told of a
    /// card the moment it connects or leaves.
    Mynasim {
        /// The driver library.
        library: PathBuf,
        /// How many slots ("Virtual PCD 00 00" to "00 0F").
        slots: u16,
    },
}

impl Driver {
    /// mynasim-ifd with `slots` slots, its library found by [`Driver::ifd_library`].
    ///
    /// # Errors
    /// The library is nowhere to be found.
    pub fn mynasim(slots: u16) -> io::Result<Self> {
        let library = Self::ifd_library().ok_or_else(|| {
            io::Error::other(format!(
                "mynasim-ifd's {IFD_LIBRARY} is neither in {IFD_LIBRARY_ENV} nor next to this \
                 program: build it with `cargo build -p mynasim-ifd` (or the workspace)"
            ))
        })?;
        Ok(Self::Mynasim {
            library,
            slots: slots.clamp(1, 16),
        })
    }

    /// Where mynasim-ifd's library is: `MYNASIM_IFD_LIBRARY`, else the newest of those next
    /// to the running binary, in a `deps` folder beside it, or one folder up — so
    /// `target/debug/mynasim` and a test binary in `target/debug/deps` both find the one
    /// cargo built last.
    pub fn ifd_library() -> Option<PathBuf> {
        if let Some(path) = std::env::var_os(IFD_LIBRARY_ENV) {
            let path = PathBuf::from(path);
            return path.is_file().then_some(path);
        }
        let exe = std::env::current_exe().ok()?;
        let dir = exe.parent()?;
        [dir.to_path_buf(), dir.join("deps")]
            .into_iter()
            .chain(dir.parent().map(Path::to_path_buf))
            .map(|dir| dir.join(IFD_LIBRARY))
            .filter_map(|p| {
                let modified = p.metadata().ok()?.modified().ok()?;
                p.is_file().then_some((modified, p))
            })
            .max_by_key(|(modified, _)| *modified)
            .map(|(_, p)| p)
    }

    /// The driver `MYNASIM_PCSCD_DRIVER` names: `mynasim` mynasim-ifd with two slots
    /// (vpcd's layout), `vpcd` Debian's. Unset: mynasim-ifd when its library is found
    /// ([`Driver::ifd_library`]: built with the workspace, next to this program), else
    /// Debian's — so `cargo install`ed binaries without the library keep working.
    ///
    /// # Errors
    /// Another value, or `mynasim` without its library.
    pub fn from_env() -> io::Result<Self> {
        match std::env::var_os(DRIVER_ENV) {
            None => Self::from_env_default(),
            Some(v) => match v.to_str() {
                Some("") => Self::from_env_default(),
                Some("vpcd") => Ok(Self::Vpcd),
                Some("mynasim") => Self::mynasim(2),
                _ => Err(io::Error::other(format!(
                    "{DRIVER_ENV}={}: vpcd or mynasim",
                    v.to_string_lossy()
                ))),
            },
        }
    }

    fn from_env_default() -> io::Result<Self> {
        Ok(Self::ifd_library().map_or(Self::Vpcd, |library| Self::Mynasim { library, slots: 2 }))
    }

    /// The driver's library.
    pub fn library(&self) -> &Path {
        match self {
            Self::Vpcd => Path::new(VPCD_DRIVER),
            Self::Mynasim { library, .. } => library,
        }
    }

    /// How many slots its reader has.
    pub fn slots(&self) -> u16 {
        match self {
            Self::Vpcd => 2,
            Self::Mynasim { slots, .. } => *slots,
        }
    }

    /// Its reader.conf entry with slot 0 on `port`.
    pub fn reader_conf(&self, port: u16) -> String {
        match self {
            Self::Vpcd => format!(
                "# mynasim: a private vpcd reader\n\
                 FRIENDLYNAME \"Virtual PCD\"\n\
                 DEVICENAME   /dev/null:0x{port:04X}\n\
                 LIBPATH      {VPCD_DRIVER}\n\
                 CHANNELID    0x{port:04X}\n"
            ),
            Self::Mynasim { library, slots } => format!(
                "# mynasim: a private mynasim-ifd reader (docs/readers.md)\n\
                 FRIENDLYNAME \"Virtual PCD\"\n\
                 DEVICENAME   /dev/null:0x{port:04X}:{slots}\n\
                 LIBPATH      {}\n",
                library.display()
            ),
        }
    }
}

/// What to install when something is missing.
pub const INSTALL_HINT: &str = "run `ci/setup` as root (it installs the Debian packages pcscd \
    vsmartcard-vpcd opensc pcsc-tools libpcsclite-dev pkg-config openssl); a private pcscd \
    needs them and root (unshare --mount)";

/// What a private pcscd needs and this machine lacks, in words (`None`: nothing).
pub fn missing() -> Option<String> {
    let mut lacks = Vec::new();
    let on_path = |name: &str| {
        std::env::var_os("PATH")
            .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
            .unwrap_or_default()
            .into_iter()
            .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/sbin")])
            .any(|dir| dir.join(name).is_file())
    };
    for program in ["pcscd", "unshare", "mount"] {
        if !on_path(program) {
            lacks.push(format!("`{program}`"));
        }
    }
    match Driver::from_env() {
        Ok(driver) if !driver.library().is_file() => lacks.push(format!(
            "the reader driver ({})",
            driver.library().display()
        )),
        Ok(_) => {}
        Err(e) => lacks.push(e.to_string()),
    }
    if !rustix::process::geteuid().is_root() && Isolation::detect().ok() == Some(Isolation::None) {
        lacks.push(
            "root or unprivileged user namespaces (for a mount namespace of its own)".to_owned(),
        );
    }
    (!lacks.is_empty()).then(|| format!("a private pcscd needs {}", lacks.join(", ")))
}

/// Consecutive TCP ports held for one user across processes: a lock file per port, held
/// until dropped, and every port checked free. Ports come from 20000–31999, below Linux's
/// ephemeral range, so no outgoing connection takes them meanwhile.
#[derive(Debug)]
pub struct Ports {
    /// The first port.
    pub base: u16,
    _locks: Vec<File>,
}

impl Ports {
    /// Reserves `count` consecutive ports (1–16).
    ///
    /// # Errors
    /// None free after many tries.
    pub fn reserve(count: u16) -> io::Result<Self> {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let count = count.clamp(1, 16);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        // Lock files are never deleted: unlinking a lock file races with its next user.
        // One folder per user: another user's lock files are not ours to open (their
        // ports are still checked free by binding them below).
        let folder = std::env::temp_dir().join(format!(
            "mynasim-vpcd-ports-{}",
            rustix::process::geteuid().as_raw()
        ));
        std::fs::create_dir_all(&folder)?;
        for attempt in 0..500u32 {
            let n = COUNTER.fetch_add(1, Ordering::SeqCst);
            let mix = std::process::id()
                .wrapping_mul(7919)
                .wrapping_add(n.wrapping_mul(104_729))
                .wrapping_add(nanos)
                .wrapping_add(attempt);
            let slots = 12_000 / u32::from(count);
            let base = 20_000 + u16::try_from(mix % slots).unwrap_or(0) * count;
            let mut locks = Vec::new();
            for port in base..base + count {
                let Ok(file) = File::options()
                    .create(true)
                    .truncate(false)
                    .write(true)
                    .open(folder.join(format!("{port}.lock")))
                else {
                    break;
                };
                if file.try_lock().is_err() {
                    break;
                }
                locks.push(file);
            }
            let free = locks.len() == usize::from(count)
                && (base..base + count).all(|p| TcpListener::bind(("0.0.0.0", p)).is_ok());
            if free {
                return Ok(Self {
                    base,
                    _locks: locks,
                });
            }
        }
        Err(io::Error::other(
            "no free consecutive TCP ports for a private vpcd in 20000–31999",
        ))
    }
}

/// A pcscd in its own mount namespace with one vpcd reader entry ("Virtual PCD 00 00" and
/// "00 01" on `port` and `port + 1`).
#[derive(Debug)]
pub struct PrivatePcscd {
    child: Child,
    log: PathBuf,
    isolation: Isolation,
}

/// pcscd's socket when it runs without a namespace.
const HOST_SOCKET: &str = "/run/pcscd/pcscd.comm";

/// How a private pcscd is kept apart from the machine's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Isolation {
    /// A mount namespace with a tmpfs on /run/pcscd (root).
    Mount,
    /// A user namespace mapping the user to root, and a mount namespace in it (no root
    /// needed where unprivileged user namespaces are allowed).
    User,
    /// None: pcscd on the machine's own socket path — only where namespaces are refused (a
    /// container without `CAP_SYS_ADMIN`), only while no other pcscd runs there, and
    /// needing write access to /run/pcscd.
    None,
}

impl Isolation {
    /// What this machine allows, tried in order (once per process):
    /// `MYNASIM_PCSCD_ISOLATION=mount|user|none` forces one.
    ///
    /// # Errors
    /// A forced value that is not one of the three.
    pub fn detect() -> io::Result<Self> {
        if let Some(forced) = std::env::var_os("MYNASIM_PCSCD_ISOLATION") {
            return match forced.to_str() {
                Some("mount") => Ok(Self::Mount),
                Some("user") => Ok(Self::User),
                Some("none") => Ok(Self::None),
                _ => Err(io::Error::other(format!(
                    "MYNASIM_PCSCD_ISOLATION={}: mount, user or none",
                    forced.to_string_lossy()
                ))),
            };
        }
        static FOUND: std::sync::OnceLock<Isolation> = std::sync::OnceLock::new();
        Ok(*FOUND.get_or_init(|| {
            let works = |args: &[&str]| {
                Command::new("unshare")
                    .args(args)
                    .args(["--", "true"])
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status()
                    .is_ok_and(|s| s.success())
            };
            if rustix::process::geteuid().is_root() && works(&["--mount"]) {
                Self::Mount
            } else if works(&["--user", "--map-root-user", "--mount"]) {
                Self::User
            } else {
                Self::None
            }
        }))
    }
}

impl PrivatePcscd {
    /// Starts pcscd with its configuration in `dir` (`reader.conf.d/vpcd`) and its output in
    /// `dir/pcscd.log` (`--debug` when `debug`), isolated as this machine allows
    /// ([`Isolation::detect`]), with the driver `MYNASIM_PCSCD_DRIVER` names
    /// ([`Driver::from_env`]).
    ///
    /// # Errors
    /// `dir` cannot be written, `unshare` or pcscd cannot be started, or no isolation works
    /// here and another pcscd holds the default socket.
    pub fn start(dir: &Path, port: u16, debug: bool) -> io::Result<Self> {
        Self::start_with(dir, port, debug, &Driver::from_env()?)
    }

    /// [`PrivatePcscd::start`] with a chosen driver.
    ///
    /// # Errors
    /// As [`PrivatePcscd::start`].
    pub fn start_with(dir: &Path, port: u16, debug: bool, driver: &Driver) -> io::Result<Self> {
        let flags: &[&str] = if debug { &["--debug"] } else { &[] };
        Self::start_isolated(dir, port, flags, driver, Isolation::detect()?)
    }

    /// [`PrivatePcscd::start`] with `--debug --apdu`: pcscd's log (`dir/pcscd.log`) also
    /// holds every APDU and response, the `pcscd` format of `mynasim import`.
    ///
    /// # Errors
    /// As [`PrivatePcscd::start`].
    pub fn start_logging_apdus(dir: &Path, port: u16) -> io::Result<Self> {
        Self::start_isolated(
            dir,
            port,
            &["--debug", "--apdu"],
            &Driver::from_env()?,
            Isolation::detect()?,
        )
    }

    /// [`PrivatePcscd::start`] with a chosen driver, isolation and log flags.
    fn start_isolated(
        dir: &Path,
        port: u16,
        flags: &[&str],
        driver: &Driver,
        isolation: Isolation,
    ) -> io::Result<Self> {
        let conf = dir.join("reader.conf.d");
        std::fs::create_dir_all(&conf)?;
        std::fs::write(conf.join("vpcd"), driver.reader_conf(port))?;
        let log = dir.join("pcscd.log");
        let out = File::create(&log)?;
        let debug: String = flags.iter().map(|f| format!("{f} ")).collect();
        let mut command = match isolation {
            Isolation::None => {
                if Path::new(HOST_SOCKET).exists()
                    && std::os::unix::net::UnixStream::connect(HOST_SOCKET).is_ok()
                {
                    return Err(io::Error::other(format!(
                        "no mount namespace here (unshare is refused), and a pcscd already \
                         listens on {HOST_SOCKET}: use `--pcscd system` to put the card in \
                         its vpcd reader, or run one exec at a time"
                    )));
                }
                std::fs::create_dir_all("/run/pcscd")?;
                let mut c = Command::new("pcscd");
                c.arg("--foreground").args(flags);
                c.arg("--config").arg(&conf);
                c
            }
            Isolation::Mount | Isolation::User => {
                // A tmpfs over /run/pcscd gives pcscd a socket of its own. A user namespace
                // may not be able to create the mount point on the host: then it covers
                // /run instead and makes the folder there.
                let script = format!(
                    "if [ -d /run/pcscd ]; then \
                       mount -t tmpfs -o size=1m,mode=0755 mynasim-pcscd /run/pcscd; \
                     else mount -t tmpfs -o size=1m,mode=0755 mynasim-run /run \
                       && mkdir /run/pcscd; fi \
                     && exec pcscd --foreground {debug}--config \"$0\""
                );
                if isolation == Isolation::Mount {
                    // The mount point exists on the host for the namespace to mount over it.
                    std::fs::create_dir_all("/run/pcscd")?;
                }
                let mut c = Command::new("unshare");
                if isolation == Isolation::User {
                    c.args(["--user", "--map-root-user"]);
                }
                c.args(["--mount", "--propagation", "private", "--", "sh", "-c"])
                    .arg(script)
                    .arg(&conf);
                c
            }
        };
        let child = command
            .stdin(Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out)
            .spawn()?;
        Ok(Self {
            child,
            log,
            isolation,
        })
    }

    /// pcscd's process id (after `exec`, the child itself).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Its log.
    pub fn log(&self) -> &Path {
        &self.log
    }

    /// Its socket, as seen from outside the namespace (for `PCSCLITE_CSOCK_NAME`).
    pub fn socket(&self) -> PathBuf {
        match self.isolation {
            Isolation::None => PathBuf::from(HOST_SOCKET),
            Isolation::Mount | Isolation::User => {
                PathBuf::from(format!("/proc/{}/root/run/pcscd/pcscd.comm", self.pid()))
            }
        }
    }

    /// Waits until its socket exists.
    ///
    /// # Errors
    /// pcscd exited, or was not ready within `timeout`; the message ends with its log.
    pub fn wait_ready(&mut self, timeout: Duration) -> io::Result<()> {
        let start = Instant::now();
        while !self.socket().exists() {
            let exited = self.child.try_wait()?;
            if exited.is_some() || start.elapsed() > timeout {
                let log = std::fs::read_to_string(&self.log).unwrap_or_default();
                return Err(io::Error::other(format!(
                    "the private pcscd did not start ({INSTALL_HINT}):\n{log}"
                )));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        Ok(())
    }

    /// A command that runs inside pcscd's namespace (so it sees only this pcscd).
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        match self.isolation {
            Isolation::None => Command::new(program),
            Isolation::Mount | Isolation::User => {
                let mut command = Command::new("nsenter");
                command.args(["--target", &self.pid().to_string()]);
                if self.isolation == Isolation::User {
                    command.args(["--user", "--preserve-credentials"]);
                }
                command.args(["--mount", "--"]).arg(program);
                command
            }
        }
    }

    /// Stops pcscd (SIGTERM) and waits for it, killing it after `timeout`.
    ///
    /// # Errors
    /// It could not be signalled or waited for.
    pub fn stop(&mut self, timeout: Duration) -> io::Result<ExitStatus> {
        if let Some(status) = self.child.try_wait()? {
            return Ok(status);
        }
        if let Some(pid) = i32::try_from(self.pid())
            .ok()
            .and_then(rustix::process::Pid::from_raw)
        {
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
        }
        let start = Instant::now();
        while start.elapsed() < timeout {
            if let Some(status) = self.child.try_wait()? {
                return Ok(status);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        self.child.kill()?;
        self.child.wait()
    }
}

impl Drop for PrivatePcscd {
    fn drop(&mut self) {
        let _ = self.stop(Duration::from_secs(5));
    }
}
