//! `mynasim serve`: simulated cards in pcscd's virtual reader (vsmartcard vpcd), one card per
//! slot, until Ctrl-C or SIGTERM.
//!
//! Each slot is a task that connects its card to `HOST:PORT+N` (the card is the TCP client
//! of pcscd's vpcd driver), answers frames through [`transport::serve_connection`], and
//! reconnects with back-off when pcscd is not there yet or restarts. A card is "removed" by
//! closing its socket (the driver sees the card gone on its next presence poll) and
//! "inserted" by connecting again; removal also powers it off, so the session's verified
//! PINs are gone while files and retry counters stay, as on a real card.
//!
//! Control: `--control PATH` listens on a Unix socket for one-line commands (`status`,
//! `remove [N|all]`, `insert [N|all]`; `mynasim control PATH …` sends them), and SIGUSR1 /
//! SIGUSR2 remove / insert every card.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::{SocketAddr, ToSocketAddrs as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, anyhow};
use mynasim_simulator::transport::{self, Control, Ended, LinkEvent};
use mynasim_simulator::{Card, hex, transcript};
use serde::Deserialize;
use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::card_cmd;
use crate::cli::{ControlArgs, ServeArgs};
use crate::exit::Failure;
use crate::profiles::ProfileSource;

/// The highest slot number: pcscd handles at most 16 readers.
pub const MAX_SLOT: u16 = 15;

/// The configuration file's format version.
pub const CONFIG_VERSION: u32 = 1;

/// `--config FILE`: several cards in one process.
///
/// ```yaml
/// version: 1
/// vpcd: 127.0.0.1:35963          # optional; --vpcd wins
/// control: /tmp/mynasim.sock     # optional; --control wins
/// slots:
///   - { slot: 0, profile: default }
///   - { slot: 1, profile: cards/minor.yaml }   # relative to this file
/// ```
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServeConfig {
    /// Format version (1).
    pub version: u32,
    /// vpcd address of slot 0.
    #[serde(default)]
    pub vpcd: Option<String>,
    /// Control socket path.
    #[serde(default)]
    pub control: Option<PathBuf>,
    /// The cards.
    pub slots: Vec<SlotConfig>,
}

/// One card of a [`ServeConfig`].
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlotConfig {
    /// Slot number (0–15); the card connects to the vpcd port plus this.
    pub slot: u16,
    /// Profile: a YAML file (relative to the configuration file) or a name.
    pub profile: String,
}

/// What to serve, resolved from the command line and the configuration file.
#[derive(Debug)]
pub struct Plan {
    /// vpcd address of slot 0.
    pub vpcd: SocketAddr,
    /// Control socket.
    pub control: Option<PathBuf>,
    /// Slot number → profile source.
    pub slots: BTreeMap<u16, ProfileSource>,
}

/// Parses `N=FILE|NAME` of `--slot`.
///
/// # Errors
/// A message for clap when the value has no `=` or a bad slot number.
pub fn parse_slot(arg: &str) -> Result<(u16, String), String> {
    let (number, profile) = arg
        .split_once('=')
        .ok_or_else(|| format!("expected N=FILE|NAME, got `{arg}`"))?;
    let number: u16 = number
        .trim()
        .parse()
        .map_err(|_| format!("slot `{number}` is not a number"))?;
    if number > MAX_SLOT {
        return Err(format!("slot {number} is out of range (0–{MAX_SLOT})"));
    }
    if profile.is_empty() {
        return Err(format!("slot {number} has no profile"));
    }
    Ok((number, profile.to_owned()))
}

/// Resolves `HOST:PORT` (the first IPv4 address, else the first address).
///
/// # Errors
/// If it does not parse or resolve.
pub fn parse_vpcd(text: &str) -> anyhow::Result<SocketAddr> {
    let addrs: Vec<SocketAddr> = text
        .to_socket_addrs()
        .with_context(|| format!("--vpcd `{text}`: expected HOST:PORT"))?
        .collect();
    addrs
        .iter()
        .find(|a| a.is_ipv4())
        .or_else(|| addrs.first())
        .copied()
        .ok_or_else(|| anyhow!("--vpcd `{text}` resolves to no address"))
}

