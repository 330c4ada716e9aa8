//! The scenario's own card behind pcscd (feature `pcsc`): the card goes into a vpcd slot
//! through the one hosting loop ([`crate::host::slot`]) and the scenario talks to it through
//! PC/SC — the whole stack a PC/SC application sees.

use std::net::SocketAddr;
use std::time::Duration;

use mynasim_simulator::card::VirtualCard;

use super::pcsc::{self, PcscLink};
use super::{Link, TargetError};
use crate::host::slot::{MIN_ABSENCE_WITH_EVENTS, SlotSpec, ThreadSlot};

/// The vendor name mynasim-ifd gives (`SCARD_ATTR_VENDOR_NAME`; `ifd/src/lib.rs` `VENDOR`).
const MYNASIM_IFD_VENDOR: &str = "mynasim";

/// How long a card may take to appear in, or leave, its reader.
const WAIT: Duration = Duration::from_secs(10);

/// A card inserted into pcscd's vpcd reader, driven through PC/SC. Dropping it removes the
/// card and waits until pcscd sees the reader empty, so the next card is a new insertion.
pub struct VpcdLink {
    // Field order: the PC/SC connection goes before the card leaves.
    link: PcscLink,
    slot: Option<ThreadSlot>,
}

impl std::fmt::Debug for VpcdLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VpcdLink")
            .field("reader", &self.link.reader())
            .finish()
    }
}

impl VpcdLink {
    /// Inserts `card` into the vpcd reader at `vpcd` and connects to it through PC/SC.
    ///
    /// # Errors
    /// Nothing listens at `vpcd`, or the card does not show up in a reader.
    pub fn insert(
        card: impl VirtualCard + Send + 'static,
        vpcd: SocketAddr,
    ) -> Result<Self, TargetError> {
        // Begun before the card goes in: with card events it is visible at once.
        let watch = pcsc::NewCardWatch::begin("Virtual PCD")?;
        let slot = ThreadSlot::spawn(
            SlotSpec {
                number: 0,
                addr: vpcd,
            },
            card,
        )
        .map_err(|e| TargetError::Unreachable(format!("cannot start the card's thread: {e}")))?;
        match slot.wait_for(WAIT, |s| s.connected || s.last_error.is_some()) {
            Ok(status) if status.connected => {}
            Ok(status) | Err(status) => {
                return Err(TargetError::Unreachable(format!(
                    "nothing listens at {vpcd} ({}): is pcscd running with the vsmartcard-vpcd \
                     driver?",
                    status.last_error.as_deref().unwrap_or("no connection")
                )));
            }
        }
        let reader = watch.wait(WAIT)?;
        let link = PcscLink::open(&reader)?.owning_the_card();
        // mynasim-ifd reports every removal, however short: faults need not keep the card
        // out for pcscd's 400 ms poll.
        if link.reader_vendor().as_deref() == Some(MYNASIM_IFD_VENDOR) {
            slot.handle().set_min_absence(MIN_ABSENCE_WITH_EVENTS);
        }
        Ok(Self {
            link,
            slot: Some(slot),
        })
    }
}

impl Link for VpcdLink {
    fn describe(&self) -> String {
        "vpcd".to_owned()
    }

    fn power_on(&mut self) -> Result<Vec<u8>, TargetError> {
        self.link.power_on()
    }

    fn power_off(&mut self) -> Result<(), TargetError> {
        self.link.power_off()
    }

    fn reset(&mut self) -> Result<Vec<u8>, TargetError> {
        self.link.reset()
    }

    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, TargetError> {
        self.link.transmit(apdu)
    }

    fn runs_scenario_card(&self) -> bool {
        true
    }
}

impl Drop for VpcdLink {
    fn drop(&mut self) {
        let reader = self.link.reader().to_owned();
        // Stopping the slot closes the card's vpcd connection: the card is removed.
        drop(self.slot.take());
        let _ = pcsc::wait_for_removal(&reader, WAIT);
    }
}
