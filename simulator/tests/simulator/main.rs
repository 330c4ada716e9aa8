//! The simulator's integration tests: one binary (cargo's `tests/testsuite` layout), one
//! module per concern.

mod behaviour;
mod golden;
mod profiles;
mod signatures;
mod status_words;
mod support;