/// Reads a configuration file.
///
/// # Errors
/// Unreadable file, YAML or schema mistakes (with line and column), bad values.
pub fn load_config(path: &Path) -> Result<ServeConfig, Failure> {
    let origin = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|e| Failure::invalid(anyhow!("cannot read {origin}: {e}")))?;
    let config: ServeConfig =
        mynasim_simulator::profile::from_yaml_str(&text, &origin).map_err(Failure::invalid)?;
    if config.version != CONFIG_VERSION {
        return Err(Failure::invalid(anyhow!(
            "{origin}: version: unsupported serve configuration version {} (this mynasim reads \
             version {CONFIG_VERSION})",
            config.version
        )));
    }
    Ok(config)
}

/// A profile named in a configuration file: paths are relative to the file's folder.
fn config_profile(config_path: &Path, profile: &str) -> ProfileSource {
    match ProfileSource::resolve(profile) {
        ProfileSource::File(path) if path.is_relative() => ProfileSource::File(
            config_path
                .parent()
                .unwrap_or_else(|| Path::new("."))
                .join(path),
        ),
        other => other,
    }
}

impl Plan {
    /// Combines the command line and the configuration file.
    ///
    /// # Errors
    /// Invalid arguments or configuration (exit 2).
    pub fn from_args(args: &ServeArgs) -> Result<Self, Failure> {
        let config = args.config.as_deref().map(load_config).transpose()?;
        let mut wanted: Vec<(u16, ProfileSource)> = Vec::new();
        if let (Some(config), Some(path)) = (&config, &args.config) {
            if config.slots.is_empty() {
                return Err(Failure::invalid(anyhow!(
                    "{}: slots: no card to serve",
                    path.display()
                )));
            }
            for slot in &config.slots {
                wanted.push((slot.slot, config_profile(path, &slot.profile)));
            }
        }
        for (number, profile) in &args.slots {
            wanted.push((*number, ProfileSource::resolve(profile)));
        }
        if wanted.is_empty() {
            let profile = args.profile.as_deref().unwrap_or("default");
            wanted.push((0, ProfileSource::resolve(profile)));
        }
        let mut slots = BTreeMap::new();
        for (number, source) in wanted {
            if number > MAX_SLOT {
                return Err(Failure::invalid(anyhow!(
                    "slot {number} is out of range (0–{MAX_SLOT})"
                )));
            }
            if slots.insert(number, source).is_some() {
                return Err(Failure::invalid(anyhow!("slot {number} is given twice")));
            }
        }
        let vpcd = match args
            .vpcd
            .as_deref()
            .or(config.as_ref().and_then(|c| c.vpcd.as_deref()))
        {
            Some(text) => parse_vpcd(text).map_err(Failure::invalid)?,
            None => transport::DEFAULT_ADDR,
        };
        let control = args.control.clone().or(config.and_then(|c| c.control));
        if let Some(last) = slots.keys().next_back()
            && transport::slot_addr(vpcd, *last).is_none()
        {
            return Err(Failure::invalid(anyhow!(
                "slot {last} would need port {} + {last}, past 65535",
                vpcd.port()
            )));
        }
        Ok(Self {
            vpcd,
            control,
            slots,
        })
    }
}

/// One slot's shared state: what the control socket changes and reports.
#[derive(Debug)]
struct SlotState {
    number: u16,
    addr: SocketAddr,
    origin: String,
    inserted: watch::Sender<bool>,
    connected: AtomicBool,
    ever_connected: AtomicBool,
}

