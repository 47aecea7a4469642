//! Fuzzing harnesses for protosocket: the decoders of both codecs, example-telnet's
//! line decoder, and a whole `Connection` over a scripted peer. Each target in
//! `fuzz_targets/` is one line that calls a `run` function here, so the harnesses
//! also build and run on a stable toolchain: `cargo test` in this folder replays
//! the committed corpus and regressions through them without libFuzzer.
//!
//! ```
//! // Any bytes are an input; a broken invariant panics.
//! protosocket_fuzz::prost_decoder::run(b"\x00\x02\x08\x05");
//! // Settings, one read of a 3-byte prost frame, EOF.
//! protosocket_fuzz::connection::run(b"\x00\x00\x00\xff\x02\x02\x08\x05\xf2");
//! ```
//!
//! Layout:
//! - `messages`: the prost and serde message types the decoders decode.
//! - `framing`: the invariants every length-delimited decoder keeps.
//! - `prost_decoder`, `messagepack_decoder`: those invariants on each codec.
//! - `line_codec`: `LineDecoder` against its documented behaviour.
//! - `connection`: the scripted peer (`script`, `peer`), the echo reactor and the
//!   reference decode (`echo`), and the driver that checks the connection.

pub mod connection;
pub mod framing;
pub mod line_codec;
pub mod messagepack_decoder;
pub mod messages;
pub mod prost_decoder;
