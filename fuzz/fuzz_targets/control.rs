#![no_main]
//! The control socket's command lines: every line gets a bounded `ok`/`error` reply.
libfuzzer_sys::fuzz_target!(|data: &[u8]| mynasim_harness::fuzzing::control(data));
