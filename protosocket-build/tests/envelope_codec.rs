//! The generated `ShapesEnvelopes` writes exactly prost's bytes and reads
//! exactly what prost reads: the same message from every encoding, and an
//! error from every input prost refuses, whatever the bytes.

mod support;

use bytes::Bytes;
use proptest::prelude::*;
use prost::Message as _;
use protosocket_prost::{DecodeMessage, EncodeMessage};
use support::shapes::{
    metadata_entry, mixed, shapes_request, shapes_response, Corner, Empty, MetadataEntry, Mixed,
    Name, Plain, ShapesEnvelopes, ShapesRequest, ShapesResponse, Sides,
};

/// What `ShapesEnvelopes` writes for `message`.
fn written<M>(message: &M) -> Vec<u8>
where
    ShapesEnvelopes: EncodeMessage<M>,
{
    let mut buffer = Vec::new();
    ShapesEnvelopes::encode_message(message, &mut buffer);
    buffer
}

/// Checks that `ShapesEnvelopes` reads `frame` as prost does, from a slice and
/// from `Bytes`: the same message, or an error from both.
fn reads_as_prost<M>(frame: &[u8])
where
    M: prost::Message + Default + PartialEq + std::fmt::Debug,
    ShapesEnvelopes: DecodeMessage<M>,
{
    let prost = M::decode(frame);
    for ours in [
        ShapesEnvelopes::decode_message(frame),
        ShapesEnvelopes::decode_message(Bytes::copy_from_slice(frame)),
    ] {
        match (&prost, &ours) {
            (Ok(theirs), Ok(ours)) => assert_eq!(ours, theirs, "read differently: {frame:?}"),
            // The same error, context included ("ShapesRequest.body:
            // Mixed.text: ...").
            (Err(theirs), Err(ours)) => assert_eq!(
                ours.to_string(),
                theirs.to_string(),
                "refused differently: {frame:?}"
            ),
            _ => panic!("prost read {prost:?}, the envelopes {ours:?}, from {frame:?}"),
        }
    }
}

fn metadata() -> impl Strategy<Value = Vec<MetadataEntry>> {
    let value = prop_oneof![
        Just(None),
        ".{0,8}".prop_map(|text| Some(metadata_entry::Value::Text(text))),
        prop::collection::vec(any::<u8>(), 0..8)
            .prop_map(|bytes| Some(metadata_entry::Value::Binary(bytes.into()))),
    ];
    prop::collection::vec(
        ("[a-z-]{0,6}", value).prop_map(|(key, value)| MetadataEntry { key, value }),
        0..3,
    )
}

