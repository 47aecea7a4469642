//! Many threads incrementing one counter reach the exact total.

use k_lock::Mutex;
use std::sync::Arc;
use std::thread;

const THREADS: u64 = 8;
const PER_THREAD: u64 = 10_000;

#[test]
fn eight_threads_reach_the_exact_total() {
    let counter = Arc::new(Mutex::new(0u64));
    let workers: Vec<_> = (0..THREADS)
        .map(|_| {
            let counter = Arc::clone(&counter);
            thread::spawn(move || {
                for _ in 0..PER_THREAD {
                    *counter.lock().unwrap() += 1;
                }
            })
        })
        .collect();
    for worker in workers {
        worker.join().unwrap();
    }
    assert_eq!(*counter.lock().unwrap(), THREADS * PER_THREAD);
}

#[test]
fn try_lock_and_lock_mixed_reach_the_exact_total() {
    let counter = Arc::new(Mutex::new(0u64));
    let workers: Vec<_> = (0..THREADS)
        .map(|worker| {
            let counter = Arc::clone(&counter);
            thread::spawn(move || {
                let mut done = 0;
                while done < PER_THREAD {
                    // Odd workers only try, so try_lock races real lockers.
                    let guard = if worker % 2 == 1 {
                        match counter.try_lock() {
                            Ok(guard) => guard,
                            Err(_) => {
                                thread::yield_now();
                                continue;
                            }
                        }
                    } else {
                        counter.lock().unwrap()
                    };
                    let mut guard = guard;
                    *guard += 1;
                    done += 1;
                }
            })
        })
        .collect();
    for worker in workers {
        worker.join().unwrap();
    }
    assert_eq!(*counter.lock().unwrap(), THREADS * PER_THREAD);
}

#[test]
fn long_critical_sections_park_and_wake_every_waiter() {
    // Holding the lock across a yield makes waiters see no hand-offs and sleep,
    // so this exercises the futex path rather than the spin path.
    let counter = Arc::new(Mutex::new(0u64));
    let workers: Vec<_> = (0..THREADS)
        .map(|_| {
            let counter = Arc::clone(&counter);
            thread::spawn(move || {
                for _ in 0..500 {
                    let mut guard = counter.lock().unwrap();
                    thread::yield_now();
                    *guard += 1;
                }
            })
        })
        .collect();
    for worker in workers {
        worker.join().unwrap();
    }
    assert_eq!(*counter.lock().unwrap(), THREADS * 500);
}
