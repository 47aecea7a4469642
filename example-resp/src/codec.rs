//! Requests off the wire: RESP arrays of bulk strings (what clients send) and
//! inline commands (what `nc` or telnet send).
//!
//! A bad request is no decode error: it becomes [`Request::ProtocolError`], so
//! the reactor can answer `-ERR Protocol error: ...` before it closes the
//! connection. Every length a peer announces is checked against [`Limits`]
//! before anything is sized by it.

use std::ops::Range;

use bytes::{Buf, Bytes, BytesMut};
use protosocket::{DecodeError, Decoder};
use smallvec::SmallVec;

use crate::inline::split_inline;
use crate::short::Inline;

/// The arguments of one command, the name first.
pub type Args = SmallVec<[Arg; 4]>;

/// The longest argument copied out of the receive buffer into [`Arg::Short`].
const ARG_INLINE: usize = 22;

/// One argument of a command; it reads as its bytes.
///
/// A short argument (a command name, a key, a small value) is a copy, so a
/// command of short arguments takes and drops no reference count on the
/// receive buffer; a longer one is a slice of that buffer, not copied.
#[derive(Clone, PartialEq, Eq)]
pub enum Arg {
    /// At most 22 bytes, copied.
    Short(Inline<ARG_INLINE>),
    /// A longer argument.
    Shared(Bytes),
}

impl Arg {
    /// A copy of `bytes`.
    #[inline]
    pub fn copy_from_slice(bytes: &[u8]) -> Self {
        match Inline::new(bytes) {
            Some(inline) => Arg::Short(inline),
            None => Arg::Shared(Bytes::copy_from_slice(bytes)),
        }
    }

    /// `frame[range]`: copied when short, else a slice of `frame`.
    #[inline]
    fn from_frame(frame: &Bytes, range: Range<usize>) -> Self {
        match Inline::new(&frame[range.clone()]) {
            Some(inline) => Arg::Short(inline),
            None => Arg::Shared(frame.slice(range)),
        }
    }

    /// The bytes as a [`Bytes`] (a copy for a short argument).
    pub fn to_bytes(&self) -> Bytes {
        match self {
            Arg::Short(inline) => Bytes::copy_from_slice(inline.as_slice()),
            Arg::Shared(bytes) => bytes.clone(),
        }
    }
}

impl From<Vec<u8>> for Arg {
    fn from(bytes: Vec<u8>) -> Self {
        match Inline::new(&bytes) {
            Some(inline) => Arg::Short(inline),
            None => Arg::Shared(Bytes::from(bytes)),
        }
    }
}

impl std::ops::Deref for Arg {
    type Target = [u8];

    #[inline]
    fn deref(&self) -> &[u8] {
        match self {
            Arg::Short(inline) => inline.as_slice(),
            Arg::Shared(bytes) => bytes,
        }
    }
}

impl AsRef<[u8]> for Arg {
    fn as_ref(&self) -> &[u8] {
        self
    }
}

impl std::fmt::Debug for Arg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", Bytes::copy_from_slice(self))
    }
}

/// Bounds on what a peer may send.
///
/// | limit | default | past it |
/// |---|---|---|
/// | `max_bulk_len` | 64 MiB | `Protocol error: invalid bulk length` |
/// | `max_args` | 1,048,576 | `Protocol error: invalid multibulk length` |
/// | `max_inline_len` | 64 KiB | `Protocol error: too big inline request` (also bounds the `*N` and `$N` lines) |
/// | `max_request_len` | `max_bulk_len` + 1 MiB | `Protocol error: too big request` |
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub(crate) max_bulk_len: usize,
    pub(crate) max_args: usize,
    pub(crate) max_inline_len: usize,
    pub(crate) max_request_len: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self::with_max_bulk_len(64 * 1024 * 1024)
    }
}

impl Limits {
    /// The default limits with bulk strings of at most `bytes` (and requests of at
    /// most `bytes` + 1 MiB).
    pub fn with_max_bulk_len(bytes: usize) -> Self {
        Self {
            max_bulk_len: bytes,
            max_args: 1024 * 1024,
            max_inline_len: 64 * 1024,
            max_request_len: bytes.saturating_add(1024 * 1024),
        }
    }

    /// The longest bulk string.
    pub fn max_bulk_len(&self) -> usize {
        self.max_bulk_len
    }

    /// The longest request, headers included: the connection's receive buffer
    /// must hold this much.
    pub fn max_request_len(&self) -> usize {
        self.max_request_len
    }

