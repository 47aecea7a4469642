//! The synchronization types spillway is built on, swapped for loom's under `cfg(loom)`
//! so the model tests explore every interleaving of the real code.

#[cfg(loom)]
pub(crate) use loom::sync::{
    atomic::{AtomicU64, AtomicUsize, Ordering},
    Arc, Mutex, MutexGuard,
};

#[cfg(not(loom))]
pub(crate) use std::sync::{
    atomic::{AtomicU64, AtomicUsize, Ordering},
    Arc,
};

#[cfg(all(not(loom), feature = "k-lock"))]
pub(crate) use k_lock::{Mutex, MutexGuard};

#[cfg(all(not(loom), not(feature = "k-lock")))]
pub(crate) use std::sync::{Mutex, MutexGuard};

/// Locks `mutex`, ignoring poison: every critical section in this crate leaves the
/// protected state consistent at each step, so a panic elsewhere cannot corrupt it.
#[inline]
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    match mutex.lock() {
        Ok(guard) => guard,
        Err(poisoned) => poisoned.into_inner(),
    }
}
