//! [`WakerSlot`]: the waker of the one task waiting on something.

use std::task::Waker;

/// Holds the waker of the task to wake, replacing it only when a poll comes from
/// another task.
///
/// A task polled again usually brings a waker that wakes the same task; keeping
/// the stored one then saves a clone (a reference-count increment, or a vtable
/// call) on every poll. Wrap it in a `Mutex` when the waking side is another
/// thread.
///
/// ```
/// use std::task::Waker;
/// use protosocket::WakerSlot;
///
/// let mut slot = WakerSlot::new();
/// assert!(slot.register(Waker::noop()), "the first waker is stored");
/// assert!(!slot.register(Waker::noop()), "the same task's waker is kept");
/// assert!(slot.is_registered());
/// slot.wake();
/// assert!(!slot.is_registered(), "a wake is spent once");
/// ```
#[derive(Debug, Default)]
pub struct WakerSlot {
    waker: Option<Waker>,
}

impl WakerSlot {
    /// An empty slot.
    #[must_use]
    pub const fn new() -> Self {
        Self { waker: None }
    }

    /// Stores `waker` unless the stored one wakes the same task. Returns whether
    /// it stored it: `false` means the task was registered already.
    #[inline]
    pub fn register(&mut self, waker: &Waker) -> bool {
        if self.waker.as_ref().is_some_and(|w| w.will_wake(waker)) {
            return false;
        }
        self.waker = Some(waker.clone());
        true
    }

    /// Whether a waker is stored.
    #[inline]
    #[must_use]
    pub fn is_registered(&self) -> bool {
        self.waker.is_some()
    }

    /// Takes the stored waker out, to wake it later (for instance after letting
    /// go of a lock).
    #[inline]
    pub fn take(&mut self) -> Option<Waker> {
        self.waker.take()
    }

    /// Wakes the stored task, if any; it must register again to be woken again.
    #[inline]
    pub fn wake(&mut self) {
        if let Some(waker) = self.waker.take() {
            waker.wake();
        }
    }
}
