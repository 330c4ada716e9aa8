//! The one error type at the edge and the one function from it to the documented exit codes
//! (`--help`, the README). Engines and adapters return their own typed errors and outcomes;
//! the commands turn them into an [`Error`]; [`exit_code`] alone picks the number.

use std::process::ExitCode;

use mynasim_simulator::profile::ProfileError;

use crate::target::TargetError;

/// Everything passed.
pub const OK: u8 = 0;
/// A scenario (or a checked expectation) failed.
pub const FAILED: u8 = 1;
/// A scenario, profile, configuration or argument is invalid.
pub const INVALID: u8 = 2;
/// The target (pcscd, a reader, a card, a vpcd port, a control socket) could not be reached.
pub const UNREACHABLE: u8 = 3;
/// mynasim could not write its output (a report, an exported file, standard output) or use
/// the system (start its runtime, bind a socket).
pub const IO: u8 = 4;

/// `mynasim exec` could not set up or run the program (the codes of `env` and `timeout`).
pub const EXEC_FAILED: u8 = 125;
/// `mynasim exec`: the program exists but cannot be executed.
pub const EXEC_NOT_EXECUTABLE: u8 = 126;
/// `mynasim exec`: the program was not found.
pub const EXEC_NOT_FOUND: u8 = 127;

/// The exit codes as `--help` shows them.
pub const HELP: &str = "\
Exit status:
  0  all passed
  1  a scenario failed (mynasim verify: the signature or certificate is refused)
  2  a scenario, profile, configuration or argument is invalid
  3  the target (pcscd, a reader, a card, a socket) could not be reached
  4  mynasim could not write a report or output, or use the system (I/O)
mynasim exec exits with the program's status; its own failures are
  125  exec could not set up the card, pcscd or the program (the reason is printed)
  126  the program cannot be executed;  127  the program was not found
  128+N  the program was killed by signal N";

/// Why `mynasim exec` did not give the program's own status.
#[derive(Debug, thiserror::Error)]
pub enum ExecFailure {
    /// The card, the profile, pcscd, the reader or the transcript failed.
    #[error("{0}")]
    Setup(Box<Error>),
    /// The program was not found.
    #[error("`{0}`: command not found")]
    NotFound(String),
    /// The program cannot be executed.
    #[error("`{0}`: permission denied (not executable)")]
    NotExecutable(String),
    /// The program was killed by a signal.
    #[error("the command was killed by signal {0}")]
    Signal(i32),
}

/// The most serious way a scenario did not pass, for [`Error::Scenarios`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Worst {
    /// Some scenario failed.
    Failed,
    /// Some scenario or its profile is invalid.
    Invalid,
    /// Some scenario could not reach its target.
    Unreachable,
}

/// Why a command did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An argument, profile, scenario or configuration is invalid.
    #[error("{0:#}")]
    Invalid(anyhow::Error),
    /// The target could not be reached.
    #[error("{0:#}")]
    Unreachable(anyhow::Error),
    /// Scenarios ran, and `failed` of `total` did not pass.
    #[error("{failed} of {total} scenarios did not pass")]
    Scenarios {
        /// The most serious outcome.
        worst: Worst,
        /// How many did not pass.
        failed: usize,
        /// How many ran.
        total: usize,
    },
    /// Two things compared differ (`mynasim trace diff`); the report was printed.
    #[error("{0}")]
    Differs(String),
    /// Output could not be written, or the system refused a resource.
    #[error("{0:#}")]
    Io(anyhow::Error),
    /// A check refused what it was given (`mynasim verify`: a bad signature, an expired or
    /// revoked certificate).
    #[error("refused: {0}")]
    Refused(String),
    /// `mynasim exec`: the program ran and exited with this status (not 0).
    #[error("the command exited with status {0}")]
    Program(u8),
    /// `mynasim exec` could not give the program's status.
    #[error(transparent)]
    Exec(ExecFailure),
}

impl Error {
    /// An invalid input.
    pub fn invalid(error: impl Into<anyhow::Error>) -> Self {
        Self::Invalid(error.into())
    }

    /// An unreachable target.
    pub fn unreachable(error: impl Into<anyhow::Error>) -> Self {
        Self::Unreachable(error.into())
    }

    /// An I/O failure of mynasim's own.
    pub fn io(error: impl Into<anyhow::Error>) -> Self {
        Self::Io(error.into())
    }
}

