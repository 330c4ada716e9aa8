//! The host side: what scenarios and `card apdu` send APDUs to. One [`Link`] trait for every
//! target — the in-process card ([`sim`]), any PC/SC reader ([`pcsc`]), and the scenario's
//! own card behind pcscd's vpcd reader ([`vpcd`]) — so the engine and the commands never
//! know which one they drive. [`relay`] turns a link's card back into a virtual card.

pub mod relay;
pub mod sim;

#[cfg(feature = "pcsc")]
pub mod pcsc;
#[cfg(feature = "pcsc")]
pub mod vpcd;

pub use sim::SimLink;

/// Why a target could not do what was asked (a card's refusal is a status word, not this).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    /// The card is not there: removed, never inserted, or gone mid-exchange.
    #[error("{0}")]
    Removed(String),
    /// pcscd, the reader or the vpcd port could not be reached.
    #[error("{0}")]
    Unreachable(String),
    /// The link broke the protocol: no answer, a failed transmit, a reset the host did not
    /// ask for.
    #[error("{0}")]
    Protocol(String),
    /// A replay card (`card.replay:`) was sent a command its recording does not have, and
    /// left the reader (`on_divergence: fail`): the scenario, not the target, is at fault.
    #[error("{0}")]
    Diverged(String),
    /// A reader name that names several readers.
    #[error("{0}")]
    Ambiguous(String),
    /// This build has no PC/SC support.
    #[error(
        "this mynasim was built without PC/SC support: rebuild with `cargo build --features \
         pcsc` (needs the Debian packages libpcsclite-dev and pkg-config; ci/setup installs them)"
    )]
    NotBuilt,
}

/// A way to send one command APDU and get its response.
pub type Transmit<'a> = dyn FnMut(&[u8]) -> Result<Vec<u8>, TargetError> + 'a;

/// A card to talk to.
pub trait Link {
    /// What it is, for reports (`sim`, `pcsc:Virtual PCD 00 00`).
    fn describe(&self) -> String;
    /// Cold start; returns the ATR.
    ///
    /// # Errors
    /// The card or the link went away.
    fn power_on(&mut self) -> Result<Vec<u8>, TargetError>;
    /// Removes power.
    ///
    /// # Errors
    /// The link went away.
    fn power_off(&mut self) -> Result<(), TargetError>;
    /// Warm reset; returns the ATR.
    ///
    /// # Errors
    /// The card or the link went away.
    fn reset(&mut self) -> Result<Vec<u8>, TargetError>;
    /// Sends a command APDU, returns the response (data and SW1 SW2).
    ///
    /// # Errors
    /// No answer: the card is unpowered, removed, or the link failed.
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, TargetError>;

    /// Arms faults on the card from now on (a `fault:` step). Only the in-process card can:
    /// elsewhere the card is in another process or is a real one.
    ///
    /// # Errors
    /// This target's card cannot take faults.
    fn arm_faults(&mut self, plan: mynasim_simulator::card::FaultPlan) -> Result<(), TargetError> {
        let _ = plan;
        Err(TargetError::Protocol(
            "a `fault:` step needs the in-process card (target sim, or an exec scenario's \
             setup); put the fault in `card.set.faults` to reach a card in a reader"
                .to_owned(),
        ))
    }
    /// Changes the in-process card itself (a validation step writing new certificates into
    /// it). Only the in-process card can be changed.
    ///
    /// # Errors
    /// This target's card is not in process.
    fn with_card(
        &mut self,
        change: &mut dyn FnMut(&mut mynasim_simulator::card::Card),
    ) -> Result<(), TargetError> {
        let _ = change;
        Err(TargetError::Protocol(
            "this step writes new certificates into the card, which needs the in-process card \
             (target sim, or an exec scenario's setup)"
                .to_owned(),
        ))
    }
    /// Whether this is the scenario's own card (so its profile, state and secrets apply).
    fn runs_scenario_card(&self) -> bool;
}

/// Which implementation scenarios run against (`--target`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetSpec {
    /// The in-process simulator.
    Sim,
    /// A reader through PC/SC (feature `pcsc`).
    Pcsc(String),
    /// The scenario's card behind pcscd through the vpcd transport (feature `pcsc`).
    Vpcd,
}

impl TargetSpec {
    /// Whether several scenarios can run at once: only in process, where each has a card of
    /// its own. A `pcsc:` reader holds one card, and the vpcd target finds its card as the
    /// one that appears in a reader, so scenarios there run one at a time.
    pub fn allows_parallel_runs(&self) -> bool {
        matches!(self, Self::Sim)
    }

    /// Whether `--jobs N` may run N scenarios at once: on `sim`, and on `vpcd`, where each
    /// job has a slot of its own (port + job, reader `Virtual PCD 00 0J`; the reader needs
    /// N slots — mynasim-ifd has up to 16, Debian's driver 2).
    pub fn allows_jobs(&self) -> bool {
        matches!(self, Self::Sim | Self::Vpcd)
    }
}

impl std::str::FromStr for TargetSpec {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "sim" => Ok(Self::Sim),
            "vpcd" => Ok(Self::Vpcd),
            other => match other.strip_prefix("pcsc:") {
                Some(reader) if !reader.is_empty() => Ok(Self::Pcsc(reader.to_owned())),
                _ => Err(format!(
                    "`{other}` is not a target: use sim, vpcd or pcsc:READER (a reader name, or a unique part of it)"
                )),
            },
        }
    }
}

impl std::fmt::Display for TargetSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Sim => f.write_str("sim"),
            Self::Vpcd => f.write_str("vpcd"),
            Self::Pcsc(r) => write!(f, "pcsc:{r}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_parse_and_print_back() {
        for text in ["sim", "vpcd", "pcsc:Virtual PCD 00 00"] {
            let spec: TargetSpec = text.parse().unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(spec.to_string(), text);
        }
        for bad in ["", "pcsc:", "simulator", "PCSC:x"] {
            assert!(bad.parse::<TargetSpec>().is_err(), "{bad}");
        }
        assert!(TargetSpec::Sim.allows_parallel_runs());
        assert!(!TargetSpec::Vpcd.allows_parallel_runs());
        assert!(!TargetSpec::Pcsc("x".into()).allows_parallel_runs());
    }
}
