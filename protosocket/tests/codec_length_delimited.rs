//! `LengthDelimitedCodec`: a partial frame announces its whole length, bodies are
//! split off the receive buffer without a copy, and long bodies are written from
//! their own memory. (A frame over `max_buffer_length` closing the connection is in
//! `connection_close_reason.rs`; every connection test runs over this codec.)

use bytes::{Buf, Bytes, BytesMut};
use protosocket::{DecodeError, Decoder, Encoder, LengthDelimitedCodec};

fn announced(buffer: &[u8]) -> Option<usize> {
    match LengthDelimitedCodec::new().decode(buffer) {
        Err(DecodeError::Incomplete { frame_len }) => frame_len,
        other => panic!("{buffer:?} is a partial frame, yet: {other:?}"),
    }
}

#[test]
fn partial_frame_announces_its_whole_length_once_the_prefix_is_in() {
    assert_eq!(announced(b""), None);
    assert_eq!(announced(b"\0\0\0"), None);
    assert_eq!(announced(b"\0\0\0\x05"), Some(9));
    assert_eq!(announced(b"\0\0\0\x05abcd"), Some(9));
    // No limit of its own: the connection refuses what is over its buffer.
    #[cfg(target_pointer_width = "64")]
    assert_eq!(announced(b"\xff\xff\xff\xff"), Some(u32::MAX as usize + 4));
}

#[test]
fn decode_and_decode_buffer_take_the_same_frames() {
    let wire = b"\0\0\0\x02hi\0\0\0\0\0\0\0\x03abc\0\0";
    let mut codec = LengthDelimitedCodec::new();
    let mut rest = &wire[..];
    let mut buffer = BytesMut::from(&wire[..]);
    for expected in ["hi", "", "abc"] {
        let (used, message) = codec.decode(rest).expect("a whole frame");
        assert_eq!(message, expected);
        assert_eq!(used, 4 + expected.len());
        rest = &rest[used..];
        assert_eq!(
            codec.decode_buffer(&mut buffer).expect("a whole frame"),
            expected
        );
        assert_eq!(&buffer[..], rest);
    }
    assert!(matches!(
        codec.decode_buffer(&mut buffer),
        Err(DecodeError::Incomplete { frame_len: None })
    ));
    assert_eq!(&buffer[..], b"\0\0", "an incomplete frame stays");
}

#[test]
fn decode_buffer_splits_the_body_off_without_copying() {
    let mut buffer = BytesMut::from(&b"\0\0\0\x05hello\0\0\0\x01!"[..]);
    let start = buffer.as_ptr();
    let mut codec = LengthDelimitedCodec::new();
    let hello = codec.decode_buffer(&mut buffer).unwrap();
    let bang = codec.decode_buffer(&mut buffer).unwrap();
    assert_eq!((&hello[..], &bang[..]), (&b"hello"[..], &b"!"[..]));
    assert_eq!(hello.as_ptr(), start.wrapping_add(4));
    assert_eq!(bang.as_ptr(), start.wrapping_add(13));
}

#[test]
fn short_bodies_are_appended_and_long_ones_written_from_their_own_memory() {
    let mut codec = LengthDelimitedCodec::new();
    let mut wire = b"earlier".to_vec();
    assert!(codec
        .encode_into(Bytes::from_static(b"short"), &mut wire)
        .is_none());
    assert_eq!(wire, b"earlier\0\0\0\x05short");

    let long = Bytes::from(vec![7; 3000]);
    let declined = codec
        .encode_into(long.clone(), &mut wire)
        .expect("a long body is not copied");
    let mut frame = codec.encode(declined);
    assert_eq!(frame.remaining(), 3004);
    assert_eq!(frame.chunk(), &3000u32.to_be_bytes());
    frame.advance(4);
    assert_eq!(
        frame.chunk().as_ptr(),
        long.as_ptr(),
        "the body is not copied"
    );
    assert_eq!(frame.chunk().len(), 3000);
    codec.return_buffer(frame);
    assert_eq!(codec.dropped(), 0);
}

#[test]
fn an_encoded_frame_decodes_to_its_message() {
    let mut codec = LengthDelimitedCodec::new();
    for len in [0, 1, 2048, 2049, 70_000] {
        let message = Bytes::from((0..len).map(|i| i as u8).collect::<Vec<u8>>());
        let mut frame = codec.encode(message.clone());
        let wire = frame.copy_to_bytes(frame.remaining());
        assert_eq!(codec.decode(&wire).unwrap(), (wire.len(), message));
    }
}
