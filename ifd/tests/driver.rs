//! The driver without pcscd: its safe core ([`Driver`]) and its C ABI ([`ffi`]) driven the
//! way pcscd drives them (`ifdhandler.h`; pcsc-lite's `eventhandler.c` for the event wait),
//! with a small vpcd card on the other end of each slot's socket.
#![allow(unsafe_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![allow(missing_docs)]

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::sync::atomic::{AtomicU16, Ordering};
use std::thread;
use std::time::Duration;

use mynasim_ifd::{Code, Device, Driver, ffi};

const ATR: [u8; 4] = [0x3B, 0x80, 0x80, 0x01];

/// A reader with `slots` slots on free ports; `(driver, lun, base port)`.
fn reader(slots: u16) -> (Driver, u64, u16) {
    static NEXT: AtomicU16 = AtomicU16::new(0);
    let driver = Driver::new();
    for _ in 0..200 {
        let n = NEXT.fetch_add(17, Ordering::SeqCst);
        let base = 40_000 + (u16::try_from(std::process::id() % 500).unwrap() * 17 + n) % 9_000;
        let lun = u64::from(n) << 16;
        if driver.create(
            lun,
            Device::parse(&format!("/dev/null:{base}:{slots}")).unwrap(),
        ) == Code::Success
        {
            return (driver, lun, base);
        }
    }
    panic!("no free ports");
}

/// A card's connection; dropping it closes the socket (the card leaves the reader).
struct Card(TcpStream);

impl Drop for Card {
    fn drop(&mut self) {
        let _ = self.0.shutdown(std::net::Shutdown::Both);
    }
}

/// A vpcd card: answers get ATR with [`ATR`], power controls with nothing, and an APDU with
/// the APDU reversed plus 90 00. Stops at EOF.
fn card(port: u16) -> Card {
    let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let mut reader = stream.try_clone().unwrap();
    thread::spawn(move || {
        loop {
            let mut header = [0u8; 2];
            if reader.read_exact(&mut header).is_err() {
                return;
            }
            let mut body = vec![0u8; usize::from(u16::from_be_bytes(header))];
            if reader.read_exact(&mut body).is_err() {
                return;
            }
            let answer = match body.as_slice() {
                [0x04] => ATR.to_vec(),
                [_] => continue,
                apdu => {
                    let mut r: Vec<u8> = apdu.iter().rev().copied().collect();
                    r.extend_from_slice(&[0x90, 0x00]);
                    r
                }
            };
            let mut frame = u16::try_from(answer.len()).unwrap().to_be_bytes().to_vec();
            frame.extend_from_slice(&answer);
            if reader.write_all(&frame).is_err() {
                return;
            }
        }
    });
    Card(stream)
}

/// Waits for the next card event the way pcscd's event thread does: presence, then the
/// driver's wait; returns the presence after the event.
fn next_presence(driver: &Driver, lun: u64) -> Code {
    driver.wait_event(lun, 30_000);
    driver.presence(lun)
}

#[test]
fn a_connecting_card_wakes_the_event_wait_and_is_present() {
    let (driver, lun, base) = reader(2);
    assert_eq!(driver.presence(lun), Code::IccNotPresent);
    thread::scope(|s| {
        let waiter = s.spawn(|| next_presence(&driver, lun));
        let _card = card(base);
        assert_eq!(waiter.join().unwrap(), Code::IccPresent);
        // The other slot is untouched.
        assert_eq!(driver.presence(lun + 1), Code::IccNotPresent);
    });
}

