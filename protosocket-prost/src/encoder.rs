//! The sending half: prost messages into length-delimited frames.

use std::fmt;
use std::marker::PhantomData;

use protosocket::SerializeInto;

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
/// ProstSerializer::default().serialize_into(Ping { id: 5 }, &mut buffer);
/// assert_eq!(buffer, b"earlier\x02\x08\x05");
/// ```
pub struct ProstSerializer<M> {
    message: PhantomData<fn(M)>,
}

impl<M> ProstSerializer<M> {
    /// A serializer for messages of type `M`.
    #[must_use]
    pub fn new() -> Self {
        Self {
            message: PhantomData,
        }
    }
}

impl<M> Default for ProstSerializer<M> {
    fn default() -> Self {
        Self::new()
    }
}

impl<M> Clone for ProstSerializer<M> {
    fn clone(&self) -> Self {
        Self::new()
    }
}

impl<M> fmt::Debug for ProstSerializer<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProstSerializer").finish()
    }
}

impl<M: prost::Message> SerializeInto for ProstSerializer<M> {
    type Message = M;

    #[inline]
    fn serialize_into(&mut self, message: M, buffer: &mut Vec<u8>) {
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
