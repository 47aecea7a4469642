//! [`WokenQueue`]: what was woken, by id, for a connection to handle on its next
//! poll.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::task::Waker;

use protosocket::WakerSlot;

use crate::lock::lock;

/// Ids pushed from any thread, and the waker of the connection that takes them.
///
/// A push wakes the connection (once: it registers again as it takes the ids), so
/// a connection polls only what can make progress. The server queues the slots of
/// woken rpcs; the client, the cancellations that found the outbound lane full.
pub(crate) struct WokenQueue<T> {
    inner: Mutex<Inner<T>>,
}

struct Inner<T> {
    ids: Vec<T>,
    connection: WakerSlot,
}

impl<T> Default for WokenQueue<T> {
    fn default() -> Self {
        Self {
            inner: Mutex::new(Inner {
                ids: Vec::new(),
                connection: WakerSlot::new(),
            }),
        }
    }
}

impl<T> WokenQueue<T> {
    /// Queues `id` and wakes the connection.
    pub(crate) fn push(&self, id: T) {
        let waker = {
            let mut inner = lock(&self.inner);
            inner.ids.push(id);
            inner.connection.take()
        };
        // Woken outside the lock: the connection may run at once and take it.
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// Wakes the connection registered here, for something queued elsewhere.
    pub(crate) fn wake(&self) {
        let waker = lock(&self.inner).connection.take();
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// Registers the connection's waker.
    pub(crate) fn register(&self, waker: &Waker) {
        lock(&self.inner).connection.register(waker);
    }

    /// Registers the connection's waker and moves the queued ids into `into`.
    pub(crate) fn take(&self, waker: &Waker, into: &mut VecDeque<T>) {
        let mut inner = lock(&self.inner);
        inner.connection.register(waker);
        into.extend(inner.ids.drain(..));
    }
}
