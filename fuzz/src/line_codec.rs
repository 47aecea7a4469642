//! The `line_codec` target: arbitrary bytes into example-telnet's `LineDecoder`.
//!
//! Input: one byte choosing the line limit (see [`MAX_LINE_LENGTHS`]), one byte
//! for how many bytes arrive per read (1 to 256), then the bytes.
//!
//! Every decode is held to what the decoder documents, with `reach` the limit
//! plus 2 (the longest line it accepts, with `\r\n`):
//!
//! | result | only when |
//! |---|---|
//! | `Line(text)`, `used` | the first `\n` is at `used - 1`; the line before it, less one trailing `\r`, is at most the limit, and `text` is its lossy UTF-8 |
//! | `TooLong`, `used` | the first `\n` is within `reach` and the line before it is over the limit (`used` takes the line), or there is no `\n` within `reach` (`used` takes everything buffered) |
//! | `Incomplete { frame_len: None }` | no `\n`, and fewer than `reach` bytes |
//!
//! and nothing else: no panic, no other error, `used` within the buffer. Then,
//! as a connection would see them: the messages decoded from the bytes arriving
//! a few at a time are those decoded from all of them at once, up to and
//! including the first `TooLong` (after which the connection closes). And a line
//! written back with protosocket's `LinesCodec` (the server's encoder) reads as
//! the same line.

use example_telnet::{Inbound, LineDecoder};
use protosocket::{DecodeError, Decoder, LinesCodec};

use crate::framing::append;

/// The limits the first byte picks from (its low 3 bits): none at all, tiny ones,
/// the server's default (1024), and the largest, where `reach` saturates.
pub const MAX_LINE_LENGTHS: [usize; 8] = [0, 1, 2, 3, 8, 64, 1024, usize::MAX];

/// Runs the target on one input.
pub fn run(input: &[u8]) {
    let [selector, chunk, stream @ ..] = input else {
        return;
    };
    let max = MAX_LINE_LENGTHS[usize::from(selector & 7)];
    let at_once = messages(max, stream, stream.len().max(1));
    let chunked = messages(max, stream, usize::from(*chunk) + 1);
    assert_eq!(
        chunked,
        at_once,
        "lines read {} bytes at a time differ from lines read at once",
        usize::from(*chunk) + 1
    );
    for message in &at_once {
        if let Inbound::Line(text) = message {
            check_reencoding(text);
        }
    }
}

/// What a connection hands its reactor when `stream` arrives `chunk` bytes per
/// read, up to and including the first `TooLong`, checking every decode.
fn messages(max: usize, stream: &[u8], chunk: usize) -> Vec<Inbound> {
    let mut decoder = LineDecoder::new(max);
    let mut buffer = Vec::new();
    let mut arrived = 0;
    let mut found = Vec::new();
    loop {
        loop {
            let result = decoder.decode(&buffer);
            check_decode(max, &buffer, &result);
            match result {
                Ok((used, message)) => {
                    buffer.drain(..used);
                    let too_long = message == Inbound::TooLong;
                    found.push(message);
                    if too_long {
                        return found;
                    }
                }
                Err(_) => break,
            }
        }
        if arrived == stream.len() {
            return found;
        }
        let end = stream.len().min(arrived + chunk);
        buffer.extend_from_slice(&stream[arrived..end]);
        arrived = end;
    }
}

/// Holds one decode to the table in the module docs.
fn check_decode(max: usize, buffer: &[u8], result: &Result<(usize, Inbound), DecodeError>) {
    let reach = max.saturating_add(2);
    let newline = buffer.iter().position(|&b| b == b'\n');
    let line_at = |end: usize| {
        let line = &buffer[..end];
        line.strip_suffix(b"\r").unwrap_or(line)
    };
    match result {
        Ok((used, Inbound::Line(text))) => {
            let end = newline.expect("a line was decoded without a newline");
            assert_eq!(
                *used,
                end + 1,
                "a line took {used} bytes, its newline is at {end}"
            );
            let line = line_at(end);
            assert!(
                line.len() <= max,
                "a {}-byte line passed a {max}-byte limit",
                line.len()
            );
            assert_eq!(*text, String::from_utf8_lossy(line), "the line's text");
        }
        Ok((used, Inbound::TooLong)) => match newline {
            Some(end) if end < reach => {
                assert_eq!(
                    *used,
                    end + 1,
                    "TooLong took {used} bytes, the newline is at {end}"
                );
                let line = line_at(end);
                assert!(
                    line.len() > max,
                    "a {}-byte line was too long for a {max}-byte limit",
                    line.len()
                );
            }
            _ => {
                assert!(
                    buffer.len() >= reach,
                    "TooLong for {} bytes without a newline, limit {max}",
                    buffer.len()
                );
                assert_eq!(*used, buffer.len(), "TooLong without a newline keeps bytes");
            }
        },
        Err(DecodeError::Incomplete { frame_len: None }) => {
            assert_eq!(newline, None, "Incomplete with a newline buffered");
            assert!(
                buffer.len() < reach,
                "Incomplete for {} bytes, past a {max}-byte limit",
                buffer.len()
            );
        }
        Err(error) => panic!("the line decoder failed: {error:?}"),
    }
}

/// A decoded line, written back, reads as itself under a limit of its own length
/// (lossy UTF-8 may have made it longer than the bytes it came from). A line
/// ending in `\r` would lose it to the line end, so those are left out.
fn check_reencoding(text: &str) {
    if text.ends_with('\r') {
        return;
    }
    let mut wire = Vec::new();
    append(&mut LinesCodec::new(), text.to_owned(), &mut wire);
    match LineDecoder::new(text.len()).decode(&wire) {
        Ok((used, Inbound::Line(again))) => {
            assert_eq!(used, wire.len(), "a written line read short");
            assert_eq!(again, text, "a written line read differently");
        }
        other => panic!("the written line {text:?} read as {other:?}"),
    }
}
