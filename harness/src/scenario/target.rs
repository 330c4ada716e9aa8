//! Where scenarios run: the in-process simulator, or a card behind PC/SC.

use std::fmt;

use mynasim_simulator::Card;

/// Why a target failed (not a card answer: those are status words).
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct TargetError(pub String);

/// A card to talk to.
pub trait Target {
    /// What it is, for reports (`sim`, `pcsc:Virtual PCD 00 00`).
    fn describe(&self) -> String;
    /// Cold start; returns the ATR.
    fn power_on(&mut self) -> Result<Vec<u8>, TargetError>;
    /// Remove power.
    fn power_off(&mut self) -> Result<(), TargetError>;
    /// Warm reset; returns the ATR.
    fn reset(&mut self) -> Result<Vec<u8>, TargetError>;
    /// Sends a command APDU, returns the response (data + SW).
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, TargetError>;
    /// Whether the scenario's card state applies to this target (it does for targets that
    /// run the scenario's own simulated card).
    fn runs_scenario_card(&self) -> bool;
}

/// The in-process simulator: the scenario's card, freshly issued.
pub struct SimTarget {
    card: Card,
}

impl SimTarget {
    /// A target over this card.
    pub fn new(card: Card) -> Self {
        Self { card }
    }
}

impl fmt::Debug for SimTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SimTarget")
    }
}

impl Target for SimTarget {
    fn describe(&self) -> String {
        "sim".to_owned()
    }

    fn power_on(&mut self) -> Result<Vec<u8>, TargetError> {
        Ok(self.card.power_on().to_vec())
    }

    fn power_off(&mut self) -> Result<(), TargetError> {
        self.card.power_off();
        Ok(())
    }

    fn reset(&mut self) -> Result<Vec<u8>, TargetError> {
        Ok(self.card.reset().to_vec())
    }

    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, TargetError> {
        let response = self.card.transmit(apdu);
        if response.is_empty() {
            return Err(TargetError(
                "the card is not powered (no answer)".to_owned(),
            ));
        }
        Ok(response)
    }

    fn runs_scenario_card(&self) -> bool {
        true
    }
}