    /// The most arguments in one command.
    #[must_use]
    pub fn max_args(mut self, args: usize) -> Self {
        self.max_args = args.max(1);
        self
    }

    /// The longest inline command, and the longest `*N` or `$N` line.
    #[must_use]
    pub fn max_inline_len(mut self, bytes: usize) -> Self {
        self.max_inline_len = bytes.max(16);
        self
    }
}

/// What the decoder finds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// A command with its arguments (never empty: empty requests are skipped).
    Command(Args),
    /// Bytes that break the protocol: the text after `Protocol error: `. The
    /// rest of the buffer was consumed; the connection answers and closes.
    ProtocolError(&'static str),
    /// `Protocol error: expected '$', got 'C'`, which names the byte found.
    UnexpectedByte(u8),
}

/// Where a parse stopped.
enum Parsed {
    /// Need more bytes; the request is at least this long when known.
    Incomplete(Option<usize>),
    /// This many bytes hold no command (`*0`, an empty line).
    Empty(usize),
    /// An array request of this many bytes; its arguments are in `args`.
    Array(usize),
    /// An inline request of this many bytes, with its arguments.
    Inline(usize, Args),
    /// A protocol error.
    Error(Request),
}

/// Decodes [`Request`]s. Arguments of array requests are copies when short, and
/// slices of the receive buffer (no copy) when long (see [`Arg`]). A request that arrives in pieces is parsed once: the decoder
/// remembers how far it got in the frame at the front of the buffer.
#[derive(Debug, Clone)]
pub struct RespDecoder {
    limits: Limits,
    /// Argument ranges found so far in the array request at the buffer's front
    /// (a `Vec` that keeps its capacity from request to request).
    ranges: Vec<Range<usize>>,
    /// How many arguments that request has; 0 when none is in progress.
    expected: usize,
    /// Where parsing of that request resumes.
    resume: usize,
}

impl RespDecoder {
    /// A decoder enforcing `limits`.
    pub fn new(limits: Limits) -> Self {
        Self {
            limits,
            ranges: Vec::new(),
            expected: 0,
            resume: 0,
        }
    }

    fn reset(&mut self) {
        self.ranges.clear();
        if self.ranges.capacity() > 1024 {
            // A command with many arguments passed: do not keep its memory.
            self.ranges = Vec::new();
        }
        self.expected = 0;
        self.resume = 0;
    }

    fn parse(&mut self, buffer: &[u8]) -> Parsed {
        if self.expected == 0 {
            self.reset();
            match buffer.first() {
                None => return Parsed::Incomplete(None),
                Some(b'*') => {}
                Some(_) => return self.parse_inline(buffer),
            }
            let (count, next) = match short_number(buffer, 1) {
                Some((n, next)) => (n as i64, next),
                // The general path, for what `short_number` does not read.
                None => {
                    let Some((count, next)) = self.line(buffer, 1, "too big mbulk count string")
                    else {
                        return Parsed::Incomplete(None);
                    };
                    let count = match count {
                        Ok(line) => line,
                        Err(error) => return Parsed::Error(Request::ProtocolError(error)),
                    };
                    match parse_integer(count) {
                        Some(n) => (n, next),
                        None => {
                            return Parsed::Error(Request::ProtocolError(
                                "invalid multibulk length",
                            ))
                        }
                    }
                }
            };
            if count <= 0 {
                return Parsed::Empty(next);
            }
            if count as u64 > self.limits.max_args as u64 {
                return Parsed::Error(Request::ProtocolError("invalid multibulk length"));
            }
            let count = count as usize;
            self.expected = count;
            self.resume = next;
        }
        self.parse_arguments(buffer)
    }

    /// Parses the bulk strings of the array request in progress.
    fn parse_arguments(&mut self, buffer: &[u8]) -> Parsed {
        while self.ranges.len() < self.expected {
            let at = self.resume;
            let Some(&kind) = buffer.get(at) else {
                return Parsed::Incomplete(Some(at + 1));
            };
            if kind != b'$' {
                return Parsed::Error(Request::UnexpectedByte(kind));
            }
            let (length, start) = match short_number(buffer, at + 1) {
                Some((n, start)) if n <= self.limits.max_bulk_len => (n, start),
                Some(_) => return Parsed::Error(Request::ProtocolError("invalid bulk length")),
                None => match self.bulk_length(buffer, at + 1) {
                    Ok(Some(found)) => found,
                    Ok(None) => return Parsed::Incomplete(None),
                    Err(error) => return Parsed::Error(Request::ProtocolError(error)),
                },
            };
            // Like Redis, the two bytes after the data are taken without a look.
            let end = start + length + 2;
            if end > self.limits.max_request_len {
                return Parsed::Error(Request::ProtocolError("too big request"));
            }
            if buffer.len() < end {
                return Parsed::Incomplete(Some(end));
            }
            self.ranges.push(start..start + length);
            self.resume = end;
        }
        let len = self.resume;
        self.expected = 0;
        Parsed::Array(len)
    }

