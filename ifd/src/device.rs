//! The reader.conf `DEVICENAME` of a mynasim-ifd reader: where its slots listen.
//!
//! Syntax: `/dev/null:PORT[:SLOTS]`. `PORT` is slot 0's TCP port, decimal or `0x` hex
//! (`0x8C7B` is 35963, vsmartcard's default); slot N listens on `PORT + N`. `SLOTS` is how
//! many slots the reader has, 1–16 (default 2, vpcd's layout). The part before the first
//! colon names no file: it is there so the line reads like vsmartcard's (`/dev/null:0x8C7B`),
//! and a vpcd `DEVICENAME` works unchanged. Unlike vpcd, a host name there (vpcd's
//! "reverse" mode, where the driver connects out to the card) is refused: every slot
//! listens on 127.0.0.1 only.
//!
//! Without a `DEVICENAME`, pcscd calls `IFDHCreateChannel` with `CHANNELID`
//! (`ifdhandler.h`, "IFDHCreateChannel"): that number is the port, with the default slot
//! count.

use std::fmt;

/// The most slots one reader can have: pcsc-lite's `PCSCLITE_MAX_READERS_CONTEXTS` (16 in
/// pcsc-lite 1.9 and 2.x) is the number of readers one pcscd holds, and every slot is one.
pub const MAX_SLOTS: u16 = 16;

/// Slots per reader when `DEVICENAME` does not say: vsmartcard vpcd's `VICC_MAX_SLOTS`.
pub const DEFAULT_SLOTS: u16 = 2;

/// Where a reader's slots listen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Device {
    /// Slot 0's port; slot N listens on `port + N`.
    pub port: u16,
    /// How many slots, 1–[`MAX_SLOTS`].
    pub slots: u16,
}

/// Why a `DEVICENAME` was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceError(String);

impl fmt::Display for DeviceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for DeviceError {}

impl Device {
    /// Parses a `DEVICENAME` (see the module documentation).
    ///
    /// # Errors
    /// Not `/dev/null:PORT[:SLOTS]`, a port of 0, a slot count outside 1–16, or slots that
    /// would run past port 65535.
    pub fn parse(name: &str) -> Result<Self, DeviceError> {
        let err = |why: &str| DeviceError(format!("DEVICENAME `{name}`: {why}"));
        let mut parts = name.trim().split(':');
        let prefix = parts.next().unwrap_or_default();
        if prefix != "/dev/null" {
            return Err(err(
                "expected /dev/null:PORT[:SLOTS] (mynasim-ifd listens on loopback only; \
                 vpcd's reverse mode is not supported)",
            ));
        }
        let port = parts
            .next()
            .ok_or_else(|| err("no port after `/dev/null:`"))
            .and_then(|p| number(p).ok_or_else(|| err("the port is not a number")))?;
        let slots = match parts.next() {
            None => DEFAULT_SLOTS,
            Some(s) => number(s).ok_or_else(|| err("the slot count is not a number"))?,
        };
        if parts.next().is_some() {
            return Err(err("expected /dev/null:PORT[:SLOTS]"));
        }
        Self::new(port, slots).map_err(|e| err(&e.0))
    }

    /// A device from a `CHANNELID` (the port), with [`DEFAULT_SLOTS`] slots.
    ///
    /// # Errors
    /// The channel is not a port (0, or above 65535), or its slots run past 65535.
    pub fn from_channel(channel: u64) -> Result<Self, DeviceError> {
        let port = u16::try_from(channel)
            .map_err(|_| DeviceError(format!("CHANNELID {channel:#X} is not a TCP port")))?;
        Self::new(port, DEFAULT_SLOTS)
    }

    fn new(port: u16, slots: u16) -> Result<Self, DeviceError> {
        if port == 0 {
            return Err(DeviceError("port 0 is not a port".to_owned()));
        }
        if !(1..=MAX_SLOTS).contains(&slots) {
            return Err(DeviceError(format!(
                "{slots} slots: a reader has 1 to {MAX_SLOTS}"
            )));
        }
        if port.checked_add(slots - 1).is_none() {
            return Err(DeviceError(format!(
                "{slots} slots from port {port} run past port 65535"
            )));
        }
        Ok(Self { port, slots })
    }

    /// Slot `n`'s port, if the reader has that slot.
    pub fn slot_port(&self, n: u16) -> Option<u16> {
        (n < self.slots).then(|| self.port.checked_add(n)).flatten()
    }
}

/// A decimal or `0x` hexadecimal number.
fn number(s: &str) -> Option<u16> {
    let s = s.trim();
    match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(hex) => u16::from_str_radix(hex, 16).ok(),
        None => s.parse().ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vpcd_device_names_work_unchanged() {
        assert_eq!(
            Device::parse("/dev/null:0x8C7B"),
            Ok(Device {
                port: 35963,
                slots: 2
            })
        );
        assert_eq!(
            Device::parse("/dev/null:35963:16"),
            Ok(Device {
                port: 35963,
                slots: 16
            })
        );
        assert_eq!(
            Device::parse("/dev/null:0x8C7B:0x10").map(|d| d.slots),
            Ok(16)
        );
    }

    #[test]
    fn bad_device_names_are_refused_with_the_reason() {
        for (name, why) in [
            ("localhost:0x8C7B", "loopback only"),
            ("/dev/null", "no port"),
            ("/dev/null:", "not a number"),
            ("/dev/null:x", "not a number"),
            ("/dev/null:0", "port 0"),
            ("/dev/null:70000", "not a number"),
            ("/dev/null:1000:17", "1 to 16"),
            ("/dev/null:1000:0", "1 to 16"),
            ("/dev/null:65530:16", "past port 65535"),
            ("/dev/null:1000:2:3", "expected"),
            ("", "expected"),
        ] {
            let e = Device::parse(name).expect_err(name);
            assert!(e.to_string().contains(why), "{name}: {e}");
        }
    }

    #[test]
    fn a_channel_id_is_a_port_with_two_slots() {
        assert_eq!(
            Device::from_channel(0x8C7B),
            Ok(Device {
                port: 35963,
                slots: 2
            })
        );
        assert!(Device::from_channel(0x1_0000).is_err());
        assert!(Device::from_channel(0).is_err());
    }

    proptest::proptest! {
        #[test]
        fn any_device_name_parses_or_is_refused_without_a_panic(name in ".{0,40}") {
            let _ = Device::parse(&name);
        }

        #[test]
        fn every_valid_device_round_trips(port in 1u16.., slots in 1u16..=16) {
            let parsed = Device::parse(&format!("/dev/null:{port:#X}:{slots}"));
            if port.checked_add(slots - 1).is_some() {
                proptest::prop_assert_eq!(&parsed, &Ok(Device { port, slots }));
                let last = parsed.ok().and_then(|d| d.slot_port(slots - 1));
                proptest::prop_assert_eq!(last, Some(port + (slots - 1)));
            } else {
                proptest::prop_assert!(parsed.is_err());
            }
        }
    }

    #[test]
    fn slot_ports_are_consecutive_and_bounded() {
        let d = Device {
            port: 40000,
            slots: 3,
        };
        assert_eq!(d.slot_port(0), Some(40000));
        assert_eq!(d.slot_port(2), Some(40002));
        assert_eq!(d.slot_port(3), None);
    }
}
