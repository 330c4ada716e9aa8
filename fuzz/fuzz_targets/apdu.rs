#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| mynasim_simulator::fuzzing::apdu(data));
