//! The receiving half: msgpack frames into serde values.

use std::fmt;
use std::io::Cursor;
use std::marker::PhantomData;

use protosocket::{DecodeError, Decoder};
use serde::de::DeserializeOwned;

use crate::header::{HEADER_LEN, MARKER};

/// Reads frames of `0xCE`, a big-endian u32 body length, then one rmp-serde
/// encoded `M`.
///
/// The header is checked as soon as it arrives: a first byte other than `0xCE` is
/// [`DecodeError::Invalid`] without waiting for the body. While the body is still
/// arriving the decoder reports [`DecodeError::Incomplete`] with the whole frame's
/// length, header included, so a [`Connection`](protosocket::Connection) refuses a
/// frame over its `max_buffer_length` (`CloseReason::FrameTooLarge`) as soon as
/// the header arrives, without buffering the body. The decoder has no frame limit
/// of its own unless [set](Self::with_max_frame_length), for decoding outside a
/// connection.
///
/// Structs decode from either of rmp-serde's forms, maps keyed by field name (what
/// [`MessagePackSerializer`](crate::MessagePackSerializer) writes) or compact
/// arrays. The body must hold exactly one value: trailing bytes are invalid.
///
/// ```
/// use protosocket::{DecodeError, Decoder};
/// use protosocket_messagepack::MessagePackDecoder;
///
/// #[derive(Debug, PartialEq, serde::Deserialize)]
/// struct Ping {
///     id: u8,
/// }
///
/// let mut decoder = MessagePackDecoder::<Ping>::new();
/// let frame = b"\xCE\0\0\0\x05\x81\xA2id\x05";
/// assert_eq!(decoder.decode(frame).unwrap(), (10, Ping { id: 5 }));
/// assert!(matches!(
///     decoder.decode(&frame[..7]),
///     Err(DecodeError::Incomplete { frame_len: Some(10) })
/// ));
/// ```
pub struct MessagePackDecoder<M> {
    max_frame_length: Option<usize>,
    message: PhantomData<fn() -> M>,
}

impl<M> MessagePackDecoder<M> {
    /// A decoder with no frame limit of its own: the connection's
    /// `max_buffer_length` bounds frames.
    #[must_use]
    pub fn new() -> Self {
        Self {
            max_frame_length: None,
            message: PhantomData,
        }
    }

    /// A decoder refusing (as [`DecodeError::Invalid`]) frames over
    /// `max_frame_length` bytes, header included, as soon as their header arrives:
    /// for decoding outside a connection.
    #[must_use]
    pub fn with_max_frame_length(max_frame_length: usize) -> Self {
        Self {
            max_frame_length: Some(max_frame_length),
            ..Self::new()
        }
    }

    /// The limit [set](Self::with_max_frame_length), if any.
    #[must_use]
    pub fn max_frame_length(&self) -> Option<usize> {
        self.max_frame_length
    }
}

impl<M> Default for MessagePackDecoder<M> {
    fn default() -> Self {
        Self::new()
    }
}

impl<M> Clone for MessagePackDecoder<M> {
    fn clone(&self) -> Self {
        Self {
            max_frame_length: self.max_frame_length,
            ..Self::new()
        }
    }
}

impl<M> fmt::Debug for MessagePackDecoder<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MessagePackDecoder")
            .field("max_frame_length", &self.max_frame_length)
            .finish()
    }
}

impl<M: DeserializeOwned> Decoder for MessagePackDecoder<M> {
    type Message = M;

    #[inline]
    fn decode(&mut self, buffer: &[u8]) -> Result<(usize, M), DecodeError> {
        match buffer.first() {
            None => return Err(DecodeError::Incomplete { frame_len: None }),
            Some(&MARKER) => {}
            Some(&other) => return Err(bad_marker(other)),
        }
        let Some(header) = buffer.first_chunk::<HEADER_LEN>() else {
            return Err(DecodeError::Incomplete { frame_len: None });
        };
        let body_len = u32::from_be_bytes([header[1], header[2], header[3], header[4]]);
        // Checked: a length near u32::MAX must not wrap where usize is 32 bits.
        let frame_len = usize::try_from(body_len)
            .ok()
            .and_then(|body_len| body_len.checked_add(HEADER_LEN))
            .filter(|&frame_len| frame_len <= self.max_frame_length.unwrap_or(usize::MAX))
            .ok_or_else(|| too_long(body_len, self.max_frame_length))?;
        let Some(body) = buffer.get(HEADER_LEN..frame_len) else {
            return Err(DecodeError::Incomplete {
                frame_len: Some(frame_len),
            });
        };
        let mut deserializer = rmp_serde::Deserializer::new(Cursor::new(body));
        let message = M::deserialize(&mut deserializer).map_err(undecodable)?;
        if deserializer.position() != body.len() as u64 {
            return Err(trailing(body.len() as u64 - deserializer.position()));
        }
        Ok((frame_len, message))
    }
}

#[cold]
fn bad_marker(byte: u8) -> DecodeError {
    DecodeError::invalid(format_args!(
        "frame starts with {byte:#04x}, not the uint32 marker 0xce"
    ))
}

#[cold]
fn too_long(body_len: u32, max: Option<usize>) -> DecodeError {
    match max {
        Some(max) => DecodeError::invalid(format_args!(
            "frame announces a {body_len}-byte message, over the {max}-byte maximum"
        )),
        None => DecodeError::invalid(format_args!(
            "frame announces a {body_len}-byte message, more than memory can address"
        )),
    }
}

#[cold]
fn undecodable(error: rmp_serde::decode::Error) -> DecodeError {
    DecodeError::invalid(format_args!("undecodable msgpack message: {error}"))
}

#[cold]
fn trailing(extra: u64) -> DecodeError {
    DecodeError::invalid(format_args!("{extra} bytes after the message in its frame"))
}