    /// A bulk string's length in the line at `from` (the general path, for what
    /// [`short_number`] does not read), and where its data starts; `None` if the
    /// line has not all arrived.
    #[cold]
    fn bulk_length(
        &self,
        buffer: &[u8],
        from: usize,
    ) -> Result<Option<(usize, usize)>, &'static str> {
        let Some((length, start)) = self.line(buffer, from, "too big bulk count string") else {
            return Ok(None);
        };
        match parse_integer(length?) {
            Some(n) if n >= 0 && (n as u64) <= self.limits.max_bulk_len as u64 => {
                Ok(Some((n as usize, start)))
            }
            _ => Err("invalid bulk length"),
        }
    }

    /// The line starting at `from` up to `\r\n`, and where the next one starts;
    /// `None` if its end has not arrived, an error if it is too long.
    fn line<'b>(
        &self,
        buffer: &'b [u8],
        from: usize,
        too_long: &'static str,
    ) -> Option<(Result<&'b [u8], &'static str>, usize)> {
        let window = &buffer[from.min(buffer.len())..];
        let searched = window.len().min(self.limits.max_inline_len);
        match window[..searched].iter().position(|&b| b == b'\r') {
            Some(end) if end + 1 < window.len() => Some((Ok(&window[..end]), from + end + 2)),
            Some(_) => None,
            None if window.len() > self.limits.max_inline_len => {
                Some((Err(too_long), buffer.len()))
            }
            None => None,
        }
    }

    fn parse_inline(&mut self, buffer: &[u8]) -> Parsed {
        let searched = buffer.len().min(self.limits.max_inline_len + 2);
        let Some(end) = buffer[..searched].iter().position(|&b| b == b'\n') else {
            if buffer.len() > self.limits.max_inline_len {
                return Parsed::Error(Request::ProtocolError("too big inline request"));
            }
            return Parsed::Incomplete(None);
        };
        let line = &buffer[..end];
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.len() > self.limits.max_inline_len {
            return Parsed::Error(Request::ProtocolError("too big inline request"));
        }
        match split_inline(line) {
            Some(args) if args.is_empty() => Parsed::Empty(end + 1),
            Some(args) if args.len() > self.limits.max_args => {
                Parsed::Error(Request::ProtocolError("invalid multibulk length"))
            }
            Some(args) => Parsed::Inline(end + 1, args),
            None => Parsed::Error(Request::ProtocolError("unbalanced quotes in request")),
        }
    }
}

impl Decoder for RespDecoder {
    type Message = Request;

    fn decode(&mut self, buffer: &[u8]) -> Result<(usize, Request), DecodeError> {
        match self.parse(buffer) {
            Parsed::Incomplete(frame_len) => Err(DecodeError::Incomplete { frame_len }),
            Parsed::Empty(len) => Err(DecodeError::Skip(len)),
            Parsed::Array(len) => {
                let args = self
                    .ranges
                    .drain(..)
                    .map(|range| Arg::copy_from_slice(&buffer[range]))
                    .collect();
                Ok((len, Request::Command(args)))
            }
            Parsed::Inline(len, args) => Ok((len, Request::Command(args))),
            Parsed::Error(error) => {
                self.reset();
                Ok((buffer.len(), error))
            }
        }
    }

    fn decode_buffer(&mut self, buffer: &mut BytesMut) -> Result<Request, DecodeError> {
        match self.parse(buffer) {
            Parsed::Incomplete(frame_len) => Err(DecodeError::Incomplete { frame_len }),
            Parsed::Empty(len) => Err(DecodeError::Skip(len)),
            Parsed::Array(len) => {
                let mut args = Args::new();
                args.reserve_exact(self.ranges.len());
                if self.ranges.iter().all(|range| range.len() <= ARG_INLINE) {
                    // Every argument is copied: the buffer is only advanced.
                    for range in self.ranges.drain(..) {
                        args.push(
                            match Inline::from_front(&buffer[range.start..], range.len()) {
                                Some(inline) => Arg::Short(inline),
                                // Near the buffer's end, fewer than 22 bytes follow.
                                None => Arg::copy_from_slice(&buffer[range]),
                            },
                        );
                    }
                    buffer.advance(len);
                } else {
                    let frame = buffer.split_to(len).freeze();
                    for range in self.ranges.drain(..) {
                        args.push(Arg::from_frame(&frame, range));
                    }
                }
                Ok(Request::Command(args))
            }
            Parsed::Inline(len, args) => {
                buffer.advance(len);
                Ok(Request::Command(args))
            }
            Parsed::Error(error) => {
                self.reset();
                buffer.clear();
                Ok(error)
            }
        }
    }
}

