//! Messages encoded back to back decode in order, whole or cut at any byte.

mod support;

use bytes::BytesMut;
use protosocket::{DecodeError, Decoder, Encoder};
use protosocket_messagepack::{codec, MessagePackCodec, MessagePackDecoder};
use support::{encode_all, items, Empty, Item, Unit};

/// Each frame's `(start, frame_len)` in `wire`, read by hand.
fn frames(wire: &[u8]) -> Vec<(usize, usize)> {
    let mut frames = Vec::new();
    let mut start = 0;
    while start < wire.len() {
        assert_eq!(wire[start], 0xCE);
        let len = u32::from_be_bytes(wire[start + 1..start + 5].try_into().unwrap());
        let frame_len = 5 + len as usize;
        frames.push((start, frame_len));
        start += frame_len;
    }
    frames
}

fn decode_all<D: Decoder>(decoder: &mut D, wire: &[u8]) -> Vec<D::Message> {
    let mut rest = wire;
    let mut decoded = Vec::new();
    while !rest.is_empty() {
        let (used, message) = decoder.decode(rest).unwrap();
        decoded.push(message);
        rest = &rest[used..];
    }
    decoded
}

#[test]
fn back_to_back_messages_decode_in_order() {
    let mut codec: MessagePackCodec<Item, Item> = codec();
    let wire = encode_all(&mut codec, items());
    assert_eq!(frames(&wire).len(), items().len());
    assert_eq!(decode_all(&mut codec, &wire), items());

    // The default decode_buffer agrees.
    let mut buffer = BytesMut::from(&wire[..]);
    let mut decoded = Vec::new();
    while !buffer.is_empty() {
        decoded.push(codec.decode_buffer(&mut buffer).unwrap());
    }
    assert_eq!(decoded, items());
}

#[test]
fn serializing_appends_after_what_the_buffer_holds() {
    let mut codec: MessagePackCodec<Item, Item> = codec();
    let mut wire = b"earlier bytes".to_vec();
    for item in items() {
        assert!(codec.encode_into(item, &mut wire).is_none());
    }
    assert_eq!(&wire[..13], b"earlier bytes");
    assert_eq!(decode_all(&mut codec, &wire[13..]), items());

    let mut separate = Vec::new();
    for item in items() {
        let buffer = codec.encode(item);
        separate.extend_from_slice(buffer.as_slice());
        codec.return_buffer(buffer);
    }
    assert_eq!(separate, &wire[13..]);
    assert_eq!(codec.0.serializer_mut().dropped(), 0);
}

#[test]
fn empty_and_unit_structs_round_trip() {
    let mut empty: MessagePackCodec<Empty, Empty> = codec();
    let wire = encode_all(&mut empty, vec![Empty {}, Empty {}]);
    assert_eq!(wire, [0xCE, 0, 0, 0, 1, 0x80, 0xCE, 0, 0, 0, 1, 0x80]);
    assert_eq!(decode_all(&mut empty, &wire), [Empty {}, Empty {}]);

    let mut unit: MessagePackCodec<Unit, Unit> = codec();
    let wire = encode_all(&mut unit, vec![Unit, Unit, Unit]);
    assert_eq!(frames(&wire), [(0, 6), (6, 6), (12, 6)]);
    assert_eq!(decode_all(&mut unit, &wire), [Unit, Unit, Unit]);

    let mut nothing: MessagePackCodec<(), ()> = codec();
    let wire = encode_all(&mut nothing, vec![()]);
    assert_eq!(wire, [0xCE, 0, 0, 0, 1, 0xC0]);
    assert_eq!(decode_all(&mut nothing, &wire), [()]);
}

#[test]
fn every_cut_is_incomplete_with_the_frame_length_once_the_header_is_known() {
    let mut codec: MessagePackCodec<Item, Item> = codec();
    let wire = encode_all(&mut codec, items());
    let expected = items();
    for (index, &(start, frame_len)) in frames(&wire).iter().enumerate() {
        for cut in 1..frame_len {
            let want = (cut >= 5).then_some(frame_len);
            match codec.decode(&wire[start..start + cut]) {
                Err(DecodeError::Incomplete { frame_len }) => {
                    assert_eq!(frame_len, want, "frame {index} cut at {cut}")
                }
                other => panic!("frame {index} cut at {cut}: {other:?}"),
            }
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
    let mut codec: MessagePackCodec<Item, Item> = codec();
    // The small items: every split of a 70 KB stream is needlessly slow.
    let small: Vec<Item> = items().into_iter().filter(|i| i.name.len() < 100).collect();
    let wire = encode_all(&mut codec, small.clone());
    for split in 0..=wire.len() {
        let mut decoder = MessagePackDecoder::<Item>::new();
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
        assert_eq!(decoded, small, "split at {split}");
    }
}
