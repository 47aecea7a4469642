//! A lane: the queue one sender (or a few, round-robin) pushes into, swapped out whole
//! by the receiver.

use std::collections::VecDeque;
use std::ops::Deref;
use std::task::Waker;

use crate::loom::{lock, Mutex, MutexGuard};

/// Keeps a lane on cache lines of its own, so senders on different lanes never
/// contend for a line. 128 bytes covers the adjacent-line prefetcher on x86_64.
#[derive(Debug)]
#[repr(align(128))]
pub(crate) struct CachePadded<T>(pub(crate) T);

impl<T> Deref for CachePadded<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

#[derive(Debug)]
pub(crate) struct Lane<T> {
    state: Mutex<LaneState<T>>,
}

#[derive(Debug)]
pub(crate) struct LaneState<T> {
    /// Messages in the order their senders sent them.
    pub(crate) queue: VecDeque<T>,
    /// The receiver is gone: every later send fails.
    pub(crate) closed: bool,
    /// Senders of a bounded channel waiting for room in this lane.
    pub(crate) waiters: Vec<Waker>,
}

impl<T> Lane<T> {
    pub(crate) fn new() -> Self {
        Self {
            state: Mutex::new(LaneState {
                queue: VecDeque::new(),
                closed: false,
                waiters: Vec::new(),
            }),
        }
    }

    #[inline]
    pub(crate) fn lock(&self) -> MutexGuard<'_, LaneState<T>> {
        lock(&self.state)
    }

    /// Swaps the lane's queue with `empty` (which must be empty, so its allocation is
    /// reused by the senders) and wakes senders waiting for room.
    #[inline]
    pub(crate) fn take_into(&self, empty: &mut VecDeque<T>) {
        debug_assert!(empty.is_empty());
        let waiters = {
            let mut state = self.lock();
            std::mem::swap(&mut state.queue, empty);
            if state.waiters.is_empty() {
                return;
            }
            std::mem::take(&mut state.waiters)
        };
        waiters.into_iter().for_each(Waker::wake);
    }

    /// Closes the lane for good, dropping its messages and waking its waiters.
    pub(crate) fn close(&self) {
        let (queue, waiters) = {
            let mut state = self.lock();
            state.closed = true;
            (
                std::mem::take(&mut state.queue),
                std::mem::take(&mut state.waiters),
            )
        };
        // Outside the lock: a message's drop may run arbitrary code.
        drop(queue);
        waiters.into_iter().for_each(Waker::wake);
    }
}
