//! The control protocol of `mynasim serve --control PATH`: one command per line on a Unix
//! socket, one reply per command whose first line starts with `ok` or `error`.
//!
//! | command | reply |
//! |---|---|
//! | `status [N\|all]` | `ok`, then `slot N inserted\|removed connected\|disconnected vpcd ADDR profile ORIGIN` per slot |
//! | `remove [N\|all]` | `ok slot N,M removed` |
//! | `insert [N\|all]` | `ok slot N,M inserted` |
//! | `ready` | `ok ready` once every inserted card has been polled by its reader, else `error not ready: …` |

use std::fmt::Write as _;
use std::path::Path;

use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::watch;

use super::slot::SlotHandle;

/// The longest command line accepted; a longer one is answered with an error and the
/// connection is closed.
pub const MAX_LINE: usize = 256;

/// The usage line every error repeats.
const USAGE: &str = "status | remove [N|all] | insert [N|all] | ready";

/// A slot as the control socket knows it.
#[derive(Debug, Clone)]
pub struct ControlledSlot {
    /// The slot's handle.
    pub handle: SlotHandle,
    /// Where its profile came from, for `status`.
    pub origin: String,
}

/// A parsed command.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Request {
    Status(Option<u16>),
    Remove(Option<u16>),
    Insert(Option<u16>),
    Ready,
}

fn parse(line: &str) -> Result<Request, String> {
    let mut words = line.split_whitespace();
    let (Some(verb), target, None) = (words.next(), words.next(), words.next()) else {
        return Err(format!("expected: {USAGE}"));
    };
    let slot = match target {
        None | Some("all") => None,
        Some(n) => Some(
            n.parse::<u16>()
                .map_err(|_| format!("`{n}` is not a slot number"))?,
        ),
    };
    match (verb, slot) {
        ("status", slot) => Ok(Request::Status(slot)),
        ("remove", slot) => Ok(Request::Remove(slot)),
        ("insert", slot) => Ok(Request::Insert(slot)),
        ("ready", None) if target.is_none() => Ok(Request::Ready),
        ("ready", _) => Err(format!("`ready` takes no slot; expected: {USAGE}")),
        (other, _) => Err(format!("unknown command `{other}`: expected {USAGE}")),
    }
}

/// Executes one command line; the reply is one or more lines, the first starting with `ok`
/// or `error`.
pub fn execute(line: &str, slots: &[ControlledSlot]) -> String {
    let request = match parse(line) {
        Ok(r) => r,
        Err(e) => return format!("error {e}\n"),
    };
    let select = |n: Option<u16>| -> Result<Vec<&ControlledSlot>, String> {
        match n {
            None => Ok(slots.iter().collect()),
            Some(n) => slots
                .iter()
                .find(|s| s.handle.spec().number == n)
                .map(|s| vec![s])
                .ok_or_else(|| format!("no card in slot {n}")),
        }
    };
    let mut out = String::new();
    match request {
        Request::Status(n) => {
            let selected = match select(n) {
                Ok(s) => s,
                Err(e) => return format!("error {e}\n"),
            };
            out.push_str("ok\n");
            for s in selected {
                let status = s.handle.status();
                let _ = writeln!(
                    out,
                    "slot {} {} {} vpcd {} profile {}",
                    s.handle.spec().number,
                    if status.inserted {
                        "inserted"
                    } else {
                        "removed"
                    },
                    if status.connected {
                        "connected"
                    } else {
                        "disconnected"
                    },
                    s.handle.spec().addr,
                    s.origin
                );
            }
        }
        Request::Remove(n) | Request::Insert(n) => {
            let insert = matches!(request, Request::Insert(_));
            let selected = match select(n) {
                Ok(s) => s,
                Err(e) => return format!("error {e}\n"),
            };
            for s in &selected {
                if insert {
                    s.handle.insert();
                } else {
                    s.handle.remove();
                }
            }
            let numbers: Vec<String> = selected
                .iter()
                .map(|s| s.handle.spec().number.to_string())
                .collect();
            let _ = writeln!(
                out,
                "ok slot {} {}",
                numbers.join(","),
                if insert { "inserted" } else { "removed" }
            );
        }
        Request::Ready => {
            let waiting: Vec<String> = slots
                .iter()
                .filter(|s| {
                    let status = s.handle.status();
                    status.inserted && !status.ready
                })
                .map(|s| format!("slot {} ({})", s.handle.spec().number, s.handle.spec().addr))
                .collect();
            if waiting.is_empty() {
                out.push_str("ok ready\n");
            } else {
                let _ = writeln!(
                    out,
                    "error not ready: {} not yet seen by the reader",
                    waiting.join(", ")
                );
            }
        }
    }
    out
}

