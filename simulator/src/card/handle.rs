//! The one card handle: what every host, transport and wrapper drives.
//!
//! [`VirtualCard`] is the four power operations of a reader plus APDU exchange. The
//! simulated [`Card`] implements it, and so does anything that stands in front of a card —
//! an [`EchoCard`] for the benchmarks, a recorder, a fault plan, a replay of a recorded
//! session — so a wrapper written once reaches every place a card goes: the in-process
//! scenario target, `mynasim serve`'s vpcd slots and the benchmarks.

use super::Card;
use super::faults::{Deliver, FaultPlan};

/// A card as a reader sees it: power, ATR, APDUs. Sans-IO, like [`Card`].
pub trait VirtualCard {
    /// The ATR, powered or not (pcscd polls it either way).
    fn atr(&self) -> &[u8];
    /// Cold start (vpcd `01`; PC/SC `SCARD_UNPOWER_CARD` then connect).
    fn power_on(&mut self);
    /// Power off (vpcd `00`): the session and everything verified in it end.
    fn power_off(&mut self);
    /// Warm reset (vpcd `02`).
    fn reset(&mut self);
    /// One command APDU; the response (data, SW1 SW2) into `out`, which is cleared first. An
    /// unpowered card leaves `out` empty (it is mute).
    fn transmit_into(&mut self, apdu: &[u8], out: &mut Vec<u8>);
    /// What the host must do with the last answer: send it now, later, not at all (the card
    /// left the reader), or drop the connection — a fault plan's decision
    /// ([`super::faults`]). Taken: asking again says [`Deliver::Now`]. Default: now.
    fn deliver(&mut self) -> Deliver {
        Deliver::Now
    }
    /// Adds faults that apply from now on (a scenario's `fault:` step); whether this card
    /// takes faults. Default: it does not.
    fn arm_faults(&mut self, plan: FaultPlan) -> bool {
        let _ = plan;
        false
    }
    /// Why the card left the reader after its last [`Deliver::Gone`] when the cause is the
    /// host's command rather than a fault: a replay card names the command that left its
    /// recording ([`crate::replay`]). Hosts report it as a divergence (a failed test), not as
    /// an absent card. Default: `None`, a fault or a removal.
    fn why_gone(&self) -> Option<String> {
        None
    }

    /// Changes the simulated card itself (a validation step re-issuing its certificates);
    /// whether there is one to change. Default: there is not.
    fn with_card(&mut self, change: &mut dyn FnMut(&mut Card)) -> bool {
        let _ = change;
        false
    }
}

impl VirtualCard for Card {
    fn atr(&self) -> &[u8] {
        Card::atr(self)
    }

    fn power_on(&mut self) {
        Card::power_on(self);
    }

    fn power_off(&mut self) {
        Card::power_off(self);
    }

    fn reset(&mut self) {
        Card::reset(self);
    }

    fn transmit_into(&mut self, apdu: &[u8], out: &mut Vec<u8>) {
        Card::transmit_into(self, apdu, out);
    }

    fn deliver(&mut self) -> Deliver {
        Card::deliver(self)
    }

    fn arm_faults(&mut self, plan: FaultPlan) -> bool {
        self.add_faults(plan);
        true
    }

    fn with_card(&mut self, change: &mut dyn FnMut(&mut Card)) -> bool {
        change(self);
        true
    }
}

impl<C: VirtualCard + ?Sized> VirtualCard for Box<C> {
    fn atr(&self) -> &[u8] {
        (**self).atr()
    }

    fn power_on(&mut self) {
        (**self).power_on();
    }

    fn power_off(&mut self) {
        (**self).power_off();
    }

    fn reset(&mut self) {
        (**self).reset();
    }

    fn transmit_into(&mut self, apdu: &[u8], out: &mut Vec<u8>) {
        (**self).transmit_into(apdu, out);
    }

    fn deliver(&mut self) -> Deliver {
        (**self).deliver()
    }

    fn arm_faults(&mut self, plan: FaultPlan) -> bool {
        (**self).arm_faults(plan)
    }

    fn with_card(&mut self, change: &mut dyn FnMut(&mut Card)) -> bool {
        (**self).with_card(change)
    }

    fn why_gone(&self) -> Option<String> {
        (**self).why_gone()
    }
}

/// The smallest card there is: answers every APDU with `90 00` at once, whatever its power
/// state. The benchmarks' baseline for what a transport alone costs.
#[derive(Debug, Clone, Default)]
pub struct EchoCard;

impl EchoCard {
    /// Its ATR: `3B 80 80 01 01` (T=1, no historical bytes; TCK correct).
    pub const ATR: [u8; 5] = [0x3B, 0x80, 0x80, 0x01, 0x01];
}

impl VirtualCard for EchoCard {
    fn atr(&self) -> &[u8] {
        &Self::ATR
    }

    fn power_on(&mut self) {}

    fn power_off(&mut self) {}

    fn reset(&mut self) {}

    fn transmit_into(&mut self, _apdu: &[u8], out: &mut Vec<u8>) {
        out.clear();
        out.extend_from_slice(&[0x90, 0x00]);
    }
}