/// A `Mixed` with every field set or not: the plain ones (read in line) and
/// the others (read by prost).
fn mixed() -> impl Strategy<Value = Mixed> {
    (
        (
            id(),
            any::<u32>(),
            any::<i64>(),
            any::<i32>(),
            any::<bool>(),
        ),
        (".{0,6}", prop::collection::vec(any::<u8>(), 0..4)),
        (
            prop::collection::vec(any::<u64>(), 0..3),
            prop::option::of(any::<u64>()),
            any::<i32>(),
            ".{0,3}",
        ),
        (
            prop_oneof![
                Just(None),
                any::<u64>().prop_map(|first| Some(mixed::Choice::First(first))),
                ".{0,3}".prop_map(|second| Some(mixed::Choice::Second(second))),
            ],
            prop::option::of(any::<u32>().prop_map(|index| Corner { index })),
            id(),
        ),
    )
        .prop_map(
            |(
                (big, small, signed_big, signed_small, flag),
                (text, data),
                (many, maybe, zigzag, r#type),
                (choice, corner, later_field),
            )| Mixed {
                big,
                small,
                signed_big,
                signed_small,
                flag,
                text,
                data,
                many,
                maybe,
                zigzag,
                r#type,
                choice,
                corner,
                later_field,
            },
        )
}

/// A `Plain` with every field set or not.
fn plain() -> impl Strategy<Value = Plain> {
    (
        id(),
        any::<u32>(),
        any::<i64>(),
        any::<i32>(),
        any::<bool>(),
        ".{0,6}",
        id(),
    )
        .prop_map(
            |(big, small, signed_big, signed_small, flag, text, later_field)| Plain {
                big,
                small,
                signed_big,
                signed_small,
                flag,
                text,
                later_field,
            },
        )
}

fn request_body() -> impl Strategy<Value = Option<shapes_request::Body>> {
    use shapes_request::Body;
    prop_oneof![
        Just(None),
        any::<u32>().prop_map(|count| Some(Body::Name(Sides { count }))),
        any::<u32>().prop_map(|count| Some(Body::Corners(Sides { count }))),
        Just(Some(Body::Whoami(Empty {}))),
        Just(Some(Body::Stall(Empty {}))),
        any::<u32>().prop_map(|count| Some(Body::Total(Sides { count }))),
        any::<u32>().prop_map(|index| Some(Body::Mirror(Corner { index }))),
        mixed().prop_map(|mixed| Some(Body::Mix(mixed))),
        plain().prop_map(|plain| Some(Body::Flat(plain))),
    ]
}

fn response_body() -> impl Strategy<Value = Option<shapes_response::Body>> {
    use shapes_response::Body;
    prop_oneof![
        Just(None),
        ".{0,12}".prop_map(|name| Some(Body::Name(Name { name }))),
        any::<u32>().prop_map(|index| Some(Body::Corners(Corner { index }))),
        ".{0,12}".prop_map(|name| Some(Body::Whoami(Name { name }))),
        Just(Some(Body::Stall(Empty {}))),
        any::<u32>().prop_map(|count| Some(Body::Total(Sides { count }))),
        any::<u32>().prop_map(|index| Some(Body::Mirror(Corner { index }))),
        mixed().prop_map(|mixed| Some(Body::Mix(mixed))),
        plain().prop_map(|plain| Some(Body::Flat(plain))),
    ]
}

/// Ids of one, two and more varint bytes (the envelopes read the first two
/// in line).
fn id() -> impl Strategy<Value = u64> {
    prop_oneof![0u64..0x80, 0x80u64..0x4000, any::<u64>()]
}

fn request() -> impl Strategy<Value = ShapesRequest> {
    (
        id(),
        0u32..4,
        prop_oneof![Just(0u64), any::<u64>()],
        metadata(),
        request_body(),
    )
        .prop_map(|(id, code, timeout_micros, metadata, body)| ShapesRequest {
            id,
            code,
            timeout_micros,
            metadata,
            body,
        })
}

fn response() -> impl Strategy<Value = ShapesResponse> {
    (
        id(),
        0u32..5,
        0u32..17,
        ".{0,10}",
        metadata(),
        response_body(),
    )
        .prop_map(
            |(id, code, status_code, status_message, metadata, body)| ShapesResponse {
                id,
                code,
                status_code,
                status_message,
                metadata,
                body,
            },
        )
}

/// Checks that `ShapesEnvelopes` writes `message` as prost does and reads it
/// back whole.
fn round_trip<M>(message: M) -> Result<(), TestCaseError>
where
    M: prost::Message + Default + PartialEq + std::fmt::Debug,
    ShapesEnvelopes: EncodeMessage<M> + DecodeMessage<M>,
{
    let ours = written(&message);
    prop_assert_eq!(&ours, &message.encode_length_delimited_to_vec());
    let frame = &ours[prost::length_delimiter_len(message.encoded_len())..];
    let read: M = ShapesEnvelopes::decode_message(frame)?;
    prop_assert_eq!(read, message);
    Ok(())
}

/// `bytes` with one edit: a byte replaced, removed, inserted or the end cut.
fn edited(mut bytes: Vec<u8>, at: usize, byte: u8, kind: u8) -> Vec<u8> {
    if bytes.is_empty() {
        return vec![byte];
    }
    let at = at % bytes.len();
    match kind % 4 {
        0 => bytes[at] = byte,
        1 => {
            bytes.remove(at);
        }
        2 => bytes.insert(at, byte),
        _ => bytes.truncate(at),
    }
    bytes
}

proptest! {
    #[test]
    fn envelopes_are_written_as_prost_writes_them_and_read_back(
        request in request(),
        response in response(),
    ) {
        round_trip(request)?;
        round_trip(response)?;
    }

    #[test]
    fn edited_envelopes_read_as_prost_reads_them(
        request in request(),
        response in response(),
        edits in prop::collection::vec((any::<usize>(), any::<u8>(), any::<u8>()), 1..4),
    ) {
        let (mut request, mut response) = (request.encode_to_vec(), response.encode_to_vec());
        for &(at, byte, kind) in &edits {
            request = edited(request, at, byte, kind);
            response = edited(response, at, byte, kind);
        }
        reads_as_prost::<ShapesRequest>(&request);
        reads_as_prost::<ShapesResponse>(&response);
    }

    #[test]
    fn any_bytes_read_as_prost_reads_them(frame in prop::collection::vec(any::<u8>(), 0..48)) {
        reads_as_prost::<ShapesRequest>(&frame);
        reads_as_prost::<ShapesResponse>(&frame);
    }
}

/// Bodies and their edge cases, by hand: field 8 is `name` (`Sides` in a
/// request, `Name` in a response), 9 `corners`, 13 `mirror` (`Corner`).
#[test]
fn bodies_read_as_prost_reads_them() {
    let cases: &[(&str, &[u8])] = &[
        ("one body", &[0x42, 0x02, 0x08, 0x05]),
        (
            "a body, then another method's",
            &[0x42, 0x02, 0x08, 0x05, 0x4a, 0x02, 0x08, 0x07],
        ),
        (
            "the same method twice: merged",
            &[0x42, 0x02, 0x08, 0x05, 0x42, 0x00],
        ),
        ("an empty body", &[0x6a, 0x00]),
        (
            "an unknown field inside the body",
            &[0x42, 0x04, 0x78, 0x01, 0x08, 0x05],
        ),
        (
            "an unknown field beside the body",
            &[0x42, 0x02, 0x08, 0x05, 0xf8, 0x01, 0x01],
        ),
        (
            "a nested field past the body's end",
            &[0x42, 0x01, 0x08, 0x05],
        ),
        (
            "a nested length past the body's end",
            &[0x42, 0x03, 0x0a, 0x05, 0x61, 0x62, 0x63, 0x64],
        ),
        ("a body longer than the frame", &[0x42, 0x09, 0x08, 0x05]),
        ("a body's length cut short", &[0x42, 0x80]),
        (
            "a body's length, non-minimal",
            &[0x42, 0x82, 0x00, 0x08, 0x05],
        ),
        (
            "a body's length past 64 bits",
            &[
                0x42, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f,
            ],
        ),
        ("a body as a varint", &[0x40, 0x05]),
        ("a body as a fixed64", &[0x41, 1, 2, 3, 4, 5, 6, 7, 8]),
        ("a body after the id", &[0x08, 0x2a, 0x42, 0x02, 0x08, 0x05]),
        ("nothing", &[]),
        ("an id of one byte", &[0x08, 0x2a]),
        ("an id of two bytes", &[0x08, 0xac, 0x02]),
        ("an id of three bytes", &[0x08, 0x80, 0x80, 0x01]),
        ("an id cut short", &[0x08, 0xac]),
        ("an id, non-minimal", &[0x08, 0x80, 0x00]),
        ("an id twice: the last wins", &[0x08, 0x01, 0x08, 0x02]),
        ("an id as a fixed32", &[0x0d, 1, 2, 3, 4]),
        (
            "a code past 32 bits (prost keeps the low 32)",
            &[0x10, 0x81, 0x80, 0x80, 0x80, 0x10],
        ),
        ("a code as bytes", &[0x12, 0x01, 0x00]),
        (
            "field 3 (timeout, status) of two bytes",
            &[0x18, 0xff, 0x7f],
        ),
        ("field 3 cut short", &[0x18, 0xff]),
    ];
    let mut read = 0;
    for (_, frame) in cases {
        reads_as_prost::<ShapesRequest>(frame);
        reads_as_prost::<ShapesResponse>(frame);
        read += usize::from(ShapesRequest::decode(*frame).is_ok());
    }
    // The cases hold both what prost reads and what it refuses.
    assert!(
        read > 0 && read < cases.len(),
        "{read} of {} read",
        cases.len()
    );
    assert_eq!(
        ShapesEnvelopes::decode_message(&[0x42, 0x02, 0x08, 0x05, 0x4a, 0x02, 0x08, 0x07][..])
            .map(|request: ShapesRequest| request.body)
            .ok(),
        Some(Some(shapes_request::Body::Corners(Sides { count: 7 }))),
        "the last body wins"
    );
    // A nested field past the body's end is prost's own error.
    let overrun: &[u8] = &[0x42, 0x01, 0x08, 0x05];
    let ours: Result<ShapesRequest, _> = ShapesEnvelopes::decode_message(overrun);
    let ours = ours.expect_err("an overrun is refused").to_string();
    assert!(ours.contains("delimited length exceeded"), "{ours}");
}
