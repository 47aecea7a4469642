//! A mutex for tokio servers: a drop-in replacement for [`std::sync::Mutex`]
//! (same methods, same poisoning, same `std::sync` error types) that spins while
//! the lock is changing hands and sleeps on a futex when it is not.
//!
//! Short critical sections shared by a few runtime worker threads are the case it
//! is built for. There, the holder is almost always running and about to let go,
//! so a waiter that spins a little gets the lock without a system call. When the
//! holder is not running (preempted on a busy machine) or keeps the lock for
//! long, the waiter notices that the lock has stopped changing hands and sleeps
//! at once instead of wasting the time slice. Unlocking makes a system call only
//! when someone sleeps and nobody has been woken yet, so waiters come back one at
//! a time.
//!
//! ```
//! use k_lock::Mutex;
//! use std::collections::HashMap;
//! use std::sync::Arc;
//! use std::thread;
//!
//! let sessions = Arc::new(Mutex::new(HashMap::new()));
//! let writers: Vec<_> = (0..4u64)
//!     .map(|id| {
//!         let sessions = Arc::clone(&sessions);
//!         thread::spawn(move || {
//!             sessions.lock().unwrap().insert(id, format!("session {id}"));
//!         })
//!     })
//!     .collect();
//! for writer in writers {
//!     writer.join().unwrap();
//! }
//! assert_eq!(sessions.lock().unwrap().len(), 4);
//! ```
//!
//! Differences from std: the lock does not queue waiters in order, so a thread
//! that keeps re-locking can hold off a sleeping waiter for a while (throughput
//! over fairness, as in `parking_lot` between its fairness ticks). Platforms
//! other than Linux use an emulated futex built from std's `Mutex` and `Condvar`.
//! The lock word is 64 bits, so targets without 64-bit atomics are not supported.
//!
//! # How it works
//!
//! All the state is one 64-bit word. The low 32 bits are the futex word (what a sleeper compares against); the high
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
//! | `LOCKED`                  | waiter sees hand-offs advance  | keeps spinning, with exponential back-off between polls (at most 16 polls, a few microseconds) |
//! | `LOCKED`                  | waiter sees no hand-off for 8 polls in a row | unchanged: the waiter yields its core (`sched_yield`) and spins again, at most 3 times per lock |
//! | `LOCKED`                  | stalled again after its yields | `LOCKED \| PARKED`, waiter sleeps on the low half |
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
//!
//! Layout:
//! - `mutex`: [`Mutex`] and [`MutexGuard`], the public API.
//! - `raw`: the lock protocol described above.
//! - `poison`: the poison flag.
//! - `futex`: sleeping on the lock word (Linux futex, or an emulation elsewhere).
//! - `loom`: the facade that swaps in loom's primitives under `cfg(loom)`.

mod futex;
mod loom;
mod mutex;
mod poison;
mod raw;

pub use mutex::{Mutex, MutexGuard};