#[test]
fn power_transmit_and_removal_follow_the_vpcd_protocol() {
    let (driver, lun, base) = reader(1);
    let card = card(base);
    assert_eq!(next_presence(&driver, lun), Code::IccPresent);
    assert_eq!(driver.power(lun, 500), Ok(ATR.to_vec()));
    assert_eq!(
        driver.transmit(lun, &[0x00, 0xA4, 0x04, 0x00], 258),
        Ok(vec![0x00, 0x04, 0xA4, 0x00, 0x90, 0x00])
    );
    // A response bigger than the caller's buffer is refused, not truncated.
    assert_eq!(
        driver.transmit(lun, &[0x00, 0xA4, 0x04, 0x00], 5),
        Err(Code::InsufficientBuffer)
    );
    assert_eq!(driver.power(lun, 502), Ok(ATR.to_vec()));
    assert_eq!(driver.power(lun, 501), Ok(Vec::new()));
    assert_eq!(driver.power(lun, 999), Err(Code::NotSupported));
    drop(card);
    assert_eq!(next_presence(&driver, lun), Code::IccNotPresent);
    assert_eq!(driver.power(lun, 500), Err(Code::PowerAction));
    assert_eq!(
        driver.transmit(lun, &[0x00, 0xB0, 0x00, 0x00], 258),
        Err(Code::IccNotPresent)
    );
}

#[test]
fn a_card_that_leaves_and_comes_back_at_once_is_still_seen_to_leave() {
    let (driver, lun, base) = reader(1);
    let first = card(base);
    assert_eq!(next_presence(&driver, lun), Code::IccPresent);
    drop(first);
    let _second = card(base);
    // Whatever the order the watcher saw them in, pcscd hears "absent" before "present".
    assert_eq!(next_presence(&driver, lun), Code::IccNotPresent);
    assert_eq!(next_presence(&driver, lun), Code::IccPresent);
}

#[test]
fn a_peer_that_sends_no_atr_never_becomes_a_card() {
    let (driver, lun, base) = reader(1);
    let silent = TcpStream::connect(("127.0.0.1", base)).unwrap();
    // The driver gives it ATR_TIMEOUT, then drops it: its read sees EOF.
    silent
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut buf = [0u8; 16];
    let mut got = Vec::new();
    loop {
        match (&silent).read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
    assert_eq!(got, [0x00, 0x01, 0x04], "the driver asked for the ATR");
    assert_eq!(driver.presence(lun), Code::IccNotPresent);
    // The slot takes the next card.
    let _card = card(base);
    assert_eq!(next_presence(&driver, lun), Code::IccPresent);
}

#[test]
fn stop_waiting_ends_the_event_wait() {
    let (driver, lun, _) = reader(1);
    assert_eq!(driver.presence(lun), Code::IccNotPresent);
    thread::scope(|s| {
        let waiter = s.spawn(|| driver.wait_event(lun, 600_000));
        driver.stop_wait(lun);
        assert_eq!(waiter.join().unwrap(), Code::Success);
    });
}

/// pcscd stops the wait on every SCardDisconnect and then waits again, with the power-off
/// grace period as its time-out: that wait must last (a stop is used up by the wait it
/// ended), or pcscd's event thread spins and powers the card off the moment its last client
/// leaves.
#[test]
fn a_stop_ends_one_wait_and_the_next_wait_waits() {
    let (driver, lun, _) = reader(1);
    assert_eq!(driver.presence(lun), Code::IccNotPresent);
    driver.stop_wait(lun);
    let start = std::time::Instant::now();
    assert_eq!(driver.wait_event(lun, 600_000), Code::Success);
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "the stop ends this wait"
    );
    // Nothing happened since: the next wait runs to its time-out (300 ms), not at once.
    let start = std::time::Instant::now();
    assert_eq!(driver.wait_event(lun, 300), Code::Success);
    assert!(
        start.elapsed() >= Duration::from_millis(300),
        "the wait after a stop returned after {:?}",
        start.elapsed()
    );
}

