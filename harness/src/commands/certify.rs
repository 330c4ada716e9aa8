//! `mynasim certify`: the reader-conformance run against the card in a named reader
//! (`docs/certification.md`). This module reads the secrets, runs [`crate::certify::run`] and
//! writes the reports; the report is written even when the reader is not found.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::anyhow;

use crate::certify::{self, Permissions, Verdict};
use crate::exit::{Error, Worst};
use crate::scenario::CardSecrets;

/// Where one secret comes from.
#[derive(Clone)]
pub enum SecretSource {
    /// An environment variable's name.
    Env(String),
    /// A file whose first line is the secret.
    File(PathBuf),
    /// The value itself (`--pin`: visible to other users in the process list).
    Value(String),
}

impl std::fmt::Debug for SecretSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Env(v) => write!(f, "Env({v})"),
            Self::File(p) => write!(f, "File({})", p.display()),
            Self::Value(_) => f.write_str("Value(**)"),
        }
    }
}

/// The PINs `${card.pin.NAME}` may name.
pub const PIN_NAMES: [&str; 5] = ["auth", "sign", "text", "resident", "common"];

/// What to run and where to write.
#[derive(Debug, Clone)]
pub struct Options {
    /// The reader (a name, or a unique part of it).
    pub reader: String,
    /// `(pin name, source)` pairs.
    pub secrets: Vec<(String, SecretSource)>,
    /// What is allowed.
    pub permissions: Permissions,
    /// The longest one PC/SC call may take.
    pub step_timeout: Duration,
    /// Runs of each flow.
    pub flow_runs: usize,
    /// Only cases whose ID contains one of these.
    pub only: Vec<String>,
    /// Write the JSON report here.
    pub json: Option<PathBuf>,
    /// Write the JUnit report here.
    pub junit: Option<PathBuf>,
    /// Write the HTML report here.
    pub html: Option<PathBuf>,
    /// Print only the verdict line.
    pub quiet: bool,
}

/// The largest secret file read (a PIN is at most 16 characters).
const SECRET_FILE_LIMIT: u64 = 4096;

/// Reads the secrets; errors name the source, never the value.
fn secrets(list: &[(String, SecretSource)]) -> Result<CardSecrets, Error> {
    let mut out = CardSecrets::default();
    for (name, source) in list {
        if !PIN_NAMES.contains(&name.as_str()) {
            return Err(Error::invalid(anyhow!(
                "`{name}` is not a PIN name: use {}",
                PIN_NAMES.join(", ")
            )));
        }
        let value = match source {
            SecretSource::Env(var) => std::env::var(var).map_err(|_| {
                Error::invalid(anyhow!(
                    "--pin-env {name}={var}: the environment variable {var} is not set (or not UTF-8)"
                ))
            })?,
            SecretSource::File(path) => read_secret_file(name, path)?,
            SecretSource::Value(v) => {
                eprintln!(
                    "warning: --pin puts the {name} PIN on the command line, where other users \
                     of this machine can read it (ps, /proc); prefer --pin-env or --pin-file"
                );
                v.clone()
            }
        };
        let value = value.trim_end_matches(['\r', '\n']).to_owned();
        if value.is_empty() {
            return Err(Error::invalid(anyhow!("the {name} PIN given is empty")));
        }
        out.set_pin(name, value);
    }
    Ok(out)
}

fn read_secret_file(name: &str, path: &Path) -> Result<String, Error> {
    let text =
        mynasim_simulator::profile::files::read_text(path, SECRET_FILE_LIMIT).map_err(|e| {
            Error::invalid(anyhow!(
                "--pin-file {name}={}: cannot read it: {e}",
                path.display()
            ))
        })?;
    Ok(text.lines().next().unwrap_or_default().to_owned())
}

fn write(path: &Path, what: &str, content: &str) -> Result<(), Error> {
    crate::report::write_atomic(path, content.as_bytes()).map_err(|e| {
        Error::io(anyhow!(
            "cannot write the {what} report {}: {e}",
            path.display()
        ))
    })
}

/// The PC/SC reader to certify (opened lazily by the run, so an absent reader is a report).
#[cfg(feature = "pcsc")]
#[allow(clippy::unnecessary_wraps)]
fn pcsc_reader(name: &str) -> Result<std::sync::Arc<dyn certify::Reader>, Error> {
    Ok(std::sync::Arc::new(certify::reader::PcscReader::new(name)))
}