/// The number in `N\r?` at `from`, when it is what clients send: one to nine
/// digits without a leading zero (or a lone `0`), then `\r` and one more byte
/// (which, like Redis, nobody looks at); and where the next line starts. `None`
/// for anything else, including a line not all arrived: the general path
/// ([`parse_integer`] on the whole line) reads it and words its errors, and
/// agrees with this one wherever both read a number.
#[inline]
fn short_number(buffer: &[u8], from: usize) -> Option<(usize, usize)> {
    let line = buffer.get(from..)?;
    // One and two digits, the most common, without the loop.
    match *line {
        [digit @ b'0'..=b'9', b'\r', _, ..] => return Some((usize::from(digit - b'0'), from + 3)),
        [tens @ b'1'..=b'9', ones @ b'0'..=b'9', b'\r', _, ..] => {
            let value = usize::from(tens - b'0') * 10 + usize::from(ones - b'0');
            return Some((value, from + 4));
        }
        _ => {}
    }
    let mut value = 0u32;
    for (i, &byte) in line.iter().enumerate().take(10) {
        match byte {
            b'0'..=b'9' if i < 9 && (i == 0 || value != 0) => {
                value = value * 10 + u32::from(byte - b'0');
            }
            b'\r' if i > 0 && line.len() > i + 1 => return Some((value as usize, from + i + 2)),
            _ => return None,
        }
    }
    None
}

