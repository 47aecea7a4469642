//! [`Mutex`] and [`MutexGuard`]: std's API on top of [`RawMutex`].

use crate::poison::{Flag, Token};
use crate::raw::RawMutex;
use std::cell::UnsafeCell;
use std::fmt;
use std::marker::PhantomData;
use std::ops::{Deref, DerefMut};
use std::panic::{RefUnwindSafe, UnwindSafe};
use std::sync::{LockResult, PoisonError, TryLockError, TryLockResult};

/// A mutual exclusion lock with the API of [`std::sync::Mutex`], poisoning
/// included.
///
/// Waiters spin while the lock is visibly changing hands and sleep on a futex
/// when it is not; see the [crate docs](crate) for when that pays off.
///
/// # Examples
///
/// ```
/// use k_lock::Mutex;
/// use std::sync::Arc;
/// use std::thread;
///
/// let hits = Arc::new(Mutex::new(0u32));
/// let workers: Vec<_> = (0..4)
///     .map(|_| {
///         let hits = Arc::clone(&hits);
///         thread::spawn(move || *hits.lock().unwrap() += 1)
///     })
///     .collect();
/// for worker in workers {
///     worker.join().unwrap();
/// }
/// assert_eq!(*hits.lock().unwrap(), 4);
/// ```
pub struct Mutex<T: ?Sized> {
    raw: RawMutex,
    poison: Flag,
    /// Last, so that `Mutex<[T; N]>` unsizes to `Mutex<[T]>`.
    data: UnsafeCell<T>,
}

// SAFETY: the lock hands out `&mut T` to one thread at a time, which is the
// same contract as `std::sync::Mutex`: moving or sharing the mutex is fine as
// long as `T` itself may move between threads.
unsafe impl<T: ?Sized + Send> Send for Mutex<T> {}
// SAFETY: as above; sharing the mutex only ever gives one thread access to `T`
// at a time, so `T: Sync` is not needed.
unsafe impl<T: ?Sized + Send> Sync for Mutex<T> {}

// Poisoning is what makes a mutex safe to observe after a panic, so, as for
// std's, it may cross `catch_unwind` whatever `T` is.
impl<T: ?Sized> UnwindSafe for Mutex<T> {}
impl<T: ?Sized> RefUnwindSafe for Mutex<T> {}

/// Proof of holding a [`Mutex`]; the lock is released when it is dropped.
///
/// Like std's guard it is not `Send`: it must be dropped on the thread that
/// locked.
#[must_use = "if unused the Mutex will immediately unlock"]
pub struct MutexGuard<'a, T: ?Sized> {
    lock: &'a Mutex<T>,
    poison: Token,
    /// A raw pointer makes the guard `!Send`, matching std.
    _not_send: PhantomData<*const ()>,
}

// SAFETY: a shared guard only gives out `&T`, so sharing it across threads is
// sound exactly when `&T` may be shared, i.e. `T: Sync`.
unsafe impl<T: ?Sized + Sync> Sync for MutexGuard<'_, T> {}

impl<T> Mutex<T> {
    /// Creates an unlocked mutex holding `value`.
    ///
    /// # Examples
    ///
    /// ```
    /// static COUNT: k_lock::Mutex<u64> = k_lock::Mutex::new(0);
    /// *COUNT.lock().unwrap() += 1;
    /// ```
    #[cfg(not(loom))]
    #[inline]
    pub const fn new(value: T) -> Self {
        Self {
            raw: RawMutex::new(),
            poison: Flag::new(),
            data: UnsafeCell::new(value),
        }
    }

    /// Creates an unlocked mutex holding `value` (not `const` under loom, whose
    /// primitives cannot be built in a constant).
    #[cfg(loom)]
    pub fn new(value: T) -> Self {
        Self {
            raw: RawMutex::new(),
            poison: Flag::new(),
            data: UnsafeCell::new(value),
        }
    }

    /// Consumes the mutex and returns the data.
    ///
    /// # Errors
    ///
    /// If a thread panicked while holding the lock, returns a [`PoisonError`]
    /// that still carries the data.
    pub fn into_inner(self) -> LockResult<T> {
        let poisoned = self.poison.get();
        let data = self.data.into_inner();
        if poisoned {
            Err(PoisonError::new(data))
        } else {
            Ok(data)
        }
    }
}

