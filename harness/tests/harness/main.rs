//! The harness's integration tests: one binary (cargo's `tests/testsuite` layout), one
//! module per concern. Unwrap, expect and panics are how test code reports failures.
//!
//! * `cli` — the command line, in process-free mode (no pcscd);
//! * `serve` — `mynasim serve` against the simulator's fake vpcd reader (no pcscd);
//! * `e2e` — real PC/SC clients through a private pcscd per test ([`live`]); needs root and
//!   the Debian packages `ci/setup` installs, and fails (never skips) without them;
//! * `examples` — the worked examples under `examples/`, run as their users would;
//! * `html` — the HTML report in headless Chromium (Debian's `chromium`, from `ci/setup`);
//!   fails (never skips) without it.

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod architecture;
mod certify;
mod cli;
mod e2e;
mod examples;
mod exec;
mod html;
mod ifd;
mod live;
mod robustness;
mod scenarios_vpcd;
mod serve;
mod soak;
mod support;
mod traces;
mod validation;
