//! The sending half.

use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::error::{SendError, TrySendError};
use crate::loom::{Arc, Ordering};
use crate::shared::Shared;

/// Sends messages into its own lane of the channel.
///
/// Cloning a sender gives the clone the next lane, round-robin, so up to the lane
/// count each sender pushes without ever meeting another sender. Messages from one
/// sender arrive in the order it sent them; there is no order between senders.
///
/// Sending is synchronous and never blocks on the receiver: it takes the lane's lock
/// (uncontended unless senders share a lane) and pushes.
pub struct Sender<T> {
    shared: Arc<Shared<T>>,
    lane: usize,
}

impl<T> Sender<T> {
    pub(crate) fn new(shared: Arc<Shared<T>>, lane: usize) -> Self {
        Self { shared, lane }
    }

    /// Queues `value` for the receiver.
    ///
    /// # Errors
    ///
    /// [`TrySendError::Closed`] with the value if the receiver is gone;
    /// [`TrySendError::Full`] with the value if this sender's lane of a bounded channel
    /// is at capacity (see [`send_async`](Self::send_async) to wait for room).
    #[inline]
    pub fn send(&self, value: T) -> Result<(), TrySendError<T>> {
        let lane = &self.shared.lanes[self.lane];
        let was_empty = {
            let mut state = lane.lock();
            if state.closed {
                return Err(TrySendError::Closed(value));
            }
            if state.queue.len() >= self.shared.capacity {
                return Err(TrySendError::Full(value));
            }
            let was_empty = state.queue.is_empty();
            state.queue.push_back(value);
            was_empty
        };
        if was_empty {
            self.shared.signal.lane_ready(self.lane);
        }
        Ok(())
    }

    /// Queues every item, in order, or none of them, under one lock of the lane.
    ///
    /// The iterator runs while the lane is locked, so it should be cheap and must not
    /// send on this channel (a sender on the same lane would deadlock). If it panics,
    /// the items it already yielded are dropped and nothing is queued.
    ///
    /// # Errors
    ///
    /// [`TrySendError::Closed`] if the receiver is gone, [`TrySendError::Full`] if the
    /// lane of a bounded channel lacks room for all of them (a batch larger than
    /// the capacity can never be sent whole). Either way every item comes back.
    pub fn send_many<I>(&self, items: I) -> Result<(), TrySendError<Vec<T>>>
    where
        I: IntoIterator<Item = T>,
    {
        let items = items.into_iter();
        let lane = &self.shared.lanes[self.lane];
        let was_empty = {
            let mut state = lane.lock();
            if state.closed {
                drop(state);
                return Err(TrySendError::Closed(items.collect()));
            }
            let before = state.queue.len();
            let mut rollback = Rollback {
                queue: &mut state.queue,
                len: before,
                armed: true,
            };
            rollback.queue.extend(items);
            rollback.armed = false;
            drop(rollback);
            let queue = &mut state.queue;
            if queue.len() > self.shared.capacity {
                return Err(TrySendError::Full(queue.drain(before..).collect()));
            }
            before == 0 && !queue.is_empty()
        };
        if was_empty {
            self.shared.signal.lane_ready(self.lane);
        }
        Ok(())
    }

    /// Queues `value`, waiting for room in this sender's lane if the channel is
    /// bounded and the lane is full. On an unbounded channel it is ready at once.
    ///
    /// # Errors
    ///
    /// [`SendError`] with the value if the receiver is gone, before or while waiting.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future before it completes drops the value unsent; nothing is
    /// queued twice or half-way.
    pub fn send_async(&self, value: T) -> SendAsync<'_, T> {
        SendAsync {
            sender: self,
            value: Some(value),
        }
    }

    /// True once the receiver is gone: every send from now on fails.
    #[must_use]
    pub fn is_closed(&self) -> bool {
        self.shared.lanes[self.lane].lock().closed
    }

    /// The number of messages queued in this sender's lane, not yet taken by the
    /// receiver. Senders sharing the lane are counted too.
    #[must_use]
    pub fn lane_len(&self) -> usize {
        self.shared.lanes[self.lane].lock().queue.len()
    }

    fn poll_send(
        &self,
        cx: &mut Context<'_>,
        value: &mut Option<T>,
    ) -> Poll<Result<(), SendError<T>>> {
        let lane = &self.shared.lanes[self.lane];
        let was_empty = {
            let mut state = lane.lock();
            let Some(item) = value.take() else {
                // Polled after completion; nothing left to send.
                return Poll::Ready(Ok(()));
            };
            if state.closed {
                return Poll::Ready(Err(SendError(item)));
            }
            if state.queue.len() >= self.shared.capacity {
                *value = Some(item);
                // The receiver wakes the whole list when it takes this (full, hence
                // flagged) lane, so registering under the lane lock cannot miss it.
                if !state.waiters.iter().any(|w| w.will_wake(cx.waker())) {
                    state.waiters.push(cx.waker().clone());
                }
                return Poll::Pending;
            }
            let was_empty = state.queue.is_empty();
            state.queue.push_back(item);
            was_empty
        };
        if was_empty {
            self.shared.signal.lane_ready(self.lane);
        }
        Poll::Ready(Ok(()))
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        let counters = &self.shared.counters;
        counters.senders.fetch_add(1, Ordering::Relaxed);
        let lane = counters.next_lane.fetch_add(1, Ordering::Relaxed) % self.shared.lanes.len();
        Self::new(Arc::clone(&self.shared), lane)
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        // AcqRel: the last sender must see every other sender's pushes as done
        // before it announces the disconnect.
        if self.shared.counters.senders.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.shared.signal.disconnect();
        }
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender")
            .field("lane", &self.lane)
            .field("lanes", &self.shared.lanes.len())
            .finish()
    }
}

/// Future of [`Sender::send_async`].
#[must_use = "futures do nothing unless polled"]
pub struct SendAsync<'a, T> {
    sender: &'a Sender<T>,
    value: Option<T>,
}

impl<T> Unpin for SendAsync<'_, T> {}

impl<T> Future for SendAsync<'_, T> {
    type Output = Result<(), SendError<T>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        this.sender.poll_send(cx, &mut this.value)
    }
}

impl<T> fmt::Debug for SendAsync<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SendAsync")
            .field("sender", self.sender)
            .field("pending", &self.value.is_some())
            .finish()
    }
}

/// Truncates a queue back to `len` unless disarmed: keeps `send_many` all or nothing
/// when its iterator panics.
struct Rollback<'a, T> {
    queue: &'a mut VecDeque<T>,
    len: usize,
    armed: bool,
}

impl<T> Drop for Rollback<'_, T> {
    fn drop(&mut self) {
        if self.armed {
            self.queue.truncate(self.len);
        }
    }
}
