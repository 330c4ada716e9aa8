//! The real [`Reader`]: a PC/SC reader through pcscd (feature `pcsc`). Probing connects in
//! shared mode and asks the reader, never the card: `SCardGetAttrib` for its identity and
//! `SCARD_ATTR_MAXINPUT`, `SCardStatus` for the ATR and protocol, and `SCardControl` with
//! `CM_IOCTL_GET_FEATURE_REQUEST` (PC/SC part 10 §2.2) for its features, then
//! `FEATURE_GET_TLV_PROPERTIES` (§2.6.14) when listed.

use pcsc::Attribute;

use super::Reader;
use super::capabilities::{self, Capabilities, FEATURE_GET_TLV_PROPERTIES};
use crate::target::pcsc::PcscLink;
use crate::target::{Link, TargetError};

/// `CM_IOCTL_GET_FEATURE_REQUEST` = `SCARD_CTL_CODE(3400)` (pcsc-lite's `reader.h`).
const GET_FEATURE_REQUEST: u32 = 0x4200_0000 + 3400;

/// A PC/SC reader, by name (exactly, or a unique part).
#[derive(Debug, Clone)]
pub struct PcscReader {
    name: String,
}

impl PcscReader {
    /// The reader `name` names.
    pub fn new(name: &str) -> Self {
        Self {
            name: name.to_owned(),
        }
    }
}

impl Reader for PcscReader {
    fn name(&self) -> String {
        self.name.clone()
    }

    fn probe(&self) -> Result<Capabilities, TargetError> {
        let link = PcscLink::open(&self.name)?;
        let text = |a| link.attribute(a).map(|b| capabilities::text(&b));
        let mut caps = Capabilities {
            reader: link.reader().to_owned(),
            vendor: text(Attribute::VendorName).filter(|s| !s.is_empty()),
            model: text(Attribute::VendorIfdType).filter(|s| !s.is_empty()),
            serial: text(Attribute::VendorIfdSerialNo).filter(|s| !s.is_empty()),
            ifd_version: link
                .attribute(Attribute::VendorIfdVersion)
                .and_then(|b| capabilities::dword(&b))
                .map(capabilities::ifd_version),
            max_input: link
                .attribute(Attribute::Maxinput)
                .and_then(|b| capabilities::dword(&b)),
            atr: mynasim_simulator::hex::spaced(link.atr()),
            protocol: link.protocol().unwrap_or_else(|| "unknown".to_owned()),
            ..Capabilities::default()
        };
        // A reader without part 10 refuses the control code: no features, not an error.
        let features = link
            .control(GET_FEATURE_REQUEST, &[])
            .map(|b| capabilities::parse_features(&b))
            .unwrap_or_default();
        for (tag, code) in &features {
            caps.features.push(capabilities::feature_name(*tag));
            if *tag == FEATURE_GET_TLV_PROPERTIES
                && let Ok(tlv) = link.control(*code, &[])
            {
                let (max, firmware) = capabilities::parse_tlv_properties(&tlv);
                caps.max_apdu_data = max;
                caps.firmware = firmware;
            }
        }
        Ok(caps)
    }

    fn open(&self) -> Result<Box<dyn Link + Send>, TargetError> {
        Ok(Box::new(PcscLink::open(&self.name)?))
    }
}
