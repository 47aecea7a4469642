//! Sleeping on the lock word: the Linux futex, or an emulation of it.
//!
//! Both expose the same three operations on a [`Futex`]: the 64-bit lock word
//! itself, `wait(expected)` which sleeps only while the low 32 bits of the word
//! equal `expected`, and `wake_one()` which reports whether a sleeper was woken.
//! Only the low half takes part in the comparison so that the hand-off counter in
//! the high half (see [`crate::raw`]) can move without failing a wait.

use crate::loom::AtomicU64;

#[cfg(all(target_os = "linux", not(loom)))]
mod imp {
    use super::AtomicU64;
    use std::ptr;

    /// The lock word; waits and wakes go straight to the kernel.
    #[derive(Debug)]
    pub(crate) struct Futex {
        pub(crate) word: AtomicU64,
    }

    impl Futex {
        #[inline]
        pub(crate) const fn new() -> Self {
            Self {
                word: AtomicU64::new(0),
            }
        }

        /// The address of the low 32 bits of the word, which is what the kernel
        /// compares against `expected`.
        fn low_half(&self) -> *const u32 {
            let base = self.word.as_ptr().cast::<u32>();
            if cfg!(target_endian = "big") {
                base.wrapping_add(1)
            } else {
                base
            }
        }

        /// Sleeps until woken, unless the low half of the word differs from
        /// `expected`. May return spuriously (signals, stale value).
        pub(crate) fn wait(&self, expected: u32) {
            // SAFETY: `low_half` points into `self.word`, which is live and aligned to
            // 8 (so its halves are aligned to 4) for as long as `self` is borrowed. The
            // kernel only reads it atomically. A null timeout means wait forever.
            // Every failure (EAGAIN, EINTR) is a spurious return, which callers handle.
            unsafe {
                libc::syscall(
                    libc::SYS_futex,
                    self.low_half(),
                    libc::FUTEX_WAIT | libc::FUTEX_PRIVATE_FLAG,
                    expected,
                    ptr::null::<libc::timespec>(),
                );
            }
        }

        /// Wakes at most one sleeper; `true` if one was woken.
        pub(crate) fn wake_one(&self) -> bool {
            // SAFETY: as in `wait`, the address is a live, aligned u32 inside
            // `self.word`. FUTEX_WAKE does not dereference anything else.
            let woken = unsafe {
                libc::syscall(
                    libc::SYS_futex,
                    self.low_half(),
                    libc::FUTEX_WAKE | libc::FUTEX_PRIVATE_FLAG,
                    1i32,
                )
            };
            // An error woke nobody; saying so is the safe answer (see `raw`).
            woken > 0
        }
    }
}

#[cfg(any(loom, not(target_os = "linux")))]
mod imp {
    use super::AtomicU64;
    use crate::loom::{Condvar, Mutex};
    use std::sync::atomic::Ordering::SeqCst;

    /// Sleepers and pending wake-ups, guarded by `Futex::queue`.
    #[derive(Debug, Default)]
    struct Queue {
        /// Threads inside `wait`.
        sleeping: u32,
        /// Wake-ups granted but not yet taken by a sleeper.
        grants: u32,
    }

    /// The lock word plus a mutex/condvar pair standing in for the kernel's wait
    /// queue. The check of the word and the enqueue happen under `queue`, and so
    /// does a wake, which gives the futex guarantee: a waker that changed the word
    /// before waking cannot miss a sleeper that saw the old value.
    #[derive(Debug)]
    pub(crate) struct Futex {
        pub(crate) word: AtomicU64,
        queue: Mutex<Queue>,
        cond: Condvar,
    }

    impl Futex {
        #[cfg(not(loom))]
        #[inline]
        pub(crate) const fn new() -> Self {
            Self {
                word: AtomicU64::new(0),
                queue: Mutex::new(Queue {
                    sleeping: 0,
                    grants: 0,
                }),
                cond: Condvar::new(),
            }
        }

        #[cfg(loom)]
        pub(crate) fn new() -> Self {
            Self {
                word: AtomicU64::new(0),
                queue: Mutex::new(Queue::default()),
                cond: Condvar::new(),
            }
        }

        /// Sleeps until woken, unless the low half of the word differs from
        /// `expected`.
        pub(crate) fn wait(&self, expected: u32) {
            // The queue only holds plain counters, so a poisoned guard is still sound.
            let mut queue = self.queue.lock().unwrap_or_else(|e| e.into_inner());
            // Truncation keeps exactly the low half, which is what a futex compares.
            if self.word.load(SeqCst) as u32 != expected {
                return;
            }
            queue.sleeping += 1;
            while queue.grants == 0 {
                queue = self.cond.wait(queue).unwrap_or_else(|e| e.into_inner());
            }
            queue.grants -= 1;
            queue.sleeping -= 1;
        }

        /// Wakes at most one sleeper; `true` if one was woken.
        pub(crate) fn wake_one(&self) -> bool {
            let mut queue = self.queue.lock().unwrap_or_else(|e| e.into_inner());
            if queue.sleeping > queue.grants {
                queue.grants += 1;
                self.cond.notify_one();
                true
            } else {
                false
            }
        }
    }
}

pub(crate) use imp::Futex;
