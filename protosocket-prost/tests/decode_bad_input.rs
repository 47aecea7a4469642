//! Bad prefixes are invalid as soon as they arrive, and bad bodies are invalid. A
//! frame too large for the connection is refused from its prefix alone: the
//! decoder announces the whole frame's length, and the connection closes.

mod support;

use bytes::BytesMut;
use protosocket::{CloseReason, Connection, ConnectionConfig, DecodeError, Decoder};
use protosocket_prost::ProstDecoder;
use support::{within, Echo, Item};
use tokio::io::AsyncWriteExt;

fn assert_invalid(decoder: &mut ProstDecoder<Item>, bytes: &[u8], what: &str) {
    match decoder.decode(bytes) {
        Err(DecodeError::Invalid(reason)) => assert!(!reason.reason().is_empty()),
        other => panic!("{what}: expected invalid, got {other:?}"),
    }
    let mut buffer = BytesMut::from(bytes);
    assert!(
        matches!(
            decoder.decode_buffer(&mut buffer),
            Err(DecodeError::Invalid(_))
        ),
        "{what}: decode_buffer"
    );
    assert_eq!(&buffer[..], bytes, "{what}: the buffer is left as it was");
}

#[test]
fn prefix_of_eleven_continuation_bytes_is_invalid_without_waiting() {
    let mut decoder = ProstDecoder::new();
    assert_invalid(&mut decoder, &[0x80; 11], "11 continuation bytes");
    // Ten are already too many: the tenth byte may not continue.
    assert_invalid(&mut decoder, &[0x80; 10], "10 continuation bytes");
    // Nine might still end well.
    assert!(matches!(
        decoder.decode(&[0x80; 9]),
        Err(DecodeError::Incomplete { frame_len: None })
    ));
}

#[test]
fn prefix_over_a_set_maximum_is_invalid_with_only_the_prefix() {
    let mut decoder = ProstDecoder::with_max_frame_length(1024);
    assert_eq!(decoder.max_frame_length(), Some(1024));
    let mut prefix = Vec::new();
    prost::encode_length_delimiter(1023, &mut prefix).unwrap();
    // 2 + 1023 bytes: one over.
    assert_invalid(&mut decoder, &prefix, "a frame of 1025 bytes");
    prefix.clear();
    prost::encode_length_delimiter(1022, &mut prefix).unwrap();
    assert!(matches!(
        decoder.decode(&prefix),
        Err(DecodeError::Incomplete {
            frame_len: Some(1024)
        })
    ));
}

#[test]
fn without_a_maximum_a_large_prefix_announces_its_whole_frame() {
    let mut decoder = ProstDecoder::<Item>::new();
    assert_eq!(decoder.max_frame_length(), None, "no limit of its own");
    let mut prefix = Vec::new();
    prost::encode_length_delimiter(64 * 1024 * 1024, &mut prefix).unwrap();
    match decoder.decode(&prefix) {
        Err(DecodeError::Incomplete {
            frame_len: Some(len),
        }) => assert_eq!(len, prefix.len() + 64 * 1024 * 1024),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn connection_closes_on_a_prefix_over_its_max_buffer_length() {
    let config = ConnectionConfig::default().max_buffer_length(1024);
    let (sender, outbound) = config.outbound_channel();
    let (mut peer, stream) = tokio::io::duplex(64);
    let codec = protosocket_prost::codec();
    let reactor = Echo::<Item> { sender };
    let mut connection = Connection::new(stream, codec, reactor, Some(outbound), config);
    // 2 + 1023 bytes: one over, and only the prefix is sent.
    let mut prefix = Vec::new();
    prost::encode_length_delimiter(1023, &mut prefix).unwrap();
    peer.write_all(&prefix).await.expect("write");
    within("the connection to close", &mut connection).await;
    assert!(
        matches!(
            connection.close_reason(),
            Some(CloseReason::FrameTooLarge {
                len: 1025,
                max: 1024
            })
        ),
        "{:?}",
        connection.close_reason()
    );
}

#[test]
fn ten_byte_prefix_of_two_to_the_63_is_invalid() {
    let mut prefix = [0x80; 10];
    prefix[9] = 0x01;
    // Even without a limit of its own, 2^63 bytes fit in no buffer.
    assert_invalid(&mut ProstDecoder::new(), &prefix, "a length of 2^63");
    assert_invalid(
        &mut ProstDecoder::with_max_frame_length(usize::MAX),
        &prefix,
        "a length of 2^63 with the largest limit",
    );
}

#[test]
fn ten_byte_prefix_past_64_bits_is_invalid() {
    let mut prefix = [0xFF; 10];
    prefix[9] = 0x02;
    assert_invalid(&mut ProstDecoder::new(), &prefix, "bit 64 set");
    prefix[9] = 0x7F;
    assert_invalid(&mut ProstDecoder::new(), &prefix, "bits 64..70 set");
}

#[test]
fn non_minimal_prefix_is_accepted() {
    // 0x85 0x00 is 5 spelled in two bytes: legal protobuf, if wasteful.
    let mut wire = vec![0x85, 0x00];
    prost::Message::encode(
        &Item {
            id: 3,
            name: String::new(),
        },
        &mut wire,
    )
    .unwrap();
    wire.truncate(2 + 2);
    assert!(matches!(
        ProstDecoder::<Item>::new().decode(&wire),
        Err(DecodeError::Incomplete { frame_len: Some(7) })
    ));
}

#[test]
fn undecodable_body_is_invalid() {
    let mut decoder = ProstDecoder::new();
    // Field 1 with wire type 7, which does not exist.
    assert_invalid(&mut decoder, &[0x01, 0x0F], "an unknown wire type");
    // Field 1 as a varint, cut off inside its frame.
    assert_invalid(&mut decoder, &[0x02, 0x08, 0x80], "a truncated field");
    // Field 2 (a string) that is not UTF-8.
    assert_invalid(&mut decoder, &[0x03, 0x12, 0x01, 0xFF], "a bad string");
    // A bad body is invalid even with good frames after it.
    assert_invalid(&mut decoder, &[0x01, 0x0F, 0x00, 0x00], "then more frames");
}