/// `mynasim serve`.
pub fn serve(args: &ServeArgs) -> Result<(), Failure> {
    let plan = Plan::from_args(args)?;
    let mut cards = Vec::new();
    for (&number, source) in &plan.slots {
        let (source, issued) = card_cmd::issue_from(source.clone())?;
        let addr = transport::slot_addr(plan.vpcd, number)
            .ok_or_else(|| Failure::invalid(anyhow!("slot {number}: port out of range")))?;
        tracing::info!(
            "slot {number}: {} (ATR {}) → vpcd {addr}",
            source.origin(),
            hex::spaced(issued.card.atr())
        );
        let (inserted, _) = watch::channel(true);
        let state = Arc::new(SlotState {
            number,
            addr,
            origin: source.origin(),
            inserted,
            connected: AtomicBool::new(false),
            ever_connected: AtomicBool::new(false),
        });
        cards.push((state, issued.card));
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let wait = args.wait.map(Duration::from_secs_f64);
    runtime.block_on(run(cards, plan.control, wait))
}

/// Runs every slot until a stop signal (or `wait` expiring before every card connected).
async fn run(
    cards: Vec<(Arc<SlotState>, Card)>,
    control: Option<PathBuf>,
    wait: Option<Duration>,
) -> Result<(), Failure> {
    let (shutdown_tx, shutdown) = watch::channel(false);
    let states: Vec<Arc<SlotState>> = cards.iter().map(|(s, _)| s.clone()).collect();
    let listener = match &control {
        Some(path) => Some(bind_control(path).await?),
        None => None,
    };
    let mut tasks = JoinSet::new();
    for (state, card) in cards {
        tasks.spawn(run_slot(state, card, shutdown.clone()));
    }
    if let Some(listener) = listener {
        tasks.spawn(serve_control(listener, states.clone(), shutdown.clone()));
    }
    let outcome = wait_for_stop(&states, wait).await;
    let _ = shutdown_tx.send(true);
    while tasks.join_next().await.is_some() {}
    if let Some(path) = &control {
        let _ = std::fs::remove_file(path);
    }
    outcome
}

/// Waits for SIGINT/SIGTERM, handling SIGUSR1/SIGUSR2 meanwhile.
async fn wait_for_stop(states: &[Arc<SlotState>], wait: Option<Duration>) -> Result<(), Failure> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).context("cannot handle SIGTERM")?;
    let mut int = signal(SignalKind::interrupt()).context("cannot handle SIGINT")?;
    let mut usr1 = signal(SignalKind::user_defined1()).context("cannot handle SIGUSR1")?;
    let mut usr2 = signal(SignalKind::user_defined2()).context("cannot handle SIGUSR2")?;
    let mut deadline = wait.map(|w| tokio::time::Instant::now() + w);
    loop {
        let until = deadline;
        let timeout = async move {
            match until {
                Some(d) => tokio::time::sleep_until(d).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = term.recv() => {
                tracing::info!("SIGTERM: stopping");
                return Ok(());
            }
            _ = int.recv() => {
                tracing::info!("interrupted: stopping");
                return Ok(());
            }
            _ = usr1.recv() => {
                for state in states {
                    set_inserted(state, false);
                }
            }
            _ = usr2.recv() => {
                for state in states {
                    set_inserted(state, true);
                }
            }
            () = timeout => {
                let missing: Vec<String> = states
                    .iter()
                    .filter(|s| !s.ever_connected.load(Ordering::SeqCst))
                    .map(|s| format!("slot {} ({})", s.number, s.addr))
                    .collect();
                if !missing.is_empty() {
                    return Err(Failure::unreachable(anyhow!(
                        "no vpcd reader accepted {} within {:?}: is pcscd running with \
                         vsmartcard-vpcd (ci/setup installs it)?",
                        missing.join(", "),
                        wait.unwrap_or_default()
                    )));
                }
                // Every card reached its reader in time: no deadline from now on.
                deadline = None;
            }
        }
    }
}

fn set_inserted(state: &SlotState, inserted: bool) {
    let changed = state.inserted.send_if_modified(|v| {
        let changed = *v != inserted;
        *v = inserted;
        changed
    });
    if changed {
        tracing::info!(
            "slot {}: card {}",
            state.number,
            if inserted { "inserted" } else { "removed" }
        );
    }
}

/// Reconnection delays: 50 ms doubling to 2 s; back to 50 ms after a connection.
#[derive(Debug)]
struct Backoff {
    next: Duration,
}

impl Backoff {
    const FIRST: Duration = Duration::from_millis(50);
    const MAX: Duration = Duration::from_secs(2);

    fn new() -> Self {
        Self { next: Self::FIRST }
    }

    fn next(&mut self) -> Duration {
        let now = self.next;
        self.next = (self.next * 2).min(Self::MAX);
        now
    }

    fn reset(&mut self) {
        self.next = Self::FIRST;
    }
}

/// Completes when the slot's card is removed or the program stops.
async fn removed_or_stopping(state: &SlotState, shutdown: &watch::Receiver<bool>) {
    let mut inserted = state.inserted.subscribe();
    let mut shutdown = shutdown.clone();
    tokio::select! {
        _ = inserted.wait_for(|v| !*v) => {}
        _ = shutdown.wait_for(|v| *v) => {}
    }
}

