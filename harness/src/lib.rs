//! # mynasim-harness
//!
//! The `mynasim` command line: replay scenarios (`run`), inspect a simulated card (`card
//! show`), poke it — or any PC/SC reader — by hand (`card apdu`), put cards in pcscd's
//! virtual reader (`serve`, `control`), and print the file formats' JSON Schemas (`schema`).

pub mod card_cmd;
pub mod cli;
pub mod exit;
#[doc(hidden)]
pub mod fuzzing;
pub mod pcsc_host;
pub mod profiles;
pub mod run_cmd;
pub mod scenario;
pub mod serve;
