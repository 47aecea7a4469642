//! The one place that decides which primitives the lock is built on.
//!
//! Under `cfg(loom)` the state atomic and the futex emulation's mutex and condvar
//! are loom's, so the model checker sees every step of the protocol, and the spin
//! budget shrinks to one poll. Otherwise these are the real atomics and the real
//! futex (or its portable emulation).

#[cfg(loom)]
mod imp {
    pub(crate) use loom::sync::atomic::AtomicU64;
    pub(crate) use loom::sync::{Condvar, Mutex};

    /// How many times a waiter polls the state before it parks. Loom explores every
    /// interleaving of every poll, so one is enough to cover the spin path.
    pub(crate) const SPIN_LIMIT: u32 = 1;
    /// Polls without an unlock before a waiter decides the holder is stalled.
    pub(crate) const STALL_LIMIT: u32 = 1;
    /// The most spin hints between two polls.
    pub(crate) const MAX_PAUSE: u32 = 1;
    /// Yields before parking; none under loom, where a yield is just another schedule.
    pub(crate) const YIELD_LIMIT: u32 = 0;
    pub(crate) fn yield_now() {}

    /// Does nothing. Loom's own hint is a yield that lets the scheduler run
    /// other threads first, so the holder would always unlock before the
    /// waiter's poll and the model would never reach the futex. The spin is
    /// bounded, so it needs no yield to terminate.
    pub(crate) fn spin_loop() {}
}

#[cfg(not(loom))]
mod imp {
    pub(crate) use std::hint::spin_loop;
    pub(crate) use std::sync::atomic::AtomicU64;
    #[cfg(not(target_os = "linux"))]
    pub(crate) use std::sync::{Condvar, Mutex};

    // Measured on a 2-core VM against std and parking_lot (benches/benches/mutex.rs):
    // polling after every spin hint kept the cache line away from the holder and
    // roughly halved contended throughput; backing off to 64 hints (a few microseconds of polls in total)
    // kept the holder fast while still catching its unlocks.

    /// Upper bound on polls while the lock keeps changing hands without us winning
    /// it: past this (about 700 spin hints), sleeping is cheaper than keeping the
    /// line bouncing.
    pub(crate) const SPIN_LIMIT: u32 = 16;
    /// Polls without seeing a single unlock before a waiter decides the holder is
    /// preempted or in a long critical section, and parks.
    pub(crate) const STALL_LIMIT: u32 = 8;
    /// The most spin hints between two polls; the gap doubles up to this.
    pub(crate) const MAX_PAUSE: u32 = 64;
    /// Times a stalled waiter gives its core away (`sched_yield`) before it parks.
    /// With more runnable threads than cores the stalled holder is usually
    /// preempted; yielding lets it run and unlock with no futex wake on either side.
    /// Measured at 16 threads on 2 cores (benches/benches/mutex.rs, million ops/s,
    /// k-lock vs parking_lot in the same run): no yields, tiny 110 vs 126 and tokio
    /// tasks 65 vs 70; one yield 154 vs 101 and 92 vs 76; three 156 vs 135 and 99 vs
    /// 77; eight 163 vs 124 and 84 vs 67.
    pub(crate) const YIELD_LIMIT: u32 = 3;
    pub(crate) use std::thread::yield_now;
}

pub(crate) use imp::*;