#[test]
fn capabilities_declare_slots_threads_events_and_extended_apdus() {
    use mynasim_ifd::{Capability, tag};
    let (driver, lun, _) = reader(16);
    let bytes = |t| match driver.capability(lun, t) {
        Ok(Capability::Bytes(b)) => b,
        other => panic!("{t:#X}: {other:?}"),
    };
    assert_eq!(bytes(tag::SLOTS_NUMBER), [16]);
    assert_eq!(bytes(tag::SLOT_THREAD_SAFE), [1]);
    assert_eq!(bytes(tag::ATTR_MAXINPUT), 65_526u32.to_le_bytes());
    assert_eq!(
        driver.capability(lun, tag::POLLING_THREAD_WITH_TIMEOUT),
        Ok(Capability::EventFunction)
    );
    assert_eq!(
        driver.capability(lun, tag::STOP_POLLING_THREAD),
        Ok(Capability::StopFunction)
    );
    assert_eq!(
        driver.capability(lun, tag::POLLING_THREAD_KILLABLE),
        Err(Code::ErrorTag)
    );
    assert_eq!(driver.capability(lun, 0xDEAD), Err(Code::ErrorTag));
    assert_eq!(
        driver.capability(lun + (1 << 16), tag::SLOTS_NUMBER),
        Err(Code::Communication),
        "an unknown reader"
    );
    // PC/SC part 10: the feature list names GET_TLV_PROPERTIES, which declares
    // dwMaxAPDUDataSize (tag 10).
    let features = driver.control(lun, 0x4200_0D48).unwrap();
    assert_eq!(features, [0x12, 4, 0x42, 0x33, 0x00, 0x12]);
    let tlv = driver.control(lun, 0x4233_0012).unwrap();
    let max = tlv.windows(6).find(|w| w[0] == 10 && w[1] == 4).unwrap();
    assert_eq!(u32::from_le_bytes(max[2..6].try_into().unwrap()), 65_526);
    assert_eq!(
        driver.control(lun, 0x4200_0001),
        Err(Code::ErrorNotSupported)
    );
}

#[test]
fn bad_input_is_refused_without_a_panic() {
    let (driver, lun, base) = reader(1);
    let _card = card(base);
    assert_eq!(next_presence(&driver, lun), Code::IccPresent);
    // Too short to be an APDU (one byte would be read as a control byte) or too long.
    assert!(driver.transmit(lun, &[], 258).is_err());
    assert!(driver.transmit(lun, &[0x00], 258).is_err());
    assert!(driver.transmit(lun, &vec![0; 0x1_0000], 258).is_err());
    assert_eq!(driver.presence(lun + 5), Code::Communication);
    assert_eq!(driver.set_protocol(lun, 2), Code::Success);
    assert_eq!(
        driver.set_protocol(lun, 0x10000),
        Code::ProtocolNotSupported
    );
}