impl<T: ?Sized> Mutex<T> {
    /// Acquires the lock, blocking the thread until it is available.
    ///
    /// Calling `lock` again on a thread that already holds the lock deadlocks.
    ///
    /// # Errors
    ///
    /// If a thread panicked while holding the lock, the lock is still acquired
    /// and the guard comes back inside a [`PoisonError`].
    ///
    /// # Examples
    ///
    /// ```
    /// let names = k_lock::Mutex::new(Vec::new());
    /// names.lock().unwrap().push("ada");
    /// assert_eq!(names.lock().unwrap().len(), 1);
    /// ```
    #[inline]
    pub fn lock(&self) -> LockResult<MutexGuard<'_, T>> {
        self.raw.lock();
        // SAFETY: the lock was acquired just above.
        unsafe { self.guard() }
    }

    /// Acquires the lock if it is free, without blocking.
    ///
    /// # Errors
    ///
    /// [`TryLockError::WouldBlock`] if another holder has the lock;
    /// [`TryLockError::Poisoned`] (carrying the guard) if it was acquired but a
    /// thread panicked while holding it earlier.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::TryLockError;
    ///
    /// let m = k_lock::Mutex::new(1);
    /// let held = m.lock().unwrap();
    /// assert!(matches!(m.try_lock(), Err(TryLockError::WouldBlock)));
    /// drop(held);
    /// assert_eq!(*m.try_lock().unwrap(), 1);
    /// ```
    #[inline]
    pub fn try_lock(&self) -> TryLockResult<MutexGuard<'_, T>> {
        if self.raw.try_lock() {
            // SAFETY: `try_lock` succeeded, so this thread holds the lock.
            Ok(unsafe { self.guard() }?)
        } else {
            Err(TryLockError::WouldBlock)
        }
    }

    /// Wraps the held lock in a guard, reporting poison.
    ///
    /// # Safety
    ///
    /// The calling thread must hold `self.raw` and hand its release over to the
    /// returned guard.
    #[inline]
    unsafe fn guard(&self) -> LockResult<MutexGuard<'_, T>> {
        let guard = MutexGuard {
            lock: self,
            poison: self.poison.token(),
            _not_send: PhantomData,
        };
        if self.poison.get() {
            Err(PoisonError::new(guard))
        } else {
            Ok(guard)
        }
    }

    /// Whether a thread panicked while holding the lock.
    ///
    /// A snapshot: another thread may poison the mutex right after.
    #[inline]
    pub fn is_poisoned(&self) -> bool {
        self.poison.get()
    }

    /// Marks the mutex as no longer poisoned, for callers that have restored
    /// the data to a sound state.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::panic;
    ///
    /// let m = k_lock::Mutex::new(0);
    /// let _ = panic::catch_unwind(|| {
    ///     let _held = m.lock().unwrap();
    ///     panic!("poison it");
    /// });
    /// assert!(m.is_poisoned());
    /// *m.lock().unwrap_or_else(|e| e.into_inner()) = 0;
    /// m.clear_poison();
    /// assert!(!m.is_poisoned());
    /// ```
    #[inline]
    pub fn clear_poison(&self) {
        self.poison.clear();
    }

    /// Returns a mutable reference to the data; no locking is needed since the
    /// borrow proves no one else can reach it.
    ///
    /// # Errors
    ///
    /// If a thread panicked while holding the lock, returns a [`PoisonError`]
    /// that still carries the reference.
    pub fn get_mut(&mut self) -> LockResult<&mut T> {
        let poisoned = self.poison.get();
        let data = self.data.get_mut();
        if poisoned {
            Err(PoisonError::new(data))
        } else {
            Ok(data)
        }
    }
}

impl<T: Default> Default for Mutex<T> {
    fn default() -> Self {
        Self::new(T::default())
    }
}

impl<T> From<T> for Mutex<T> {
    fn from(value: T) -> Self {
        Self::new(value)
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for Mutex<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = f.debug_struct("Mutex");
        match self.try_lock() {
            Ok(guard) => out.field("data", &&*guard),
            Err(TryLockError::Poisoned(poisoned)) => out.field("data", &&**poisoned.get_ref()),
            Err(TryLockError::WouldBlock) => out.field("data", &format_args!("<locked>")),
        };
        out.field("poisoned", &self.poison.get());
        out.finish_non_exhaustive()
    }
}

impl<T: ?Sized> Deref for MutexGuard<'_, T> {
    type Target = T;

    #[inline]
    fn deref(&self) -> &T {
        // SAFETY: the guard holds the lock, so no other thread has a reference
        // to the data while this borrow of the guard lives.
        unsafe { &*self.lock.data.get() }
    }
}

impl<T: ?Sized> DerefMut for MutexGuard<'_, T> {
    #[inline]
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the guard holds the lock and is borrowed mutably, so this is
        // the only reference to the data.
        unsafe { &mut *self.lock.data.get() }
    }
}

impl<T: ?Sized> Drop for MutexGuard<'_, T> {
    #[inline]
    fn drop(&mut self) {
        // Poison before unlocking, so the next holder sees it.
        self.lock.poison.done(&self.poison);
        // SAFETY: a guard exists only while its thread holds the lock, and this
        // is the one place that releases it.
        unsafe { self.lock.raw.unlock() }
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for MutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: ?Sized + fmt::Display> fmt::Display for MutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&**self, f)
    }
}
