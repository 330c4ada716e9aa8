//! mynasim-ifd: a pcsc-lite reader driver for vpcd cards.
//!
//! pcscd loads it like any reader driver (reader.conf `LIBPATH`, see `docs/readers.md`);
//! it implements the IFD handler API version 3 of pcsc-lite's `ifdhandler.h` and speaks
//! vsmartcard's vpcd protocol unchanged on the card side, so `mynasim serve`, vicc and any
//! other vpcd card work with it. Compared with vsmartcard's driver it has:
//!
//! - **up to 16 slots per reader** (`DEVICENAME /dev/null:PORT:SLOTS`, [`device`]), each its
//!   own reader in PC/SC ("Virtual PCD 00 00" … "Virtual PCD 00 0F"), usable in parallel
//!   (`TAG_IFD_SLOT_THREAD_SAFE`); vpcd keeps its connections in a static array of two;
//! - **card events instead of polling**: pcscd's event thread waits in the driver
//!   (`TAG_IFD_POLLING_THREAD_WITH_TIMEOUT`) and is woken the moment a card connects or
//!   disconnects ([`slot`]), where vpcd leaves pcscd polling every 400 ms;
//! - **extended APDUs declared**: `FEATURE_GET_TLV_PROPERTIES` (PC/SC part 10) answers
//!   `dwMaxAPDUDataSize` ([`MAX_APDU_DATA`]), and `SCARD_ATTR_MAXINPUT` the same;
//! - **bounded card I/O** ([`slot::ATR_TIMEOUT`], [`slot::APDU_TIMEOUT`]) and loopback-only
//!   sockets.
//!
//! The crate is safe Rust except [`ffi`], the C ABI, which turns pointers into slices and
//! catches every panic at the boundary. Everything below it ([`Driver`]) is callable from
//! Rust, which is how the tests drive it without pcscd.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

pub mod device;
pub mod ffi;
pub mod slot;

pub use device::{Device, DeviceError};
use slot::{CardFault, Power, Slot, SlotHost};

/// `MAX_ATR_SIZE` (`ifdhandler.h` via `pcsclite.h`): the longest ATR pcscd takes.
pub const MAX_ATR_SIZE: usize = 33;

/// The largest APDU data field (Lc or Le) the reader carries: a vpcd frame is at most
/// 65 535 bytes, and an extended command APDU spends 9 of them on its header (4), Lc (3)
/// and Le (2). Responses up to 65 533 data bytes fit too. Declared as
/// `dwMaxAPDUDataSize` and `SCARD_ATTR_MAXINPUT`.
pub const MAX_APDU_DATA: u32 = 65_526;

/// The driver's version as `SCARD_ATTR_VENDOR_IFD_VERSION` wants it (`0xMMmmbbbb`).
pub const IFD_VERSION: u32 = 0x0001_0000;

/// The vendor name (`SCARD_ATTR_VENDOR_NAME`).
pub const VENDOR: &str = "mynasim";

/// The model (`SCARD_ATTR_VENDOR_IFD_TYPE`) and firmware id (`sFirmwareID`).
pub const MODEL: &str = "mynasim-ifd vpcd reader";

/// pcsc-lite's answer codes (`ifdhandler.h`, "List of defines available to ifdhandler").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(i32)]
pub enum Code {
    /// `IFD_SUCCESS`
    Success = 0,
    /// `IFD_ERROR_TAG`: unknown capability.
    ErrorTag = 600,
    /// `IFD_ERROR_NOT_SUPPORTED`
    ErrorNotSupported = 606,
    /// `IFD_PROTOCOL_NOT_SUPPORTED`
    ProtocolNotSupported = 607,
    /// `IFD_ERROR_POWER_ACTION`
    PowerAction = 608,
    /// `IFD_COMMUNICATION_ERROR`
    Communication = 612,
    /// `IFD_RESPONSE_TIMEOUT`
    ResponseTimeout = 613,
    /// `IFD_NOT_SUPPORTED`
    NotSupported = 614,
    /// `IFD_ICC_PRESENT`
    IccPresent = 615,
    /// `IFD_ICC_NOT_PRESENT`
    IccNotPresent = 616,
    /// `IFD_ERROR_INSUFFICIENT_BUFFER`
    InsufficientBuffer = 618,
}