/// Binds the control socket (mode 0600: only its owner may connect), replacing a stale
/// socket but never a live one, a regular file or a folder.
///
/// # Errors
/// Another `mynasim serve` listens there; the path is not a socket; binding failed.
pub async fn bind(path: &Path) -> Result<UnixListener, String> {
    use std::os::unix::fs::FileTypeExt as _;
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_socket() => {
            if UnixStream::connect(path).await.is_ok() {
                return Err(format!(
                    "--control {}: another mynasim serve is listening there",
                    path.display()
                ));
            }
            std::fs::remove_file(path)
                .map_err(|e| format!("cannot remove the stale socket {}: {e}", path.display()))?;
        }
        Ok(meta) => {
            return Err(format!(
                "--control {}: a {} is there, not a socket; give a new path",
                path.display(),
                if meta.is_dir() { "folder" } else { "file" }
            ));
        }
        Err(_) => {}
    }
    let listener = UnixListener::bind(path)
        .map_err(|e| format!("cannot listen on --control {}: {e}", path.display()))?;
    // Only this user may remove and insert cards.
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(|e| {
        format!(
            "cannot restrict --control {} to its owner: {e}",
            path.display()
        )
    })?;
    Ok(listener)
}

/// Accepts control connections until `shutdown` turns true.
pub async fn serve(
    listener: UnixListener,
    slots: Vec<ControlledSlot>,
    shutdown: watch::Receiver<bool>,
) {
    serve_with(
        listener,
        std::sync::Arc::new(move |line: &str| execute(line, &slots)),
        shutdown,
    )
    .await;
}

/// A control protocol: one command line in, one reply out.
pub type Handler = std::sync::Arc<dyn Fn(&str) -> String + Send + Sync>;

/// Accepts connections of a line protocol until `shutdown` turns true (the serve control
/// socket, `mynasim validation --control`).
pub async fn serve_with(
    listener: UnixListener,
    handler: Handler,
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
        let handler = std::sync::Arc::clone(&handler);
        let mut shutdown = shutdown.clone();
        tokio::spawn(async move {
            tokio::select! {
                r = connection(stream, &*handler) => if let Err(e) = r {
                    tracing::debug!("control connection: {e}");
                },
                _ = shutdown.wait_for(|v| *v) => {}
            }
        });
    }
}

/// Answers one control connection: a reply per command line. Lines are read with a bound,
/// so a client that never ends its line cannot make the process hold it in memory.
async fn connection(
    stream: UnixStream,
    handler: &(dyn Fn(&str) -> String + Send + Sync),
) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    loop {
        let mut line = Vec::new();
        let limit = u64::try_from(MAX_LINE + 1).unwrap_or(u64::MAX);
        let n = (&mut reader)
            .take(limit)
            .read_until(b'\n', &mut line)
            .await?;
        if n == 0 {
            break;
        }
        if line.len() > MAX_LINE && line.last() != Some(&b'\n') {
            write
                .write_all(format!("error a command is at most {MAX_LINE} bytes\n").as_bytes())
                .await?;
            break;
        }
        let reply = match std::str::from_utf8(&line) {
            Ok(text) => handler(text.trim()),
            Err(_) => "error a command is UTF-8 text\n".to_owned(),
        };
        write.write_all(reply.as_bytes()).await?;
    }
    write.shutdown().await
}

