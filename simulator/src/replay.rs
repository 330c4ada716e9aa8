//! A card that answers from a recorded transcript (issue 10, "A replay card"): the app under
//! test sees the field card's bytes, in order, with no simulator behind them.
//!
//! Each command is compared with the next recorded one (both with their secrets masked, so a
//! recording with PINs masked still replays whatever PIN the app sends); on a match the
//! recorded response goes back. The first command that differs is a [`Divergence`]: it names
//! the command, the one the recording expected and the nearest recorded command (the most
//! bytes in common). What follows depends on [`OnDivergence`]: `Fail` takes the card out of
//! the reader (the app sees it removed; the host reports the divergence), `Simulate` hands
//! this and every later command to a simulated card (a hybrid: the recorded prefix, then the
//! simulator). When the recording runs out, that is a divergence too.
//!
//! In a hybrid the simulated card follows the session from the start: every command that
//! matched the recording is sent to it too (its answer dropped), so at the divergence it has
//! the application and EF selected, and the PINs verified, that the session left — the
//! commands after the divergence meet the card state they expect.
//!
//! Power: the ATR is the recording's first (or the fallback's); power cycles do not rewind
//! the recording, because a real session's power events are in it as they happened.

use crate::card::{Deliver, VirtualCard};
use crate::hex;
use crate::transcript::{Event, Exchange, Transcript};

/// What the replay card does once a command differs from the recording.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnDivergence {
    /// Leave the reader and stay out (the default: the recording is all there is).
    #[default]
    Fail,
    /// Answer this and every later command from the simulated card.
    Simulate,
}

/// The first command that did not match the recording.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Divergence {
    /// 1-based number of the command (and of the recorded exchange it was compared with).
    pub number: usize,
    /// What the host sent (secrets masked).
    pub sent: Vec<u8>,
    /// What the recording has at that place; `None` when it has no more exchanges.
    pub expected: Option<Vec<u8>>,
    /// The recorded command most like the one sent: its number and bytes.
    pub nearest: Option<(usize, Vec<u8>)>,
}

impl std::fmt::Display for Divergence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let shown = |b: &[u8]| crate::transcript::format_command(b, true);
        write!(
            f,
            "command {} differs from the recording: sent {}",
            self.number,
            shown(&self.sent)
        )?;
        match &self.expected {
            Some(expected) => write!(f, ", recorded {}", shown(expected))?,
            None => write!(
                f,
                ", but the recording has only {} exchanges",
                self.number - 1
            )?,
        }
        if let Some((n, nearest)) = &self.nearest {
            write!(f, "; nearest recorded command: {n} ({})", shown(nearest))?;
        }
        Ok(())
    }
}

/// A card answering from a recording, with an optional simulated card behind it.
#[derive(Debug)]
pub struct ReplayCard<C> {
    atr: Vec<u8>,
    exchanges: Vec<Exchange>,
    next: usize,
    powered: bool,
    on_divergence: OnDivergence,
    fallback: Option<C>,
    divergence: Option<Divergence>,
    deliver: Deliver,
}

/// Masked command bytes, for comparing.
fn masked(command: &[u8]) -> Vec<u8> {
    let mut x = Exchange::new(command.to_vec(), Vec::new());
    x.redact();
    x.command
}

impl<C: VirtualCard> ReplayCard<C> {
    /// A replay of `recording`'s exchanges; `fallback` answers after a divergence when
    /// `on_divergence` is `Simulate` (and gives the ATR when the recording has none).
    pub fn new(recording: &Transcript, on_divergence: OnDivergence, fallback: Option<C>) -> Self {
        let atr = recording
            .entries
            .iter()
            .find_map(|e| match &e.event {
                Event::PowerOn { atr } | Event::Reset { atr } => Some(atr.clone()),
                _ => None,
            })
            .or_else(|| fallback.as_ref().map(|c| c.atr().to_vec()))
            .unwrap_or_default();
        Self {
            atr,
            exchanges: recording.exchanges().cloned().collect(),
            next: 0,
            powered: false,
            on_divergence,
            fallback,
            divergence: None,
            deliver: Deliver::Now,
        }
    }

