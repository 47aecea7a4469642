//! The one place that decides which primitives the lock is built on.
//!
//! Under `cfg(loom)` everything the lock protocol touches (the state atomic, the
//! spin hint, the futex) is loom's, so the model checker sees every step. Otherwise
//! these are the real atomics and the real futex (or its portable emulation).

#[cfg(loom)]
mod imp {
    pub(crate) use loom::hint::spin_loop;
    pub(crate) use loom::sync::atomic::AtomicU64;
    pub(crate) use loom::sync::{Condvar, Mutex};

    /// How many times a waiter polls the state before it parks. Loom explores every
    /// interleaving of every poll, so one is enough to cover the spin path.
    pub(crate) const SPIN_LIMIT: u32 = 1;
    /// Polls without an unlock before a waiter decides the holder is stalled.
    pub(crate) const STALL_LIMIT: u32 = 1;
}

#[cfg(not(loom))]
mod imp {
    pub(crate) use std::hint::spin_loop;
    pub(crate) use std::sync::atomic::AtomicU64;
    #[cfg(not(target_os = "linux"))]
    pub(crate) use std::sync::{Condvar, Mutex};

    /// Upper bound on polls while the lock keeps changing hands without us winning
    /// it: past this, sleeping is cheaper than keeping the line bouncing.
    pub(crate) const SPIN_LIMIT: u32 = 256;
    /// Polls without seeing a single unlock before a waiter decides the holder is
    /// preempted or in a long critical section, and parks.
    pub(crate) const STALL_LIMIT: u32 = 32;
}

pub(crate) use imp::*;
