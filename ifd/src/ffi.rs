//! The C ABI pcscd calls: pcsc-lite's `ifdhandler.h`, IFD handler API version 3
//! (`IFDHCreateChannelByName` … `IFDHICCPresence`), plus the two functions handed out
//! through `TAG_IFD_POLLING_THREAD_WITH_TIMEOUT` and `TAG_IFD_STOP_POLLING_THREAD`.
//!
//! The only `unsafe` code of the crate. Each function checks its pointers for null and
//! the lengths pcscd gives, turns them into slices, calls the safe [`Driver`], and writes
//! the answer back; a panic below is caught here ([`guard`]) and becomes
//! `IFD_COMMUNICATION_ERROR`, never an unwind into C. Types follow `wintypes.h` on Linux:
//! `DWORD` is `unsigned long`, `RESPONSECODE` is `long`.
#![allow(unsafe_code)]

use std::ffi::{CStr, c_char, c_int, c_long, c_uchar, c_ulong};
use std::panic::{AssertUnwindSafe, catch_unwind};

use crate::{Capability, Code, Device, Driver};

/// `DWORD` (`wintypes.h`, non-Apple).
pub type Dword = c_ulong;
/// `RESPONSECODE` (`ifdhandler.h`).
pub type ResponseCode = c_long;

/// `SCARD_IO_HEADER` (`ifdhandler.h`).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct ScardIoHeader {
    /// The protocol (`SCARD_PROTOCOL_T0`, `_T1`, …).
    pub protocol: Dword,
    /// Unused by pcsc-lite.
    pub length: Dword,
}

/// The one driver in this process: pcscd loads the library once for every reader that
/// names it.
static DRIVER: Driver = Driver::new();

/// A `DWORD` as the driver's `u64` (`unsigned long` is 32 bits on some platforms).
#[allow(
    clippy::useless_conversion,
    reason = "a no-op where `unsigned long` is 64 bits"
)]
fn wide(dword: Dword) -> u64 {
    u64::from(dword)
}

/// Runs `f`; a panic becomes `IFD_COMMUNICATION_ERROR`.
fn guard(f: impl FnOnce() -> Code) -> ResponseCode {
    let code = catch_unwind(AssertUnwindSafe(f)).unwrap_or(Code::Communication);
    ResponseCode::from(code as i32)
}

/// Writes `data` to `out` (room for `*len` bytes) and its length to `*len`.
///
/// # Safety
/// `out` must be valid for `*len` bytes of writing and `len` for a read and a write, or
/// either may be null (then nothing is written and the answer is an error).
unsafe fn answer(data: &[u8], out: *mut c_uchar, len: *mut Dword) -> Code {
    if len.is_null() {
        return Code::Communication;
    }
    // SAFETY: `len` is non-null and valid by the caller's contract.
    let room = usize::try_from(unsafe { *len }).unwrap_or(0);
    if data.len() > room || (out.is_null() && !data.is_empty()) {
        // SAFETY: as above.
        unsafe { *len = 0 };
        return Code::InsufficientBuffer;
    }
    if !data.is_empty() {
        // SAFETY: `out` is non-null and valid for `room >= data.len()` bytes.
        unsafe { std::ptr::copy_nonoverlapping(data.as_ptr(), out, data.len()) };
    }
    // SAFETY: as above.
    unsafe { *len = Dword::try_from(data.len()).unwrap_or(0) };
    Code::Success
}

/// `IFDHCreateChannelByName` (`ifdhandler.h`): opens the reader described by reader.conf's
/// `DEVICENAME` ([`crate::device`]).
///
/// # Safety
/// `device_name` is null or a NUL-terminated string (pcscd passes reader.conf's value).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn IFDHCreateChannelByName(
    lun: Dword,
    device_name: *const c_char,
) -> ResponseCode {
    if device_name.is_null() {
        return guard(|| Code::Communication);
    }
    // SAFETY: non-null and NUL-terminated by the caller's contract.
    let name = unsafe { CStr::from_ptr(device_name) };
    guard(|| {
        match name
            .to_str()
            .map_err(|_| ())
            .and_then(|n| Device::parse(n).map_err(|e| crate::log(&e.to_string())))
        {
            Ok(device) => DRIVER.create(wide(lun), device),
            Err(()) => Code::Communication,
        }
    })
}

