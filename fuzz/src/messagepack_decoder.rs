//! The `messagepack_decoder` target: arbitrary bytes into
//! `protosocket_messagepack`'s decoder.
//!
//! Input: one byte choosing the decoder's maximum frame length (see
//! [`MAX_FRAME_LENGTHS`]), then the bytes as they would arrive. The checks are
//! [`framing`](crate::framing)'s, and the wire format is `0xCE`, the body's
//! length as a big-endian u32, then the body, rmp-serde's encoding with structs
//! as maps keyed by field name.

use protosocket::PooledEncoder;
use protosocket_messagepack::{MessagePackCodec, MessagePackDecoder};

use crate::framing::{check_stream, FramedCodec};
use crate::messages::Record;

/// The header: the msgpack uint32 marker and four length bytes.
const HEADER_LEN: usize = 5;

/// The maxima the first byte picks from (its low 3 bits): none (the default
/// codec), ones below the header (no frame fits), exactly the header (only an
/// empty body), small ones that short inputs can exceed, and the largest.
pub const MAX_FRAME_LENGTHS: [Option<usize>; 8] = [
    None,
    Some(0),
    Some(4),
    Some(HEADER_LEN),
    Some(64),
    Some(300),
    Some(4096),
    Some(usize::MAX),
];

/// The messagepack codec of [`Record`]s.
#[derive(Debug)]
pub struct MessagePackRecord;

impl FramedCodec for MessagePackRecord {
    type Message = Record;
    type Codec = MessagePackCodec<Record, Record>;

    fn codec(max_frame_length: Option<usize>) -> Self::Codec {
        let decoder = match max_frame_length {
            Some(max) => MessagePackDecoder::with_max_frame_length(max),
            None => MessagePackDecoder::new(),
        };
        (PooledEncoder::default(), decoder)
    }

    fn check_wire(message: &Record, frame: &[u8]) {
        assert!(frame.len() >= HEADER_LEN, "a {}-byte frame", frame.len());
        let (header, body) = frame.split_at(HEADER_LEN);
        assert_eq!(header[0], 0xCE, "a frame starts with {:#04x}", header[0]);
        let announced = u32::from_be_bytes([header[1], header[2], header[3], header[4]]);
        assert_eq!(
            announced as usize,
            body.len(),
            "a frame announces {announced} bytes and holds {}",
            body.len()
        );
        let named = rmp_serde::to_vec_named(message).expect("a Record always serializes");
        assert_eq!(
            body,
            &named[..],
            "the body is not rmp-serde's named encoding"
        );
    }
}

/// Runs the target on one input.
pub fn run(input: &[u8]) {
    let Some((&selector, stream)) = input.split_first() else {
        return;
    };
    let max_frame_length = MAX_FRAME_LENGTHS[usize::from(selector & 7)];
    check_stream::<MessagePackRecord>(max_frame_length, stream);
}
