//! The `connection` fuzz target; the harness and its invariants are in
//! `protosocket_fuzz::connection`.
#![no_main]

libfuzzer_sys::fuzz_target!(|input: &[u8]| protosocket_fuzz::connection::run(input));
