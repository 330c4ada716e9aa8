#![no_main]
//! The validation service's OCSP request parser and responder: OCSP requests arrive from the
//! network (malformed, oversized, wrong hash algorithm) and must get `malformedRequest`, never
//! a panic (issue 11).

use std::sync::OnceLock;

use mynasim_simulator::profile::Profile;
use mynasim_simulator::validation::Service;

fn service() -> &'static Service {
    static SERVICE: OnceLock<Service> = OnceLock::new();
    SERVICE.get_or_init(|| {
        let yaml = include_str!("../../scenarios/profiles/default.yaml");
        Profile::from_yaml(yaml, "default.yaml")
            .and_then(|p| p.personalise("default.yaml"))
            .ok()
            .and_then(|p| p.issue().ok())
            .map(|card| Service::for_card(&card))
            .unwrap_or_else(|| std::process::abort())
    })
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    mynasim_simulator::fuzzing::ocsp(service(), data);
});