/// One slot: connect, serve, reconnect, until the program stops.
async fn run_slot(state: Arc<SlotState>, mut card: Card, mut shutdown: watch::Receiver<bool>) {
    let n = state.number;
    let mut backoff = Backoff::new();
    let mut waiting_logged = false;
    loop {
        // Wait while removed.
        let mut inserted = state.inserted.subscribe();
        tokio::select! {
            _ = inserted.wait_for(|v| *v) => {}
            _ = shutdown.wait_for(|v| *v) => return,
        }
        let connected = tokio::select! {
            c = transport::connect(state.addr) => c,
            () = removed_or_stopping(&state, &shutdown) => continue,
        };
        let stream = match connected {
            Ok(stream) => stream,
            Err(e) => {
                if waiting_logged {
                    tracing::debug!("slot {n}: vpcd at {}: {e}", state.addr);
                } else {
                    tracing::info!(
                        "slot {n}: waiting for pcscd's vpcd reader at {} ({e}); retrying",
                        state.addr
                    );
                    waiting_logged = true;
                }
                tokio::select! {
                    () = tokio::time::sleep(backoff.next()) => {}
                    () = removed_or_stopping(&state, &shutdown) => {}
                }
                continue;
            }
        };
        backoff.reset();
        waiting_logged = false;
        state.connected.store(true, Ordering::SeqCst);
        state.ever_connected.store(true, Ordering::SeqCst);
        tracing::info!("slot {n}: connected to vpcd at {}", state.addr);
        let result = transport::serve_connection(
            stream,
            &mut card,
            |event| log_event(n, &event),
            removed_or_stopping(&state, &shutdown),
        )
        .await;
        state.connected.store(false, Ordering::SeqCst);
        // The card left the reader: it lost power.
        card.power_off();
        let stopped = matches!(result, Ok(Ended::Stopped));
        match result {
            Ok(Ended::Stopped) => {}
            Ok(Ended::ReaderClosed) => tracing::info!(
                "slot {n}: vpcd closed the connection (pcscd stopped or restarted); reconnecting"
            ),
            Err(e) => tracing::warn!("slot {n}: {e}; reconnecting"),
        }
        if *shutdown.borrow() {
            return;
        }
        if !stopped {
            // A stopping pcscd may still accept a connection for a moment: pause first.
            tokio::select! {
                () = tokio::time::sleep(backoff.next()) => {}
                () = removed_or_stopping(&state, &shutdown) => {}
            }
        }
    }
}

/// One log line per frame: APDUs at debug (PINs masked), power changes at debug, the
/// presence poll (get ATR, every ~400 ms) at trace.
fn log_event(slot: u16, event: &LinkEvent<'_>) {
    match event {
        LinkEvent::Apdu {
            command,
            response: [],
            elapsed,
        } => tracing::debug!(
            "slot {slot}: >> {} << (nothing: the card is unpowered) ({} µs)",
            transcript::format_command(command, true),
            elapsed.as_micros()
        ),
        LinkEvent::Apdu {
            command,
            response,
            elapsed,
        } => tracing::debug!(
            "slot {slot}: >> {} << {} ({} µs)",
            transcript::format_command(command, true),
            hex::spaced(response),
            elapsed.as_micros()
        ),
        LinkEvent::Control(Control::GetAtr) => tracing::trace!("slot {slot}: get ATR"),
        LinkEvent::Control(Control::PowerOn) => tracing::debug!("slot {slot}: power on"),
        LinkEvent::Control(Control::PowerOff) => tracing::debug!("slot {slot}: power off"),
        LinkEvent::Control(Control::Reset) => tracing::debug!("slot {slot}: reset"),
        LinkEvent::UnknownControl(byte) => {
            tracing::warn!("slot {slot}: ignored unknown control byte {byte:02X}");
        }
        LinkEvent::EmptyFrame => tracing::warn!("slot {slot}: ignored an empty frame"),
        LinkEvent::ResponseTooLong { command, len } => tracing::error!(
            "slot {slot}: >> {} << a {len}-byte response does not fit in a vpcd frame; sent 6F 00",
            transcript::format_command(command, true)
        ),
    }
}

