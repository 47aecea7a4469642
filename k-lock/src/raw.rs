//! The lock protocol: one 64-bit word, no data.
//!
//! # State
//!
//! The low 32 bits are the futex word (what a sleeper compares against); the high
//! 32 bits count unlocks, so a waiter can tell a holder that is making progress
//! from one that is stalled.
//!
//! | bits    | name      | set by                                   | cleared by |
//! |---------|-----------|------------------------------------------|------------|
//! | 0       | `LOCKED`  | the thread that acquires the lock        | `unlock` (the same `fetch_add` that bumps the counter) |
//! | 1       | `PARKED`  | a waiter before it sleeps; a woken waiter when it acquires (other sleepers may remain) | `unlock` when it hands a wake-up to a sleeper |
//! | 2       | `WAKING`  | `unlock` when it wakes a sleeper          | the woken waiter at its next step (acquire or sleep again); `unlock` itself if nobody was asleep |
//! | 32..64  | hand-offs | `unlock` (+1, wrapping)                   | never      |
//!
//! Transitions:
//!
//! | from                      | event                          | to |
//! |---------------------------|--------------------------------|----|
//! | not `LOCKED`              | `lock`/`try_lock` (`fetch_or`) | `LOCKED` |
//! | `LOCKED`                  | waiter sees hand-offs advance  | keeps spinning (bounded by `SPIN_LIMIT`) |
//! | `LOCKED`                  | waiter sees no hand-off for `STALL_LIMIT` polls | `LOCKED \| PARKED`, waiter sleeps on the low half |
//! | `LOCKED \| PARKED`        | `unlock`                       | counter + 1, `PARKED` dropped, `WAKING` set, one sleeper woken |
//! | `WAKING`                  | `unlock`                       | counter + 1, nobody woken (one waiter is already on its way) |
//! | `WAKING`, lock free       | woken waiter acquires          | `LOCKED \| PARKED`, `WAKING` dropped |
//! | `WAKING`, lock held       | woken waiter gives up spinning | `LOCKED \| PARKED`, `WAKING` dropped, waiter sleeps |
//!
//! Why this shape:
//! - The uncontended path is one `fetch_or` to lock and one `fetch_add` to unlock;
//!   unlock makes a system call only when `PARKED` is set and `WAKING` is not.
//! - Waiters spin only while the counter moves, i.e. while the holder is running
//!   and handing the lock over. On an oversubscribed machine a holder that is not
//!   running shows up as a counter that stops, and the waiter sleeps instead of
//!   burning the time slice the holder needs. Since the counter is outside the
//!   futex half, hand-offs do not make a sleeper's `wait` fail.
//! - `WAKING` keeps at most one woken waiter in flight: no thundering herd, and a
//!   holder that re-locks in a loop (barging is allowed) pays one system call per
//!   woken waiter rather than one per unlock.
//! - A sleeper is woken as soon as an unlock sees `PARKED`, even if another thread
//!   grabs the lock first, so under heavy contention there is always one waiter
//!   awake and ready to take the lock the moment it is free.
//!
//! Why no waiter is lost: a thread only sleeps while the low half still shows
//! `LOCKED | PARKED` (the futex compares it atomically with the enqueue), and the
//! unlock of that holder sees `PARKED`. When an unlock trades `PARKED` for
//! `WAKING`, either it woke a thread, which puts `PARKED` back before it next
//! acquires or sleeps, or it woke nobody and clears `WAKING` itself; a thread that
//! was about to sleep then finds the low half changed and does not sleep.

use crate::futex::Futex;
use crate::loom::{spin_loop, SPIN_LIMIT, STALL_LIMIT};
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
        loop {
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
        while state & LOCKED != 0 && polls < SPIN_LIMIT && stalled < STALL_LIMIT {
            spin_loop();
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
