//! Ready-made codecs for the two framings most protocols start from: a length
//! prefix, and newline-terminated text.
//!
//! Each is one type that is both the [`Encoder`](crate::Encoder) and the
//! [`Decoder`](crate::Decoder), so a reactor names it alone as its `Codec`. Neither
//! caps a frame's length by default beyond what the connection does: a frame
//! announced longer than [`max_buffer_length`](crate::ConnectionConfig::max_buffer_length)
//! closes the connection with [`CloseReason::FrameTooLarge`](crate::CloseReason::FrameTooLarge).

mod length_delimited;
mod lines;

pub use length_delimited::LengthDelimitedCodec;
pub use lines::LinesCodec;

/// Messages of up to this many bytes are appended to the connection's write buffer
/// (one copy, and a burst leaves in one write); longer ones are written from their
/// own memory, without a copy.
const APPEND_LIMIT: usize = 2 * 1024;
