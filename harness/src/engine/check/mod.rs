//! Evaluating a step's expectations against what the card answered: the harness's oracle.
//!
//! One module per kind of knowledge — raw bytes ([`bytes`]), X.509 certificates and
//! signatures ([`x509`]), card-verifiable certificates ([`cv`]), BER-TLV ([`tlv`]), the
//! input-support integrity record ([`integrity`]) — each a set of small functions that
//! return what did not hold, one line per failure, worded `what: expected …, got …`. Every
//! one of them is shown to fail on input that must fail (the unit tests here, the must-fail
//! scenario corpus in `harness/tests/must-fail/`, and `cargo-mutants`).

pub mod bytes;
pub mod cv;
pub mod integrity;
pub mod tlv;
pub mod x509;

use jiff::civil::Date;
use mynasim_simulator::hex;

use crate::scenario::plan::{Captures, Expectations, Op};

/// What the checks can see besides the response.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// Data kept by earlier steps.
    pub captures: &'a Captures,
    /// The profile's "today".
    pub today: Date,
    /// The operation of this step.
    pub op: &'a Op,
    /// For `sign` steps: the message signed.
    pub message: Option<&'a [u8]>,
}

impl<'a> Context<'a> {
    /// The bytes captured under `name` (empty when nothing was).
    pub fn capture(&self, name: &str) -> &'a [u8] {
        self.captures
            .get(name)
            .map(Vec::as_slice)
            .unwrap_or_default()
    }
}

/// Checks every expectation; returns what did not hold (empty: passed).
pub fn check(e: &Expectations, sw: u16, data: &[u8], ctx: &Context<'_>) -> Vec<String> {
    let mut failures = Vec::new();
    failures.extend(bytes::sw(&e.sw, sw));
    if let Some(want) = &e.data {
        failures.extend(bytes::data(want, data));
    }
    if let Some(prefix) = &e.data_prefix {
        failures.extend(bytes::prefix(prefix, data));
    }
    if let Some(n) = e.data_length {
        failures.extend(bytes::length(n, data));
    }
    if let Some(re) = &e.data_matches {
        failures.extend(bytes::matches(re, data));
    }
    if let Some(text) = &e.text {
        failures.extend(bytes::text(&text.render(ctx.captures), data));
    }
    if let Some(name) = &e.same_as {
        failures.extend(bytes::same_as(name, ctx.capture(name), data));
    }
    if let Some(name) = &e.differs_from {
        failures.extend(bytes::differs_from(name, ctx.capture(name), data));
    }
    if let Some(c) = &e.certificate {
        failures.extend(x509::certificate(c, data, ctx));
    }
    if let Some(name) = &e.signature_verifies_with {
        failures.extend(x509::signature(name, data, ctx, true));
    }
    if let Some(name) = &e.signature_does_not_verify_with {
        failures.extend(x509::signature(name, data, ctx, false));
    }
    if let Some(valid) = e.my_number_check_digit_valid {
        failures.extend(bytes::my_number(valid, data));
    }
    for (i, t) in e.tlv.iter().enumerate() {
        if let Err(msg) = tlv::check(t, data, ctx.captures) {
            failures.push(format!("tlv[{i}]: {msg}"));
        }
    }
    if let Some(key) = &e.cv_certificate_verifies_with {
        failures.extend(cv::certificate(key, data, ctx, true));
    }
    if let Some(key) = &e.cv_certificate_does_not_verify_with {
        failures.extend(cv::certificate(key, data, ctx, false));
    }
    if let Some(i) = &e.integrity_record {
        failures.extend(integrity::record(i, data, ctx));
    }
    failures
}

/// Spaced hex, cut after 48 bytes.
pub fn shorten(data: &[u8]) -> String {
    if data.is_empty() {
        return "no data".to_owned();
    }
    if data.len() <= 48 {
        return hex::spaced(data);
    }
    format!(
        "{} … ({} bytes)",
        hex::spaced(data.get(..48).unwrap_or(data)),
        data.len()
    )
}

/// `valid` or `invalid`.
fn validity(valid: bool) -> &'static str {
    if valid { "valid" } else { "invalid" }
}
