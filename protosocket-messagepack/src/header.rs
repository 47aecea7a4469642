//! The frame header: a msgpack uint32, `0xCE` then the body length big-endian.

/// The msgpack marker of a uint32, the first byte of every frame.
pub(crate) const MARKER: u8 = 0xCE;

/// The marker and the 4 length bytes.
pub(crate) const HEADER_LEN: usize = 5;
