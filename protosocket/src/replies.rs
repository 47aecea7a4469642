//! Answers a reactor queues while it handles an inbound message.

use std::collections::VecDeque;
use std::fmt;

/// Answer slots an idle connection keeps; more are freed once the queue empties.
const IDLE_CAPACITY: usize = 64;

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
    /// The most answers waiting at once (as the connection took them) since the
    /// connection last went idle.
    peak: usize,
    /// The peak of the burst that grew the queue, rounded up to a power of two:
    /// after the queue is freed, the next burst's first push allocates that much
    /// at once instead of regrowing (and copying the answers) step by step.
    hint: usize,
}

impl<T> Replies<T> {
    /// An empty queue. The connection owns one; make your own only to drive a
    /// reactor by hand (in a test).
    #[must_use]
    pub fn new() -> Self {
        Self {
            queue: VecDeque::new(),
            peak: 0,
            hint: 0,
        }
    }

    /// Queues an answer.
    #[inline]
    pub fn push(&mut self, answer: T) {
        if self.queue.len() == self.queue.capacity() {
            self.size_for_burst();
        }
        self.queue.push_back(answer);
    }

    /// The queue is full: an empty one freed when idle gets the size the last
    /// burst needed, in one allocation (a full one grows as usual).
    #[cold]
    fn size_for_burst(&mut self) {
        if self.queue.is_empty() && self.hint > 0 {
            self.queue = VecDeque::with_capacity(self.hint);
        }
    }

    /// Notes how many answers wait: the connection calls it as it takes them.
    #[inline]
    pub(crate) fn note_peak(&mut self) {
        self.peak = self.peak.max(self.queue.len());
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

    /// Frees what a burst grew, once empty, and remembers how much it took.
    pub(crate) fn release_idle(&mut self) {
        if self.queue.is_empty() && self.queue.capacity() > IDLE_CAPACITY {
            // The capacity growing by doubling would have reached; none when
            // the connection never took answers from this queue.
            self.hint = match self.peak {
                0 => 0,
                peak => peak.next_power_of_two(),
            };
            self.queue = VecDeque::new();
        }
        self.peak = 0;
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Fills `replies` with `count` answers, takes them as the connection does and
    /// lets it go idle; returns the capacity the burst grew to.
    fn burst(replies: &mut Replies<u64>, count: u64) -> usize {
        for answer in 0..count {
            replies.push(answer);
        }
        let grown = replies.queue.capacity();
        replies.note_peak();
        for answer in 0..count {
            assert_eq!(replies.pop(), Some(answer));
        }
        replies.release_idle();
        grown
    }

    #[test]
    fn a_freed_queue_comes_back_at_the_last_bursts_size_in_one_allocation() {
        let mut replies = Replies::new();
        assert!(burst(&mut replies, 300) >= 300);
        assert_eq!(
            replies.queue.capacity(),
            0,
            "an idle queue above 64 slots is freed"
        );
        replies.push(0);
        assert_eq!(replies.queue.capacity(), 512, "300 answers, rounded up");
        assert_eq!(replies.pop(), Some(0));
        let grown = burst(&mut replies, 299);
        assert_eq!(grown, 512, "the burst fit without growing");
        assert_eq!(replies.queue.capacity(), 0);
    }

    #[test]
    fn the_size_follows_the_bursts_down_and_small_queues_are_kept() {
        let mut replies = Replies::new();
        burst(&mut replies, 1000);
        burst(&mut replies, 100);
        replies.push(0);
        assert_eq!(
            replies.queue.capacity(),
            128,
            "the last burst's size, not the largest"
        );
        assert_eq!(replies.pop(), Some(0));
        replies.release_idle();
        // A burst that fits the idle size keeps its queue, and the hint is unused.
        let kept = burst(&mut replies, 10);
        assert_eq!(replies.queue.capacity(), kept);
    }
}