impl From<ProfileError> for Error {
    fn from(e: ProfileError) -> Self {
        Self::Invalid(e.into())
    }
}

impl From<TargetError> for Error {
    fn from(e: TargetError) -> Self {
        match e {
            TargetError::Ambiguous(_) | TargetError::NotBuilt => Self::Invalid(e.into()),
            TargetError::Removed(_) | TargetError::Unreachable(_) | TargetError::Protocol(_) => {
                Self::Unreachable(e.into())
            }
            TargetError::Diverged(why) => Self::Differs(why),
        }
    }
}

/// The exit code of an error: the one place that decides it.
pub fn exit_code(error: &Error) -> u8 {
    match error {
        Error::Invalid(_) => INVALID,
        Error::Unreachable(_) => UNREACHABLE,
        Error::Scenarios { worst, .. } => match worst {
            Worst::Failed => FAILED,
            Worst::Invalid => INVALID,
            Worst::Unreachable => UNREACHABLE,
        },
        Error::Differs(_) => FAILED,
        Error::Io(_) => IO,
        Error::Refused(_) => FAILED,
        Error::Program(code) => *code,
        Error::Exec(failure) => match failure {
            ExecFailure::Setup(_) => EXEC_FAILED,
            ExecFailure::NotExecutable(_) => EXEC_NOT_EXECUTABLE,
            ExecFailure::NotFound(_) => EXEC_NOT_FOUND,
            ExecFailure::Signal(n) => u8::try_from(128 + (*n).clamp(0, 127)).unwrap_or(EXEC_FAILED),
        },
    }
}

/// Turns a command's result into the process exit code, printing the error.
pub fn finish(result: Result<(), Error>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::from(OK),
        // The program's own status: it has said what it had to say.
        Err(Error::Program(code)) => ExitCode::from(code),
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::from(exit_code(&error))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_has_its_documented_code() {
        let cases = [
            (Error::invalid(anyhow::anyhow!("x")), INVALID),
            (Error::unreachable(anyhow::anyhow!("x")), UNREACHABLE),
            (Error::io(anyhow::anyhow!("x")), IO),
            (Error::Refused("revoked".into()), FAILED),
            (Error::Differs("x".into()), FAILED),
            (
                Error::Scenarios {
                    worst: Worst::Failed,
                    failed: 1,
                    total: 2,
                },
                FAILED,
            ),
            (
                Error::Scenarios {
                    worst: Worst::Invalid,
                    failed: 1,
                    total: 2,
                },
                INVALID,
            ),
            (
                Error::Scenarios {
                    worst: Worst::Unreachable,
                    failed: 1,
                    total: 2,
                },
                UNREACHABLE,
            ),
            (Error::from(TargetError::Ambiguous("x".into())), INVALID),
            (Error::from(TargetError::NotBuilt), INVALID),
            (Error::from(TargetError::Removed("x".into())), UNREACHABLE),
            (
                Error::from(TargetError::Unreachable("x".into())),
                UNREACHABLE,
            ),
            (Error::from(TargetError::Protocol("x".into())), UNREACHABLE),
        ];
        for (error, code) in cases {
            assert_eq!(exit_code(&error), code, "{error:?}");
            assert!(
                HELP.contains(&format!("  {code}  ")),
                "{code} is documented"
            );
        }
        let exec = [
            (
                Error::Exec(ExecFailure::Setup(Box::new(Error::invalid(
                    anyhow::anyhow!("x"),
                )))),
                EXEC_FAILED,
            ),
            (
                Error::Exec(ExecFailure::NotExecutable("x".into())),
                EXEC_NOT_EXECUTABLE,
            ),
            (
                Error::Exec(ExecFailure::NotFound("x".into())),
                EXEC_NOT_FOUND,
            ),
            (Error::Exec(ExecFailure::Signal(9)), 137),
            (Error::Program(7), 7),
        ];
        for (error, code) in exec {
            assert_eq!(exit_code(&error), code, "{error:?}");
        }
        for code in [EXEC_FAILED, EXEC_NOT_EXECUTABLE, EXEC_NOT_FOUND] {
            assert!(HELP.contains(&format!("{code}  ")), "{code} is documented");
        }
        assert!(Worst::Unreachable > Worst::Invalid && Worst::Invalid > Worst::Failed);
    }
}