/// Without PC/SC support there is no reader to certify.
#[cfg(not(feature = "pcsc"))]
fn pcsc_reader(_name: &str) -> Result<std::sync::Arc<dyn certify::Reader>, Error> {
    Err(crate::target::TargetError::NotBuilt.into())
}

/// Runs the certification and writes its reports.
///
/// # Errors
/// Bad arguments or secrets (2); the verdict `fail` (1); the reader not found, hung, or the
/// card gone (3); a report that cannot be written (4).
pub fn run(options: &Options) -> Result<(), Error> {
    if options.step_timeout.is_zero() {
        return Err(Error::invalid(anyhow!("--step-timeout must be above zero")));
    }
    if options.permissions.allow_destructive && !options.permissions.allow_pin_use {
        return Err(Error::invalid(anyhow!(
            "--allow-destructive spends PIN tries on purpose: give --allow-pin-use too"
        )));
    }
    let secrets = secrets(&options.secrets)?;
    let reader = pcsc_reader(&options.reader)?;
    {
        let report = certify::run(
            reader,
            &certify::Options {
                step_timeout: options.step_timeout,
                flow_runs: options.flow_runs,
                permissions: options.permissions,
                secrets,
                only: options.only.clone(),
            },
        );
        let colour = std::io::IsTerminal::is_terminal(&std::io::stdout())
            && std::env::var_os("NO_COLOR").is_none();
        let text = certify::report::terminal(&report, colour);
        let text = if options.quiet {
            text.lines()
                .filter(|l| l.trim_start().starts_with("verdict:"))
                .map(|l| format!("{l}\n"))
                .collect()
        } else {
            text
        };
        std::io::stdout()
            .lock()
            .write_all(text.as_bytes())
            .map_err(|e| Error::io(anyhow!("cannot write standard output: {e}")))?;
        if let Some(path) = &options.json {
            let json = certify::report::json(&report)
                .map_err(|e| Error::io(anyhow!("cannot render the JSON report: {e}")))?;
            write(path, "JSON", &json)?;
        }
        if let Some(path) = &options.junit {
            let xml = certify::report::junit(&report)
                .map_err(|e| Error::io(anyhow!("cannot render the JUnit report: {e}")))?;
            write(path, "JUnit", &xml)?;
        }
        if let Some(path) = &options.html {
            write(
                path,
                "HTML",
                &certify::report::html(&report, jiff::Timestamp::now()),
            )?;
        }
        match report.verdict {
            Verdict::Pass => Ok(()),
            Verdict::Fail => Err(Error::Scenarios {
                worst: Worst::Failed,
                failed: report
                    .cases
                    .iter()
                    .filter(|c| c.status == certify::CaseStatus::Failed)
                    .count(),
                total: report.cases.len(),
            }),
            Verdict::Incomplete | Verdict::ReaderNotFound => {
                Err(Error::unreachable(anyhow!("{}", report.verdict_reason)))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_come_from_the_environment_files_and_values_and_errors_never_show_them() {
        let dir =
            std::env::temp_dir().join(format!("mynasim-certify-secrets-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("sign.txt");
        std::fs::write(&file, "S3CRETPASS\n").unwrap();
        let var = format!("MYNASIM_TEST_PIN_{}", std::process::id());
        let s = secrets(&[
            ("sign".into(), SecretSource::File(file.clone())),
            ("auth".into(), SecretSource::Value("4321".into())),
        ])
        .unwrap();
        assert!(s.has("pin.sign") && s.has("pin.auth"));
        assert_eq!(s.values().collect::<Vec<_>>(), ["4321", "S3CRETPASS"]);
        assert!(!format!("{s:?}").contains("4321"));
        let e = secrets(&[("auth".into(), SecretSource::Env(var.clone()))]).unwrap_err();
        assert!(e.to_string().contains(&var));
        let e = secrets(&[("nope".into(), SecretSource::Value("1".into()))]).unwrap_err();
        assert!(e.to_string().contains("not a PIN name"));
        std::fs::write(&file, "\n").unwrap();
        let e = secrets(&[("sign".into(), SecretSource::File(file))]).unwrap_err();
        assert!(e.to_string().contains("empty") && !e.to_string().contains("S3CRET"));
        assert!(!format!("{:?}", SecretSource::Value("4321".into())).contains("4321"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
