//! `try_lock` returns `WouldBlock` while another thread holds the lock, and
//! succeeds once it lets go.

use k_lock::Mutex;
use std::sync::mpsc;
use std::sync::{Arc, TryLockError};
use std::thread;

#[test]
fn try_lock_would_block_while_another_thread_holds() {
    let m = Arc::new(Mutex::new(0u32));
    let (locked_tx, locked_rx) = mpsc::channel();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let holder = {
        let m = Arc::clone(&m);
        thread::spawn(move || {
            let mut guard = m.lock().unwrap();
            *guard = 7;
            locked_tx.send(()).unwrap();
            release_rx.recv().unwrap();
        })
    };
    locked_rx.recv().unwrap();
    assert!(matches!(m.try_lock(), Err(TryLockError::WouldBlock)));
    release_tx.send(()).unwrap();
    holder.join().unwrap();
    assert_eq!(*m.try_lock().unwrap(), 7);
}

#[test]
fn try_lock_would_block_while_this_thread_holds() {
    let m = Mutex::new(());
    let _held = m.lock().unwrap();
    assert!(matches!(m.try_lock(), Err(TryLockError::WouldBlock)));
}

#[test]
fn failed_try_lock_leaves_the_lock_usable() {
    let m = Mutex::new(1);
    {
        let _held = m.lock().unwrap();
        for _ in 0..3 {
            assert!(m.try_lock().is_err());
        }
    }
    *m.lock().unwrap() += 1;
    assert_eq!(*m.try_lock().unwrap(), 2);
}
