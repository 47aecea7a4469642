//! Lines of UTF-8 text ending in `\n`.

use std::io::Cursor;

use bytes::buf::Chain;
use bytes::Buf;

use super::APPEND_LIMIT;
use crate::codec::{DecodeError, Decoder, Encoder};

/// Lines of UTF-8 text, each ending in `\n`; messages are [`String`]s without
/// the line end.
///
/// # Decoding
///
/// A line ends at the first `\n`, and one `\r` before it is dropped as well, so
/// `\r\n` line ends (telnet, `nc -C`) read the same. With `max` the
/// [`max_line_length`](Self::max_line_length), counted without the line end:
///
/// | buffered | result |
/// |---|---|
/// | a line of at most `max` bytes, UTF-8 | the line, as a `String` |
/// | a line of at most `max` bytes, not UTF-8 | [`DecodeError::Invalid`]: the connection closes |
/// | a line over `max` bytes, or `max + 2` bytes with no `\n` among them | [`DecodeError::Invalid`]: the connection closes |
/// | fewer than `max + 2` bytes, no `\n` | [`DecodeError::Incomplete`] (`frame_len: None`: a line does not announce its length) |
///
/// Why a limit of its own, when the connection already closes with
/// [`CloseReason::FrameTooLarge`](crate::CloseReason::FrameTooLarge) once its
/// receive buffer is full of one unended line: the decoder searches the buffer for
/// `\n` from the start each time more bytes arrive, so a peer that trickles an
/// endless line costs a search of the whole buffer per read. The limit caps that
/// search at `max + 2` bytes, and refuses such a line long before
/// [`max_buffer_length`](crate::ConnectionConfig::max_buffer_length) (32 MiB by
/// default) is reached. It is [`DEFAULT_MAX_LINE_LENGTH`](Self::DEFAULT_MAX_LINE_LENGTH),
/// 64 KiB, unless set; whichever of the two limits is smaller applies.
///
/// # Encoding
///
/// Each message is written followed by `\n`: a line of up to 2 KiB is appended to
/// the connection's write buffer, a longer one written from the `String`'s own
/// memory. The encoder does not look inside: a message holding `\n` arrives as
/// several lines, and a trailing `\r` is lost to the line end.
///
/// ```
/// use bytes::BytesMut;
/// use protosocket::{DecodeError, Decoder, Encoder, LinesCodec};
///
/// let mut codec = LinesCodec::new().max_line_length(8);
/// let mut wire = Vec::new();
/// assert!(codec.encode_into("hello".to_string(), &mut wire).is_none());
/// assert_eq!(wire, b"hello\n");
///
/// let mut received = BytesMut::from(&b"hello\r\nworld"[..]);
/// assert_eq!(codec.decode_buffer(&mut received).unwrap(), "hello");
/// assert!(matches!(
///     codec.decode_buffer(&mut received),
///     Err(DecodeError::Incomplete { frame_len: None })
/// ));
/// // Over the limit, with or without its `\n`, and not UTF-8.
/// assert!(matches!(codec.decode(b"overlong!\n"), Err(DecodeError::Invalid(_))));
/// assert!(matches!(codec.decode(b"endless..."), Err(DecodeError::Invalid(_))));
/// assert!(matches!(codec.decode(b"\xff\n"), Err(DecodeError::Invalid(_))));
/// ```
#[derive(Debug, Clone, Copy)]
pub struct LinesCodec {
    max_line_length: usize,
}

impl LinesCodec {
    /// The longest line accepted unless [set](Self::max_line_length) otherwise:
    /// 64 KiB, not counting the line end.
    pub const DEFAULT_MAX_LINE_LENGTH: usize = 64 * 1024;

    /// A codec for lines of up to [`DEFAULT_MAX_LINE_LENGTH`](Self::DEFAULT_MAX_LINE_LENGTH) bytes.
    #[must_use]
    pub fn new() -> Self {
        Self {
            max_line_length: Self::DEFAULT_MAX_LINE_LENGTH,
        }
    }

    /// Accepts lines of up to `bytes` bytes, not counting the line end; a longer
    /// one is [`DecodeError::Invalid`]. `usize::MAX` leaves only the connection's
    /// `max_buffer_length`, at the cost of searching its whole buffer per read.
    #[must_use]
    pub fn max_line_length(mut self, bytes: usize) -> Self {
        self.max_line_length = bytes;
        self
    }

    /// The longest line accepted, not counting the line end.
    #[must_use]
    pub fn get_max_line_length(&self) -> usize {
        self.max_line_length
    }

    #[cold]
    fn too_long(&self) -> DecodeError {
        DecodeError::invalid(format_args!(
            "line longer than {} bytes",
            self.max_line_length
        ))
    }
}

impl Default for LinesCodec {
    fn default() -> Self {
        Self::new()
    }
}

impl Encoder for LinesCodec {
    type Message = String;
    type Serialized = Chain<Cursor<Vec<u8>>, &'static [u8]>;

    #[inline]
    fn encode(&mut self, line: String) -> Self::Serialized {
        Cursor::new(line.into_bytes()).chain(&b"\n"[..])
    }

    #[inline]
    fn encode_into(&mut self, line: String, buffer: &mut Vec<u8>) -> Option<String> {
        if line.len() > APPEND_LIMIT {
            return Some(line);
        }
        buffer.reserve(line.len() + 1);
        buffer.extend_from_slice(line.as_bytes());
        buffer.push(b'\n');
        None
    }
}

impl Decoder for LinesCodec {
    type Message = String;

    fn decode(&mut self, buffer: &[u8]) -> Result<(usize, String), DecodeError> {
        // The longest acceptable line with `\r\n`: no need to search further.
        let reach = self.max_line_length.saturating_add(2);
        let searched = &buffer[..buffer.len().min(reach)];
        let Some(end) = searched.iter().position(|&b| b == b'\n') else {
            if searched.len() == reach {
                return Err(self.too_long());
            }
            return Err(DecodeError::Incomplete { frame_len: None });
        };
        let line = &buffer[..end];
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.len() > self.max_line_length {
            return Err(self.too_long());
        }
        match std::str::from_utf8(line) {
            Ok(text) => Ok((end + 1, text.to_owned())),
            Err(error) => Err(DecodeError::invalid(format_args!(
                "line is not UTF-8: {error}"
            ))),
        }
    }
}
