//! The simulator's integration tests: one binary (cargo's `tests/testsuite` layout), one
//! module per concern. Unwrap, expect and panics are how test code reports failures.

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod anchors;
mod applications;
mod behaviour;
mod corruption;
mod profiles;
mod signatures;
mod status_words;
mod support;
mod transport;
mod validation;
