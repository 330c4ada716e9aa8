#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| mynasim_harness::fuzzing::scenario(data));
