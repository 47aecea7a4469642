//! The invariants every length-delimited decoder keeps, checked on arbitrary
//! bytes; the prost and messagepack targets share them.
//!
//! The input is read the way a connection reads its receive buffer: decode at the
//! front, drop what a message took, decode again, until the decoder wants more
//! bytes or refuses them. At every step:
//!
//! - `decode` never panics, and `decode_buffer` agrees with it: the same message
//!   and the same bytes taken, or the same error with the buffer left as it was;
//! - a message takes between 1 and `buffer.len()` bytes, and at most the
//!   decoder's maximum frame length;
//! - every proper prefix of a decoded frame is `Incomplete`, and a length it
//!   announces is that frame's length;
//! - `Incomplete { frame_len: Some(n) }` is true: `n` is past the buffer, within
//!   the maximum, and the first `n` bytes of that frame (the rest filled in) are
//!   no longer `Incomplete` and, if they decode, take exactly `n` bytes;
//! - encoding a decoded message appends one frame (leaving what the buffer held
//!   untouched), the same one a pooled buffer gets, that decodes, whole, to an
//!   equal message;
//! - neither decoder asks the connection to skip bytes.

use std::fmt;

use bytes::{Buf, BytesMut};
use protosocket::{DecodeError, Decoder, Encoder};

/// Frames announced longer than this are not filled in to check the
/// announcement: it is checked against the maximum alone.
const FILL_LIMIT: usize = 1024 * 1024;

/// Frames up to this long have every prefix checked; longer ones a sample.
const ALL_PREFIXES: usize = 1024;

/// A codec under test: the library's codec, and how to check its wire format.
pub trait FramedCodec {
    /// What the codec carries.
    type Message: Clone + PartialEq + fmt::Debug;
    /// The codec, as a reactor would name it.
    type Codec: Encoder<Message = Self::Message> + Decoder<Message = Self::Message>;

    /// A codec whose decoder accepts frames of up to `max_frame_length` bytes,
    /// or, with `None`, the library's default codec, which has no limit of its own.
    fn codec(max_frame_length: Option<usize>) -> Self::Codec;

    /// Checks the wire format of `frame`, the encoding of `message`, against the
    /// format DESIGN.md fixes.
    fn check_wire(message: &Self::Message, frame: &[u8]);
}

/// Runs every check over `stream`, decoded with frames of at most
/// `max_frame_length` bytes (`None`: the default codec, no limit of its own).
pub fn check_stream<F: FramedCodec>(max_frame_length: Option<usize>, stream: &[u8]) {
    let mut codec = F::codec(max_frame_length);
    let max_frame_length = max_frame_length.unwrap_or(usize::MAX);
    let mut offset = 0;
    loop {
        let buffer = &stream[offset..];
        let result = codec.decode(buffer);
        check_decode_buffer(&mut codec, buffer, &result);
        match result {
            Ok((used, message)) => {
                assert!(
                    (1..=buffer.len()).contains(&used),
                    "a message took {used} of {} bytes",
                    buffer.len()
                );
                assert!(
                    used <= max_frame_length,
                    "a {used}-byte frame decoded under a {max_frame_length}-byte maximum"
                );
                check_prefixes(&mut codec, &buffer[..used]);
                check_round_trip::<F>(message);
                offset += used;
            }
            Err(DecodeError::Incomplete {
                frame_len: Some(announced),
            }) => {
                check_announcement(&mut codec, max_frame_length, buffer, announced);
                return;
            }
            Err(DecodeError::Incomplete { frame_len: None }) | Err(DecodeError::Invalid(_)) => {
                return
            }
            Err(DecodeError::Skip(n)) => panic!("the decoder asked to skip {n} bytes"),
        }
    }
}

/// `decode_buffer` must agree with `decode` on the same bytes.
fn check_decode_buffer<D>(
    decoder: &mut D,
    buffer: &[u8],
    decoded: &Result<(usize, D::Message), DecodeError>,
) where
    D: Decoder,
    D::Message: PartialEq + fmt::Debug,
{
    let mut receive = BytesMut::from(buffer);
    match (decoded, decoder.decode_buffer(&mut receive)) {
        (Ok((used, expected)), Ok(message)) => {
            assert_eq!(&message, expected, "decode_buffer decoded another message");
            assert_eq!(
                &receive[..],
                &buffer[*used..],
                "decode_buffer took other bytes than decode"
            );
        }
        (Err(expected), Err(error)) => {
            assert!(
                same_error(expected, &error),
                "decode said {expected:?}, decode_buffer {error:?}"
            );
            assert_eq!(
                &receive[..],
                buffer,
                "decode_buffer changed the buffer on {error}"
            );
        }
        (expected, found) => panic!("decode gave {expected:?}, decode_buffer {found:?}"),
    }
}