/// A decimal integer as Redis reads one (`string2ll`): an optional `-`, digits
/// without leading zeros or a `+`, within `i64`.
pub(crate) fn parse_integer(text: &[u8]) -> Option<i64> {
    let (negative, digits) = match text {
        [b'-', rest @ ..] => (true, rest),
        _ => (false, text),
    };
    match digits {
        [] => return None,
        [b'0'] if !negative => return Some(0),
        [b'0', ..] => return None,
        _ => {}
    }
    let mut value: i64 = 0;
    for &digit in digits {
        if !digit.is_ascii_digit() {
            return None;
        }
        let digit = i64::from(digit - b'0');
        value = value.checked_mul(10)?;
        value = if negative {
            value.checked_sub(digit)?
        } else {
            value.checked_add(digit)?
        };
    }
    Some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(words: &[&str]) -> Request {
        Request::Command(
            words
                .iter()
                .map(|w| Arg::copy_from_slice(w.as_bytes()))
                .collect(),
        )
    }

    fn decode_all(decoder: &mut RespDecoder, bytes: &[u8]) -> Vec<Request> {
        let mut buffer = BytesMut::from(bytes);
        let mut out = Vec::new();
        loop {
            match decoder.decode_buffer(&mut buffer) {
                Ok(request) => out.push(request),
                Err(DecodeError::Skip(n)) => buffer.advance(n),
                Err(DecodeError::Incomplete { .. }) => return out,
                Err(DecodeError::Invalid(invalid)) => panic!("{invalid}"),
            }
        }
    }

    #[test]
    fn arrays_and_inline_commands() {
        let mut decoder = RespDecoder::new(Limits::default());
        let requests = decode_all(
            &mut decoder,
            b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\nPING\r\n\r\n*0\r\nset a \"b c\"\n",
        );
        assert_eq!(
            requests,
            vec![
                args(&["GET", "k"]),
                args(&["PING"]),
                args(&["set", "a", "b c"])
            ]
        );
    }

    #[test]
    fn a_request_in_pieces_is_incomplete_until_whole() {
        let whole = b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nvalue\r\n";
        let mut decoder = RespDecoder::new(Limits::default());
        let mut buffer = BytesMut::new();
        for (i, &byte) in whole.iter().enumerate() {
            buffer.extend_from_slice(&[byte]);
            let result = decoder.decode_buffer(&mut buffer);
            if i + 1 < whole.len() {
                assert!(
                    matches!(result, Err(DecodeError::Incomplete { .. })),
                    "at byte {i}: {result:?}"
                );
            } else {
                assert_eq!(result.unwrap(), args(&["SET", "k", "value"]));
            }
        }
        assert!(buffer.is_empty());
    }

    #[test]
    fn long_arguments_are_slices_and_short_ones_copies() {
        let long = "v".repeat(ARG_INLINE + 1);
        let short = "w".repeat(ARG_INLINE);
        let mut decoder = RespDecoder::new(Limits::default());
        let bytes = format!(
            "*3\r\n$3\r\nSET\r\n${}\r\n{short}\r\n${}\r\n{long}\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n",
            short.len(),
            long.len()
        );
        let requests = decode_all(&mut decoder, bytes.as_bytes());
        assert_eq!(
            requests,
            vec![args(&["SET", &short, &long]), args(&["GET", "k"])]
        );
        let Request::Command(set) = &requests[0] else {
            unreachable!()
        };
        assert!(matches!(set[1], Arg::Short(_)));
        assert!(matches!(set[2], Arg::Shared(_)));
    }

    #[test]
    fn the_slice_decoder_agrees() {
        let mut decoder = RespDecoder::new(Limits::default());
        let (used, request) = decoder.decode(b"*1\r\n$4\r\nPING\r\nrest").unwrap();
        assert_eq!((used, request), (14, args(&["PING"])));
    }

    #[test]
    fn protocol_errors() {
        let limits = Limits::with_max_bulk_len(100).max_inline_len(32);
        let cases: &[(&[u8], Request)] = &[
            (
                b"*1\r\n$abc\r\n",
                Request::ProtocolError("invalid bulk length"),
            ),
            (
                b"*1\r\n$101\r\n",
                Request::ProtocolError("invalid bulk length"),
            ),
            (
                b"*1\r\n$-1\r\n",
                Request::ProtocolError("invalid bulk length"),
            ),
            (
                b"*x\r\n",
                Request::ProtocolError("invalid multibulk length"),
            ),
            (b"*1\r\n:1\r\n", Request::UnexpectedByte(b':')),
            (
                b"set a \"b\r\n",
                Request::ProtocolError("unbalanced quotes in request"),
            ),
            (
                &[b'a'; 40],
                Request::ProtocolError("too big inline request"),
            ),
            (
                &[b'*'; 40],
                Request::ProtocolError("too big mbulk count string"),
            ),
        ];
        for (bytes, expected) in cases {
            let mut decoder = RespDecoder::new(limits);
            let mut buffer = BytesMut::from(*bytes);
            let request = decoder.decode_buffer(&mut buffer).unwrap();
            assert_eq!(&request, expected, "{:?}", String::from_utf8_lossy(bytes));
            assert!(buffer.is_empty());
        }
    }

    #[test]
    fn too_many_arguments() {
        let mut decoder = RespDecoder::new(Limits::default().max_args(2));
        let mut buffer = BytesMut::from(&b"*3\r\n"[..]);
        assert_eq!(
            decoder.decode_buffer(&mut buffer).unwrap(),
            Request::ProtocolError("invalid multibulk length")
        );
    }

    #[test]
    fn the_short_path_agrees_with_the_general_one() {
        for line in [
            &b"0"[..],
            b"7",
            b"10",
            b"123456789",
            b"1234567890",
            b"01",
            b"00",
            b"-1",
            b"+1",
            b"1a",
            b"",
        ] {
            let mut buffer = line.to_vec();
            buffer.extend_from_slice(b"\r\n");
            if let Some((value, next)) = short_number(&buffer, 0) {
                assert_eq!(Some(value as i64), parse_integer(line), "{line:?}");
                assert_eq!(next, buffer.len());
            }
            // A line whose end has not all arrived is left to the general path.
            assert_eq!(short_number(&buffer[..buffer.len() - 1], 0), None);
        }
        assert_eq!(short_number(b"123456789\r\n", 0), Some((123_456_789, 11)));
    }

    #[test]
    fn integers_as_redis_reads_them() {
        assert_eq!(parse_integer(b"0"), Some(0));
        assert_eq!(parse_integer(b"-12"), Some(-12));
        assert_eq!(parse_integer(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_integer(b"-9223372036854775808"), Some(i64::MIN));
        for bad in [
            &b""[..],
            b"-",
            b"-0",
            b"01",
            b"+1",
            b" 1",
            b"1a",
            b"9223372036854775808",
        ] {
            assert_eq!(
                parse_integer(bad),
                None,
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }
}
