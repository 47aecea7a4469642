//! The sending half: serde values into msgpack frames.

use std::fmt;
use std::marker::PhantomData;

use protosocket::SerializeInto;

use crate::header::{HEADER_LEN, MARKER};

/// Appends each message as one frame: `0xCE`, the body length as a big-endian u32,
/// then the body, `rmp_serde::encode::write_named`'s encoding of the message
/// (structs as maps keyed by field name).
///
/// Wrap it in a [`PooledEncoder`](protosocket::PooledEncoder) to get an
/// [`Encoder`](protosocket::Encoder).
///
/// # Messages that cannot be sent
///
/// [`serialize_into`](SerializeInto::serialize_into) cannot report an error, so a
/// message that cannot be framed is not sent: the buffer is left exactly as it was
/// and [`dropped`](Self::dropped) counts it. That happens when the message's
/// `SerializeInto` impl fails (rmp-serde itself never fails writing into a `Vec`) and
/// when its body would be 4 GiB or more, which the u32 length cannot announce.
/// Keep messages well under that (a protosocket peer's `max_buffer_length` is
/// 32 MiB by default). Either way a warning is logged with `tracing`.
///
/// ```
/// use protosocket::SerializeInto;
/// use protosocket_messagepack::MessagePackSerializer;
///
/// #[derive(serde::Serialize)]
/// struct Ping {
///     id: u8,
/// }
///
/// let mut buffer = b"earlier".to_vec();
/// MessagePackSerializer::default().serialize_into(Ping { id: 5 }, &mut buffer);
/// // A one-entry map: "id" => 5.
/// assert_eq!(buffer, b"earlier\xCE\0\0\0\x05\x81\xA2id\x05");
/// ```
pub struct MessagePackSerializer<M> {
    dropped: u64,
    message: PhantomData<fn(M)>,
}

impl<M> MessagePackSerializer<M> {
    /// A serializer for messages of type `M`.
    #[must_use]
    pub fn new() -> Self {
        Self {
            dropped: 0,
            message: PhantomData,
        }
    }

    /// How many messages could not be serialized and were not sent.
    #[must_use]
    pub fn dropped(&self) -> u64 {
        self.dropped
    }
}

impl<M> Default for MessagePackSerializer<M> {
    fn default() -> Self {
        Self::new()
    }
}

impl<M> fmt::Debug for MessagePackSerializer<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MessagePackSerializer")
            .field("dropped", &self.dropped)
            .finish()
    }
}

impl<M: serde::Serialize> SerializeInto for MessagePackSerializer<M> {
    type Message = M;

    #[inline]
    fn serialize_into(&mut self, message: M, buffer: &mut Vec<u8>) {
        // The buffer may hold earlier messages: everything is relative to `start`.
        let start = buffer.len();
        buffer.extend_from_slice(&[MARKER, 0, 0, 0, 0]);
        let written = rmp_serde::encode::write_named(buffer, &message);
        let body_len = buffer.len() - start - HEADER_LEN;
        match (written, u32::try_from(body_len)) {
            (Ok(()), Ok(len)) => {
                buffer[start + 1..start + HEADER_LEN].copy_from_slice(&len.to_be_bytes());
            }
            (Ok(()), Err(_)) => {
                tracing::warn!(
                    body_len,
                    "message dropped: a body over 4 GiB cannot be framed"
                );
                self.drop_message(buffer, start);
            }
            (Err(error), _) => {
                tracing::warn!(%error, "message dropped: it failed to serialize");
                self.drop_message(buffer, start);
            }
        }
    }
}

impl<M> MessagePackSerializer<M> {
    #[cold]
    fn drop_message(&mut self, buffer: &mut Vec<u8>, start: usize) {
        buffer.truncate(start);
        self.dropped += 1;
    }
}
