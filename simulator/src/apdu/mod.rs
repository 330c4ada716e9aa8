//! The APDU layer: command parsing (all seven ISO/IEC 7816-4 cases), responses, status
//! words and the BER-TLV codec. Nothing here knows the card's applications.

mod command;
mod response;
mod status;
pub mod tlv;

pub use command::{ApduError, Case, Command, EXTENDED_LE_MAX, SHORT_LE_MAX};
pub use response::Response;
pub use status::StatusWord;
