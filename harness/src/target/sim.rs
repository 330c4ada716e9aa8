//! The in-process target: a [`VirtualCard`] — the scenario's simulated card, or anything
//! wrapping one — driven directly, with no transport in between.

use std::time::Instant;

use mynasim_simulator::card::{Deliver, VirtualCard};

use super::{Link, TargetError};

/// A card in process.
pub struct SimLink {
    card: Box<dyn VirtualCard + Send>,
    response: Vec<u8>,
    /// A fault took the card out of the reader: back at this time, or never (`Some(None)`).
    out_until: Option<Option<Instant>>,
}

impl SimLink {
    /// A link to this card (unpowered until [`Link::power_on`]).
    pub fn new(card: impl VirtualCard + Send + 'static) -> Self {
        Self {
            card: Box::new(card),
            response: Vec::with_capacity(512),
            out_until: None,
        }
    }
}

impl SimLink {
    /// Waits until a card a fault took out is back in the reader; fails when it never comes
    /// back.
    fn back_in_reader(&mut self) -> Result<(), TargetError> {
        match self.out_until.take() {
            None => Ok(()),
            Some(None) => {
                self.out_until = Some(None);
                Err(TargetError::Removed(
                    "the card is out of the reader and stays out (a fault with no \
                     reinsert_after)"
                        .to_owned(),
                ))
            }
            Some(Some(at)) => {
                std::thread::sleep(at.saturating_duration_since(Instant::now()));
                Ok(())
            }
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
        self.back_in_reader()?;
        self.card.power_on();
        Ok(self.card.atr().to_vec())
    }

    fn power_off(&mut self) -> Result<(), TargetError> {
        self.card.power_off();
        Ok(())
    }

    fn reset(&mut self) -> Result<Vec<u8>, TargetError> {
        self.back_in_reader()?;
        self.card.reset();
        Ok(self.card.atr().to_vec())
    }

    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, TargetError> {
        if self.out_until.is_some() {
            return Err(TargetError::Removed(
                "the card is out of the reader (a fault took it out)".to_owned(),
            ));
        }
        self.card.transmit_into(apdu, &mut self.response);
        match self.card.deliver() {
            Deliver::Now => {}
            // The shell sleeps; the card only said how long.
            Deliver::After(delay) => std::thread::sleep(delay),
            Deliver::Gone(back) => {
                self.out_until = Some(back.map(|d| Instant::now() + d));
                return Err(match self.card.why_gone() {
                    Some(why) => TargetError::Diverged(format!("no answer: {why}")),
                    None => TargetError::Removed(
                        "no answer: the card left the reader mid-command (a fault)".to_owned(),
                    ),
                });
            }
            Deliver::DropLink => {
                return Err(TargetError::Removed(
                    "no answer: the reader connection dropped mid-command (a fault)".to_owned(),
                ));
            }
        }
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

    fn with_card(
        &mut self,
        change: &mut dyn FnMut(&mut mynasim_simulator::card::Card),
    ) -> Result<(), TargetError> {
        if self.card.with_card(change) {
            Ok(())
        } else {
            Err(TargetError::Protocol(
                "this card is not a simulated My Number Card".to_owned(),
            ))
        }
    }

    fn arm_faults(&mut self, plan: mynasim_simulator::card::FaultPlan) -> Result<(), TargetError> {
        if self.card.arm_faults(plan) {
            Ok(())
        } else {
            Err(TargetError::Protocol(
                "this card takes no faults (it is not a simulated My Number Card)".to_owned(),
            ))
        }
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
