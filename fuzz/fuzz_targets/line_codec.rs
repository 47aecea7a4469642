//! The `line_codec` fuzz target; the harness and its invariants are in
//! `protosocket_fuzz::line_codec`.
#![no_main]

libfuzzer_sys::fuzz_target!(|input: &[u8]| protosocket_fuzz::line_codec::run(input));
