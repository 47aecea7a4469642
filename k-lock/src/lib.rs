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
//! a time. The state machine is documented with a table in the `raw` module's
//! source (`src/raw.rs`).
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
//! Layout:
//! - `mutex`: [`Mutex`] and [`MutexGuard`], the public API.
//! - `raw`: the lock protocol and its state table.
//! - `poison`: the poison flag.
//! - `futex`: sleeping on the lock word (Linux futex, or an emulation elsewhere).
//! - `loom`: the facade that swaps in loom's primitives under `cfg(loom)`.

mod futex;
mod loom;
mod mutex;
mod poison;
mod raw;

pub use mutex::{Mutex, MutexGuard};
