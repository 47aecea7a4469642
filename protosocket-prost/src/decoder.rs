//! The receiving half: length-delimited frames into prost messages.

use std::fmt;
use std::marker::PhantomData;

use bytes::BytesMut;
use protosocket::{DecodeError, Decoder};

/// The longest protobuf varint: 10 bytes carry 64 bits, 7 at a time.
const MAX_VARINT_LEN: usize = 10;

/// Reads frames of a protobuf varint length followed by that many bytes of one
/// encoded `M`, as [`prost::Message::encode_length_delimited`] writes them.
///
/// The prefix is checked as soon as it arrives: a prefix longer than 10 bytes, or a
/// value past 64 bits (or past `isize::MAX`, more than any buffer holds), is
/// [`DecodeError::Invalid`] without waiting for the body. While the body is still
/// arriving the decoder reports [`DecodeError::Incomplete`] with the whole frame's
/// length, prefix included.
///
/// The decoder has no frame limit of its own: in a
/// [`Connection`](protosocket::Connection), a frame announced longer than the
/// connection's `max_buffer_length` closes it with `CloseReason::FrameTooLarge` as
/// soon as the prefix arrives, without buffering the body. To decode outside a
/// connection, [`with_max_frame_length`](Self::with_max_frame_length) sets one.
///
/// [`decode_buffer`](Decoder::decode_buffer) splits the frame off the receive
/// buffer and decodes from it without copying, so `bytes::Bytes` fields
/// (`#[prost(bytes = "bytes")]`) share the receive buffer's memory.
///
/// ```
/// use protosocket::{DecodeError, Decoder};
/// use protosocket_prost::ProstDecoder;
///
/// #[derive(Clone, PartialEq, prost::Message)]
/// struct Ping {
///     #[prost(uint64, tag = "1")]
///     id: u64,
/// }
///
/// let mut decoder = ProstDecoder::<Ping>::new();
/// assert_eq!(decoder.decode(b"\x02\x08\x05").unwrap(), (3, Ping { id: 5 }));
/// assert!(matches!(
///     decoder.decode(b"\x02\x08"),
///     Err(DecodeError::Incomplete { frame_len: Some(3) })
/// ));
/// ```
pub struct ProstDecoder<M> {
    /// The largest frame accepted, prefix included: `isize::MAX` unless set.
    limit: usize,
    message: PhantomData<fn() -> M>,
}

impl<M> ProstDecoder<M> {
    /// A decoder with no frame limit of its own: the connection's
    /// `max_buffer_length` bounds frames.
    #[must_use]
    pub fn new() -> Self {
        Self::with_max_frame_length(usize::MAX)
    }

    /// A decoder refusing (as [`DecodeError::Invalid`]) frames over
    /// `max_frame_length` bytes, prefix included, as soon as their prefix arrives:
    /// for decoding outside a connection. No buffer holds more than `isize::MAX`
    /// bytes, so a larger maximum means none.
    #[must_use]
    pub fn with_max_frame_length(max_frame_length: usize) -> Self {
        Self {
            limit: max_frame_length.min(isize::MAX as usize),
            message: PhantomData,
        }
    }

    /// The largest frame accepted, prefix included, when one was set; `None` when
    /// only the connection's `max_buffer_length` applies.
    #[must_use]
    pub fn max_frame_length(&self) -> Option<usize> {
        (self.limit < isize::MAX as usize).then_some(self.limit)
    }

    /// Reads the prefix at the start of `buffer`: `(prefix_len, frame_len)`.
    #[inline]
    fn frame(&self, buffer: &[u8]) -> Result<(usize, usize), DecodeError> {
        let (prefix_len, body_len) = read_varint(buffer)?;
        let frame_len = usize::try_from(body_len)
            .ok()
            .and_then(|body_len| body_len.checked_add(prefix_len))
            .filter(|&frame_len| frame_len <= self.limit);
        match frame_len {
            Some(frame_len) if frame_len <= buffer.len() => Ok((prefix_len, frame_len)),
            Some(frame_len) => Err(DecodeError::Incomplete {
                frame_len: Some(frame_len),
            }),
            None => Err(too_long(body_len, self.max_frame_length())),
        }
    }
}

impl<M> Default for ProstDecoder<M> {
    fn default() -> Self {
        Self::new()
    }
}

impl<M> Clone for ProstDecoder<M> {
    fn clone(&self) -> Self {
        Self::with_max_frame_length(self.limit)
    }
}

impl<M> fmt::Debug for ProstDecoder<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut debug = f.debug_struct("ProstDecoder");
        debug
            .field("max_frame_length", &self.max_frame_length())
            .finish()
    }
}

impl<M: prost::Message + Default> Decoder for ProstDecoder<M> {
    type Message = M;

    #[inline]
    fn decode(&mut self, buffer: &[u8]) -> Result<(usize, M), DecodeError> {
        let (prefix_len, frame_len) = self.frame(buffer)?;
        let message = M::decode(&buffer[prefix_len..frame_len]).map_err(undecodable)?;
        Ok((frame_len, message))
    }

    #[inline]
    fn decode_buffer(&mut self, buffer: &mut BytesMut) -> Result<M, DecodeError> {
        let (prefix_len, frame_len) = self.frame(buffer)?;
        let frame = buffer.split_to(frame_len).freeze();
        // prost takes `bytes::Bytes` fields from a `Bytes` source by reference
        // counting (`copy_to_bytes`), so they share the receive buffer.
        match M::decode(frame.slice(prefix_len..)) {
            Ok(message) => Ok(message),
            Err(error) => {
                restore(buffer, &frame);
                Err(undecodable(error))
            }
        }
    }
}

/// Parses the protobuf varint at the start of `buffer`: `(its length, its value)`.
#[inline]
fn read_varint(buffer: &[u8]) -> Result<(usize, u64), DecodeError> {
    let mut value = 0u64;
    for (i, &byte) in buffer.iter().take(MAX_VARINT_LEN).enumerate() {
        if i == MAX_VARINT_LEN - 1 && byte > 1 {
            // The tenth byte holds bit 63 alone; anything more is past 64 bits.
            return Err(DecodeError::invalid("length prefix overflows 64 bits"));
        }
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Ok((i + 1, value));
        }
    }
    if buffer.len() >= MAX_VARINT_LEN {
        Err(DecodeError::invalid("length prefix longer than 10 bytes"))
    } else {
        Err(DecodeError::Incomplete { frame_len: None })
    }
}

#[cold]
fn too_long(body_len: u64, max: Option<usize>) -> DecodeError {
    let over = max.map_or_else(
        || "more than any buffer holds".to_string(),
        |max| format!("over the {max}-byte maximum"),
    );
    DecodeError::invalid(format_args!(
        "frame announces a {body_len}-byte message, {over}"
    ))
}

#[cold]
fn undecodable(error: prost::DecodeError) -> DecodeError {
    DecodeError::invalid(format_args!("undecodable protobuf message: {error}"))
}

/// Puts a frame that failed to decode back in front of `buffer`, so an error leaves
/// the buffer as it was. Cold: the connection closes after it anyway.
#[cold]
fn restore(buffer: &mut BytesMut, frame: &[u8]) {
    let mut whole = BytesMut::with_capacity(frame.len() + buffer.len());
    whole.extend_from_slice(frame);
    whole.extend_from_slice(buffer);
    *buffer = whole;
}
