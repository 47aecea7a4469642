//! A [prost](https://docs.rs/prost) codec for protosocket: protobuf messages in
//! varint length-delimited frames, each frame a protobuf varint length followed by
//! that many bytes of one encoded message (what
//! [`prost::Message::encode_length_delimited`] writes), so any protobuf
//! implementation can speak to it. Encoding appends into pooled buffers; decoding
//! rejects a corrupt prefix as soon as it arrives, announces a partial frame's
//! whole length (so the connection refuses one over its `max_buffer_length`
//! before its body arrives), and lets `bytes::Bytes` fields share the receive
//! buffer instead of copying.
//!
//! ```
//! use protosocket::{Decoder, Encoder};
//! use protosocket_prost::ProstCodec;
//!
//! #[derive(Clone, PartialEq, prost::Message)]
//! struct Echo {
//!     #[prost(uint64, tag = "1")]
//!     id: u64,
//!     #[prost(string, tag = "2")]
//!     text: String,
//! }
//!
//! // What a reactor names as its `Codec`: sends and receives `Echo`.
//! let mut codec: ProstCodec<Echo, Echo> = protosocket_prost::codec();
//!
//! let mut wire = Vec::new();
//! codec.encode_into(Echo { id: 1, text: "hi".into() }, &mut wire);
//! codec.encode_into(Echo { id: 2, text: String::new() }, &mut wire);
//!
//! let mut received = bytes::BytesMut::from(&wire[..]);
//! assert_eq!(codec.decode_buffer(&mut received).unwrap().text, "hi");
//! assert_eq!(codec.decode_buffer(&mut received).unwrap().id, 2);
//! assert!(received.is_empty());
//! ```
//!
//! Layout:
//! - `encoder`: [`ProstSerializer`], the [`SerializeInto`](protosocket::SerializeInto)
//!   half, for a [`PooledEncoder`], and [`EncodeMessage`], how it writes a message.
//! - `decoder`: [`ProstDecoder`], the [`Decoder`](protosocket::Decoder) half, the
//!   varint prefix checks, [`DecodeMessage`], how it reads a message, with
//!   [`Prost`] (prost's own writing and reading, the default of both), and
//!   [`merge_message`] for a `DecodeMessage` that reads a nested message in line.
//! - [`wire`]: varints with their one- and two-byte cases in line, for a
//!   `DecodeMessage` or `EncodeMessage` that reads and writes fields itself.

mod decoder;
mod encoder;
pub mod wire;

pub use decoder::{merge_message, merge_message_with, DecodeMessage, Prost, ProstDecoder};
pub use encoder::{EncodeMessage, ProstSerializer};

use protosocket::PooledEncoder;

/// A complete prost codec: sends `Out` messages and receives `In` messages,
/// written and read by `W` ([`Prost`] unless you say otherwise).
pub type ProstCodec<Out, In, W = Prost> =
    (PooledEncoder<ProstSerializer<Out, W>>, ProstDecoder<In, W>);

/// A [`ProstCodec`] with the default buffer pool and no frame limit of its own:
/// the connection's `max_buffer_length` bounds frames.
#[must_use]
pub fn codec<Out, In>() -> ProstCodec<Out, In> {
    (PooledEncoder::default(), ProstDecoder::new())
}

/// [`codec`] with the messages written and read by `W`.
#[must_use]
pub fn codec_with<Out, In, W>() -> ProstCodec<Out, In, W> {
    (PooledEncoder::default(), ProstDecoder::new())
}
