//! Frames of a 4-byte big-endian length, then the body.

use std::io::Cursor;

use bytes::buf::Chain;
use bytes::{Buf, Bytes, BytesMut};

use super::APPEND_LIMIT;
use crate::codec::{DecodeError, Decoder, Encoder};

/// The length prefix's size.
const PREFIX_LEN: usize = 4;

/// Frames of a big-endian `u32` body length followed by the body; messages are
/// [`Bytes`].
///
/// The framing is tokio-util's `LengthDelimitedCodec` default, so peers that use it
/// (or any 4-byte big-endian length prefix) interoperate.
///
/// # Decoding
///
/// Once a frame's prefix has arrived and its body has not, the decoder reports
/// [`DecodeError::Incomplete`] with the whole frame's length, prefix included. The
/// connection makes room for that frame, or, for a frame over its
/// [`max_buffer_length`](crate::ConnectionConfig::max_buffer_length), closes at
/// once with [`CloseReason::FrameTooLarge`](crate::CloseReason::FrameTooLarge)
/// without buffering the body. The codec has no limit of its own (use it outside a
/// connection only on buffers you bound), and every prefix is a length, so no
/// input is invalid.
///
/// A connection decodes with [`decode_buffer`](Decoder::decode_buffer), which
/// splits each body off the receive buffer without copying: a message shares the
/// receive buffer's memory until it is dropped, so copy out
/// (`Bytes::copy_from_slice`) what you keep for long.
///
/// # Encoding
///
/// A body of up to 2 KiB is appended to the connection's write buffer; a longer one
/// is written from the message's own memory after its prefix, without a copy. A
/// body of 4 GiB or more cannot be announced by the prefix: it is not sent, a
/// warning is logged, and [`dropped`](Self::dropped) counts it.
///
/// ```
/// use bytes::{Bytes, BytesMut};
/// use protosocket::{DecodeError, Decoder, Encoder, LengthDelimitedCodec};
///
/// let mut codec = LengthDelimitedCodec::new();
/// let mut wire = Vec::new();
/// assert!(codec.encode_into(Bytes::from_static(b"hi"), &mut wire).is_none());
/// assert_eq!(wire, b"\0\0\0\x02hi");
///
/// let mut received = BytesMut::from(&wire[..5]);
/// assert!(matches!(
///     codec.decode_buffer(&mut received),
///     Err(DecodeError::Incomplete { frame_len: Some(6) })
/// ));
/// received.extend_from_slice(&wire[5..]);
/// assert_eq!(codec.decode_buffer(&mut received).unwrap(), "hi");
/// assert!(received.is_empty());
/// ```
#[derive(Debug, Default, Clone)]
pub struct LengthDelimitedCodec {
    dropped: u64,
}

impl LengthDelimitedCodec {
    /// A codec; it keeps no state but the [`dropped`](Self::dropped) count.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// How many messages were too long for the prefix and were not sent.
    #[must_use]
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// The prefix announcing `body`, or `None` (counted) when it cannot.
    #[inline]
    fn prefix(&mut self, body: &[u8]) -> Option<[u8; PREFIX_LEN]> {
        match u32::try_from(body.len()) {
            Ok(len) => Some(len.to_be_bytes()),
            Err(_) => {
                self.drop_oversized(body.len());
                None
            }
        }
    }

    #[cold]
    fn drop_oversized(&mut self, len: usize) {
        self.dropped += 1;
        tracing::warn!(
            len,
            "a message of 4 GiB or more does not fit a u32 length prefix; not sent"
        );
    }

    /// The whole frame's length, once `buffer` holds all of it.
    #[inline]
    fn frame_len(buffer: &[u8]) -> Result<usize, DecodeError> {
        let Some(prefix) = buffer.first_chunk::<PREFIX_LEN>() else {
            return Err(DecodeError::Incomplete { frame_len: None });
        };
        let body_len = u32::from_be_bytes(*prefix);
        // Only where usize is 32 bits can the sum overflow.
        let frame_len = usize::try_from(body_len)
            .ok()
            .and_then(|len| len.checked_add(PREFIX_LEN))
            .ok_or_else(|| DecodeError::invalid(format_args!("a frame of {body_len} bytes")))?;
        if buffer.len() < frame_len {
            return Err(DecodeError::Incomplete {
                frame_len: Some(frame_len),
            });
        }
        Ok(frame_len)
    }
}

impl Encoder for LengthDelimitedCodec {
    type Message = Bytes;
    type Serialized = Chain<Cursor<[u8; PREFIX_LEN]>, Bytes>;

    #[inline]
    fn encode(&mut self, message: Bytes) -> Self::Serialized {
        match self.prefix(&message) {
            Some(prefix) => Cursor::new(prefix).chain(message),
            None => {
                let mut nothing = Cursor::new([0; PREFIX_LEN]);
                nothing.set_position(PREFIX_LEN as u64);
                nothing.chain(Bytes::new())
            }
        }
    }

    #[inline]
    fn encode_into(&mut self, message: Bytes, buffer: &mut Vec<u8>) -> Option<Bytes> {
        if message.len() > APPEND_LIMIT {
            return Some(message);
        }
        // At most APPEND_LIMIT bytes: the length fits the prefix.
        buffer.reserve(PREFIX_LEN + message.len());
        buffer.extend_from_slice(&(message.len() as u32).to_be_bytes());
        buffer.extend_from_slice(&message);
        None
    }
}

impl Decoder for LengthDelimitedCodec {
    type Message = Bytes;

    #[inline]
    fn decode(&mut self, buffer: &[u8]) -> Result<(usize, Bytes), DecodeError> {
        let frame_len = Self::frame_len(buffer)?;
        let body = Bytes::copy_from_slice(&buffer[PREFIX_LEN..frame_len]);
        Ok((frame_len, body))
    }

    #[inline]
    fn decode_buffer(&mut self, buffer: &mut BytesMut) -> Result<Bytes, DecodeError> {
        let frame_len = Self::frame_len(buffer)?;
        let mut frame = buffer.split_to(frame_len);
        frame.advance(PREFIX_LEN);
        Ok(frame.freeze())
    }
}
