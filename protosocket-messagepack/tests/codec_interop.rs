//! Frames built by hand decode, and the encoder's frames parse by hand.

mod support;

use protosocket::{Decoder, Encoder};
use protosocket_messagepack::{codec, MessagePackCodec, MessagePackDecoder};
use serde::{Deserialize, Serialize};
use support::{encode_all, frame, items, Item};

#[test]
fn hand_built_frames_decode_in_both_struct_forms() {
    let mut wire = Vec::new();
    for item in items() {
        wire.extend_from_slice(&frame(&rmp_serde::to_vec_named(&item).unwrap()));
        wire.extend_from_slice(&frame(&rmp_serde::to_vec(&item).unwrap()));
    }
    let mut decoder = MessagePackDecoder::<Item>::new();
    let mut rest = &wire[..];
    let mut decoded = Vec::new();
    while !rest.is_empty() {
        let (used, item) = decoder.decode(rest).unwrap();
        decoded.push(item);
        rest = &rest[used..];
    }
    let twice: Vec<Item> = items().into_iter().flat_map(|i| [i.clone(), i]).collect();
    assert_eq!(decoded, twice);
}

#[test]
fn encoder_output_parses_by_hand() {
    let mut codec: MessagePackCodec<Item, Item> = codec();
    let wire = encode_all(&mut codec, items());
    let mut rest = &wire[..];
    for item in items() {
        assert_eq!(rest[0], 0xCE);
        let len = u32::from_be_bytes(rest[1..5].try_into().unwrap()) as usize;
        let body = &rest[5..5 + len];
        assert_eq!(body, rmp_serde::to_vec_named(&item).unwrap());
        assert_eq!(rmp_serde::from_slice::<Item>(body).unwrap(), item);
        rest = &rest[5 + len..];
    }
    assert!(rest.is_empty());
}

/// A newer peer's `Item`: a field added, the old ones reordered.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct ItemV2 {
    tags: Vec<u32>,
    #[serde(default)]
    extra: Option<String>,
    name: String,
    id: u64,
}

#[test]
fn named_fields_survive_reordering_and_additions() {
    let mut old: MessagePackCodec<Item, Item> = codec();
    let mut new: MessagePackCodec<ItemV2, ItemV2> = codec();
    let item = items().remove(0);
    let wire = encode_all(&mut old, vec![item.clone()]);
    let (_, upgraded) = new.decode(&wire).unwrap();
    assert_eq!(
        upgraded,
        ItemV2 {
            tags: item.tags.clone(),
            extra: None,
            name: item.name.clone(),
            id: item.id,
        }
    );
    let wire = encode_all(&mut new, vec![upgraded]);
    assert_eq!(old.decode(&wire).unwrap().1, item);
}

/// Fails to serialize on purpose.
#[derive(Debug)]
struct Unserializable;

impl Serialize for Unserializable {
    fn serialize<S: serde::Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
        Err(serde::ser::Error::custom("no"))
    }
}

#[test]
fn a_message_that_fails_to_serialize_is_dropped_whole() {
    let mut codec: MessagePackCodec<Unserializable, ()> = codec();
    let mut wire = b"earlier".to_vec();
    assert!(codec.encode_into(Unserializable, &mut wire).is_none());
    assert_eq!(wire, b"earlier", "nothing of the failed message is left");
    assert_eq!(codec.0.serializer_mut().dropped(), 1);
}
