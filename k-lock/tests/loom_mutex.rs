//! Loom models of the lock, spin, park and wake protocol.
//!
//! Run with `RUSTFLAGS="--cfg loom" cargo test -p k-lock --release --test loom_mutex`.
//! Under loom the crate's spin budget is one poll, so most interleavings reach the
//! (emulated) futex, and the unsafe cell below lets loom flag any access to the
//! data that the lock failed to order.
#![cfg(loom)]

use k_lock::Mutex;
use loom::cell::UnsafeCell;
use loom::sync::Arc;
use loom::thread;
use std::sync::TryLockError;

/// Data guarded by a `Mutex<()>`, kept in a loom cell so that loom checks the
/// lock's happens-before edges, not just the final value.
struct Guarded {
    lock: Mutex<()>,
    value: UnsafeCell<u64>,
}

// SAFETY: `value` is only touched while `lock` is held; if the lock failed to
// exclude, loom's cell reports the concurrent access and the test fails.
unsafe impl Sync for Guarded {}

impl Guarded {
    fn new() -> Self {
        Self {
            lock: Mutex::new(()),
            value: UnsafeCell::new(0),
        }
    }

    fn increment(&self) {
        let _held = self.lock.lock().unwrap();
        // SAFETY: the lock is held, so this is the only access.
        self.value.with_mut(|v| unsafe { *v += 1 });
    }

    fn read(&self) -> u64 {
        let _held = self.lock.lock().unwrap();
        // SAFETY: the lock is held, so this is the only access.
        self.value.with(|v| unsafe { *v })
    }
}

/// Bounded so the whole file runs in seconds; three preemptions are enough to
/// put a waiter to sleep, wake it and race it against a fresh locker.
fn model(f: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = Some(3);
    builder.check(f);
}

#[test]
fn two_threads_increment_exactly() {
    model(|| {
        let shared = Arc::new(Guarded::new());
        let other = {
            let shared = Arc::clone(&shared);
            thread::spawn(move || {
                shared.increment();
                shared.increment();
            })
        };
        shared.increment();
        other.join().unwrap();
        assert_eq!(shared.read(), 3);
    });
}

#[test]
fn three_threads_increment_exactly() {
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = Some(3);
    builder.check(|| {
        let counter = Arc::new(Mutex::new(0u64));
        let workers: Vec<_> = (0..2)
            .map(|_| {
                let counter = Arc::clone(&counter);
                thread::spawn(move || *counter.lock().unwrap() += 1)
            })
            .collect();
        *counter.lock().unwrap() += 1;
        for worker in workers {
            worker.join().unwrap();
        }
        assert_eq!(*counter.lock().unwrap(), 3);
    });
}

#[test]
fn try_lock_races_lock() {
    model(|| {
        let shared = Arc::new(Guarded::new());
        let locker = {
            let shared = Arc::clone(&shared);
            thread::spawn(move || shared.increment())
        };
        let won = match shared.lock.try_lock() {
            Ok(_held) => {
                // SAFETY: the lock is held, so this is the only access.
                shared.value.with_mut(|v| unsafe { *v += 1 });
                true
            }
            Err(TryLockError::WouldBlock) => false,
            Err(TryLockError::Poisoned(_)) => panic!("nothing panicked"),
        };
        locker.join().unwrap();
        assert_eq!(shared.read(), 1 + u64::from(won));
    });
}

#[test]
fn held_lock_parks_waiter_and_unlock_wakes_it() {
    model(|| {
        let counter = Arc::new(Mutex::new(0u64));
        let held = counter.lock().unwrap();
        let waiter = {
            let counter = Arc::clone(&counter);
            // With the lock held across the spawn, this thread must wait: in
            // most interleavings it spins once, sees no hand-off and sleeps.
            thread::spawn(move || *counter.lock().unwrap() += 1)
        };
        drop(held);
        waiter.join().unwrap();
        assert_eq!(*counter.lock().unwrap(), 1);
    });
}

#[test]
fn two_waiters_behind_a_holder_are_both_woken() {
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = Some(3);
    builder.check(|| {
        let counter = Arc::new(Mutex::new(0u64));
        let held = counter.lock().unwrap();
        let waiters: Vec<_> = (0..2)
            .map(|_| {
                let counter = Arc::clone(&counter);
                thread::spawn(move || *counter.lock().unwrap() += 1)
            })
            .collect();
        drop(held);
        for waiter in waiters {
            waiter.join().unwrap();
        }
        assert_eq!(*counter.lock().unwrap(), 2);
    });
}
