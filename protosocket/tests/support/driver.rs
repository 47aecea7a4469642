//! Polls futures by hand, on the test's thread, with a waker that counts wakes.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

/// Polls beyond which [`Driver::run_until_idle`] calls it a spin.
const SPIN_LIMIT: usize = 100_000;

#[derive(Debug, Default)]
struct WakeCount(AtomicUsize);

impl Wake for WakeCount {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// A hand-driven executor for one future at a time.
#[derive(Debug)]
pub(crate) struct Driver {
    wakes: Arc<WakeCount>,
    waker: Waker,
    polls: usize,
}

impl Driver {
    pub(crate) fn new() -> Self {
        let wakes = Arc::new(WakeCount::default());
        let waker = Waker::from(Arc::clone(&wakes));
        Self {
            wakes,
            waker,
            polls: 0,
        }
    }

    /// How many times the waker was woken so far.
    pub(crate) fn wakes(&self) -> usize {
        self.wakes.0.load(Ordering::SeqCst)
    }

    /// How many polls this driver made.
    pub(crate) fn polls(&self) -> usize {
        self.polls
    }

    /// Polls `future` once.
    pub(crate) fn poll_once<F: Future + Unpin>(&mut self, future: &mut F) -> Poll<F::Output> {
        self.polls += 1;
        Pin::new(future).poll(&mut Context::from_waker(&self.waker))
    }

    /// Polls `future` until it completes or stops asking for polls: a poll after
    /// which no wake arrived leaves it waiting on something outside (`Pending`).
    ///
    /// # Panics
    ///
    /// When it is still waking itself after many polls: a spin.
    pub(crate) fn run_until_idle<F: Future + Unpin>(&mut self, future: &mut F) -> Poll<F::Output> {
        for _ in 0..SPIN_LIMIT {
            let before = self.wakes();
            if let Poll::Ready(output) = self.poll_once(future) {
                return Poll::Ready(output);
            }
            if self.wakes() == before {
                return Poll::Pending;
            }
        }
        panic!("future still runnable after {SPIN_LIMIT} polls: it spins");
    }
}
