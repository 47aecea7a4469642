//! Poisoning, with the same rules as `std::sync::Mutex`.

use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::thread;

/// Set when a thread panicked while holding the lock.
///
/// Relaxed is enough: the flag is written under the lock, and readers that need
/// to see the protected data take the lock, which orders them after the write.
#[derive(Debug)]
pub(crate) struct Flag {
    failed: AtomicBool,
}

/// What a guard remembers about its thread when it was created.
#[derive(Debug)]
pub(crate) struct Token {
    /// The thread was already unwinding when it took the lock; a panic that
    /// started before the critical section says nothing about the data.
    panicking: bool,
}

impl Flag {
    #[inline]
    pub(crate) const fn new() -> Self {
        Self {
            failed: AtomicBool::new(false),
        }
    }

    #[inline]
    pub(crate) fn get(&self) -> bool {
        self.failed.load(Relaxed)
    }

    #[inline]
    pub(crate) fn clear(&self) {
        self.failed.store(false, Relaxed);
    }

    /// Called with the lock just acquired.
    #[inline]
    pub(crate) fn token(&self) -> Token {
        Token {
            panicking: thread::panicking(),
        }
    }

    /// Called with the lock still held, as the guard goes away.
    #[inline]
    pub(crate) fn done(&self, token: &Token) {
        if !token.panicking && thread::panicking() {
            self.failed.store(true, Relaxed);
        }
    }
}
