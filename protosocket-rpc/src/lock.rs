//! [`lock`]: every mutex in this crate, locked the same way.

use std::sync::{Mutex, MutexGuard, PoisonError};

/// Locks `mutex`, ignoring poison: what this crate guards is consistent between
/// statements, so a panic while it was held does not make it wrong, and one
/// panicking call must not fail every other user of the lock.
#[inline]
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
