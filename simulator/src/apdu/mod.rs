//! The APDU layer: command parsing (all seven ISO/IEC 7816-4 cases), responses, status
//! words, the BER-TLV codec, and the instruction table ([`ins`]) with the host-side command
//! builders ([`build`]), and command patterns ([`CommandPattern`]). Nothing here knows the card's applications.

pub mod build;
mod command;
pub mod ins;
mod pattern;
mod response;
mod status;
pub mod tlv;

pub use command::{ApduError, Case, Command, EXTENDED_LE_MAX, SHORT_LE_MAX};
pub use ins::{BinaryAddress, Class, Instruction, KeyReference, SelectP1};
pub use pattern::CommandPattern;
pub use response::Response;
pub use status::StatusWord;
