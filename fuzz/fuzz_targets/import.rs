#![no_main]
//! The log importers (pcsc-spy, pcscd --apdu, OpenSC debug, JSON Lines, hex): the first byte
//! picks the format; any log imports or names its line, and what imports round-trips.
libfuzzer_sys::fuzz_target!(|data: &[u8]| mynasim_simulator::fuzzing::import(data));
