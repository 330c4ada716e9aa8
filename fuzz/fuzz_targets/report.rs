#![no_main]
//! A saved run report (`mynasim report RUN.json`): read, or refused with a reason; a report
//! that reads renders as an escaped page.
libfuzzer_sys::fuzz_target!(|data: &[u8]| mynasim_harness::fuzzing::report(data));