#[test]
fn the_c_abi_checks_pointers_and_buffer_sizes() {
    // The C ABI uses the process's one driver: a reader number of its own.
    let lun: ffi::Dword = 0x7F << 16;
    let name = c"/dev/null:0:1";
    // SAFETY: a NUL-terminated string.
    assert_eq!(
        unsafe { ffi::IFDHCreateChannelByName(lun, name.as_ptr()) },
        612
    );
    // SAFETY: null is allowed.
    assert_eq!(
        unsafe { ffi::IFDHCreateChannelByName(lun, std::ptr::null()) },
        612
    );
    let mut code = 0;
    for port in 45_000..45_200u16 {
        let name = std::ffi::CString::new(format!("/dev/null:{port}:3")).unwrap();
        // SAFETY: a NUL-terminated string.
        code = unsafe { ffi::IFDHCreateChannelByName(lun, name.as_ptr()) };
        if code == 0 {
            break;
        }
    }
    assert_eq!(code, 0);
    let mut value = [0u8; 8];
    let mut len: ffi::Dword = 8;
    // SAFETY: both valid.
    let rc = unsafe { ffi::IFDHGetCapabilities(lun, 0x0FAE, &raw mut len, value.as_mut_ptr()) };
    assert_eq!((rc, len, value[0]), (0, 1, 3));
    // The event function's address, as pcscd reads it.
    len = 8;
    // SAFETY: both valid.
    let rc = unsafe { ffi::IFDHGetCapabilities(lun, 0x0FB3, &raw mut len, value.as_mut_ptr()) };
    assert_eq!((rc, len), (0, 8));
    assert_ne!(usize::from_ne_bytes(value), 0);
    // Too small a buffer, null pointers.
    len = 4;
    // SAFETY: both valid for 4 bytes.
    let rc = unsafe { ffi::IFDHGetCapabilities(lun, 0x0FB3, &raw mut len, value.as_mut_ptr()) };
    assert_eq!((rc, len), (618, 0));
    // SAFETY: null is allowed.
    let rc = unsafe {
        ffi::IFDHGetCapabilities(lun, 0x0FAE, std::ptr::null_mut(), std::ptr::null_mut())
    };
    assert_eq!(rc, 612);
    // No card: presence, power and transmit say so.
    assert_eq!(ffi::IFDHICCPresence(lun + 2), 616);
    let mut atr = [0u8; 33];
    let mut atr_len: ffi::Dword = 33;
    // SAFETY: valid buffers.
    let rc = unsafe { ffi::IFDHPowerICC(lun, 500, atr.as_mut_ptr(), &raw mut atr_len) };
    assert_eq!((rc, atr_len), (608, 0));
    let apdu = [0x00, 0xA4, 0x04, 0x00];
    let mut rx = [0u8; 16];
    let mut rx_len: ffi::Dword = 16;
    let pci = ffi::ScardIoHeader {
        protocol: 2,
        length: 8,
    };
    // SAFETY: valid buffers; null receive PCI is allowed.
    let rc = unsafe {
        ffi::IFDHTransmitToICC(
            lun,
            pci,
            apdu.as_ptr(),
            4,
            rx.as_mut_ptr(),
            &raw mut rx_len,
            std::ptr::null_mut(),
        )
    };
    assert_eq!((rc, rx_len), (616, 0));
    // SAFETY: null lengths are refused, not written.
    let rc = unsafe {
        ffi::IFDHTransmitToICC(
            lun,
            pci,
            std::ptr::null(),
            0,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
        )
    };
    assert_eq!(rc, 612);
    let mut out = [0u8; 64];
    let mut returned: ffi::Dword = 99;
    // SAFETY: valid buffers.
    let rc = unsafe {
        ffi::IFDHControl(
            lun,
            0x4233_0012,
            std::ptr::null(),
            0,
            out.as_mut_ptr(),
            64,
            &raw mut returned,
        )
    };
    assert_eq!(rc, 0);
    assert!(returned > 6 && returned < 64);
    // SAFETY: a 2-byte buffer for a longer answer.
    let rc = unsafe {
        ffi::IFDHControl(
            lun,
            0x4233_0012,
            std::ptr::null(),
            0,
            out.as_mut_ptr(),
            2,
            &raw mut returned,
        )
    };
    assert_eq!((rc, returned), (618, 0));
    assert_eq!(ffi::IFDHCloseChannel(lun), 0);
    assert_eq!(ffi::IFDHICCPresence(lun), 612);
}

#[test]
fn pcscd_opens_and_closes_each_slot_and_the_reader_stops_with_the_last() {
    let (driver, lun, base) = reader(2);
    let device = Device::parse(&format!("/dev/null:{base}:2")).unwrap();
    assert_eq!(driver.create(lun + 1, device), Code::Success);
    // Not a slot of that reader, or another device under the same reader number.
    assert_eq!(driver.create(lun + 2, device), Code::Communication);
    let other = Device::parse(&format!("/dev/null:{}:2", base + 100)).unwrap();
    assert_eq!(driver.create(lun + 1, other), Code::Communication);
    assert_eq!(driver.close(lun), Code::Success);
    assert_eq!(driver.presence(lun + 1), Code::IccNotPresent, "still open");
    assert_eq!(driver.close(lun + 1), Code::Success);
    assert_eq!(driver.presence(lun + 1), Code::Communication, "stopped");
    // Its ports are free again.
    assert!(std::net::TcpListener::bind(("127.0.0.1", base)).is_ok());
}
