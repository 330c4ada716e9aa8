#![no_main]
//! `mynasim serve --config` files: a configuration or an error with its position.
libfuzzer_sys::fuzz_target!(|data: &[u8]| mynasim_harness::fuzzing::serve_config(data));
