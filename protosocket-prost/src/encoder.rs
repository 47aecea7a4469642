//! The sending half: prost messages into length-delimited frames.

use std::fmt;
use std::marker::PhantomData;

use protosocket::SerializeInto;

use crate::decoder::Prost;

/// Appends each message as one frame: its protobuf varint length, then its
/// encoding, exactly what [`prost::Message::encode_length_delimited`] writes.
///
/// Wrap it in a [`PooledEncoder`](protosocket::PooledEncoder) to get an
/// [`Encoder`](protosocket::Encoder).
///
/// ```
/// use protosocket::SerializeInto;
/// use protosocket_prost::ProstSerializer;
///
/// #[derive(Clone, PartialEq, prost::Message)]
/// struct Ping {
///     #[prost(uint64, tag = "1")]
///     id: u64,
/// }
///
/// let mut buffer = b"earlier".to_vec();
/// ProstSerializer::<Ping>::default().serialize_into(Ping { id: 5 }, &mut buffer);
/// assert_eq!(buffer, b"earlier\x02\x08\x05");
/// ```
///
/// `W` writes each message: [`Prost`], prost's own
/// [`encode_length_delimited`](prost::Message::encode_length_delimited),
/// unless an [`EncodeMessage`] of your own (protosocket-build writes one for
/// its envelopes) does it faster; the bytes must be the same.
pub struct ProstSerializer<M, W = Prost> {
    message: PhantomData<fn(M, W)>,
}

/// How a [`ProstSerializer`] writes one message as a frame.
pub trait EncodeMessage<M> {
    /// Appends `message` to `buffer` as one frame: its protobuf varint length,
    /// then its encoding.
    fn encode_message(message: &M, buffer: &mut Vec<u8>);
}

impl<M: prost::Message> EncodeMessage<M> for Prost {
    #[inline]
    fn encode_message(message: &M, buffer: &mut Vec<u8>) {
        // No `reserve` first: it would size the message a second time (prost
        // sizes it once for the length prefix), and send buffers are pooled, so
        // a warm one already has room. prost's only error is a buffer without
        // room, and a `Vec` grows: it reports room up to `isize::MAX`, more than
        // any message can take.
        let written = message.encode_length_delimited(buffer);
        debug_assert!(
            written.is_ok(),
            "a Vec refused a prost message: {written:?}"
        );
    }
}

impl<M, W> ProstSerializer<M, W> {
    /// A serializer for messages of type `M`.
    #[must_use]
    pub fn new() -> Self {
        Self {
            message: PhantomData,
        }
    }
}

impl<M, W> Default for ProstSerializer<M, W> {
    fn default() -> Self {
        Self::new()
    }
}

impl<M, W> Clone for ProstSerializer<M, W> {
    fn clone(&self) -> Self {
        Self::new()
    }
}

impl<M, W> fmt::Debug for ProstSerializer<M, W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProstSerializer").finish()
    }
}

impl<M, W: EncodeMessage<M>> SerializeInto for ProstSerializer<M, W> {
    type Message = M;

    #[inline]
    fn serialize_into(&mut self, message: M, buffer: &mut Vec<u8>) {
        W::encode_message(&message, buffer);
    }
}
