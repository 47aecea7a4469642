//! Encoded messages waiting for the stream.
//!
//! Messages are encoded straight into one staging buffer when the encoder can
//! append ([`Encoder::encode_into`]; `PooledEncoder` does), or copied into it when
//! they are small (their buffers go straight back to the encoder), so a burst of
//! messages leaves in one contiguous write: the kernel copies one long slice far
//! faster than hundreds of short ones. Large messages from encoders that cannot
//! append stay in their own buffers and go out as further slices of the same
//! vectored write, without a copy.

use std::collections::VecDeque;
use std::io::IoSlice;

use bytes::Buf;

use crate::codec::Encoder;
use crate::stats::Tally;

/// Messages up to this size are staged (copied); larger ones are written from
/// their own buffers.
const STAGE_MESSAGE_LIMIT: usize = 2 * 1024;
/// The staging buffer stops taking messages at this size.
const STAGE_LIMIT: usize = 64 * 1024;
/// Staging capacity an idle connection keeps; more is freed once everything is written.
const IDLE_STAGE_CAPACITY: usize = 8 * 1024;

#[derive(Debug)]
pub(crate) struct SendQueue<B> {
    /// Bytes of small messages, in order, ahead of everything in `queue`.
    staged: Vec<u8>,
    /// How much of `staged` the stream has taken.
    staged_written: usize,
    /// Messages whose bytes are all in `staged`.
    staged_messages: usize,
    /// Large messages, after the staged ones.
    queue: VecDeque<B>,
}

impl<B: Buf> SendQueue<B> {
    pub(crate) fn new() -> Self {
        Self {
            staged: Vec::new(),
            staged_written: 0,
            staged_messages: 0,
            queue: VecDeque::new(),
        }
    }

    /// Messages not yet fully written.
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.staged_messages + self.queue.len()
    }

    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.staged_messages == 0 && self.queue.is_empty()
    }

    /// Encodes and queues `message`: straight into the staging buffer when nothing
    /// large is queued and the encoder can append, else through
    /// [`push`](Self::push).
    #[inline]
    pub(crate) fn push_message<E>(&mut self, message: E::Message, encoder: &mut E)
    where
        E: Encoder<Serialized = B>,
    {
        let message = if self.queue.is_empty() && self.staged.len() < STAGE_LIMIT {
            match encoder.encode_into(message, &mut self.staged) {
                None => {
                    self.staged_messages += 1;
                    return;
                }
                Some(declined) => declined,
            }
        } else {
            message
        };
        let buffer = encoder.encode(message);
        self.push(buffer, encoder);
    }

    /// Queues an encoded message. A small one is copied into the staging buffer and
    /// its buffer returned to `encoder` at once.
    #[inline]
    pub(crate) fn push<E>(&mut self, mut buffer: B, encoder: &mut E)
    where
        E: Encoder<Serialized = B>,
    {
        let len = buffer.remaining();
        // Staging is only in order while nothing large is queued behind it.
        if self.queue.is_empty()
            && len <= STAGE_MESSAGE_LIMIT
            && self.staged.len() + len <= STAGE_LIMIT
        {
            while buffer.has_remaining() {
                let chunk = buffer.chunk();
                self.staged.extend_from_slice(chunk);
                let taken = chunk.len();
                buffer.advance(taken);
            }
            self.staged_messages += 1;
            encoder.return_buffer(buffer);
        } else {
            self.queue.push_back(buffer);
        }
    }

    /// Fills `slices` with what to write next; returns how many it filled.
    #[inline]
    pub(crate) fn io_slices<'a>(&'a self, slices: &mut [IoSlice<'a>]) -> usize {
        let mut count = 0;
        if self.staged_written < self.staged.len() {
            slices[0] = IoSlice::new(&self.staged[self.staged_written..]);
            count = 1;
        }
        for buffer in &self.queue {
            if count == slices.len() {
                break;
            }
            count += buffer.chunks_vectored(&mut slices[count..]);
        }
        count
    }

    /// Consumes `written` bytes from the front, counts and gives back (to `encoder`)
    /// the messages that are done.
    pub(crate) fn advance<E>(&mut self, mut written: usize, encoder: &mut E, tally: &mut Tally)
    where
        E: Encoder<Serialized = B>,
    {
        let staged = (self.staged.len() - self.staged_written).min(written);
        self.staged_written += staged;
        written -= staged;
        for buffer in self.queue.iter_mut() {
            if written == 0 {
                break;
            }
            let step = buffer.remaining().min(written);
            buffer.advance(step);
            written -= step;
        }
        self.settle(encoder, tally);
    }

    /// Retires everything fully written (zero-length messages included).
    #[inline]
    pub(crate) fn settle<E>(&mut self, encoder: &mut E, tally: &mut Tally)
    where
        E: Encoder<Serialized = B>,
    {
        if self.staged_written == self.staged.len() && self.staged_messages > 0 {
            tally.messages_sent += self.staged_messages as u64;
            self.staged_messages = 0;
            self.staged.clear();
            self.staged_written = 0;
        }
        while self
            .queue
            .front()
            .is_some_and(|front| !front.has_remaining())
        {
            if let Some(done) = self.queue.pop_front() {
                encoder.return_buffer(done);
                tally.messages_sent += 1;
            }
        }
    }

    /// Frees what a burst grew, once everything is written.
    pub(crate) fn release_idle(&mut self) {
        if self.staged.capacity() > IDLE_STAGE_CAPACITY {
            self.staged = Vec::new();
        }
        if self.queue.capacity() > 64 {
            self.queue.shrink_to(16);
        }
    }
}
