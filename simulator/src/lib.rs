//! # mynasim-simulator
//!
//! A software My Number Card — Japan's Individual Number Card (マイナンバーカード) — as a
//! pure, deterministic ISO/IEC 7816-4 / JIS X 6319-4 state machine.
//!
//! ```
//! use mynasim_simulator::profile;
//!
//! let yaml = "version: 1\ntoday: 2026-11-25\nholder: { birth_date: 1985-04-12 }\ncard: { issued: 2024-06-01 }\n";
//! let issued = profile::Profile::from_yaml(yaml, "<inline>")?
//!     .personalise("<inline>")?
//!     .issue()?;
//! let mut card = issued.card;
//! card.power_on();
//! // SELECT the JPKI application by name.
//! let response = card.transmit(&[0x00, 0xA4, 0x04, 0x0C, 0x0A, 0xD3, 0x92, 0xF0, 0x00, 0x26, 0x01, 0x00, 0x00, 0x00, 0x01]);
//! assert_eq!(response, [0x90, 0x00]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Layout, following the reference (`shared/reference/mynumber-card.md`):
//! * [`apdu`] — command/response codec, status words, BER-TLV;
//! * [`card`] — power, ATR, selection, access control, command dispatch (sans-IO);
//! * [`apps`] — one module per application, each a DF of files and keys;
//! * [`security`] — PIN objects, retry counters, signing schemes;
//! * [`pki`] — the test key pool, the JPKI-shaped test CA hierarchy and the card-verifiable
//!   certificates of the card-face applications;
//! * [`profile`] — card profiles (YAML) and issuing a card from one;
//! * [`render`] — the card-face images (1-bit PNGs in a 12-dot font);
//! * [`replay`] — a card that answers from a recorded transcript;
//! * [`transcript`] — `>>`/`<<` APDU transcripts with secrets redacted;
//! * [`transport`] — the vpcd virtual reader protocol (tokio), the only module that does I/O.

pub mod apdu;
pub mod apps;
pub mod card;
#[doc(hidden)]
pub mod fuzzing;
pub mod hex;
pub mod pki;
pub mod profile;
pub mod render;
pub mod replay;
pub mod security;
pub mod transcript;
pub mod transport;
pub mod validation;

pub use apdu::{Command, Response, StatusWord};
pub use card::{Card, CardError, CardEvent};
