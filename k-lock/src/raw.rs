//! The lock protocol: one 64-bit word, no data. The crate docs describe the
//! state machine; this file implements it.

use crate::futex::Futex;
use crate::loom::{spin_loop, yield_now, MAX_PAUSE, SPIN_LIMIT, STALL_LIMIT, YIELD_LIMIT};
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};

const LOCKED: u64 = 1;
const PARKED: u64 = 2;
const WAKING: u64 = 4;
/// One hand-off in the high half.
const HANDOFF: u64 = 1 << 32;
/// Added by `unlock`: clears `LOCKED` (which is known to be set, so nothing borrows
/// from the bits above it) and counts one hand-off, in a single `fetch_add`.
const UNLOCK: u64 = HANDOFF - LOCKED;

/// The hand-off counter of a state.
#[inline]
fn handoffs(state: u64) -> u64 {
    state >> 32
}

/// A mutual exclusion lock with no data; [`crate::Mutex`] wraps it.
#[derive(Debug)]
pub(crate) struct RawMutex {
    futex: Futex,
}

impl RawMutex {
    #[cfg(not(loom))]
    #[inline]
    pub(crate) const fn new() -> Self {
        Self {
            futex: Futex::new(),
        }
    }

    #[cfg(loom)]
    pub(crate) fn new() -> Self {
        Self {
            futex: Futex::new(),
        }
    }

    /// Takes the lock if it is free, without waiting.
    #[inline]
    pub(crate) fn try_lock(&self) -> bool {
        self.futex.word.fetch_or(LOCKED, Acquire) & LOCKED == 0
    }

    /// Takes the lock, waiting as long as needed.
    #[inline]
    pub(crate) fn lock(&self) {
        if !self.try_lock() {
            self.lock_contended();
        }
    }

    /// Releases the lock.
    ///
    /// # Safety
    ///
    /// The caller must hold the lock (acquired by `lock` or a successful
    /// `try_lock` on this `RawMutex` and not released since).
    #[inline]
    pub(crate) unsafe fn unlock(&self) {
        let prev = self.futex.word.fetch_add(UNLOCK, Release);
        debug_assert!(prev & LOCKED != 0, "unlock of a free k-lock");
        if prev & (PARKED | WAKING) == PARKED {
            self.wake_one();
        }
    }

    #[cold]
    fn lock_contended(&self) {
        let word = &self.futex.word;
        // Once this thread has been inside `wait`, it may be the waiter an unlock
        // woke (it cannot tell), so it owes the state `PARKED` back and `WAKING` off.
        let mut woken = false;
        let mut yields = 0;
        'spin: loop {
            let mut state = self.spin();
            let (owed, spent) = if woken { (PARKED, WAKING) } else { (0, 0) };
            loop {
                if state & LOCKED == 0 {
                    let next = (state | LOCKED | owed) & !spent;
                    match word.compare_exchange_weak(state, next, Acquire, Relaxed) {
                        Ok(_) => return,
                        Err(seen) => {
                            state = seen;
                            continue;
                        }
                    }
                }
                if yields < YIELD_LIMIT {
                    yields += 1;
                    yield_now();
                    continue 'spin;
                }
                let next = (state | PARKED) & !spent;
                if next != state {
                    if let Err(seen) = word.compare_exchange_weak(state, next, Relaxed, Relaxed) {
                        state = seen;
                        continue;
                    }
                }
                // Truncation keeps the futex half, which is all the kernel compares.
                self.futex.wait(next as u32);
                woken = true;
                break;
            }
        }
    }

    /// Polls the state while the lock is held and the holder is visibly handing it
    /// over; returns the last state seen once the lock looks free, the holder looks
    /// stalled, or the spin budget is spent.
    #[inline]
    fn spin(&self) -> u64 {
        let word = &self.futex.word;
        let mut state = word.load(Relaxed);
        let mut polls = 0;
        let mut stalled = 0;
        let mut pause = 1;
        while state & LOCKED != 0 && polls < SPIN_LIMIT && stalled < STALL_LIMIT {
            // Back off between polls: every poll pulls the line away from the
            // holder, which slows exactly the thread everyone is waiting for.
            for _ in 0..pause {
                spin_loop();
            }
            pause = (pause * 2).min(MAX_PAUSE);
            let seen = word.load(Relaxed);
            if handoffs(seen) == handoffs(state) {
                stalled += 1;
            } else {
                stalled = 0;
            }
            polls += 1;
            state = seen;
        }
        state
    }

    /// Hands a wake-up to one sleeper, unless another unlock already did.
    #[cold]
    fn wake_one(&self) {
        let word = &self.futex.word;
        let mut state = word.load(Relaxed);
        loop {
            if state & (PARKED | WAKING) != PARKED {
                return;
            }
            match word.compare_exchange_weak(state, (state & !PARKED) | WAKING, Relaxed, Relaxed) {
                Ok(_) => break,
                Err(seen) => state = seen,
            }
        }
        if !self.futex.wake_one() {
            // Nobody was asleep, so nobody will clear `WAKING`; a thread that was
            // about to sleep sees the changed word and does not.
            word.fetch_and(!WAKING, Relaxed);
        }
    }
}