/// Binds the control socket, replacing a stale one but never a live one.
async fn bind_control(path: &Path) -> Result<UnixListener, Failure> {
    if path.exists() {
        if UnixStream::connect(path).await.is_ok() {
            return Err(Failure::invalid(anyhow!(
                "--control {}: another mynasim serve is listening there",
                path.display()
            )));
        }
        std::fs::remove_file(path)
            .with_context(|| format!("cannot remove the stale socket {}", path.display()))?;
    }
    UnixListener::bind(path)
        .with_context(|| format!("cannot listen on --control {}", path.display()))
        .map_err(Failure::invalid)
}

/// Accepts control connections until the program stops.
async fn serve_control(
    listener: UnixListener,
    states: Vec<Arc<SlotState>>,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    tracing::warn!("control socket: {e}");
                    continue;
                }
            },
            _ = shutdown.wait_for(|v| *v) => return,
        };
        let states = states.clone();
        tokio::spawn(async move {
            if let Err(e) = control_connection(stream, &states).await {
                tracing::debug!("control connection: {e}");
            }
        });
    }
}

/// Answers one control connection: a reply per command line.
async fn control_connection(stream: UnixStream, states: &[Arc<SlotState>]) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read).lines();
    while let Some(line) = lines.next_line().await? {
        let reply = control_command(line.trim(), states);
        write.write_all(reply.as_bytes()).await?;
    }
    write.shutdown().await
}

/// Executes one control command; the reply is one or more lines, the first starting with
/// `ok` or `error`.
fn control_command(line: &str, states: &[Arc<SlotState>]) -> String {
    let mut words = line.split_whitespace();
    let (Some(verb), target, None) = (words.next(), words.next(), words.next()) else {
        return "error expected: status | remove [N|all] | insert [N|all]\n".to_owned();
    };
    let selected: Vec<&Arc<SlotState>> = match target {
        None | Some("all") => states.iter().collect(),
        Some(n) => match n.parse::<u16>() {
            Ok(n) => match states.iter().find(|s| s.number == n) {
                Some(state) => vec![state],
                None => return format!("error no card in slot {n}\n"),
            },
            Err(_) => return format!("error `{n}` is not a slot number\n"),
        },
    };
    let mut out = String::new();
    match verb {
        "status" => {
            out.push_str("ok\n");
            for s in selected {
                let _ = writeln!(
                    out,
                    "slot {} {} {} vpcd {} profile {}",
                    s.number,
                    if *s.inserted.borrow() {
                        "inserted"
                    } else {
                        "removed"
                    },
                    if s.connected.load(Ordering::SeqCst) {
                        "connected"
                    } else {
                        "disconnected"
                    },
                    s.addr,
                    s.origin
                );
            }
        }
        "remove" | "insert" => {
            let insert = verb == "insert";
            for s in &selected {
                set_inserted(s, insert);
            }
            let numbers: Vec<String> = selected.iter().map(|s| s.number.to_string()).collect();
            let _ = writeln!(
                out,
                "ok slot {} {}",
                numbers.join(","),
                if insert { "inserted" } else { "removed" }
            );
        }
        other => {
            let _ = writeln!(
                out,
                "error unknown command `{other}`: expected status | remove [N|all] | insert [N|all]"
            );
        }
    }
    out
}

