//! Where a certification ran: the host, the operating system, pcsc-lite's version, mynasim's
//! version and the time. Every value that cannot be found is "unknown", never an error.

use std::process::{Command, Stdio};
use std::time::Duration;

use serde::Serialize;

/// The environment of a run.
#[derive(Debug, Clone, Serialize)]
pub struct Environment {
    /// The host name.
    pub host: String,
    /// The kernel (`Linux 6.1.0`).
    pub os: String,
    /// pcsc-lite's version, from `pcscd --version` or the Debian package.
    pub pcsc_lite: String,
    /// mynasim's version (and `git describe` when the build was given it in
    /// `MYNASIM_GIT_DESCRIBE`).
    pub mynasim: String,
    /// When the run started (UTC, RFC 3339).
    pub started: String,
}

impl Environment {
    /// Looks everything up.
    pub fn gather() -> Self {
        Self {
            host: read_line("/proc/sys/kernel/hostname")
                .or_else(|| read_line("/etc/hostname"))
                .unwrap_or_else(unknown),
            os: match (
                read_line("/proc/sys/kernel/ostype"),
                read_line("/proc/sys/kernel/osrelease"),
            ) {
                (Some(t), Some(r)) => format!("{t} {r}"),
                _ => std::env::consts::OS.to_owned(),
            },
            pcsc_lite: pcsc_lite_version().unwrap_or_else(unknown),
            mynasim: version(),
            started: jiff::Timestamp::now()
                .round(jiff::Unit::Second)
                .map_or_else(|_| jiff::Timestamp::now().to_string(), |t| t.to_string()),
        }
    }

    /// (name, value) rows for reports.
    pub fn rows(&self) -> Vec<(&'static str, String)> {
        vec![
            ("host", self.host.clone()),
            ("operating system", self.os.clone()),
            ("pcsc-lite", self.pcsc_lite.clone()),
            ("mynasim", self.mynasim.clone()),
            ("started", self.started.clone()),
        ]
    }
}

fn unknown() -> String {
    "unknown".to_owned()
}

/// mynasim's version: the crate's, and `git describe` if the build had it.
pub fn version() -> String {
    match option_env!("MYNASIM_GIT_DESCRIBE") {
        Some(describe) if !describe.is_empty() => {
            format!("{} ({describe})", env!("CARGO_PKG_VERSION"))
        }
        _ => env!("CARGO_PKG_VERSION").to_owned(),
    }
}

fn read_line(path: &str) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    let line = text.lines().next()?.trim();
    (!line.is_empty()).then(|| line.to_owned())
}

/// The first line of a command's output, if it runs and prints within 5 s.
fn first_line_of(program: &str, args: &[&str]) -> Option<String> {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .ok()?;
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if std::time::Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(10));
            }
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
        }
    }
    let out = child.wait_with_output().ok()?;
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    let line = text
        .lines()
        .find(|l| !l.trim().is_empty())?
        .trim()
        .to_owned();
    Some(line)
}

/// pcsc-lite's version: `pcscd --version` ("pcsc-lite version 2.0.3."), else the version of
/// Debian's libpcsclite1 package.
fn pcsc_lite_version() -> Option<String> {
    let from_pcscd = first_line_of("pcscd", &["--version"])
        .or_else(|| first_line_of("/usr/sbin/pcscd", &["--version"]))
        .and_then(|line| {
            let rest = line.split("version").nth(1)?;
            let v = rest.trim().trim_end_matches('.').to_owned();
            (!v.is_empty()).then_some(v)
        });
    from_pcscd.or_else(|| {
        first_line_of("dpkg-query", &["-W", "-f", "${Version}", "libpcsclite1"])
            .map(|v| format!("{v} (Debian libpcsclite1)"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_field_has_a_value() {
        let e = Environment::gather();
        for (name, value) in e.rows() {
            assert!(!value.is_empty(), "{name}");
        }
        assert!(e.mynasim.starts_with(env!("CARGO_PKG_VERSION")));
    }
}
