//! Answers a reactor queues while it handles an inbound message.

use std::collections::VecDeque;
use std::fmt;

/// The answers a [`MessageReactor`](crate::MessageReactor) queues from
/// [`on_inbound_message`](crate::MessageReactor::on_inbound_message).
///
/// A push never fails: the connection hands the reactor a message only when its
/// send queue has room for one answer to it, counting the answers already waiting
/// here, so a reactor that answers each message once never overruns the
/// connection's bound, whatever else waits in the outbound channel. Answers leave
/// in the order they were pushed, after what the outbound channel held when they
/// are taken (a greeting queued before any request stays first) and ahead of
/// [`poll_outbound`](crate::MessageReactor::poll_outbound).
pub struct Replies<T> {
    queue: VecDeque<T>,
}

impl<T> Replies<T> {
    /// An empty queue. The connection owns one; make your own only to drive a
    /// reactor by hand (in a test).
    #[must_use]
    pub fn new() -> Self {
        Self {
            queue: VecDeque::new(),
        }
    }

    /// Queues an answer.
    #[inline]
    pub fn push(&mut self, answer: T) {
        self.queue.push_back(answer);
    }

    /// Answers waiting to be encoded.
    #[inline]
    #[must_use]
    pub fn len(&self) -> usize {
        self.queue.len()
    }

    /// Whether no answer waits.
    #[inline]
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    /// Takes the oldest answer, as the connection does when it has room to send.
    #[inline]
    pub fn pop(&mut self) -> Option<T> {
        self.queue.pop_front()
    }

    /// Frees what a burst grew, once empty.
    pub(crate) fn release_idle(&mut self) {
        if self.queue.is_empty() && self.queue.capacity() > 64 {
            self.queue = VecDeque::new();
        }
    }
}

impl<T> Default for Replies<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> fmt::Debug for Replies<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Replies")
            .field("len", &self.queue.len())
            .finish()
    }
}
