//! A fault plan in front of any card: what `mynasim relay --fault` puts between a program and
//! a card in a real reader (issue 10, "Relay a real card"; docs/faults.md). The simulated
//! card applies its own plan inside ([`super::Card::transmit_into`]); a card that is not
//! simulated cannot, so this wrapper decides per command with the same [`FaultPlan`] and
//! carries out what can be done from outside the card:
//!
//! | fault | the card behind | the program |
//! |---|---|---|
//! | `latency` | answers | the answer, late |
//! | `status` | is not sent the command | only the status word |
//! | `corrupt` | answers | the answer, corrupted |
//! | `drop_link` | answers, then is powered off | no answer; the reader connection drops |
//! | `remove` | is not sent the command; powered off | no answer; the card is out |
//! | `tear` | as `remove`: power cannot be cut *inside* a command from outside the card, so a VERIFY does not pay its try | as `remove` |

use super::faults::{self, Deliver, FaultAction, FaultPlan};
use super::{Card, VirtualCard};

/// `card` with `plan` applied from outside.
#[derive(Debug)]
pub struct Faulted<C> {
    card: C,
    plan: FaultPlan,
    deliver: Deliver,
}

impl<C: VirtualCard> Faulted<C> {
    /// `card`, with the faults of `plan` applied to its commands.
    pub fn new(card: C, plan: FaultPlan) -> Self {
        Self {
            card,
            plan,
            deliver: Deliver::Now,
        }
    }

    /// The card behind.
    pub fn inner(&self) -> &C {
        &self.card
    }
}

impl<C: VirtualCard> VirtualCard for Faulted<C> {
    fn atr(&self) -> &[u8] {
        self.card.atr()
    }

    fn power_on(&mut self) {
        self.card.power_on();
    }

    fn power_off(&mut self) {
        self.card.power_off();
    }

    fn reset(&mut self) {
        self.card.reset();
    }

    fn transmit_into(&mut self, apdu: &[u8], out: &mut Vec<u8>) {
        out.clear();
        let Some(action) = self.plan.decide(apdu) else {
            self.card.transmit_into(apdu, out);
            self.deliver = self.card.deliver();
            return;
        };
        self.deliver = match action {
            FaultAction::Latency { fixed, .. } => {
                self.card.transmit_into(apdu, out);
                match self.card.deliver() {
                    Deliver::Now => Deliver::After(fixed),
                    Deliver::After(own) => Deliver::After(own + fixed),
                    other => other,
                }
            }
            FaultAction::Status(sw) => {
                out.extend_from_slice(&sw);
                Deliver::Now
            }
            FaultAction::Corrupt(how) => {
                self.card.transmit_into(apdu, out);
                faults::corrupt(out, how);
                self.card.deliver()
            }
            FaultAction::DropLink => {
                self.card.transmit_into(apdu, out);
                let _ = self.card.deliver();
                out.clear();
                self.card.power_off();
                Deliver::DropLink
            }
            FaultAction::Remove(back) | FaultAction::Tear(back) => {
                self.card.power_off();
                Deliver::Gone(back)
            }
        };
    }

    fn deliver(&mut self) -> Deliver {
        std::mem::take(&mut self.deliver)
    }

    fn why_gone(&self) -> Option<String> {
        self.card.why_gone()
    }

    fn with_card(&mut self, change: &mut dyn FnMut(&mut Card)) -> bool {
        self.card.with_card(change)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::time::Duration;

    use super::*;
    use crate::card::EchoCard;
    use crate::card::faults::FaultSpec;

    fn plan(yaml: &str) -> FaultPlan {
        let specs: Vec<FaultSpec> = crate::profile::from_yaml_str(yaml, "test").unwrap();
        FaultPlan::compile(&specs, 7).unwrap()
    }

    /// Counts what reaches the card behind.
    #[derive(Debug, Default)]
    struct Counting {
        commands: usize,
        powered: bool,
    }

    impl VirtualCard for Counting {
        fn atr(&self) -> &[u8] {
            &[0x3B, 0x00]
        }
        fn power_on(&mut self) {
            self.powered = true;
        }
        fn power_off(&mut self) {
            self.powered = false;
        }
        fn reset(&mut self) {
            self.powered = true;
        }
        fn transmit_into(&mut self, _apdu: &[u8], out: &mut Vec<u8>) {
            out.clear();
            self.commands += 1;
            out.extend_from_slice(&[0x01, 0x02, 0x90, 0x00]);
        }
    }

    fn send(card: &mut impl VirtualCard, apdu: &[u8]) -> (Vec<u8>, Deliver) {
        let mut out = Vec::new();
        card.transmit_into(apdu, &mut out);
        (out, card.deliver())
    }

    const READ: [u8; 5] = [0x00, 0xB0, 0x00, 0x00, 0x02];
    const SELECT: [u8; 7] = [0x00, 0xA4, 0x02, 0x0C, 0x02, 0x00, 0x18];

    #[test]
    fn status_and_remove_keep_the_command_from_the_card() {
        let mut card = Faulted::new(
            Counting::default(),
            plan(
                "[{ on: read_binary, status: 6581 }, { on: select, remove: { reinsert_after: 1 } }]",
            ),
        );
        card.power_on();
        assert_eq!(send(&mut card, &READ), (vec![0x65, 0x81], Deliver::Now));
        assert_eq!(card.inner().commands, 0);
        assert_eq!(
            send(&mut card, &SELECT),
            (Vec::new(), Deliver::Gone(Some(Duration::from_secs(1))))
        );
        assert_eq!(card.inner().commands, 0);
        assert!(!card.inner().powered, "removed: powered off");
        // Each fired once (times: 1): now both pass through.
        card.power_on();
        assert_eq!(send(&mut card, &READ).0, [0x01, 0x02, 0x90, 0x00]);
        assert_eq!(send(&mut card, &SELECT).0, [0x01, 0x02, 0x90, 0x00]);
        assert_eq!(card.inner().commands, 2);
    }

    #[test]
    fn latency_corrupt_and_drop_link_answer_from_the_card() {
        let mut card = Faulted::new(
            Counting::default(),
            plan("[{ latency: { ms: 250 } }, { corrupt: { flip_bit: 0 } }, { drop_link: true }]"),
        );
        card.power_on();
        assert_eq!(
            send(&mut card, &READ),
            (
                vec![0x01, 0x02, 0x90, 0x00],
                Deliver::After(Duration::from_millis(250))
            )
        );
        assert_eq!(send(&mut card, &READ).0, [0x81, 0x02, 0x90, 0x00]);
        assert_eq!(send(&mut card, &READ), (Vec::new(), Deliver::DropLink));
        assert_eq!(card.inner().commands, 3);
        assert!(!card.inner().powered);
    }

    #[test]
    fn without_faults_it_is_the_card() {
        let mut card = Faulted::new(EchoCard, plan("[]"));
        card.power_on();
        assert_eq!(send(&mut card, &READ), (vec![0x90, 0x00], Deliver::Now));
    }
}
