//! The `messagepack_decoder` fuzz target; the harness and its invariants are in
//! `protosocket_fuzz::messagepack_decoder`.
#![no_main]

libfuzzer_sys::fuzz_target!(|input: &[u8]| protosocket_fuzz::messagepack_decoder::run(input));