fn same_error(a: &DecodeError, b: &DecodeError) -> bool {
    match (a, b) {
        (DecodeError::Incomplete { frame_len: a }, DecodeError::Incomplete { frame_len: b }) => {
            a == b
        }
        (DecodeError::Skip(a), DecodeError::Skip(b)) => a == b,
        (DecodeError::Invalid(a), DecodeError::Invalid(b)) => a == b,
        _ => false,
    }
}

/// Every proper prefix of a frame is `Incomplete`, announcing that frame's length
/// if anything.
fn check_prefixes<D: Decoder>(decoder: &mut D, frame: &[u8])
where
    D::Message: fmt::Debug,
{
    let len = frame.len();
    let check = |decoder: &mut D, cut: usize| match decoder.decode(&frame[..cut]) {
        Err(DecodeError::Incomplete { frame_len: None }) => {}
        Err(DecodeError::Incomplete {
            frame_len: Some(announced),
        }) => assert_eq!(
            announced, len,
            "the first {cut} bytes of a {len}-byte frame announce {announced}"
        ),
        other => panic!("the first {cut} bytes of a {len}-byte frame gave {other:?}"),
    };
    if len <= ALL_PREFIXES {
        (0..len).for_each(|cut| check(decoder, cut));
    } else {
        // The prefix's own bytes, the cut just after it, and the end of the body.
        (0..64).for_each(|cut| check(decoder, cut));
        (len - 64..len).for_each(|cut| check(decoder, cut));
        (64..len - 64)
            .step_by(len / 64)
            .for_each(|cut| check(decoder, cut));
    }
}

/// `Incomplete { frame_len: Some(announced) }` for `buffer`: the announcement is
/// past the buffer and within the maximum, and once that many bytes are there the
/// decoder stops waiting.
fn check_announcement<D: Decoder>(
    decoder: &mut D,
    max_frame_length: usize,
    buffer: &[u8],
    announced: usize,
) where
    D::Message: fmt::Debug,
{
    assert!(
        announced > buffer.len(),
        "{} buffered bytes are an incomplete frame of {announced}",
        buffer.len()
    );
    assert!(
        announced <= max_frame_length,
        "a {announced}-byte frame was awaited under a {max_frame_length}-byte maximum"
    );
    if announced > FILL_LIMIT {
        return;
    }
    // Zeros for the missing bytes: the body need not be valid, only complete.
    let mut whole = buffer.to_vec();
    whole.resize(announced, 0);
    match decoder.decode(&whole) {
        Ok((used, _)) => assert_eq!(
            used, announced,
            "a frame announced as {announced} bytes took {used}"
        ),
        Err(DecodeError::Invalid(_)) => {}
        Err(error) => panic!("all {announced} announced bytes are there, yet: {error:?}"),
    }
}

/// Encoding appends one frame that decodes back to the same message.
fn check_round_trip<F: FramedCodec>(message: F::Message) {
    // A large maximum: a re-encoding may be longer than the frame it came from
    // (packed repeated fields, msgpack maps for arrays).
    let mut codec = F::codec(None);
    const EARLIER: &[u8] = b"earlier frames";
    let mut buffer = EARLIER.to_vec();
    append(&mut codec, message.clone(), &mut buffer);
    assert_eq!(
        &buffer[..EARLIER.len()],
        EARLIER,
        "encoding changed bytes already in the buffer"
    );
    let frame = &buffer[EARLIER.len()..];
    F::check_wire(&message, frame);
    // The encoder's own buffers, twice: the second comes from its pool.
    for _ in 0..2 {
        let mut encoded = codec.encode(message.clone());
        let bytes = encoded.copy_to_bytes(encoded.remaining());
        assert_eq!(
            &bytes[..],
            frame,
            "encode and encode_into wrote different frames"
        );
        codec.return_buffer(encoded);
    }
    match codec.decode(frame) {
        Ok((used, again)) => {
            assert_eq!(used, frame.len(), "a re-encoded frame decoded short");
            assert_eq!(again, message, "a re-encoded message decoded differently");
        }
        Err(error) => panic!("a re-encoded {message:?} did not decode: {error}"),
    }
}

/// Appends `message`'s encoding to `buffer` the way a connection's send queue
/// does: straight into the buffer when the encoder can, else from its own buffer.
pub fn append<E: Encoder>(encoder: &mut E, message: E::Message, buffer: &mut Vec<u8>) {
    if let Some(message) = encoder.encode_into(message, buffer) {
        let mut encoded = encoder.encode(message);
        while encoded.has_remaining() {
            let chunk = encoded.chunk();
            buffer.extend_from_slice(chunk);
            let taken = chunk.len();
            encoded.advance(taken);
        }
        encoder.return_buffer(encoded);
    }
}
