//! The in-process target: a [`VirtualCard`] — the scenario's simulated card, or anything
//! wrapping one — driven directly, with no transport in between.

use mynasim_simulator::card::VirtualCard;

use super::{Link, TargetError};

/// A card in process.
pub struct SimLink {
    card: Box<dyn VirtualCard + Send>,
    response: Vec<u8>,
}

impl SimLink {
    /// A link to this card (unpowered until [`Link::power_on`]).
    pub fn new(card: impl VirtualCard + Send + 'static) -> Self {
        Self {
            card: Box::new(card),
            response: Vec::with_capacity(512),
        }
    }
}

impl std::fmt::Debug for SimLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SimLink")
    }
}

impl Link for SimLink {
    fn describe(&self) -> String {
        "sim".to_owned()
    }

    fn power_on(&mut self) -> Result<Vec<u8>, TargetError> {
        self.card.power_on();
        Ok(self.card.atr().to_vec())
    }

    fn power_off(&mut self) -> Result<(), TargetError> {
        self.card.power_off();
        Ok(())
    }

    fn reset(&mut self) -> Result<Vec<u8>, TargetError> {
        self.card.reset();
        Ok(self.card.atr().to_vec())
    }

    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, TargetError> {
        self.card.transmit_into(apdu, &mut self.response);
        if self.response.is_empty() {
            return Err(TargetError::Protocol(
                "the card is not powered (no answer)".to_owned(),
            ));
        }
        Ok(self.response.clone())
    }

    fn runs_scenario_card(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use mynasim_simulator::card::EchoCard;

    use super::*;

    #[test]
    fn the_sim_link_drives_any_virtual_card() {
        let mut link = SimLink::new(EchoCard);
        assert_eq!(link.power_on(), Ok(EchoCard::ATR.to_vec()));
        assert_eq!(link.transmit(&[0, 0xA4, 0, 0]), Ok(vec![0x90, 0x00]));
        assert!(link.runs_scenario_card());
        assert_eq!(link.describe(), "sim");
    }
}