/// `IFDHCreateChannel` (`ifdhandler.h`): opens a reader whose reader.conf entry has no
/// `DEVICENAME`; `CHANNELID` is the port of slot 0.
#[unsafe(no_mangle)]
pub extern "C" fn IFDHCreateChannel(lun: Dword, channel: Dword) -> ResponseCode {
    guard(|| match Device::from_channel(wide(channel)) {
        Ok(device) => DRIVER.create(wide(lun), device),
        Err(e) => {
            crate::log(&e.to_string());
            Code::Communication
        }
    })
}

/// `IFDHCloseChannel` (`ifdhandler.h`).
#[unsafe(no_mangle)]
pub extern "C" fn IFDHCloseChannel(lun: Dword) -> ResponseCode {
    guard(|| DRIVER.close(wide(lun)))
}

/// `IFDHGetCapabilities` (`ifdhandler.h`): see [`Driver::capability`]; the polling
/// functions are answered with their addresses.
///
/// # Safety
/// `length` is null or valid for reading and writing; `value` is null or valid for
/// `*length` bytes of writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn IFDHGetCapabilities(
    lun: Dword,
    tag: Dword,
    length: *mut Dword,
    value: *mut c_uchar,
) -> ResponseCode {
    guard(|| {
        let bytes = match DRIVER.capability(wide(lun), wide(tag)) {
            Ok(Capability::Bytes(b)) => b,
            Ok(Capability::EventFunction) => {
                let f: extern "C" fn(Dword, c_int) -> ResponseCode = wait_event;
                (f as usize).to_ne_bytes().to_vec()
            }
            Ok(Capability::StopFunction) => {
                let f: extern "C" fn(Dword) -> ResponseCode = stop_wait;
                (f as usize).to_ne_bytes().to_vec()
            }
            Err(code) => return code,
        };
        // SAFETY: the caller's contract, passed on.
        unsafe { answer(&bytes, value, length) }
    })
}

/// `IFDHSetCapabilities` (`ifdhandler.h`): nothing can be set.
#[unsafe(no_mangle)]
pub extern "C" fn IFDHSetCapabilities(
    _lun: Dword,
    _tag: Dword,
    _length: Dword,
    _value: *mut c_uchar,
) -> ResponseCode {
    guard(|| Code::NotSupported)
}

/// `IFDHSetProtocolParameters` (`ifdhandler.h`): see [`Driver::set_protocol`]; PTS is
/// meaningless on a TCP link and ignored.
#[unsafe(no_mangle)]
pub extern "C" fn IFDHSetProtocolParameters(
    lun: Dword,
    protocol: Dword,
    _flags: c_uchar,
    _pts1: c_uchar,
    _pts2: c_uchar,
    _pts3: c_uchar,
) -> ResponseCode {
    guard(|| DRIVER.set_protocol(wide(lun), wide(protocol)))
}

/// `IFDHPowerICC` (`ifdhandler.h`): power up, down or reset; the ATR goes to `atr`.
///
/// # Safety
/// `atr_length` is null or valid for reading and writing; `atr` is null or valid for
/// `*atr_length` bytes of writing (pcscd passes `MAX_ATR_SIZE`; both null for power down).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn IFDHPowerICC(
    lun: Dword,
    action: Dword,
    atr: *mut c_uchar,
    atr_length: *mut Dword,
) -> ResponseCode {
    guard(|| match DRIVER.power(wide(lun), wide(action)) {
        Ok(bytes) => {
            if atr_length.is_null() {
                return Code::Success;
            }
            // SAFETY: the caller's contract, passed on.
            match unsafe { answer(&bytes, atr, atr_length) } {
                Code::Success => Code::Success,
                _ => Code::PowerAction,
            }
        }
        Err(code) => {
            if !atr_length.is_null() {
                // SAFETY: non-null and writable by the caller's contract.
                unsafe { *atr_length = 0 };
            }
            code
        }
    })
}

