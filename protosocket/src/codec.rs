//! How messages become bytes and back.
//!
//! A codec is anything that is both an [`Encoder`] and a [`Decoder`]; an
//! `(Encoder, Decoder)` tuple is one, so the two halves can be written apart.
//! [`LengthDelimitedCodec`](crate::LengthDelimitedCodec) and
//! [`LinesCodec`](crate::LinesCodec) are ready-made.

use bytes::{Buf, BytesMut};
use std::fmt;

/// Turns outbound messages into bytes for the socket.
///
/// The connection keeps each [`Serialized`](Encoder::Serialized) value until the
/// socket has taken all of its bytes, then gives it back through
/// [`return_buffer`](Encoder::return_buffer) so its memory can be reused.
///
/// ```
/// use bytes::Buf;
/// use protosocket::Encoder;
///
/// /// Frames a string as a 4-byte big-endian length and its UTF-8 bytes.
/// struct StringEncoder;
///
/// impl Encoder for StringEncoder {
///     type Message = String;
///     type Serialized = std::io::Cursor<Vec<u8>>;
///
///     fn encode(&mut self, message: String) -> Self::Serialized {
///         let mut frame = Vec::with_capacity(4 + message.len());
///         frame.extend_from_slice(&(message.len() as u32).to_be_bytes());
///         frame.extend_from_slice(message.as_bytes());
///         std::io::Cursor::new(frame)
///     }
/// }
///
/// let frame = StringEncoder.encode("hi".to_string());
/// assert_eq!(frame.chunk(), b"\0\0\0\x02hi");
/// ```
pub trait Encoder {
    /// What the connection sends.
    type Message;
    /// One encoded message, handed to the socket a chunk at a time.
    type Serialized: Buf;

    /// Encodes one message. An empty result is a legal zero-length message.
    fn encode(&mut self, message: Self::Message) -> Self::Serialized;

    /// Appends `message`'s bytes to `buffer`, which may already hold other
    /// messages, instead of making a buffer of its own; returns `None` when it did.
    ///
    /// The connection offers this for messages it can stage into its write buffer,
    /// which saves a buffer and a copy per message. The default declines by handing
    /// the message back (`Some`), and the connection calls
    /// [`encode`](Self::encode) instead.
    #[inline]
    fn encode_into(
        &mut self,
        message: Self::Message,
        buffer: &mut Vec<u8>,
    ) -> Option<Self::Message> {
        let _ = buffer;
        Some(message)
    }

    /// Receives a fully written buffer back, for reuse. The default drops it.
    fn return_buffer(&mut self, buffer: Self::Serialized) {
        drop(buffer);
    }
}

/// Finds messages in the bytes read from the socket.
///
/// `decode` looks at the start of the receive buffer. It returns the message and
/// how many bytes it took, or says why there is none yet. A partial frame is an
/// expected condition ([`DecodeError::Incomplete`]), not a failure.
///
/// ```
/// use protosocket::{DecodeError, Decoder};
///
/// /// Reads frames of a 4-byte big-endian length followed by UTF-8 bytes.
/// struct StringDecoder {
///     max_len: usize,
/// }
///
/// impl Decoder for StringDecoder {
///     type Message = String;
///
///     fn decode(&mut self, buffer: &[u8]) -> Result<(usize, String), DecodeError> {
///         let Some(prefix) = buffer.first_chunk::<4>() else {
///             return Err(DecodeError::Incomplete { frame_len: None });
///         };
///         let len = u32::from_be_bytes(*prefix) as usize;
///         if len > self.max_len {
///             return Err(DecodeError::invalid(format!("frame of {len} bytes")));
///         }
///         let Some(body) = buffer.get(4..4 + len) else {
///             return Err(DecodeError::Incomplete { frame_len: Some(4 + len) });
///         };
///         let text = std::str::from_utf8(body).map_err(DecodeError::invalid)?;
///         Ok((4 + len, text.to_string()))
///     }
/// }
///
/// let mut decoder = StringDecoder { max_len: 1024 };
/// assert_eq!(decoder.decode(b"\0\0\0\x02hi").unwrap(), (6, "hi".to_string()));
/// assert!(matches!(
///     decoder.decode(b"\0\0\0\x02h"),
///     Err(DecodeError::Incomplete { frame_len: Some(6) })
/// ));
/// ```
pub trait Decoder {
    /// What the connection receives.
    type Message;

