//! One line is one message. Answers are written by protosocket's
//! [`LinesCodec`](protosocket::LinesCodec); lines are read by [`LineDecoder`],
//! which differs from that codec's decoder where a telnet user is better served:
//! bytes that are not UTF-8 are replaced instead of closing the connection, and a
//! line over the limit reaches the reactor, which can then say why it closes.

use protosocket::{DecodeError, Decoder};

/// What the decoder finds in the stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inbound {
    /// A line, without its `\n` (or `\r\n`). Bytes that are not UTF-8 are replaced
    /// with U+FFFD rather than refused: a typo should not cost the connection.
    Line(String),
    /// A line longer than the limit. The reactor answers with an error and closes
    /// the connection: reporting it here, instead of failing the decode, is what
    /// lets the peer hear why.
    TooLong,
}

/// Finds lines of at most `max_line_length` bytes (not counting the line end).
#[derive(Debug, Clone)]
pub struct LineDecoder {
    max_line_length: usize,
}

impl LineDecoder {
    /// A decoder for lines of at most `max_line_length` bytes.
    pub fn new(max_line_length: usize) -> Self {
        Self { max_line_length }
    }
}

impl Decoder for LineDecoder {
    type Message = Inbound;

    fn decode(&mut self, buffer: &[u8]) -> Result<(usize, Inbound), DecodeError> {
        // The longest acceptable line plus `\r\n`: no need to look further.
        let window = buffer.len().min(self.max_line_length.saturating_add(2));
        let Some(end) = buffer[..window].iter().position(|&b| b == b'\n') else {
            if window == self.max_line_length.saturating_add(2) {
                // Everything buffered goes: the connection closes after the answer.
                return Ok((buffer.len(), Inbound::TooLong));
            }
            return Err(DecodeError::Incomplete { frame_len: None });
        };
        let line = &buffer[..end];
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.len() > self.max_line_length {
            return Ok((end + 1, Inbound::TooLong));
        }
        Ok((
            end + 1,
            Inbound::Line(String::from_utf8_lossy(line).into_owned()),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(max: usize, buffer: &[u8]) -> Result<(usize, Inbound), DecodeError> {
        LineDecoder::new(max).decode(buffer)
    }

    #[test]
    fn lines_with_either_ending() {
        let (used, line) = decode(8, b"echo a\nrest").unwrap();
        assert_eq!((used, line), (7, Inbound::Line("echo a".into())));
        let (used, line) = decode(8, b"echo a\r\n").unwrap();
        assert_eq!((used, line), (8, Inbound::Line("echo a".into())));
    }

    #[test]
    fn partial_line_is_incomplete() {
        assert!(matches!(
            decode(8, b"echo"),
            Err(DecodeError::Incomplete { frame_len: None })
        ));
        // Exactly at the limit, with `\r` still possibly followed by `\n`.
        assert!(matches!(
            decode(4, b"abcd\r"),
            Err(DecodeError::Incomplete { .. })
        ));
    }

    #[test]
    fn limit_is_inclusive() {
        let (_, line) = decode(4, b"abcd\n").unwrap();
        assert_eq!(line, Inbound::Line("abcd".into()));
        let (_, line) = decode(4, b"abcd\r\n").unwrap();
        assert_eq!(line, Inbound::Line("abcd".into()));
        assert_eq!(decode(4, b"abcde\n").unwrap().1, Inbound::TooLong);
        assert_eq!(decode(4, b"abcdef").unwrap().1, Inbound::TooLong);
    }

    #[test]
    fn invalid_utf8_is_replaced() {
        let (_, line) = decode(8, b"a\xffb\n").unwrap();
        assert_eq!(line, Inbound::Line("a\u{fffd}b".into()));
    }
}
