//! `mynasim control SOCKET COMMAND…`: one command to a running `mynasim serve --control`.

use std::io::Write as _;
use std::path::PathBuf;

use crate::exit::Error;
use crate::host::control::{self, ClientError};

/// What to send where.
#[derive(Debug, Clone)]
pub struct Options {
    /// The socket.
    pub socket: PathBuf,
    /// The command's words.
    pub command: Vec<String>,
}

/// Sends the command and prints the reply; an `error` reply is exit 2.
///
/// # Errors
/// Nothing listens (exit 3); the reply is an error (exit 2); the exchange broke (exit 4).
pub fn run(options: &Options) -> Result<(), Error> {
    let reply =
        control::send(&options.socket, &options.command.join(" ")).map_err(|e| match e {
            ClientError::Unreachable(m) => Error::unreachable(anyhow::anyhow!(m)),
            ClientError::Io(m) => Error::io(anyhow::anyhow!(m)),
        })?;
    let _ = write!(std::io::stdout(), "{reply}");
    if reply.starts_with("ok") {
        return Ok(());
    }
    let first = reply.lines().next().unwrap_or("");
    if first.is_empty() {
        return Err(Error::io(anyhow::anyhow!(
            "no reply from {}",
            options.socket.display()
        )));
    }
    Err(Error::invalid(anyhow::anyhow!(
        "{}",
        first.strip_prefix("error ").unwrap_or(first)
    )))
}
