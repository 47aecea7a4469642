//! The one word that tells the receiver which lanes have messages, and the wake
//! protocol built on it.
//!
//! | bits  | name           | set by                                   | cleared by                       |
//! |-------|----------------|------------------------------------------|----------------------------------|
//! | 0..62 | lane `i` ready | a sender whose push made lane `i` non-empty | the receiver, when it takes the bits |
//! | 62    | `DISCONNECTED` | the last sender, when it is dropped      | never                            |
//! | 63    | `PARKED`       | the receiver, after storing its waker    | the one that wakes it (a sender, or the receiver itself when it finds work) |
//!
//! A sender touches this word only when its push turns an empty lane non-empty, so a
//! busy lane costs no shared-cache-line traffic at all: the receiver drains whole
//! lanes, and each drain re-arms one `fetch_or`.
//!
//! No lost wake-ups: every change is a read-modify-write on this one word, so all of
//! them fall into one total order. The receiver stores its waker *before* its
//! `fetch_or(PARKED)`. A sender's `fetch_or(lane bit)` either comes first (the
//! receiver sees the bit and does not sleep) or comes after and sees `PARKED`; the
//! sender that clears `PARKED` with its `fetch_and` owns the wake and takes whatever
//! waker is stored at that moment, which is the receiver's latest registration or a
//! later one.

use std::task::Waker;

use crate::loom::{lock, AtomicU64, Mutex, Ordering};

/// Lane bits; one per lane, so a channel has at most this many lanes.
pub(crate) const MAX_LANES: usize = 62;
pub(crate) const LANE_BITS: u64 = (1 << MAX_LANES) - 1;
pub(crate) const DISCONNECTED: u64 = 1 << 62;
pub(crate) const PARKED: u64 = 1 << 63;

#[derive(Debug)]
pub(crate) struct Signal {
    word: AtomicU64,
    /// The receiver's waker, stored before it sets `PARKED`.
    waker: Mutex<Option<Waker>>,
}

impl Signal {
    pub(crate) fn new() -> Self {
        Self {
            word: AtomicU64::new(0),
            waker: Mutex::new(None),
        }
    }

    /// A sender made lane `lane` non-empty.
    #[inline]
    pub(crate) fn lane_ready(&self, lane: usize) {
        let previous = self.word.fetch_or(1 << lane, Ordering::AcqRel);
        if previous & PARKED != 0 {
            self.wake();
        }
    }

    /// The last sender is gone.
    pub(crate) fn disconnect(&self) {
        let previous = self.word.fetch_or(DISCONNECTED, Ordering::AcqRel);
        if previous & PARKED != 0 {
            self.wake();
        }
    }

    #[cold]
    fn wake(&self) {
        // Only the one that clears PARKED wakes, so a burst of senders costs one wake.
        let previous = self.word.fetch_and(!PARKED, Ordering::AcqRel);
        if previous & PARKED != 0 {
            let waker = lock(&self.waker).take();
            if let Some(waker) = waker {
                waker.wake();
            }
        }
    }

    /// Takes the ready-lane bits, returning them with `DISCONNECTED` if it is set.
    #[inline]
    pub(crate) fn take(&self) -> u64 {
        // A plain load first: an idle poll then costs no exclusive cache-line access.
        let current = self.word.load(Ordering::Acquire);
        if current & LANE_BITS == 0 {
            return current & DISCONNECTED;
        }
        self.word.fetch_and(!LANE_BITS, Ordering::AcqRel) & (LANE_BITS | DISCONNECTED)
    }

    /// Clears `PARKED` if it is set, keeping the stored waker for the next park.
    #[inline]
    pub(crate) fn unpark(&self) {
        if self.word.load(Ordering::Relaxed) & PARKED != 0 {
            self.word.fetch_and(!PARKED, Ordering::AcqRel);
        }
    }

    /// Stores `waker` and sets `PARKED`. If lanes became ready (or the channel
    /// disconnected) meanwhile, un-parks instead and returns those bits; 0 means the
    /// receiver is parked and will be woken.
    pub(crate) fn park(&self, waker: &Waker) -> u64 {
        {
            let mut slot = lock(&self.waker);
            match &*slot {
                Some(stored) if stored.will_wake(waker) => {}
                _ => *slot = Some(waker.clone()),
            }
        }
        let previous = self.word.fetch_or(PARKED, Ordering::AcqRel);
        if previous & (LANE_BITS | DISCONNECTED) == 0 {
            return 0;
        }
        // Work arrived: clear PARKED ourselves. A sender that cleared it first will
        // wake us once more, which costs one spurious poll and loses nothing.
        self.word.fetch_and(!(LANE_BITS | PARKED), Ordering::AcqRel) & (LANE_BITS | DISCONNECTED)
    }
}
