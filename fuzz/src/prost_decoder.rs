//! The `prost_decoder` target: arbitrary bytes into `protosocket_prost`'s decoder.
//!
//! Input: one byte choosing the decoder's maximum frame length (see
//! [`MAX_FRAME_LENGTHS`]), then the bytes as they would arrive. The checks are
//! [`framing`](crate::framing)'s, and the wire format is prost's own
//! `encode_length_delimited`.

use prost::Message;
use protosocket::PooledEncoder;
use protosocket_prost::{ProstCodec, ProstDecoder};

use crate::framing::{check_stream, FramedCodec};
use crate::messages::Probe;

/// The maxima the first byte picks from (its low 3 bits): none (the default
/// codec), the degenerate ones (no frame fits, only an empty body fits), small
/// ones that short inputs can exceed, and one the decoder clamps to `isize::MAX`.
pub const MAX_FRAME_LENGTHS: [Option<usize>; 8] = [
    None,
    Some(0),
    Some(1),
    Some(5),
    Some(64),
    Some(300),
    Some(4096),
    Some(usize::MAX),
];

/// The prost codec of [`Probe`]s.
#[derive(Debug)]
pub struct ProstProbe;

impl FramedCodec for ProstProbe {
    type Message = Probe;
    type Codec = ProstCodec<Probe, Probe>;

    fn codec(max_frame_length: Option<usize>) -> Self::Codec {
        match max_frame_length {
            Some(max) => (
                PooledEncoder::default(),
                ProstDecoder::with_max_frame_length(max),
            ),
            None => protosocket_prost::codec(),
        }
    }

    fn check_wire(message: &Probe, frame: &[u8]) {
        assert_eq!(
            frame,
            &message.encode_length_delimited_to_vec()[..],
            "the frame is not prost's encode_length_delimited"
        );
    }
}

/// Runs the target on one input.
pub fn run(input: &[u8]) {
    let Some((&selector, stream)) = input.split_first() else {
        return;
    };
    let max_frame_length = MAX_FRAME_LENGTHS[usize::from(selector & 7)];
    check_stream::<ProstProbe>(max_frame_length, stream);
}
