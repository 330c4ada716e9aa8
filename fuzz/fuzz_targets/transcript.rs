#![no_main]
//! The transcript text parser: any text parses or names its line; what parses writes back
//! and reads again unchanged.
libfuzzer_sys::fuzz_target!(|data: &[u8]| mynasim_simulator::fuzzing::transcript(data));
