//! A bad header is invalid as soon as it arrives, and a bad body is invalid. The
//! decoder has no frame limit of its own: a header announces its whole frame, and
//! the connection refuses one over its buffer (see `connection_echo.rs`).

mod support;

use protosocket::{DecodeError, Decoder};
use protosocket_messagepack::MessagePackDecoder;
use support::{frame, Item};

fn assert_invalid<M: serde::de::DeserializeOwned + std::fmt::Debug>(
    decoder: &mut MessagePackDecoder<M>,
    bytes: &[u8],
    what: &str,
) {
    match decoder.decode(bytes) {
        Err(DecodeError::Invalid(reason)) => assert!(!reason.reason().is_empty()),
        other => panic!("{what}: expected invalid, got {other:?}"),
    }
}

#[test]
fn first_byte_other_than_0xce_is_invalid_at_once() {
    let mut decoder = MessagePackDecoder::<Item>::new();
    for first in [0x00, 0xCC, 0xCD, 0xCF, 0x92, 0xFF] {
        assert_invalid(&mut decoder, &[first], "a lone bad marker");
        assert_invalid(&mut decoder, &[first, 0, 0, 0, 1, 0xC0], "a bad marker");
    }
    assert!(matches!(
        decoder.decode(&[0xCE, 0, 0]),
        Err(DecodeError::Incomplete { frame_len: None })
    ));
}

#[test]
fn length_over_a_set_maximum_is_invalid_at_once() {
    let mut decoder = MessagePackDecoder::<Item>::with_max_frame_length(1024);
    assert_eq!(decoder.max_frame_length(), Some(1024));
    assert_invalid(&mut decoder, &[0xCE, 0xFF, 0xFF, 0xFF, 0xFF], "u32::MAX");
    // One over, one under.
    assert_invalid(&mut decoder, &[0xCE, 0, 0, 0x03, 0xFC], "1020 + 5 bytes");
    assert!(matches!(
        decoder.decode(&[0xCE, 0, 0, 0x03, 0xFB]),
        Err(DecodeError::Incomplete {
            frame_len: Some(1024)
        })
    ));
}

#[test]
fn length_of_u32_max_without_a_maximum_does_not_overflow() {
    let mut decoder = MessagePackDecoder::<Item>::new();
    assert_eq!(decoder.max_frame_length(), None, "no limit by default");
    match decoder.decode(&[0xCE, 0xFF, 0xFF, 0xFF, 0xFF]) {
        // 64-bit: a (huge) frame that has not arrived; the connection's own
        // limit then closes it.
        Err(DecodeError::Incomplete {
            frame_len: Some(len),
        }) => {
            assert_eq!(len as u64, u64::from(u32::MAX) + 5)
        }
        // 32-bit: u32::MAX + 5 does not fit in usize.
        Err(DecodeError::Invalid(_)) => assert!(usize::try_from(u64::from(u32::MAX) + 5).is_err()),
        other => panic!("{other:?}"),
    }
}

#[test]
fn body_that_is_not_the_type_is_invalid() {
    let mut decoder = MessagePackDecoder::<Item>::new();
    // A msgpack string where an Item belongs.
    assert_invalid(&mut decoder, &frame(&[0xA1, b'x']), "a string");
    // A reserved msgpack marker.
    assert_invalid(&mut decoder, &frame(&[0xC1]), "marker 0xc1");
    // An empty body is no value at all.
    assert_invalid(&mut decoder, &frame(&[]), "an empty body");
    // An Item whose last field is cut off inside its frame.
    let mut body = rmp_serde::to_vec_named(&support::items()[0]).unwrap();
    body.pop();
    assert_invalid(&mut decoder, &frame(&body), "a truncated item");
    // A whole Item followed by a stray byte in the same frame.
    let mut body = rmp_serde::to_vec_named(&support::items()[0]).unwrap();
    body.push(0xC0);
    assert_invalid(&mut decoder, &frame(&body), "trailing bytes");
}