/// `IFDHTransmitToICC` (`ifdhandler.h`): sends the APDU, writes the response.
///
/// # Safety
/// `tx` is valid for `tx_length` bytes of reading (or null with 0); `rx_length` is valid
/// for reading and writing and `rx` for `*rx_length` bytes of writing; `recv_pci` is null
/// or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn IFDHTransmitToICC(
    lun: Dword,
    send_pci: ScardIoHeader,
    tx: *const c_uchar,
    tx_length: Dword,
    rx: *mut c_uchar,
    rx_length: *mut Dword,
    recv_pci: *mut ScardIoHeader,
) -> ResponseCode {
    guard(|| {
        if rx_length.is_null() {
            return Code::Communication;
        }
        let Ok(tx_len) = usize::try_from(tx_length) else {
            return Code::Communication;
        };
        let apdu: &[u8] = if tx.is_null() || tx_len == 0 {
            &[]
        } else {
            // SAFETY: `tx` is non-null and valid for `tx_length` bytes by contract.
            unsafe { std::slice::from_raw_parts(tx, tx_len) }
        };
        // SAFETY: `rx_length` is non-null and readable by contract.
        let room = usize::try_from(unsafe { *rx_length }).unwrap_or(0);
        let code = match DRIVER.transmit(wide(lun), apdu, room) {
            // SAFETY: the caller's contract, passed on.
            Ok(response) => unsafe { answer(&response, rx, rx_length) },
            Err(code) => {
                // SAFETY: as above.
                unsafe { *rx_length = 0 };
                code
            }
        };
        if !recv_pci.is_null() {
            // SAFETY: non-null and writable by contract.
            unsafe {
                *recv_pci = ScardIoHeader {
                    protocol: send_pci.protocol,
                    length: 0,
                };
            }
        }
        code
    })
}

/// `IFDHControl` (`ifdhandler.h`, version 3): PC/SC part 10 features ([`Driver::control`]).
///
/// # Safety
/// `rx` is valid for `rx_length` bytes of writing (or null), `bytes_returned` is null or
/// writable. `tx` is not read.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn IFDHControl(
    lun: Dword,
    control_code: Dword,
    _tx: *const c_uchar,
    _tx_length: Dword,
    rx: *mut c_uchar,
    rx_length: Dword,
    bytes_returned: *mut Dword,
) -> ResponseCode {
    guard(|| {
        if bytes_returned.is_null() {
            return Code::Communication;
        }
        let mut room = rx_length;
        let code = match DRIVER.control(wide(lun), wide(control_code)) {
            // SAFETY: `rx` valid for `room` bytes by contract; `room` is ours.
            Ok(data) => unsafe { answer(&data, rx, &raw mut room) },
            Err(code) => {
                room = 0;
                code
            }
        };
        // SAFETY: non-null and writable by contract.
        unsafe { *bytes_returned = if code == Code::Success { room } else { 0 } };
        code
    })
}

/// `IFDHICCPresence` (`ifdhandler.h`): `IFD_ICC_PRESENT` or `IFD_ICC_NOT_PRESENT`, from
/// the driver's own state (no I/O).
#[unsafe(no_mangle)]
pub extern "C" fn IFDHICCPresence(lun: Dword) -> ResponseCode {
    guard(|| DRIVER.presence(wide(lun)))
}

/// `RESPONSECODE foo(DWORD Lun, int timeout)` of `TAG_IFD_POLLING_THREAD_WITH_TIMEOUT`
/// (`ifdhandler.h`): pcscd's event thread waits here, `timeout` milliseconds at most, for
/// the card to come or go.
extern "C" fn wait_event(lun: Dword, timeout: c_int) -> ResponseCode {
    guard(|| DRIVER.wait_event(wide(lun), i64::from(timeout)))
}

/// `RESPONSECODE foo(DWORD Lun)` of `TAG_IFD_STOP_POLLING_THREAD` (`ifdhandler.h`): ends
/// the wait when pcscd removes the reader.
extern "C" fn stop_wait(lun: Dword) -> ResponseCode {
    guard(|| DRIVER.stop_wait(wide(lun)))
}