/// Sends one command to a running `mynasim serve` and returns the reply.
///
/// # Errors
/// [`ClientError::Unreachable`] when nothing answers on the socket, [`ClientError::Io`] when
/// the exchange breaks.
pub fn send(socket: &Path, line: &str) -> Result<String, ClientError> {
    use std::io::{Read as _, Write as _};
    let mut stream = std::os::unix::net::UnixStream::connect(socket).map_err(|e| {
        ClientError::Unreachable(format!(
            "cannot reach mynasim serve at {}: {e} (was it started with --control?)",
            socket.display()
        ))
    })?;
    stream
        .write_all(format!("{line}\n").as_bytes())
        .and_then(|()| stream.shutdown(std::net::Shutdown::Write))
        .map_err(|e| ClientError::Io(format!("cannot send the command: {e}")))?;
    let mut reply = String::new();
    stream
        .take(64 * 1024)
        .read_to_string(&mut reply)
        .map_err(|e| ClientError::Io(format!("cannot read the reply: {e}")))?;
    Ok(reply)
}

/// Why [`send`] failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    /// Nothing listens on the socket.
    #[error("{0}")]
    Unreachable(String),
    /// The exchange broke.
    #[error("{0}")]
    Io(String),
}

#[cfg(test)]
mod tests {
    use mynasim_simulator::card::EchoCard;

    use super::super::slot::{SlotSpec, slot};
    use super::*;

    fn slots() -> Vec<ControlledSlot> {
        (0..2)
            .map(|n| {
                let addr = mynasim_simulator::transport::slot_addr(
                    mynasim_simulator::transport::DEFAULT_ADDR,
                    n,
                )
                .unwrap_or(mynasim_simulator::transport::DEFAULT_ADDR);
                let (_slot, handle) = slot(SlotSpec { number: n, addr }, EchoCard);
                ControlledSlot {
                    handle,
                    origin: format!("p{n}.yaml"),
                }
            })
            .collect()
    }

    #[test]
    fn control_commands_report_and_refuse_clearly() {
        let slots = slots();
        let status = execute("status", &slots);
        assert!(
            status.contains("slot 1 inserted disconnected vpcd 127.0.0.1:35964 profile p1.yaml"),
            "{status}"
        );
        assert!(status.starts_with("ok\n"));
        assert!(execute("status 1", &slots).lines().count() == 2);
        assert!(execute("remove 7", &slots).starts_with("error no card in slot 7"));
        assert!(execute("eject", &slots).starts_with("error unknown command `eject`"));
        assert!(execute("remove 1 2", &slots).starts_with("error expected"));
        assert!(execute("remove x", &slots).starts_with("error `x` is not a slot number"));
        assert!(execute("ready 1", &slots).starts_with("error `ready` takes no slot"));
        let ready = execute("ready", &slots);
        assert!(
            ready.starts_with("error not ready: slot 0 (127.0.0.1:35963), slot 1"),
            "{ready}"
        );
        assert_eq!(execute("", &slots), format!("error expected: {USAGE}\n"));
    }

    proptest::proptest! {
        /// Whatever a client writes on the control socket, the reply is whole lines starting
        /// with `ok` or `error`.
        #[test]
        fn any_control_line_gets_a_reply(line in "\\PC{0,40}|(status|remove|insert|ready)( [0-9a-z]{0,6}){0,3}") {
            let slots = slots();
            let reply = execute(line.trim(), &slots);
            proptest::prop_assert!(reply.ends_with('\n'), "{reply:?}");
            proptest::prop_assert!(reply.starts_with("ok") || reply.starts_with("error"), "{reply:?}");
        }
    }
}
