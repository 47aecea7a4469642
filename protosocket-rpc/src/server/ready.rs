//! Which rpcs were woken: each rpc's waker puts its slot here and wakes the
//! connection, so a connection polls only the rpcs that can make progress.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Wake, Waker};

/// The slots woken since the connection last looked, and the connection's waker.
#[derive(Default)]
pub(crate) struct ReadyQueue {
    inner: Mutex<ReadyInner>,
}

#[derive(Default)]
struct ReadyInner {
    slots: Vec<usize>,
    waker: Option<Waker>,
}

impl ReadyQueue {
    fn push(&self, slot: usize) {
        let waker = {
            let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
            inner.slots.push(slot);
            inner.waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// Registers the connection's waker.
    pub(crate) fn register(&self, waker: &Waker) {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        if !inner.waker.as_ref().is_some_and(|w| w.will_wake(waker)) {
            inner.waker = Some(waker.clone());
        }
    }

    /// Registers the connection's waker and moves the woken slots into `into`.
    pub(crate) fn take(&self, waker: &Waker, into: &mut std::collections::VecDeque<usize>) {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        if !inner.waker.as_ref().is_some_and(|w| w.will_wake(waker)) {
            inner.waker = Some(waker.clone());
        }
        into.extend(inner.slots.drain(..));
    }
}

/// The waker of one rpc.
pub(crate) struct RpcWaker {
    slot: usize,
    /// Set while the slot is queued, so a burst of wakes queues it once.
    pub(crate) queued: AtomicBool,
    ready: Arc<ReadyQueue>,
}

impl RpcWaker {
    /// A waker for `slot`, which the caller queues itself (hence `queued`).
    pub(crate) fn new(slot: usize, ready: Arc<ReadyQueue>) -> Arc<Self> {
        Arc::new(Self {
            slot,
            queued: AtomicBool::new(true),
            ready,
        })
    }
}

impl Wake for RpcWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if !self.queued.swap(true, Ordering::AcqRel) {
            self.ready.push(self.slot);
        }
    }
}