    /// The first divergence, once there was one.
    pub fn divergence(&self) -> Option<&Divergence> {
        self.divergence.as_ref()
    }

    /// How many recorded exchanges have been answered.
    pub fn replayed(&self) -> usize {
        self.next
    }

    fn diverge(&mut self, sent: &[u8]) {
        let sent = masked(sent);
        let common = |a: &[u8], b: &[u8]| a.iter().zip(b).take_while(|(x, y)| x == y).count();
        let nearest = self
            .exchanges
            .iter()
            .enumerate()
            .map(|(i, x)| (i + 1, masked(&x.command)))
            .max_by_key(|(i, c)| {
                (
                    common(c, &sent),
                    std::cmp::Reverse(i.abs_diff(self.next + 1)),
                )
            })
            .filter(|(_, c)| common(c, &sent) > 0);
        self.divergence = Some(Divergence {
            number: self.next + 1,
            expected: self.exchanges.get(self.next).map(|x| masked(&x.command)),
            sent,
            nearest,
        });
    }
}

impl<C: VirtualCard> VirtualCard for ReplayCard<C> {
    fn atr(&self) -> &[u8] {
        &self.atr
    }

    fn power_on(&mut self) {
        self.powered = true;
        if let Some(card) = &mut self.fallback {
            card.power_on();
        }
    }

    fn power_off(&mut self) {
        self.powered = false;
        if let Some(card) = &mut self.fallback {
            card.power_off();
        }
    }

    fn reset(&mut self) {
        self.powered = true;
        if let Some(card) = &mut self.fallback {
            card.reset();
        }
    }

    fn transmit_into(&mut self, apdu: &[u8], out: &mut Vec<u8>) {
        out.clear();
        if !self.powered {
            return;
        }
        if self.divergence.is_none() {
            match self.exchanges.get(self.next) {
                Some(x) if masked(&x.command) == masked(apdu) => {
                    out.extend_from_slice(&x.response);
                    self.next += 1;
                    if let (OnDivergence::Simulate, Some(card)) =
                        (self.on_divergence, &mut self.fallback)
                    {
                        // The simulated card follows along, its answer dropped (module doc).
                        let mut dropped = Vec::new();
                        card.transmit_into(apdu, &mut dropped);
                        let _ = card.deliver();
                    }
                    return;
                }
                _ => self.diverge(apdu),
            }
        }
        match (self.on_divergence, &mut self.fallback) {
            (OnDivergence::Simulate, Some(card)) => {
                card.transmit_into(apdu, out);
                self.deliver = card.deliver();
            }
            _ => self.deliver = Deliver::Gone(None),
        }
    }

    fn deliver(&mut self) -> Deliver {
        std::mem::take(&mut self.deliver)
    }

    fn why_gone(&self) -> Option<String> {
        match (self.on_divergence, &self.divergence) {
            (OnDivergence::Fail, Some(divergence)) => {
                Some(format!("replay card left the reader: {divergence}"))
            }
            _ => None,
        }
    }
}

