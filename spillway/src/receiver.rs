//! The receiving half.

use std::collections::VecDeque;
use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::error::TryRecvError;
use crate::loom::Arc;
use crate::shared::Shared;
use crate::signal::DISCONNECTED;

/// Receives what every [`Sender`](crate::Sender) sent.
///
/// The receiver takes a whole lane in one locked moment (it swaps the lane's queue
/// for an empty one) and then hands the messages out without touching shared memory.
/// Each ready lane is taken once per round, so a busy sender cannot starve the others.
///
/// Yields `None` once every sender is gone and everything they sent was received.
/// Dropping the receiver closes the channel: queued messages are dropped and every
/// later send fails with `Closed`.
pub struct Receiver<T> {
    shared: Arc<Shared<T>>,
    /// Messages of the last lane taken, handed out before any other lane is looked at.
    buffer: VecDeque<T>,
    /// Lanes known to be ready whose bits were already taken from the signal word.
    pending: u64,
    /// Every sender is gone; once `pending` and `buffer` run dry the stream ends.
    disconnected: bool,
}

impl<T> Receiver<T> {
    pub(crate) fn new(shared: Arc<Shared<T>>) -> Self {
        Self {
            shared,
            buffer: VecDeque::new(),
            pending: 0,
            disconnected: false,
        }
    }

    /// Polls for the next message: `Ready(Some)` with a message, `Ready(None)` when
    /// every sender is gone and all was received, `Pending` after arranging a wake-up.
    #[inline]
    pub fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        if let Some(value) = self.buffer.pop_front() {
            return Poll::Ready(Some(value));
        }
        match self.poll_fill(cx) {
            Poll::Ready(true) => Poll::Ready(self.buffer.pop_front()),
            Poll::Ready(false) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }

    /// Waits for the next message; `None` once every sender is gone and all was
    /// received.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: a message is only removed when it is returned.
    pub async fn next(&mut self) -> Option<T> {
        std::future::poll_fn(|cx| self.poll_next(cx)).await
    }

    /// Takes the next message if one is queued, without waiting.
    ///
    /// # Errors
    ///
    /// [`TryRecvError::Empty`] if nothing is queued now,
    /// [`TryRecvError::Disconnected`] if every sender is gone and all was received.
    pub fn try_next(&mut self) -> Result<T, TryRecvError> {
        if let Some(value) = self.buffer.pop_front() {
            return Ok(value);
        }
        if self.fill() {
            if let Some(value) = self.buffer.pop_front() {
                return Ok(value);
            }
        }
        Err(self.empty_reason())
    }

    /// Polls for the next batch: the messages of one lane (or the rest of the lane
    /// being handed out), appended to `batch`. Returns the number appended, or 0 when
    /// every sender is gone and all was received.
    ///
    /// When `batch` is empty the lane's queue is swapped in without copying, and
    /// `batch`'s allocation goes back to the channel to be reused.
    pub fn poll_next_batch(
        &mut self,
        cx: &mut Context<'_>,
        batch: &mut VecDeque<T>,
    ) -> Poll<usize> {
        if self.buffer.is_empty() {
            match self.poll_fill(cx) {
                Poll::Ready(true) => {}
                Poll::Ready(false) => return Poll::Ready(0),
                Poll::Pending => return Poll::Pending,
            }
        }
        Poll::Ready(self.drain_into(batch))
    }

    /// Waits for the next batch; see [`poll_next_batch`](Self::poll_next_batch).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: messages are only removed when they are appended to `batch`.
    pub async fn next_batch(&mut self, batch: &mut VecDeque<T>) -> usize {
        std::future::poll_fn(|cx| self.poll_next_batch(cx, batch)).await
    }

    /// Appends the next batch to `batch` if one is queued, without waiting; returns
    /// the number appended.
    ///
    /// # Errors
    ///
    /// [`TryRecvError::Empty`] if nothing is queued now,
    /// [`TryRecvError::Disconnected`] if every sender is gone and all was received.
    pub fn try_next_batch(&mut self, batch: &mut VecDeque<T>) -> Result<usize, TryRecvError> {
        if self.buffer.is_empty() && !self.fill() {
            return Err(self.empty_reason());
        }
        Ok(self.drain_into(batch))
    }

    /// Tells senders the receiver is awake, so that sends stop waking it until it
    /// next finds the channel empty and parks again.
    ///
    /// A hook for protosocket's connection, not part of the channel's API: for a task that sends to its own channel while it runs and polls the
    /// receiver later in the same poll (a connection whose reactor queues replies):
    /// without this, the first such send wakes the task that is already running,
    /// which costs a spurious poll. Calling it is only correct if the receiver
    /// will be polled (or the task woken some other way) before the task waits.
    #[doc(hidden)]
    #[inline]
    pub fn unpark(&self) {
        self.shared.signal.unpark();
    }

    /// The number of lanes; see [`channel_with_concurrency`](crate::channel_with_concurrency).
    #[must_use]
    pub fn lanes(&self) -> usize {
        self.shared.lanes.len()
    }

    fn drain_into(&mut self, batch: &mut VecDeque<T>) -> usize {
        let count = self.buffer.len();
        if batch.is_empty() {
            std::mem::swap(batch, &mut self.buffer);
        } else {
            batch.append(&mut self.buffer);
        }
        count
    }

    fn empty_reason(&self) -> TryRecvError {
        if self.disconnected && self.pending == 0 {
            TryRecvError::Disconnected
        } else {
            TryRecvError::Empty
        }
    }

    /// Fills the (empty) buffer from the next ready lane; true if it holds messages.
    #[inline]
    fn fill(&mut self) -> bool {
        debug_assert!(self.buffer.is_empty());
        loop {
            if self.pending == 0 {
                let taken = self.shared.signal.take();
                self.absorb(taken);
                if self.pending == 0 {
                    return false;
                }
            }
            let lane = self.pending.trailing_zeros() as usize;
            self.pending &= self.pending - 1;
            self.shared.lanes[lane].take_into(&mut self.buffer);
            if !self.buffer.is_empty() {
                return true;
            }
        }
    }

    /// [`fill`](Self::fill), parking when there is nothing: `Ready(true)` when the
    /// buffer holds messages, `Ready(false)` at the end of the stream.
    #[inline]
    fn poll_fill(&mut self, cx: &mut Context<'_>) -> Poll<bool> {
        loop {
            if self.fill() {
                return Poll::Ready(true);
            }
            if self.disconnected {
                return Poll::Ready(false);
            }
            let taken = self.shared.signal.park(cx.waker());
            if taken == 0 {
                return Poll::Pending;
            }
            self.absorb(taken);
        }
    }

    #[inline]
    fn absorb(&mut self, taken: u64) {
        // Lane bits taken together with DISCONNECTED are the last ones any sender set.
        self.pending |= taken & !DISCONNECTED;
        self.disconnected |= taken & DISCONNECTED != 0;
    }
}

// Messages are moved out, never pinned in place.
impl<T> Unpin for Receiver<T> {}

impl<T> futures_core::Stream for Receiver<T> {
    type Item = T;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        Receiver::poll_next(self.get_mut(), cx)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.buffer.len(), None)
    }
}

impl<T> futures_core::FusedStream for Receiver<T> {
    fn is_terminated(&self) -> bool {
        self.disconnected && self.pending == 0 && self.buffer.is_empty()
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        for lane in self.shared.lanes.iter() {
            lane.close();
        }
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver")
            .field("lanes", &self.shared.lanes.len())
            .field("buffered", &self.buffer.len())
            .field("disconnected", &self.disconnected)
            .finish()
    }
}
