//! The frames are exactly prost's length-delimited encoding, both ways.

mod support;

use bytes::{Buf, BytesMut};
use prost::Message;
use protosocket::{Decoder, Encoder};
use protosocket_prost::{codec, ProstCodec, ProstDecoder};
use support::{encode_all, items, Item};

#[test]
fn prost_length_delimited_frames_decode() {
    let mut wire = Vec::new();
    for item in items() {
        item.encode_length_delimited(&mut wire).unwrap();
    }
    let mut decoder = ProstDecoder::<Item>::new();
    let mut buffer = BytesMut::from(&wire[..]);
    let mut decoded = Vec::new();
    while !buffer.is_empty() {
        decoded.push(decoder.decode_buffer(&mut buffer).unwrap());
    }
    assert_eq!(decoded, items());
}

#[test]
fn our_frames_decode_with_prost_length_delimited() {
    let mut codec: ProstCodec<Item, Item> = codec();
    let wire = encode_all(&mut codec, items());
    let mut rest = &wire[..];
    let mut decoded = Vec::new();
    while rest.has_remaining() {
        decoded.push(Item::decode_length_delimited(&mut rest).unwrap());
    }
    assert_eq!(decoded, items());

    for item in items() {
        let buffer = codec.encode(item.clone());
        assert_eq!(buffer.as_slice(), item.encode_length_delimited_to_vec());
        codec.return_buffer(buffer);
    }
}
