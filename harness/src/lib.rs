//! # mynasim-harness
//!
//! The `mynasim` command line: inspect a simulated card (`card show`), poke it — or any
//! PC/SC reader — by hand (`card apdu`), put cards in pcscd's virtual reader (`serve`,
//! `control`), and print the file formats' JSON Schemas (`schema`).

pub mod card_cmd;
pub mod cli;
pub mod exit;
pub mod pcsc_host;
pub mod profiles;
pub mod serve;
