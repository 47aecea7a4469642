//! An encoder that reuses its buffers.

use bytes::Buf;
use std::fmt;

use crate::codec::Encoder;

/// Writes a message's bytes into a `Vec<u8>`: implement this and wrap it in a
/// [`PooledEncoder`] to get an [`Encoder`] that reuses its buffers.
///
/// ```
/// use protosocket::{Encoder, PooledEncoder, SerializeInto};
///
/// #[derive(Default)]
/// struct Lines;
///
/// impl SerializeInto for Lines {
///     type Message = String;
///
///     fn serialize_into(&mut self, message: String, buffer: &mut Vec<u8>) {
///         buffer.extend_from_slice(message.as_bytes());
///         buffer.push(b'\n');
///     }
/// }
///
/// let mut encoder = PooledEncoder::new(Lines);
/// let buffer = encoder.encode("hello".to_string());
/// assert_eq!(buffer.as_slice(), b"hello\n");
/// encoder.return_buffer(buffer);
/// assert_eq!(encoder.pooled(), 1);
/// ```
pub trait SerializeInto {
    /// What is serialized.
    type Message;

    /// Appends `message`'s encoding to `buffer`. The buffer may already hold other
    /// messages (a connection stages small messages together), so append: never
    /// assume the message starts at offset 0.
    fn serialize_into(&mut self, message: Self::Message, buffer: &mut Vec<u8>);
}

/// An [`Encoder`] over a [`SerializeInto`] that keeps written buffers for the next
/// messages, so steady traffic allocates nothing.
///
/// The pool holds at most [`max_pooled`](Self::with_limits) buffers, and a buffer
/// that grew past `max_buffer_capacity` (one large message) is freed instead of
/// kept, so memory follows the traffic.
pub struct PooledEncoder<S> {
    serializer: S,
    pool: Vec<Vec<u8>>,
    max_pooled: usize,
    max_buffer_capacity: usize,
}

impl<S> PooledEncoder<S> {
    /// A pooled encoder keeping up to 64 buffers of up to 16 KiB each (at most 1 MiB
    /// kept). Small messages give their buffer back as soon as the connection
    /// stages them, so a few buffers serve any number of them.
    pub fn new(serializer: S) -> Self {
        Self::with_limits(serializer, 64, 16 * 1024)
    }

    /// A pooled encoder keeping up to `max_pooled` buffers, each of at most
    /// `max_buffer_capacity` bytes of capacity.
    pub fn with_limits(serializer: S, max_pooled: usize, max_buffer_capacity: usize) -> Self {
        Self {
            serializer,
            pool: Vec::new(),
            max_pooled,
            max_buffer_capacity,
        }
    }

    /// Buffers waiting for reuse.
    pub fn pooled(&self) -> usize {
        self.pool.len()
    }

    /// The wrapped serializer.
    pub fn serializer_mut(&mut self) -> &mut S {
        &mut self.serializer
    }
}

impl<S: Default> Default for PooledEncoder<S> {
    fn default() -> Self {
        Self::new(S::default())
    }
}

impl<S: SerializeInto> Encoder for PooledEncoder<S> {
    type Message = S::Message;
    type Serialized = PooledBuffer;

    #[inline]
    fn encode(&mut self, message: S::Message) -> PooledBuffer {
        let mut buffer = self.pool.pop().unwrap_or_default();
        self.serializer.serialize_into(message, &mut buffer);
        PooledBuffer {
            buffer,
            position: 0,
        }
    }

    #[inline]
    fn encode_into(&mut self, message: S::Message, buffer: &mut Vec<u8>) -> Option<S::Message> {
        self.serializer.serialize_into(message, buffer);
        None
    }

    #[inline]
    fn return_buffer(&mut self, buffer: PooledBuffer) {
        let mut buffer = buffer.buffer;
        if self.pool.len() < self.max_pooled && buffer.capacity() <= self.max_buffer_capacity {
            buffer.clear();
            self.pool.push(buffer);
        }
    }
}

impl<S> fmt::Debug for PooledEncoder<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PooledEncoder")
            .field("pooled", &self.pool.len())
            .field("max_pooled", &self.max_pooled)
            .field("max_buffer_capacity", &self.max_buffer_capacity)
            .finish()
    }
}

/// One message encoded by a [`PooledEncoder`]: a `Vec<u8>` read from the front.
#[derive(Debug, Default)]
pub struct PooledBuffer {
    buffer: Vec<u8>,
    position: usize,
}

impl PooledBuffer {
    /// The bytes not yet written.
    #[must_use]
    pub fn as_slice(&self) -> &[u8] {
        &self.buffer[self.position..]
    }
}

impl Buf for PooledBuffer {
    #[inline]
    fn remaining(&self) -> usize {
        self.buffer.len() - self.position
    }

    #[inline]
    fn chunk(&self) -> &[u8] {
        &self.buffer[self.position..]
    }

    #[inline]
    fn advance(&mut self, count: usize) {
        assert!(
            count <= self.remaining(),
            "advance past the end of a PooledBuffer"
        );
        self.position += count;
    }
}