/// `mynasim control SOCKET COMMAND…`: sends one command to a running `mynasim serve`.
pub fn control(args: &ControlArgs) -> Result<(), Failure> {
    use std::io::{Read as _, Write as _};
    let started = Instant::now();
    let mut stream = std::os::unix::net::UnixStream::connect(&args.socket).map_err(|e| {
        Failure::unreachable(anyhow!(
            "cannot reach mynasim serve at {}: {e} (was it started with --control?)",
            args.socket.display()
        ))
    })?;
    let line = args.command.join(" ");
    stream
        .write_all(format!("{line}\n").as_bytes())
        .and_then(|()| stream.shutdown(std::net::Shutdown::Write))
        .context("cannot send the command")?;
    let mut reply = String::new();
    stream
        .read_to_string(&mut reply)
        .context("cannot read the reply")?;
    tracing::debug!("control reply in {:?}", started.elapsed());
    print!("{reply}");
    if reply.starts_with("ok") {
        Ok(())
    } else {
        let first = reply.lines().next().unwrap_or("no reply");
        if first.is_empty() {
            return Err(anyhow!("no reply from {}", args.socket.display()).into());
        }
        Err(Failure::invalid(anyhow!(
            "{}",
            first.strip_prefix("error ").unwrap_or(first)
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_parse_and_are_bounded() {
        assert_eq!(parse_slot("1=a.yaml"), Ok((1, "a.yaml".to_owned())));
        assert!(
            parse_slot("16=a.yaml")
                .unwrap_err()
                .contains("out of range")
        );
        assert!(parse_slot("a.yaml").unwrap_err().contains("N=FILE"));
        assert!(parse_slot("x=a.yaml").unwrap_err().contains("not a number"));
        assert!(parse_slot("0=").unwrap_err().contains("no profile"));
    }

    #[test]
    fn vpcd_addresses_resolve() {
        assert_eq!(
            parse_vpcd("127.0.0.1:40000").unwrap(),
            "127.0.0.1:40000".parse().unwrap()
        );
        assert!(parse_vpcd("localhost:35963").unwrap().ip().is_loopback());
        assert!(parse_vpcd("nonsense").is_err());
    }

    #[test]
    fn backoff_doubles_to_a_cap_and_resets() {
        let mut b = Backoff::new();
        let delays: Vec<u128> = (0..8).map(|_| b.next().as_millis()).collect();
        assert_eq!(delays, [50, 100, 200, 400, 800, 1600, 2000, 2000]);
        b.reset();
        assert_eq!(b.next().as_millis(), 50);
    }

    fn state(n: u16) -> Arc<SlotState> {
        Arc::new(SlotState {
            number: n,
            addr: transport::slot_addr(transport::DEFAULT_ADDR, n).unwrap(),
            origin: format!("p{n}.yaml"),
            inserted: watch::channel(true).0,
            connected: AtomicBool::new(false),
            ever_connected: AtomicBool::new(false),
        })
    }

    #[test]
    fn control_commands_change_and_report_slots() {
        let states = vec![state(0), state(1)];
        assert_eq!(control_command("remove 1", &states), "ok slot 1 removed\n");
        assert!(*states[0].inserted.borrow());
        assert!(!*states[1].inserted.borrow());
        let status = control_command("status", &states);
        assert!(
            status.contains("slot 1 removed disconnected vpcd 127.0.0.1:35964 profile p1.yaml"),
            "{status}"
        );
        assert_eq!(control_command("insert", &states), "ok slot 0,1 inserted\n");
        assert!(*states[1].inserted.borrow());
        assert!(control_command("remove 7", &states).starts_with("error no card in slot 7"));
        assert!(control_command("eject", &states).starts_with("error unknown command"));
        assert!(control_command("remove 1 2", &states).starts_with("error expected"));
    }

    proptest::proptest! {
        /// Whatever a client writes on the control socket, the reply is whole lines starting
        /// with `ok` or `error`, and a line that is not a command changes nothing.
        #[test]
        fn any_control_line_gets_a_reply(line in "\\PC{0,40}|(status|remove|insert)( [0-9a-z]{0,6}){0,3}") {
            let states = vec![state(0), state(1)];
            let reply = control_command(line.trim(), &states);
            proptest::prop_assert!(reply.ends_with('\n'), "{reply:?}");
            proptest::prop_assert!(reply.starts_with("ok") || reply.starts_with("error"), "{reply:?}");
            if reply.starts_with("error") {
                proptest::prop_assert!(states.iter().all(|s| *s.inserted.borrow()));
            }
        }

        /// `--slot` accepts exactly `N=FILE` with N a slot number and FILE not empty.
        #[test]
        fn any_slot_argument_parses_or_says_why(arg in "\\PC{0,20}|[0-9]{1,6}=\\PC{0,8}") {
            match parse_slot(&arg) {
                Ok((n, file)) => {
                    proptest::prop_assert!(n <= MAX_SLOT);
                    proptest::prop_assert!(!file.is_empty());
                    proptest::prop_assert_eq!(arg.split_once('=').map(|(_, f)| f), Some(file.as_str()));
                }
                Err(why) => proptest::prop_assert!(!why.is_empty()),
            }
        }
    }
}