/// Capability tags (`ifdhandler.h` "TAG_IFD_*", `reader.h` "SCARD_ATTR_*").
pub mod tag {
    /// `TAG_IFD_ATR`
    pub const ATR: u64 = 0x0303;
    /// `SCARD_ATTR_ATR_STRING`
    pub const ATTR_ATR_STRING: u64 = 0x0009_0303;
    /// `SCARD_ATTR_ICC_PRESENCE`
    pub const ATTR_ICC_PRESENCE: u64 = 0x0009_0300;
    /// `SCARD_ATTR_VENDOR_NAME`
    pub const ATTR_VENDOR_NAME: u64 = 0x0001_0100;
    /// `SCARD_ATTR_VENDOR_IFD_TYPE`
    pub const ATTR_VENDOR_IFD_TYPE: u64 = 0x0001_0101;
    /// `SCARD_ATTR_VENDOR_IFD_VERSION`
    pub const ATTR_VENDOR_IFD_VERSION: u64 = 0x0001_0102;
    /// `SCARD_ATTR_MAXINPUT`
    pub const ATTR_MAXINPUT: u64 = 0x0007_A007;
    /// `TAG_IFD_SLOT_THREAD_SAFE`
    pub const SLOT_THREAD_SAFE: u64 = 0x0FAC;
    /// `TAG_IFD_THREAD_SAFE`
    pub const THREAD_SAFE: u64 = 0x0FAD;
    /// `TAG_IFD_SLOTS_NUMBER`
    pub const SLOTS_NUMBER: u64 = 0x0FAE;
    /// `TAG_IFD_SIMULTANEOUS_ACCESS`
    pub const SIMULTANEOUS_ACCESS: u64 = 0x0FAF;
    /// `TAG_IFD_POLLING_THREAD_KILLABLE`
    pub const POLLING_THREAD_KILLABLE: u64 = 0x0FB1;
    /// `TAG_IFD_STOP_POLLING_THREAD`
    pub const STOP_POLLING_THREAD: u64 = 0x0FB2;
    /// `TAG_IFD_POLLING_THREAD_WITH_TIMEOUT`
    pub const POLLING_THREAD_WITH_TIMEOUT: u64 = 0x0FB3;
}

/// Control codes (`reader.h`).
pub mod ioctl {
    /// `CM_IOCTL_GET_FEATURE_REQUEST` = `SCARD_CTL_CODE(3400)`.
    pub const GET_FEATURE_REQUEST: u64 = 0x4200_0000 + 3400;
    /// Our code for `FEATURE_GET_TLV_PROPERTIES`: `SCARD_CTL_CODE(0x330000 + 0x12)`, the
    /// numbering CCID uses (`CLASS2_IOCTL_MAGIC`), so tools that guess it find it too.
    pub const GET_TLV_PROPERTIES: u32 = 0x4233_0012;
    /// `FEATURE_GET_TLV_PROPERTIES`
    pub const FEATURE_GET_TLV_PROPERTIES: u8 = 0x12;
}

/// What a capability answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Capability {
    /// These bytes.
    Bytes(Vec<u8>),
    /// The event-wait function (`TAG_IFD_POLLING_THREAD_WITH_TIMEOUT`): [`ffi`] gives its
    /// address.
    EventFunction,
    /// The stop-waiting function (`TAG_IFD_STOP_POLLING_THREAD`).
    StopFunction,
}

/// A running reader: one `reader.conf` entry, its slots.
#[derive(Debug)]
struct Reader {
    device: Device,
    slots: Vec<SlotHost>,
    /// The slots pcscd opened and has not closed: the reader stops with the last one.
    open: Mutex<std::collections::BTreeSet<u16>>,
}

/// The driver: every reader pcscd created, by the reader number in a LUN's high 16 bits
/// (pcsc-lite's `RFSetReaderName`: "Set the slot in 0xDDDDCCCC"; the slot is the low 16).
#[derive(Debug, Default)]
pub struct Driver {
    readers: Mutex<BTreeMap<u16, Arc<Reader>>>,
}

/// A LUN's reader number and slot.
fn split(lun: u64) -> (u16, u16) {
    // Truncations are the point: DDDD is bits 16..32, CCCC bits 0..16.
    (((lun >> 16) & 0xFFFF) as u16, (lun & 0xFFFF) as u16)
}

impl Driver {
    /// A driver with no readers.
    pub const fn new() -> Self {
        Self {
            readers: Mutex::new(BTreeMap::new()),
        }
    }

    fn slot(&self, lun: u64) -> Option<Arc<Slot>> {
        let (reader, slot) = split(lun);
        let readers = self.readers.lock().unwrap_or_else(PoisonError::into_inner);
        let reader = readers.get(&reader)?;
        reader
            .slots
            .get(usize::from(slot))
            .map(|s| Arc::clone(s.slot()))
    }

    fn reader(&self, lun: u64) -> Option<Arc<Reader>> {
        let readers = self.readers.lock().unwrap_or_else(PoisonError::into_inner);
        readers.get(&split(lun).0).cloned()
    }

