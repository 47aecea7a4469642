//! The waker a slot's rpcs are polled with: it queues the slot in the
//! connection's [`WokenQueue`] and wakes the connection, so a connection polls
//! only the rpcs that can make progress.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Wake, Waker};

use crate::woken::WokenQueue;

/// A slot's waker, made once and kept for every rpc the slot holds. A wake left
/// over from the slot's previous rpc costs the next one a spurious poll.
pub(crate) struct SlotWaker {
    state: Arc<RpcWaker>,
    waker: Waker,
}

impl SlotWaker {
    /// The waker of `slot`, which the caller queues itself.
    pub(crate) fn new(slot: usize, ready: &Arc<WokenQueue<usize>>) -> Self {
        let state = Arc::new(RpcWaker {
            slot,
            queued: AtomicBool::new(true),
            ready: Arc::clone(ready),
        });
        let waker = Waker::from(Arc::clone(&state));
        Self { state, waker }
    }

    /// The context to poll the slot's rpc with. The slot is no longer queued: a
    /// wake from now on queues it again.
    #[inline]
    pub(crate) fn polling(&self) -> Context<'_> {
        self.state.queued.store(false, Ordering::Release);
        Context::from_waker(&self.waker)
    }

    /// The slot's waker, for what wakes it besides its work (a request stream
    /// giving credit back).
    pub(crate) fn waker(&self) -> &Waker {
        &self.waker
    }

    /// Marks the slot queued by its owner.
    #[inline]
    pub(crate) fn set_queued(&self) {
        self.state.queued.store(true, Ordering::Release);
    }

    /// Marks the slot queued; `false` when it was already (so queueing it again
    /// would poll it twice).
    #[inline]
    pub(crate) fn queue(&self) -> bool {
        !self.state.queued.swap(true, Ordering::AcqRel)
    }
}

/// What a slot's [`Waker`] wakes.
struct RpcWaker {
    slot: usize,
    /// Set while the slot is queued, so a burst of wakes queues it once.
    queued: AtomicBool,
    ready: Arc<WokenQueue<usize>>,
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
