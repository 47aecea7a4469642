//! Counts live connections and wakes the server when one ends.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::Waker;

use protosocket::WakerSlot;

/// Shared between the server future and every connection it started.
#[derive(Debug, Default)]
pub(crate) struct Tracker {
    live: AtomicUsize,
    /// The server future, when it waits for a connection to end (at the connection
    /// limit, or draining for shutdown).
    server: Mutex<WakerSlot>,
}

impl Tracker {
    pub(crate) fn live(&self) -> usize {
        self.live.load(Ordering::Acquire)
    }

    /// Counts one more connection until the guard is dropped.
    pub(crate) fn enter(self: &Arc<Self>) -> LiveGuard {
        self.live.fetch_add(1, Ordering::AcqRel);
        LiveGuard {
            tracker: Arc::clone(self),
        }
    }

    /// Asks to be woken when a connection ends. Register before reading
    /// [`live`](Self::live), so an end between the two is not missed.
    pub(crate) fn register(&self, waker: &Waker) {
        // A panic while holding this lock cannot leave the slot half-written.
        self.server
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .register(waker);
    }

    fn leave(&self) {
        self.live.fetch_sub(1, Ordering::AcqRel);
        let waker = self
            .server
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

/// One live connection; dropping it ends the count, however the connection ended
/// (finished, dropped after its grace period, or never spawned at all).
#[derive(Debug)]
pub(crate) struct LiveGuard {
    tracker: Arc<Tracker>,
}

impl Drop for LiveGuard {
    fn drop(&mut self) {
        self.tracker.leave();
    }
}