impl Divergence {
    /// The sent command as spaced hex (secrets masked).
    pub fn sent_hex(&self) -> String {
        hex::spaced(&self.sent)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

    use super::*;
    use crate::card::Card;

    fn recording() -> Transcript {
        Transcript::parse(
            "-- power on, ATR 3B 88 80 01\n\
             >> 00 A4 04 0C 0A D3 92 F0 00 26 01 00 00 00 01\n<< 90 00\n\
             >> 00 A4 02 0C 02 00 18\n<< 90 00\n\
             >> 00 20 00 80 04 ** ** ** **\n<< 90 00\n\
             >> 00 B0 00 00 02\n<< 12 34 90 00\n",
        )
        .unwrap()
    }

    fn send(card: &mut impl VirtualCard, apdu: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        card.transmit_into(apdu, &mut out);
        out
    }

    const SELECT_JPKI: [u8; 15] = [
        0x00, 0xA4, 0x04, 0x0C, 0x0A, 0xD3, 0x92, 0xF0, 0x00, 0x26, 0x01, 0x00, 0x00, 0x00, 0x01,
    ];

    #[test]
    fn answers_the_recording_in_order_whatever_pin_is_sent() {
        let mut card = ReplayCard::<Card>::new(&recording(), OnDivergence::Fail, None);
        assert_eq!(card.atr(), [0x3B, 0x88, 0x80, 0x01]);
        assert!(send(&mut card, &SELECT_JPKI).is_empty(), "unpowered: mute");
        card.power_on();
        assert_eq!(send(&mut card, &SELECT_JPKI), [0x90, 0x00]);
        assert_eq!(
            send(&mut card, &[0x00, 0xA4, 0x02, 0x0C, 0x02, 0x00, 0x18]),
            [0x90, 0x00]
        );
        assert_eq!(
            send(
                &mut card,
                &[0x00, 0x20, 0x00, 0x80, 0x04, 0x39, 0x39, 0x39, 0x39]
            ),
            [0x90, 0x00]
        );
        assert_eq!(
            send(&mut card, &[0x00, 0xB0, 0x00, 0x00, 0x02]),
            [0x12, 0x34, 0x90, 0x00]
        );
        assert_eq!(card.deliver(), Deliver::Now);
        assert_eq!(card.replayed(), 4);
        // Past the end: a divergence, the card leaves the reader.
        assert!(send(&mut card, &[0x00, 0xB0, 0x00, 0x02, 0x02]).is_empty());
        assert_eq!(card.deliver(), Deliver::Gone(None));
        let d = card.divergence().unwrap().to_string();
        assert!(d.starts_with("command 5 differs from the recording: sent 00 B0 00 02 02, but the recording has only 4 exchanges; nearest recorded command: 4 (00 B0 00 00 02)"), "{d}");
    }

    #[test]
    fn a_divergence_names_the_command_the_expected_one_and_the_nearest() {
        let mut card = ReplayCard::<Card>::new(&recording(), OnDivergence::Fail, None);
        card.power_on();
        send(&mut card, &SELECT_JPKI);
        assert!(send(&mut card, &[0x00, 0xA4, 0x02, 0x0C, 0x02, 0x00, 0x17]).is_empty());
        let d = card.divergence().unwrap();
        assert_eq!(d.number, 2);
        assert_eq!(
            d.to_string(),
            "command 2 differs from the recording: sent 00 A4 02 0C 02 00 17, recorded 00 A4 02 0C 02 00 18; nearest recorded command: 2 (00 A4 02 0C 02 00 18)"
        );
        // It stays out: later commands get nothing either.
        assert!(send(&mut card, &SELECT_JPKI).is_empty());
    }

    #[test]
    fn simulate_hands_the_rest_to_the_simulated_card() {
        let yaml = include_str!("../../scenarios/profiles/default.yaml");
        let fallback = crate::profile::Profile::from_yaml(yaml, "default.yaml")
            .and_then(|p| p.personalise("default.yaml"))
            .unwrap()
            .issue()
            .unwrap()
            .card;
        let mut card = ReplayCard::new(&recording(), OnDivergence::Simulate, Some(fallback));
        card.power_on();
        assert_eq!(send(&mut card, &SELECT_JPKI), [0x90, 0x00]);
        // Not recorded (the recording expects SELECT EF 0018): the simulator answers this
        // and everything after.
        let answer = send(&mut card, &SELECT_JPKI);
        assert_eq!(answer, [0x90, 0x00]);
        assert_eq!(card.deliver(), Deliver::Now);
        assert!(card.divergence().is_some());
        assert_eq!(
            send(&mut card, &[0x00, 0xA4, 0x02, 0x0C, 0x02, 0x00, 0x06]),
            [0x90, 0x00]
        );
    }
}
