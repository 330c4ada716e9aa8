//! # mynasim-harness
//!
//! The `mynasim` command line: replay scenarios (`run`), inspect a simulated card (`card
//! show`), poke it — or any PC/SC reader — by hand (`card apdu`), put cards in pcscd's
//! virtual reader (`serve`, `control`), and print the file formats' JSON Schemas (`schema`).
//!
//! Layers, each using only those below it (`ARCHITECTURE.md`):
//! * [`cli`] — clap, help texts, logging; nothing imports it;
//! * [`commands`] — one module per subcommand; they never import each other;
//! * [`certify`] — the reader-conformance run: catalog, capabilities, gating, watchdog,
//!   its report;
//! * [`engine`] and [`report`] — running plans and reporting outcomes;
//! * [`target`] — the host side: one `Link` trait for sim, pcsc and vpcd;
//! * [`host`] — cards where other programs reach them: the one slot loop, control, pcscd;
//! * [`scenario`] — the scenario format, loading and compiling to plans; [`profiles`] — the
//!   one profile-lookup rule;
//! * [`exit`] — the one error type at the edge and its exit codes.

pub mod certify;
pub mod cli;
pub mod commands;
pub mod engine;
pub mod exit;
#[doc(hidden)]
pub mod fuzzing;
pub mod host;
pub mod profiles;
pub mod report;
pub mod scenario;
pub mod target;
