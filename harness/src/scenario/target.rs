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

#[cfg(feature = "pcsc")]
pub use pcsc_targets::{PcscTarget, VpcdTarget};

/// Targets through PC/SC (feature `pcsc`).
#[cfg(feature = "pcsc")]
mod pcsc_targets {
    use std::net::SocketAddr;
    use std::time::Duration;

    use mynasim_simulator::Card;
    use mynasim_simulator::transport::card_side;

    use super::{Target, TargetError};
    use crate::pcsc_host::{self, PcscCard};

    fn error(f: crate::exit::Failure) -> TargetError {
        TargetError(format!("{:#}", f.error))
    }

    /// Whatever card is in a PC/SC reader: real hardware, or a card behind `mynasim serve`.
    /// The scenario's own card state does not apply here.
    pub struct PcscTarget {
        card: PcscCard,
        owns_card: bool,
    }

    impl std::fmt::Debug for PcscTarget {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("PcscTarget")
                .field("reader", &self.card.reader)
                .finish()
        }
    }

    impl PcscTarget {
        /// Connects to the card in the reader `reader` names (exactly, or a unique part).
        ///
        /// # Errors
        /// pcscd, the reader or a card not there.
        pub fn open(reader: &str) -> Result<Self, TargetError> {
            Ok(Self {
                card: PcscCard::open(reader).map_err(error)?,
                owns_card: false,
            })
        }
    }

    impl Target for PcscTarget {
        fn describe(&self) -> String {
            format!("pcsc:{}", self.card.reader)
        }

        fn power_on(&mut self) -> Result<Vec<u8>, TargetError> {
            self.card.power_on().map_err(error)
        }

        fn power_off(&mut self) -> Result<(), TargetError> {
            self.card.power_off().map_err(error)
        }

        fn reset(&mut self) -> Result<Vec<u8>, TargetError> {
            self.card.reset().map_err(error)
        }

        fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, TargetError> {
            self.card.transmit(apdu).map_err(error)
        }

        fn runs_scenario_card(&self) -> bool {
            self.owns_card
        }
    }

    /// The scenario's own card behind pcscd: its vpcd client connects to pcscd's vpcd driver
    /// (a thread with its own tokio runtime), and the scenario talks to it through PC/SC —
    /// the whole stack a PC/SC application sees. Dropping the target removes the card.
    pub struct VpcdTarget {
        inner: PcscTarget,
        reader: String,
        stop: Option<tokio::sync::oneshot::Sender<()>>,
        thread: Option<std::thread::JoinHandle<()>>,
    }

    impl std::fmt::Debug for VpcdTarget {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("VpcdTarget")
                .field("reader", &self.reader)
                .finish()
        }
    }

    /// How long a card may take to appear in, or leave, its reader.
    const WAIT: Duration = Duration::from_secs(10);

    impl VpcdTarget {
        /// Inserts `card` into the vpcd reader at `vpcd` and connects to it through PC/SC.
        ///
        /// # Errors
        /// Nothing listens at `vpcd`, or the card does not show up in a reader.
        pub fn insert(card: Card, vpcd: SocketAddr) -> Result<Self, TargetError> {
            let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
            let (ready_tx, ready_rx) = std::sync::mpsc::channel::<Result<(), String>>();
            let thread = std::thread::spawn(move || {
                let runtime = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ = ready_tx.send(Err(format!("cannot start the card's runtime: {e}")));
                        return;
                    }
                };
                runtime.block_on(async move {
                    let stream = match card_side::connect(vpcd).await {
                        Ok(s) => s,
                        Err(e) => {
                            let _ = ready_tx.send(Err(format!(
                                "nothing listens at {vpcd} ({e}): is pcscd running with the vsmartcard-vpcd driver?"
                            )));
                            return;
                        }
                    };
                    let _ = ready_tx.send(Ok(()));
                    let mut card = card;
                    let _ = card_side::serve_connection(stream, &mut card, |_| {}, async {
                        let _ = stopped.await;
                    })
                    .await;
                });
            });
            let mut target = Self {
                inner: PcscTarget {
                    // Replaced below once the reader is known; a placeholder keeps Drop simple.
                    card: match ready_rx.recv_timeout(WAIT) {
                        Ok(Ok(())) => {
                            let reader =
                                pcsc_host::wait_for_new_card("Virtual PCD", WAIT).map_err(error)?;
                            PcscCard::open(&reader).map_err(error)?
                        }
                        Ok(Err(e)) => return Err(TargetError(e)),
                        Err(_) => {
                            return Err(TargetError(format!("the card did not connect to {vpcd}")));
                        }
                    },
                    owns_card: true,
                },
                reader: String::new(),
                stop: Some(stop),
                thread: Some(thread),
            };
            target.reader = target.inner.card.reader.clone();
            Ok(target)
        }
    }

    impl Target for VpcdTarget {
        fn describe(&self) -> String {
            "vpcd".to_owned()
        }

        fn power_on(&mut self) -> Result<Vec<u8>, TargetError> {
            self.inner.power_on()
        }

        fn power_off(&mut self) -> Result<(), TargetError> {
            self.inner.power_off()
        }

        fn reset(&mut self) -> Result<Vec<u8>, TargetError> {
            self.inner.reset()
        }

        fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, TargetError> {
            self.inner.transmit(apdu)
        }

        fn runs_scenario_card(&self) -> bool {
            true
        }
    }

    impl Drop for VpcdTarget {
        /// Removes the card (closes its vpcd link) and waits until pcscd sees the reader
        /// empty, so the next scenario's card is a new insertion.
        fn drop(&mut self) {
            if let Some(stop) = self.stop.take() {
                let _ = stop.send(());
            }
            if let Some(thread) = self.thread.take() {
                let _ = thread.join();
            }
            if !self.reader.is_empty() {
                let _ = pcsc_host::wait_for_removal(&self.reader, WAIT);
            }
        }
    }
}
