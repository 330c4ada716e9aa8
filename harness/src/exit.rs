//! Exit codes, decided in one place and documented in `--help` and the README.

use std::process::ExitCode;

/// Everything passed.
pub const OK: u8 = 0;
/// A scenario (or a checked expectation) failed.
pub const FAILED: u8 = 1;
/// A scenario, profile or argument is invalid.
pub const INVALID: u8 = 2;
/// The target (reader, pcscd) could not be reached.
pub const UNREACHABLE: u8 = 3;

/// The exit codes as `--help` shows them.
pub const HELP: &str = "\
Exit status:
  0  all passed
  1  a scenario failed
  2  a scenario, profile or argument is invalid
  3  the target could not be reached";

/// An error that knows its exit code.
#[derive(Debug)]
pub struct Failure {
    /// The exit code.
    pub code: u8,
    /// What to print.
    pub error: anyhow::Error,
}

impl Failure {
    /// An invalid input (exit 2).
    pub fn invalid(error: impl Into<anyhow::Error>) -> Self {
        Self {
            code: INVALID,
            error: error.into(),
        }
    }

    /// An unreachable target (exit 3).
    pub fn unreachable(error: impl Into<anyhow::Error>) -> Self {
        Self {
            code: UNREACHABLE,
            error: error.into(),
        }
    }
}

impl From<anyhow::Error> for Failure {
    fn from(error: anyhow::Error) -> Self {
        Self {
            code: FAILED,
            error,
        }
    }
}

/// Turns a result into the process exit code, printing the error chain.
pub fn finish(result: Result<(), Failure>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::from(OK),
        Err(failure) => {
            eprintln!("error: {:#}", failure.error);
            ExitCode::from(failure.code)
        }
    }
}