    /// Decodes the message at the start of `buffer`, returning it with the number of
    /// bytes it occupied.
    ///
    /// # Errors
    ///
    /// [`DecodeError::Incomplete`] when `buffer` holds only part of a frame (with the
    /// whole frame's length when the prefix tells it, so the connection can make
    /// room); [`DecodeError::Skip`] to discard bytes that are not a message;
    /// [`DecodeError::Invalid`] when the bytes can never be a message: the
    /// connection is closed.
    fn decode(&mut self, buffer: &[u8]) -> Result<(usize, Self::Message), DecodeError>;

    /// Decodes the message at the start of `buffer` and removes its bytes from it.
    ///
    /// The default calls [`decode`](Self::decode) and advances the buffer. A decoder
    /// whose messages can hold [`bytes::Bytes`] overrides it to split the frame off
    /// with `BytesMut::split_to(..).freeze()` and decode without copying.
    ///
    /// # Errors
    ///
    /// As [`decode`](Self::decode); on an error `buffer` is left as it was, except
    /// that [`DecodeError::Skip`] is the caller's to apply.
    fn decode_buffer(&mut self, buffer: &mut BytesMut) -> Result<Self::Message, DecodeError> {
        let (consumed, message) = self.decode(buffer)?;
        buffer.advance(consumed);
        Ok(message)
    }
}

/// An encoder and a decoder: what a connection needs from its codec.
pub trait Codec: Encoder + Decoder {}

impl<T: Encoder + Decoder> Codec for T {}

impl<E: Encoder, D> Encoder for (E, D) {
    type Message = E::Message;
    type Serialized = E::Serialized;

    #[inline]
    fn encode(&mut self, message: Self::Message) -> Self::Serialized {
        self.0.encode(message)
    }

    #[inline]
    fn encode_into(
        &mut self,
        message: Self::Message,
        buffer: &mut Vec<u8>,
    ) -> Option<Self::Message> {
        self.0.encode_into(message, buffer)
    }

    #[inline]
    fn return_buffer(&mut self, buffer: Self::Serialized) {
        self.0.return_buffer(buffer)
    }
}

impl<E, D: Decoder> Decoder for (E, D) {
    type Message = D::Message;

    #[inline]
    fn decode(&mut self, buffer: &[u8]) -> Result<(usize, Self::Message), DecodeError> {
        self.1.decode(buffer)
    }

    #[inline]
    fn decode_buffer(&mut self, buffer: &mut BytesMut) -> Result<Self::Message, DecodeError> {
        self.1.decode_buffer(buffer)
    }
}

/// Why [`Decoder::decode`] returned no message.
#[derive(Debug)]
pub enum DecodeError {
    /// Only part of a frame has arrived; read more and try again.
    Incomplete {
        /// The whole frame's length, prefix included, when the prefix has arrived.
        frame_len: Option<usize>,
    },
    /// The first `n` bytes are not part of any message: drop them and decode again.
    Skip(usize),
    /// The bytes can never become a message; the connection is closed.
    Invalid(InvalidFrame),
}

impl DecodeError {
    /// An [`Invalid`](DecodeError::Invalid) error with `reason`.
    pub fn invalid(reason: impl fmt::Display) -> Self {
        DecodeError::Invalid(InvalidFrame::new(reason))
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::Incomplete {
                frame_len: Some(len),
            } => write!(f, "incomplete frame of {len} bytes"),
            DecodeError::Incomplete { frame_len: None } => f.write_str("incomplete frame"),
            DecodeError::Skip(n) => write!(f, "skip {n} bytes"),
            DecodeError::Invalid(invalid) => invalid.fmt(f),
        }
    }
}

impl std::error::Error for DecodeError {}

/// Why a frame can never be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidFrame {
    reason: String,
}

impl InvalidFrame {
    /// An invalid frame for `reason`.
    pub fn new(reason: impl fmt::Display) -> Self {
        Self {
            reason: reason.to_string(),
        }
    }

    /// The decoder's reason.
    #[must_use]
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

impl fmt::Display for InvalidFrame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid frame: {}", self.reason)
    }
}

impl std::error::Error for InvalidFrame {}
