//! A MessagePack codec for protosocket: any serde type, encoded with
//! [rmp-serde](https://docs.rs/rmp-serde), in frames of `0xCE` then a big-endian
//! u32 body length (together a msgpack uint32 value) then the body. Structs are
//! written as maps keyed by field name, so peers can add, remove and reorder
//! fields (with `#[serde(default)]`) and readers in other languages see names;
//! both struct forms are read. Encoding appends into pooled buffers; decoding
//! rejects a bad marker as soon as the header arrives, and announces a partial
//! frame's whole length, so the connection refuses one over its
//! `max_buffer_length` before its body arrives.
//!
//! ```
//! use protosocket::{Decoder, Encoder};
//! use protosocket_messagepack::MessagePackCodec;
//!
//! #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
//! struct Echo {
//!     id: u64,
//!     text: String,
//! }
//!
//! // What a reactor names as its `Codec`: sends and receives `Echo`.
//! let mut codec: MessagePackCodec<Echo, Echo> = protosocket_messagepack::codec();
//!
//! let mut wire = Vec::new();
//! codec.encode_into(Echo { id: 1, text: "hi".into() }, &mut wire);
//! codec.encode_into(Echo { id: 2, text: String::new() }, &mut wire);
//!
//! let mut received = &wire[..];
//! let (used, first) = codec.decode(received).unwrap();
//! assert_eq!(first, Echo { id: 1, text: "hi".into() });
//! received = &received[used..];
//! let (used, second) = codec.decode(received).unwrap();
//! assert_eq!((second.id, used), (2, received.len()));
//! ```
//!
//! Layout:
//! - `header`: the frame header's marker and length.
//! - `encoder`: [`MessagePackSerializer`], the [`SerializeInto`](protosocket::SerializeInto)
//!   half, for a [`PooledEncoder`].
//! - `decoder`: [`MessagePackDecoder`], the [`Decoder`](protosocket::Decoder) half.

mod decoder;
mod encoder;
mod header;

pub use decoder::MessagePackDecoder;
pub use encoder::MessagePackSerializer;

use protosocket::PooledEncoder;

/// A complete messagepack codec: sends `Out` messages and receives `In` messages.
pub type MessagePackCodec<Out, In> = (
    PooledEncoder<MessagePackSerializer<Out>>,
    MessagePackDecoder<In>,
);

/// A [`MessagePackCodec`] with the default buffer pool and no frame limit of its
/// own: the connection's `max_buffer_length` bounds frames.
#[must_use]
pub fn codec<Out, In>() -> MessagePackCodec<Out, In> {
    (PooledEncoder::default(), MessagePackDecoder::new())
}
