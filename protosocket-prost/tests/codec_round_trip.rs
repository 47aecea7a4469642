//! Messages encoded back to back decode in order, whole or cut at any byte.

mod support;

use bytes::BytesMut;
use protosocket::{DecodeError, Decoder, Encoder};
use protosocket_prost::{codec, ProstCodec, ProstDecoder};
use support::{encode_all, items, Item};

/// Each frame's `(start, prefix_len, frame_len)` in `wire`.
fn frames(wire: &[u8]) -> Vec<(usize, usize, usize)> {
    let mut frames = Vec::new();
    let mut start = 0;
    while start < wire.len() {
        let mut rest = &wire[start..];
        let body_len = prost::decode_length_delimiter(&mut rest).unwrap();
        let prefix_len = wire.len() - start - rest.len();
        frames.push((start, prefix_len, prefix_len + body_len));
        start += prefix_len + body_len;
    }
    frames
}

#[test]
fn back_to_back_messages_decode_in_order() {
    let mut codec: ProstCodec<Item, Item> = codec();
    let wire = encode_all(&mut codec, items());

    let mut rest = &wire[..];
    let mut decoded = Vec::new();
    while !rest.is_empty() {
        let (used, item) = codec.decode(rest).unwrap();
        decoded.push(item);
        rest = &rest[used..];
    }
    assert_eq!(decoded, items());

    let mut buffer = BytesMut::from(&wire[..]);
    let mut decoded = Vec::new();
    while !buffer.is_empty() {
        decoded.push(codec.decode_buffer(&mut buffer).unwrap());
    }
    assert_eq!(decoded, items());
}

#[test]
fn pooled_encode_and_encode_into_write_the_same_frames() {
    let mut codec: ProstCodec<Item, Item> = codec();
    let staged = encode_all(&mut codec, items());
    let mut separate = Vec::new();
    for item in items() {
        let buffer = codec.encode(item);
        separate.extend_from_slice(buffer.as_slice());
        codec.return_buffer(buffer);
    }
    assert_eq!(staged, separate);
    // Reused buffers start empty: a second round writes the same bytes.
    let buffer = codec.encode(items().remove(0));
    assert_eq!(buffer.as_slice(), &staged[..frames(&staged)[0].2]);
}

#[test]
fn empty_message_is_a_lone_zero_byte() {
    let mut codec: ProstCodec<Item, Item> = codec();
    let wire = encode_all(&mut codec, vec![Item::default(), Item::default()]);
    assert_eq!(wire, [0, 0]);
    assert_eq!(codec.decode(&wire).unwrap(), (1, Item::default()));
    let mut buffer = BytesMut::from(&wire[..]);
    assert_eq!(codec.decode_buffer(&mut buffer).unwrap(), Item::default());
    assert_eq!(buffer.len(), 1);
}

#[test]
fn every_cut_is_incomplete_with_the_frame_length_once_the_prefix_is_known() {
    let mut codec: ProstCodec<Item, Item> = codec();
    let wire = encode_all(&mut codec, items());
    let expected = items();
    for (index, &(start, prefix_len, frame_len)) in frames(&wire).iter().enumerate() {
        for cut in 1..frame_len {
            let partial = &wire[start..start + cut];
            let want = (cut >= prefix_len).then_some(frame_len);
            match codec.decode(partial) {
                Err(DecodeError::Incomplete { frame_len }) => {
                    assert_eq!(frame_len, want, "frame {index} cut at {cut}")
                }
                other => panic!("frame {index} cut at {cut}: {other:?}"),
            }
            let mut buffer = BytesMut::from(partial);
            assert!(matches!(
                codec.decode_buffer(&mut buffer),
                Err(DecodeError::Incomplete { .. })
            ));
            assert_eq!(&buffer[..], partial, "an incomplete frame stays put");
        }
        let whole = &wire[start..start + frame_len];
        assert_eq!(
            codec.decode(whole).unwrap(),
            (frame_len, expected[index].clone())
        );
    }
}

#[test]
fn split_at_every_byte_boundary_yields_every_message() {
    let mut codec: ProstCodec<Item, Item> = codec();
    let wire = encode_all(&mut codec, items());
    for split in 0..=wire.len() {
        let mut decoder = ProstDecoder::<Item>::new();
        let mut buffer = BytesMut::new();
        let mut decoded = Vec::new();
        for part in [&wire[..split], &wire[split..]] {
            buffer.extend_from_slice(part);
            while !buffer.is_empty() {
                match decoder.decode_buffer(&mut buffer) {
                    Ok(item) => decoded.push(item),
                    Err(DecodeError::Incomplete { .. }) => break,
                    Err(error) => panic!("split at {split}: {error}"),
                }
            }
        }
        assert_eq!(decoded, items(), "split at {split}");
        assert!(buffer.is_empty());
    }
}

#[test]
fn byte_at_a_time_yields_every_message() {
    let mut codec: ProstCodec<Item, Item> = codec();
    let wire = encode_all(&mut codec, items());
    let mut buffer = BytesMut::new();
    let mut decoded = Vec::new();
    for &byte in &wire {
        buffer.extend_from_slice(&[byte]);
        while !buffer.is_empty() {
            match codec.decode_buffer(&mut buffer) {
                Ok(item) => decoded.push(item),
                Err(DecodeError::Incomplete { .. }) => break,
                Err(error) => panic!("{error}"),
            }
        }
    }
    assert_eq!(decoded, items());
}
