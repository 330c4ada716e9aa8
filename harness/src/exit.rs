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

/// The exit codes as `--help` shows them.
pub const HELP: &str = "\
Exit status:
  0  all passed
  1  a scenario failed
  2  a scenario, profile, configuration or argument is invalid
  3  the target (pcscd, a reader, a card, a socket) could not be reached
  4  mynasim could not write a report or output, or use the system (I/O)";

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
    /// Output could not be written, or the system refused a resource.
    #[error("{0:#}")]
    Io(anyhow::Error),
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
        Error::Io(_) => IO,
    }
}

/// Turns a command's result into the process exit code, printing the error.
pub fn finish(result: Result<(), Error>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::from(OK),
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
        assert!(Worst::Unreachable > Worst::Invalid && Worst::Invalid > Worst::Failed);
    }
}
