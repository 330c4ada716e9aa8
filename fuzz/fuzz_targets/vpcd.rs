#![no_main]
//! The vpcd frame decoder and the card side's answers: split and merged reads, oversize
//! lengths, unknown control bytes, EOF mid-frame.
libfuzzer_sys::fuzz_target!(|data: &[u8]| mynasim_simulator::fuzzing::vpcd_frames(data));
