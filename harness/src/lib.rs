//! # mynasim-harness
//!
//! The `mynasim` command line: inspect a simulated card (`card show`), poke it by hand
//! (`card apdu`), and print the file formats' JSON Schemas (`schema`).

pub mod card_cmd;
pub mod cli;
pub mod exit;
#[doc(hidden)]
pub mod fuzzing;
pub mod profiles;
pub mod run_cmd;
pub mod scenario;