    /// `IFDHCreateChannelByName` / `IFDHCreateChannel`: opens the reader of `lun`, every
    /// slot listening. pcscd opens a slot-thread-safe reader once per slot (pcsc-lite's
    /// `RFAddReader` then `RFInitializeReader` for each slot's LUN): the later calls join the
    /// reader the first one started.
    pub fn create(&self, lun: u64, device: Device) -> Code {
        let (number, slot) = split(lun);
        let mut readers = self.readers.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(reader) = readers.get(&number) {
            if reader.device != device || slot >= reader.device.slots {
                log(&format!(
                    "reader {number} slot {slot}: not a slot of the reader already open"
                ));
                return Code::Communication;
            }
            reader
                .open
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .insert(slot);
            return Code::Success;
        }
        let mut slots = Vec::new();
        for n in 0..device.slots {
            let Some(port) = device.slot_port(n) else {
                return Code::Communication;
            };
            match SlotHost::start(port) {
                Ok(host) => slots.push(host),
                Err(e) => {
                    log(&format!("cannot listen on 127.0.0.1:{port}: {e}"));
                    return Code::Communication;
                }
            }
        }
        log(&format!(
            "reader {number}: {} slot(s) on 127.0.0.1:{}-{}",
            device.slots,
            device.port,
            device.port.saturating_add(device.slots - 1)
        ));
        readers.insert(
            number,
            Arc::new(Reader {
                device,
                slots,
                open: Mutex::new([slot].into()),
            }),
        );
        Code::Success
    }

    /// `IFDHCloseChannel`: closes `lun`'s slot; the last slot closed stops the reader.
    pub fn close(&self, lun: u64) -> Code {
        let (number, slot) = split(lun);
        let mut readers = self.readers.lock().unwrap_or_else(PoisonError::into_inner);
        let last = readers.get(&number).is_some_and(|reader| {
            let mut open = reader.open.lock().unwrap_or_else(PoisonError::into_inner);
            open.remove(&slot);
            open.is_empty()
        });
        let removed = if last { readers.remove(&number) } else { None };
        drop(readers);
        // Stopping the slots joins their watchers: outside the lock.
        drop(removed);
        Code::Success
    }

    /// `IFDHGetCapabilities`.
    ///
    /// # Errors
    /// [`Code::ErrorTag`] for a tag the driver does not answer (pcscd then uses its
    /// default), [`Code::Communication`] for an unknown LUN.
    pub fn capability(&self, lun: u64, tag: u64) -> Result<Capability, Code> {
        let reader = self.reader(lun).ok_or(Code::Communication)?;
        let dword = |v: u32| Ok(Capability::Bytes(v.to_le_bytes().to_vec()));
        let byte = |v: u8| Ok(Capability::Bytes(vec![v]));
        match tag {
            tag::ATR | tag::ATTR_ATR_STRING => {
                let slot = self.slot(lun).ok_or(Code::Communication)?;
                Ok(Capability::Bytes(slot.atr().unwrap_or_default()))
            }
            tag::ATTR_ICC_PRESENCE => {
                let slot = self.slot(lun).ok_or(Code::Communication)?;
                // 0 absent, 2 present and "swallowed" (in contact).
                byte(if slot.atr().is_some() { 2 } else { 0 })
            }
            tag::SLOTS_NUMBER => byte(u8::try_from(reader.device.slots).unwrap_or(1)),
            tag::SLOT_THREAD_SAFE | tag::THREAD_SAFE => byte(1),
            tag::SIMULTANEOUS_ACCESS => byte(u8::try_from(device::MAX_SLOTS).unwrap_or(16)),
            tag::POLLING_THREAD_WITH_TIMEOUT => Ok(Capability::EventFunction),
            tag::STOP_POLLING_THREAD => Ok(Capability::StopFunction),
            tag::ATTR_VENDOR_NAME => Ok(Capability::Bytes(VENDOR.as_bytes().to_vec())),
            tag::ATTR_VENDOR_IFD_TYPE => Ok(Capability::Bytes(MODEL.as_bytes().to_vec())),
            tag::ATTR_VENDOR_IFD_VERSION => dword(IFD_VERSION),
            tag::ATTR_MAXINPUT => dword(MAX_APDU_DATA),
            // Not killable: pthread_cancel through Rust frames is undefined behaviour, so
            // pcscd stops the wait with TAG_IFD_STOP_POLLING_THREAD instead.
            _ => Err(Code::ErrorTag),
        }
    }

    /// `IFDHSetProtocolParameters`: the link carries APDUs whatever the protocol; T=0 and
    /// T=1 are accepted.
    pub fn set_protocol(&self, lun: u64, protocol: u64) -> Code {
        if self.slot(lun).is_none() {
            return Code::Communication;
        }
        // SCARD_PROTOCOL_T0, SCARD_PROTOCOL_T1.
        if protocol == 1 || protocol == 2 {
            Code::Success
        } else {
            Code::ProtocolNotSupported
        }
    }

