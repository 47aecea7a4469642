//! A panic while holding the guard poisons the mutex, exactly as std does.

use k_lock::Mutex;
use std::panic::{self, AssertUnwindSafe};
use std::sync::{Arc, TryLockError};
use std::thread;

/// Poisons `m` by panicking on another thread while holding its guard.
fn poison(m: &Arc<Mutex<Vec<u32>>>) {
    let m = Arc::clone(m);
    let result = thread::spawn(move || {
        let mut guard = m.lock().unwrap();
        guard.push(99);
        panic!("poisoning on purpose");
    })
    .join();
    assert!(result.is_err(), "the thread must have panicked");
}

#[test]
fn panic_while_holding_poisons() {
    let m = Arc::new(Mutex::new(vec![1]));
    assert!(!m.is_poisoned());
    poison(&m);
    assert!(m.is_poisoned());
}

#[test]
fn lock_on_poisoned_returns_error_with_a_usable_guard() {
    let m = Arc::new(Mutex::new(vec![1]));
    poison(&m);
    let err = m.lock().unwrap_err();
    // The lock is held by the guard inside the error, and the data written
    // before the panic is there.
    let mut guard = err.into_inner();
    assert_eq!(*guard, vec![1, 99]);
    guard.push(2);
    drop(guard);
    let again = m.lock().unwrap_err().into_inner();
    assert_eq!(*again, [1, 99, 2]);
}

#[test]
fn try_lock_on_poisoned_returns_poisoned() {
    let m = Arc::new(Mutex::new(vec![1]));
    poison(&m);
    match m.try_lock() {
        Err(TryLockError::Poisoned(err)) => assert_eq!(*err.into_inner(), vec![1, 99]),
        Err(TryLockError::WouldBlock) => panic!("nobody holds the lock"),
        Ok(_) => panic!("a poisoned mutex must report it"),
    };
}

#[test]
fn get_mut_and_into_inner_report_poison_but_hand_over_the_data() {
    let m = Arc::new(Mutex::new(vec![1]));
    poison(&m);
    let mut m = Arc::try_unwrap(m).unwrap();
    m.get_mut().unwrap_err().into_inner().push(3);
    assert_eq!(m.into_inner().unwrap_err().into_inner(), vec![1, 99, 3]);
}

#[test]
fn clear_poison_clears() {
    let m = Arc::new(Mutex::new(vec![1]));
    poison(&m);
    m.clear_poison();
    assert!(!m.is_poisoned());
    assert_eq!(*m.lock().unwrap(), vec![1, 99]);
}

#[test]
fn locking_while_already_panicking_does_not_poison() {
    // Like std: a guard taken during unwinding (e.g. in a Drop impl) does not
    // poison, because the panic did not start inside its critical section.
    struct LocksOnDrop<'a>(&'a Mutex<u32>);
    impl Drop for LocksOnDrop<'_> {
        fn drop(&mut self) {
            *self.0.lock().unwrap() += 1;
        }
    }
    let m = Mutex::new(0);
    let result = panic::catch_unwind(AssertUnwindSafe(|| {
        let _on_drop = LocksOnDrop(&m);
        panic!("unwinding through a drop that locks");
    }));
    assert!(result.is_err());
    assert!(!m.is_poisoned());
    assert_eq!(*m.lock().unwrap(), 1);
}

#[test]
fn healthy_mutex_reports_no_poison() {
    let mut m = Mutex::new(5);
    assert!(m.lock().is_ok());
    assert!(m.try_lock().is_ok());
    assert_eq!(*m.get_mut().unwrap(), 5);
    assert_eq!(m.into_inner().unwrap(), 5);
}
