//! A guard dropped during a panic releases the lock: nobody deadlocks.

use k_lock::Mutex;
use std::panic::{self, AssertUnwindSafe};
use std::sync::mpsc;
use std::sync::Arc;
use std::thread;
use std::time::Duration;

#[test]
fn guard_dropped_by_a_panic_on_this_thread_unlocks() {
    let m = Mutex::new(0);
    let result = panic::catch_unwind(AssertUnwindSafe(|| {
        let _held = m.lock().unwrap();
        panic!("drop the guard while unwinding");
    }));
    assert!(result.is_err());
    // Would hang if the unwind had left the lock held.
    assert!(m
        .try_lock()
        .is_err_and(|e| matches!(e, std::sync::TryLockError::Poisoned(_))));
    *m.lock().unwrap_or_else(|e| e.into_inner()) += 1;
}

#[test]
fn waiter_blocked_on_a_panicking_holder_gets_the_lock() {
    let m = Arc::new(Mutex::new(0u32));
    let (locked_tx, locked_rx) = mpsc::channel();
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let holder = {
        let m = Arc::clone(&m);
        thread::spawn(move || {
            let _held = m.lock().unwrap();
            locked_tx.send(()).unwrap();
            go_rx.recv().unwrap();
            panic!("holder dies with the lock");
        })
    };
    locked_rx.recv().unwrap();
    let (done_tx, done_rx) = mpsc::channel();
    let waiter = {
        let m = Arc::clone(&m);
        thread::spawn(move || {
            // Blocks (and most likely parks) until the holder unwinds.
            let mut guard = m.lock().unwrap_or_else(|e| e.into_inner());
            *guard += 1;
            done_tx.send(()).unwrap();
        })
    };
    go_tx.send(()).unwrap();
    assert!(holder.join().is_err());
    // A timeout turns a deadlock into a failure instead of a hung test run.
    done_rx
        .recv_timeout(Duration::from_secs(10))
        .expect("waiter never got the lock after the holder panicked");
    waiter.join().unwrap();
    assert!(m.is_poisoned());
    assert_eq!(*m.lock().unwrap_err().into_inner(), 1);
}
