//! `bytes::Bytes` fields decoded through `decode_buffer` share the receive buffer.

mod support;

use bytes::{Bytes, BytesMut};
use protosocket::Decoder;
use protosocket_prost::{codec, ProstCodec};
use support::{encode_all, Blob};

#[test]
fn bytes_field_points_into_the_receive_buffer() {
    let mut codec: ProstCodec<Blob, Blob> = codec();
    let blobs = vec![
        Blob {
            id: 1,
            payload: Bytes::from(vec![0xAB; 1000]),
        },
        Blob {
            id: 2,
            payload: Bytes::from_static(b"second"),
        },
    ];
    let wire = encode_all(&mut codec, blobs.clone());

    let mut buffer = BytesMut::with_capacity(wire.len() + 64);
    buffer.extend_from_slice(&wire);
    let range = buffer.as_ptr_range();
    let range = range.start as usize..range.end as usize;

    for expected in blobs {
        let blob = codec.decode_buffer(&mut buffer).unwrap();
        assert_eq!(blob, expected);
        let payload = blob.payload.as_ptr_range();
        assert!(
            range.contains(&(payload.start as usize)) && payload.end as usize <= range.end,
            "payload {payload:?} is not inside the receive buffer {range:x?}"
        );
    }
    assert!(buffer.is_empty());
}

#[test]
fn decode_from_a_slice_copies() {
    let mut codec: ProstCodec<Blob, Blob> = codec();
    let wire = encode_all(
        &mut codec,
        vec![Blob {
            id: 1,
            payload: Bytes::from_static(b"payload"),
        }],
    );
    let (used, blob) = codec.decode(&wire).unwrap();
    assert_eq!(used, wire.len());
    assert_eq!(&blob.payload[..], b"payload");
    let range = wire.as_ptr_range();
    assert!(!range.contains(&blob.payload.as_ptr()));
}
