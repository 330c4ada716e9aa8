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
    // Field order: the PC/SC connection goes before the card leaves, and the slot's lease
    // (its place in a parallel run) ends last.
    link: PcscLink,
    slot: Option<ThreadSlot>,
    lease: Option<SlotLease>,
}

/// One slot of a parallel run on the vpcd target, held while a scenario's card is in it.
/// Dropped, it goes back to the pool.
#[derive(Debug)]
pub struct SlotLease {
    pool: std::sync::Arc<std::sync::Mutex<Vec<u16>>>,
    slot: u16,
}

impl SlotLease {
    /// The slot (0 for the first).
    pub fn slot(&self) -> u16 {
        self.slot
    }
}

impl Drop for SlotLease {
    fn drop(&mut self) {
        if let Ok(mut free) = self.pool.lock() {
            free.push(self.slot);
        }
    }
}

/// The slots of a parallel run: slot `k` is the vpcd port `base + k`, whose reader pcscd
/// names `Virtual PCD 00 0K` (the reader entry being pcscd's first).
#[derive(Debug, Clone)]
pub struct SlotPool {
    free: std::sync::Arc<std::sync::Mutex<Vec<u16>>>,
}

impl SlotPool {
    /// Slots `0..n`.
    pub fn new(n: u16) -> Self {
        Self {
            free: std::sync::Arc::new(std::sync::Mutex::new((0..n).rev().collect())),
        }
    }

    /// A free slot; `None` when every one is taken (more jobs than slots).
    pub fn take(&self) -> Option<SlotLease> {
        let slot = self.free.lock().ok()?.pop()?;
        Some(SlotLease {
            pool: std::sync::Arc::clone(&self.free),
            slot,
        })
    }
}

impl std::fmt::Debug for VpcdLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VpcdLink")
            .field("reader", &self.link.reader())
            .field("slot", &self.lease.as_ref().map(SlotLease::slot))
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
        Self::insert_at(card, vpcd, "Virtual PCD", None)
    }

    /// [`VpcdLink::insert`] into the slot `lease` holds in a parallel run: port `vpcd +
    /// slot`, found in the reader `Virtual PCD 00 0K` only — never in another job's.
    ///
    /// # Errors
    /// As [`VpcdLink::insert`].
    pub fn insert_leased(
        card: impl VirtualCard + Send + 'static,
        vpcd: SocketAddr,
        lease: SlotLease,
    ) -> Result<Self, TargetError> {
        let port = vpcd.port().checked_add(lease.slot()).ok_or_else(|| {
            TargetError::Unreachable(format!("slot {}: port out of range", lease.slot()))
        })?;
        let slot = lease.slot();
        let reader = format!("Virtual PCD 00 {slot:02X}");
        Self::insert_at(card, SocketAddr::new(vpcd.ip(), port), &reader, Some(lease)).map_err(|e| {
            match e {
                TargetError::Unreachable(why) if slot > 0 => TargetError::Unreachable(format!(
                    "{why} (job slot {slot}: does the reader have {} slots? --jobs N needs N; \
                     Debian's driver has 2, mynasim-ifd up to 16: docs/readers.md)",
                    slot + 1
                )),
                other => other,
            }
        })
    }

    fn insert_at(
        card: impl VirtualCard + Send + 'static,
        vpcd: SocketAddr,
        reader_part: &str,
        lease: Option<SlotLease>,
    ) -> Result<Self, TargetError> {
        // Begun before the card goes in: with card events it is visible at once.
        let watch = pcsc::NewCardWatch::begin(reader_part)?;
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
            lease,
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
