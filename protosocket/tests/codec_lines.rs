//! `LinesCodec`: lines end at `\n` (a `\r` before it goes too), a line over the
//! codec's limit or not UTF-8 closes the connection as an invalid frame, and with
//! no limit of its own an endless line is the connection's `FrameTooLarge`.

mod support;

use bytes::Buf;
use protosocket::{CloseReason, ConnectionConfig, DecodeError, Decoder, Encoder, LinesCodec};
use support::{lock, scripted_echo, Driver, Read};

fn decode(max: usize, buffer: &[u8]) -> Result<(usize, String), DecodeError> {
    LinesCodec::new().max_line_length(max).decode(buffer)
}

fn is_invalid(result: Result<(usize, String), DecodeError>) -> bool {
    matches!(result, Err(DecodeError::Invalid(_)))
}

#[test]
fn a_line_ends_at_newline_with_or_without_carriage_return() {
    assert_eq!(decode(8, b"echo a\nrest").unwrap(), (7, "echo a".into()));
    assert_eq!(decode(8, b"echo a\r\n").unwrap(), (8, "echo a".into()));
    assert_eq!(decode(8, b"\n").unwrap(), (1, String::new()));
    assert_eq!(
        decode(8, b"a\r\r\n").unwrap(),
        (4, "a\r".into()),
        "one `\\r` only"
    );
    assert!(matches!(
        decode(8, b"echo"),
        Err(DecodeError::Incomplete { frame_len: None })
    ));
}

#[test]
fn the_limit_counts_the_line_without_its_end() {
    assert_eq!(decode(4, b"abcd\n").unwrap().1, "abcd");
    assert_eq!(decode(4, b"abcd\r\n").unwrap().1, "abcd");
    // Its `\n` may still come.
    assert!(matches!(
        decode(4, b"abcd\r"),
        Err(DecodeError::Incomplete { .. })
    ));
    assert!(is_invalid(decode(4, b"abcde\n")));
    assert!(is_invalid(decode(4, b"abcd\rx")), "no end within reach");
    assert!(is_invalid(decode(0, b"ab")));
    assert_eq!(decode(0, b"\r\n").unwrap().1, "");
    assert_eq!(
        LinesCodec::default().get_max_line_length(),
        LinesCodec::DEFAULT_MAX_LINE_LENGTH
    );
}

#[test]
fn a_line_that_is_not_utf8_is_invalid() {
    assert!(is_invalid(decode(8, b"a\xffb\n")));
    // The first byte of "é" alone, cut off by the line end.
    assert!(is_invalid(decode(8, b"\xc3\n")));
}

#[test]
fn short_lines_are_appended_and_long_ones_written_from_their_own_memory() {
    let mut codec = LinesCodec::new();
    let mut wire = Vec::new();
    assert!(codec.encode_into("hi".to_string(), &mut wire).is_none());
    assert_eq!(wire, b"hi\n");

    let long = "x".repeat(3000);
    let declined = codec
        .encode_into(long.clone(), &mut wire)
        .expect("a long line is not copied");
    let mut frame = codec.encode(declined);
    let bytes = frame.copy_to_bytes(frame.remaining());
    assert_eq!(bytes, format!("{long}\n"));
    assert_eq!(codec.decode(&bytes).unwrap(), (3001, long));
}

/// Runs an echo connection over `codec` on `input`, `ok` then a bad line, to its
/// end: a bad frame closes it at once, unanswered.
fn close_reason_for(codec: LinesCodec, config: ConnectionConfig, input: &[u8]) -> CloseReason {
    let (script, mut connection, log) = scripted_echo(codec, config);
    script.push_data(input.to_vec());
    assert!(Driver::new().run_until_idle(&mut connection).is_ready());
    assert_eq!(*lock(&log), [b"ok".to_vec()], "the line before the bad one");
    connection.close_reason().cloned().expect("closed")
}

#[test]
fn a_line_over_the_codec_limit_closes_as_an_invalid_frame() {
    let codec = LinesCodec::new().max_line_length(16);
    let mut input = b"ok\n".to_vec();
    input.extend_from_slice(&[b'a'; 40]);
    match close_reason_for(codec, ConnectionConfig::default(), &input) {
        CloseReason::InvalidFrame(invalid) => {
            assert_eq!(invalid.reason(), "line longer than 16 bytes")
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_line_that_is_not_utf8_closes_as_an_invalid_frame() {
    let reason = close_reason_for(
        LinesCodec::new(),
        ConnectionConfig::default(),
        b"ok\n\xc3\x28\n",
    );
    assert!(matches!(reason, CloseReason::InvalidFrame(_)), "{reason:?}");
}

#[test]
fn without_a_codec_limit_an_endless_line_is_too_large_for_the_buffer() {
    let codec = LinesCodec::new().max_line_length(usize::MAX);
    let config = ConnectionConfig::default().max_buffer_length(1024);
    let mut input = b"ok\n".to_vec();
    input.extend_from_slice(&[b'a'; 4096]);
    let reason = close_reason_for(codec, config, &input);
    assert!(
        matches!(reason, CloseReason::FrameTooLarge { max: 1024, .. }),
        "{reason:?}"
    );
}

#[test]
fn lines_split_across_reads_are_whole() {
    let (script, mut connection, log) =
        scripted_echo(LinesCodec::new(), ConnectionConfig::default());
    for chunk in [&b"he"[..], b"llo\r", b"\nwor", b"ld\n"] {
        script.push_data(chunk.to_vec());
    }
    script.push(Read::Eof);
    assert!(Driver::new().run_until_idle(&mut connection).is_ready());
    assert_eq!(*lock(&log), [b"hello".to_vec(), b"world".to_vec()]);
    assert_eq!(script.written(), b"hello\nworld\n");
}
