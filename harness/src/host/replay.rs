//! The replay card as the hosts serve it (`serve --replay`, `exec --replay`): a
//! [`ReplayCard`] that reports its first divergence once, as it happens, to whoever hosts it
//! (issue 10, "A replay card"; docs/field-bugs.md).

use mynasim_simulator::card::{Card, Deliver, VirtualCard};
use mynasim_simulator::replay::{Divergence, ReplayCard};

/// Called once, with the first divergence.
pub type OnReport = Box<dyn FnMut(&Divergence) + Send>;

/// A replay card that tells its host where the app left the recording.
pub struct Reporting {
    card: ReplayCard<Card>,
    report: Option<OnReport>,
}

impl Reporting {
    /// `card`, calling `report` with its first divergence.
    pub fn new(card: ReplayCard<Card>, report: OnReport) -> Self {
        Self {
            card,
            report: Some(report),
        }
    }
}

impl std::fmt::Debug for Reporting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reporting")
            .field("replayed", &self.card.replayed())
            .field("divergence", &self.card.divergence())
            .finish()
    }
}

impl VirtualCard for Reporting {
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
        self.card.transmit_into(apdu, out);
        if let Some(divergence) = self.card.divergence()
            && let Some(mut report) = self.report.take()
        {
            report(divergence);
        }
    }

    fn deliver(&mut self) -> Deliver {
        self.card.deliver()
    }

    fn why_gone(&self) -> Option<String> {
        self.card.why_gone()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::sync::{Arc, Mutex};

    use mynasim_simulator::replay::OnDivergence;
    use mynasim_simulator::transcript::Transcript;

    use super::*;

    #[test]
    fn reports_the_first_divergence_once() {
        let recording = Transcript::parse(
            "-- power on, ATR 3B 00\n>> 00 84 00 00 08\n<< 01 02 03 04 05 06 07 08 90 00\n",
        )
        .unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&seen);
        let mut card = Reporting::new(
            ReplayCard::new(&recording, OnDivergence::Fail, None),
            Box::new(move |d| log.lock().unwrap().push(d.to_string())),
        );
        card.power_on();
        let mut out = Vec::new();
        card.transmit_into(&[0x00, 0x84, 0x00, 0x00, 0x08], &mut out);
        assert_eq!(out.len(), 10);
        assert!(seen.lock().unwrap().is_empty());
        card.transmit_into(&[0x00, 0x84, 0x00, 0x00, 0x10], &mut out);
        assert!(out.is_empty());
        assert_eq!(card.deliver(), Deliver::Gone(None));
        card.transmit_into(&[0x00, 0x84, 0x00, 0x00, 0x10], &mut out);
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 1, "{seen:?}");
        assert!(seen[0].starts_with("command 2 differs"), "{}", seen[0]);
        assert!(card.why_gone().unwrap().contains("command 2 differs"));
    }
}