    /// `IFDHPowerICC`: `action` is `IFD_POWER_UP` (500), `IFD_POWER_DOWN` (501) or
    /// `IFD_RESET` (502); answers the ATR (empty for power down).
    ///
    /// # Errors
    /// An unknown action, no card, or a card that did not answer.
    pub fn power(&self, lun: u64, action: u64) -> Result<Vec<u8>, Code> {
        let action = match action {
            500 => Power::Up,
            501 => Power::Down,
            502 => Power::Reset,
            _ => return Err(Code::NotSupported),
        };
        let slot = self.slot(lun).ok_or(Code::Communication)?;
        slot.power(action).map_err(|e| match e {
            CardFault::Absent | CardFault::TooLong => Code::PowerAction,
            CardFault::Timeout => Code::ResponseTimeout,
        })
    }

    /// `IFDHTransmitToICC`: the card's response to `apdu`, at most `room` bytes.
    ///
    /// # Errors
    /// No card, or it left during the command: [`Code::IccNotPresent`], which pcsc-lite's
    /// `IFDTransmit` turns into `SCARD_E_NO_SMARTCARD`, so the client learns the card is gone
    /// (vpcd answers an empty response instead). A command that is not an APDU:
    /// [`Code::Communication`]; a response longer than `room`:
    /// [`Code::InsufficientBuffer`]; no answer in time: [`Code::ResponseTimeout`].
    pub fn transmit(&self, lun: u64, apdu: &[u8], room: usize) -> Result<Vec<u8>, Code> {
        let slot = self.slot(lun).ok_or(Code::Communication)?;
        let response = slot.transmit(apdu).map_err(|e| match e {
            CardFault::Absent => Code::IccNotPresent,
            CardFault::TooLong => Code::Communication,
            CardFault::Timeout => Code::ResponseTimeout,
        })?;
        if response.len() > room {
            return Err(Code::InsufficientBuffer);
        }
        Ok(response)
    }

    /// `IFDHControl`: PC/SC part 10's feature list and TLV properties.
    ///
    /// # Errors
    /// [`Code::ErrorNotSupported`] for any other control code.
    pub fn control(&self, lun: u64, code: u64) -> Result<Vec<u8>, Code> {
        if self.reader(lun).is_none() {
            return Err(Code::Communication);
        }
        match code {
            ioctl::GET_FEATURE_REQUEST => Ok(feature_list()),
            c if c == u64::from(ioctl::GET_TLV_PROPERTIES) => Ok(tlv_properties()),
            _ => Err(Code::ErrorNotSupported),
        }
    }

    /// `IFDHICCPresence`.
    pub fn presence(&self, lun: u64) -> Code {
        match self.slot(lun) {
            None => Code::Communication,
            Some(slot) if slot.presence() => Code::IccPresent,
            Some(_) => Code::IccNotPresent,
        }
    }

    /// The function behind `TAG_IFD_POLLING_THREAD_WITH_TIMEOUT`: waits up to `timeout_ms`
    /// for a card to come or go.
    pub fn wait_event(&self, lun: u64, timeout_ms: i64) -> Code {
        let Some(slot) = self.slot(lun) else {
            return Code::Communication;
        };
        let ms = u64::try_from(timeout_ms).unwrap_or(0);
        slot.wait_event(Duration::from_millis(ms));
        Code::Success
    }

    /// The function behind `TAG_IFD_STOP_POLLING_THREAD`.
    pub fn stop_wait(&self, lun: u64) -> Code {
        if let Some(slot) = self.slot(lun) {
            slot.stop_waiting();
        }
        Code::Success
    }
}

/// The answer to `CM_IOCTL_GET_FEATURE_REQUEST` (PC/SC part 10 §2.2): one TLV per feature,
/// the control code big-endian.
pub fn feature_list() -> Vec<u8> {
    let mut out = vec![ioctl::FEATURE_GET_TLV_PROPERTIES, 4];
    out.extend_from_slice(&ioctl::GET_TLV_PROPERTIES.to_be_bytes());
    out
}

/// The answer to `FEATURE_GET_TLV_PROPERTIES` (PC/SC part 10 v2.02.09 §2.6.14): tag,
/// length, value little-endian.
pub fn tlv_properties() -> Vec<u8> {
    // PCSCv2_PART10_PROPERTY_sFirmwareID (8), _dwMaxAPDUDataSize (10).
    let mut out = vec![8, u8::try_from(MODEL.len()).unwrap_or(0)];
    out.extend_from_slice(MODEL.as_bytes());
    out.extend_from_slice(&[10, 4]);
    out.extend_from_slice(&MAX_APDU_DATA.to_le_bytes());
    out
}

/// One line on pcscd's standard error (its log in `--foreground`).
pub(crate) fn log(line: &str) {
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr(), "mynasim-ifd: {line}");
}
