//! A card behind a [`Link`] played as a [`VirtualCard`]: what `mynasim relay --reader NAME`
//! puts behind pcscd's virtual reader so that a program talking to "Virtual PCD 00 00"
//! talks to the card in a real reader (issue 10, "Relay a real card"). Power events are
//! passed on (a cold start of the virtual card power-cycles the real one); a command the
//! link cannot deliver (the real card was removed) drops the virtual reader's link, so the
//! program sees the card go and come back when it is there again.
//!
//! The link's calls block (PC/SC is blocking): the hosting loop calls them from its own
//! task, one card per relay.

use mynasim_simulator::card::{Deliver, VirtualCard};

use super::Link;

/// A [`Link`]'s card as a virtual card.
#[derive(Debug)]
pub struct LinkCard<L> {
    link: L,
    atr: Vec<u8>,
    powered: bool,
    deliver: Deliver,
}

impl<L: Link> LinkCard<L> {
    /// The card behind `link`, whose ATR is `atr` (the link connected already).
    pub fn new(link: L, atr: Vec<u8>) -> Self {
        Self {
            link,
            atr,
            powered: false,
            deliver: Deliver::Now,
        }
    }
}

impl<L: Link> VirtualCard for LinkCard<L> {
    fn atr(&self) -> &[u8] {
        &self.atr
    }

    fn power_on(&mut self) {
        match self.link.power_on() {
            Ok(atr) => {
                self.atr = atr;
                self.powered = true;
            }
            Err(e) => {
                tracing::warn!("relay: cannot power on {}: {e}", self.link.describe());
                self.powered = false;
            }
        }
    }

    fn power_off(&mut self) {
        if let Err(e) = self.link.power_off() {
            tracing::warn!("relay: cannot power off {}: {e}", self.link.describe());
        }
        self.powered = false;
    }

    fn reset(&mut self) {
        match self.link.reset() {
            Ok(atr) => {
                self.atr = atr;
                self.powered = true;
            }
            Err(e) => tracing::warn!("relay: cannot reset {}: {e}", self.link.describe()),
        }
    }

    fn transmit_into(&mut self, apdu: &[u8], out: &mut Vec<u8>) {
        out.clear();
        if !self.powered {
            return;
        }
        match self.link.transmit(apdu) {
            Ok(response) => out.extend_from_slice(&response),
            Err(e) => {
                tracing::warn!("relay: {}: {e}", self.link.describe());
                self.powered = false;
                self.deliver = Deliver::DropLink;
            }
        }
    }

    fn deliver(&mut self) -> Deliver {
        std::mem::take(&mut self.deliver)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::target::SimLink;

    #[test]
    fn commands_and_power_go_through_to_the_linked_card() {
        let yaml = include_str!("../../../scenarios/profiles/default.yaml");
        let card = mynasim_simulator::profile::Profile::from_yaml(yaml, "default.yaml")
            .and_then(|p| p.personalise("default.yaml"))
            .unwrap()
            .issue()
            .unwrap()
            .card;
        let atr = card.atr().to_vec();
        let mut relay = LinkCard::new(SimLink::new(card), atr.clone());
        let mut out = Vec::new();
        relay.transmit_into(&[0x00, 0xA4, 0x04, 0x0C], &mut out);
        assert!(out.is_empty(), "unpowered: mute");
        relay.power_on();
        assert_eq!(relay.atr(), atr);
        let select = [
            0x00, 0xA4, 0x04, 0x0C, 0x0A, 0xD3, 0x92, 0xF0, 0x00, 0x26, 0x01, 0x00, 0x00, 0x00,
            0x01,
        ];
        relay.transmit_into(&select, &mut out);
        assert_eq!(out, [0x90, 0x00]);
        relay.transmit_into(&[0x00, 0xA4, 0x02, 0x0C, 0x02, 0x00, 0x18], &mut out);
        relay.transmit_into(&[0x00, 0x20, 0x00, 0x80], &mut out);
        assert_eq!(out, [0x63, 0xC3]);
        assert_eq!(relay.deliver(), Deliver::Now);
        relay.power_off();
        relay.transmit_into(&select, &mut out);
        assert!(out.is_empty());
    }
}
