//! [`UnaryFuture`]: a unary rpc's future, type-erased without an allocation
//! per call when it is small.

use std::fmt;
use std::future::Future;
use std::marker::{PhantomData, PhantomPinned};
use std::mem::{align_of, size_of, MaybeUninit};
use std::pin::Pin;
use std::task::{Context, Poll};

/// The bytes a [`UnaryFuture`] keeps a future in without allocating, unless
/// its type says otherwise: enough for a handler that holds its request and
/// [`CallContext`](super::CallContext) and awaits a little (protosocket-build's
/// generated futures for the benches' echo are 192 bytes, example-kv's 176 to
/// 240).
pub const UNARY_INLINE_BYTES: usize = 256;

/// The alignment a future needs at most to be kept inline.
const INLINE_ALIGN: usize = 16;

#[repr(C, align(16))]
struct Storage<const N: usize>([MaybeUninit<u8>; N]);

/// Any `Send` future with output `R`, under one type: what a
/// [`ConnectionService`](super::ConnectionService) whose handlers are `async`
/// names as its `Unary` when it cannot name their futures (the code
/// protosocket-build generates uses it).
///
/// It does what `Pin<Box<dyn Future<Output = R> + Send>>` does, without the
/// allocation: a future of up to `N` bytes (alignment up to 16) is kept inside
/// it, and the connection keeps it in a place that each slot reuses from one
/// rpc to the next. A larger future is boxed. Every move of a `UnaryFuture`
/// copies all `N` bytes, and the connection moves it about once, so a larger
/// `N` than the futures need costs a little on each call (the benches' echo:
/// 47 instructions more per call at 512 than at 192).
///
/// It is moved only before its first poll, which is when moving a future is
/// allowed; from then on it is pinned.
pub struct UnaryFuture<R, const N: usize = UNARY_INLINE_BYTES> {
    storage: Storage<N>,
    poll: unsafe fn(*mut u8, &mut Context<'_>) -> Poll<R>,
    drop: unsafe fn(*mut u8),
    // Polled only through `Pin<&mut Self>`: the future inside must not move
    // once polled.
    _pinned: PhantomPinned,
    // Send because every future put in is; not Sync, like the box it replaces.
    _erased: PhantomData<Pin<Box<dyn Future<Output = R> + Send>>>,
}

impl<R> UnaryFuture<R> {
    /// `future`, kept inline when it has [`UNARY_INLINE_BYTES`] bytes or fewer,
    /// boxed when it has more.
    #[inline]
    pub fn new<F>(future: F) -> Self
    where
        F: Future<Output = R> + Send + 'static,
    {
        Self::new_sized(future)
    }
}

impl<R, const N: usize> UnaryFuture<R, N> {
    /// `future`, kept inline when it has `N` bytes or fewer, boxed when it has
    /// more: `UnaryFuture::<_, 512>::new_sized(future)`. `N` is at least the
    /// size of a pointer; a smaller one fails to compile:
    ///
    /// ```compile_fail
    /// use protosocket_rpc::server::UnaryFuture;
    /// let _ = UnaryFuture::<u8, 4>::new_sized(async { 1u8 });
    /// ```
    #[inline]
    pub fn new_sized<F>(future: F) -> Self
    where
        F: Future<Output = R> + Send + 'static,
    {
        const {
            assert!(
                N >= size_of::<Pin<Box<()>>>(),
                "a UnaryFuture needs room for at least a box"
            );
        }
        if Self::fits::<F>() {
            Self::inline(future)
        } else {
            Self::inline(Box::pin(future))
        }
    }

    /// Whether a future of type `F` is kept without an allocation.
    #[must_use]
    pub const fn fits<F>() -> bool {
        size_of::<F>() <= N && align_of::<F>() <= INLINE_ALIGN
    }

    #[inline]
    fn inline<F>(future: F) -> Self
    where
        F: Future<Output = R> + Send + 'static,
    {
        assert!(Self::fits::<F>(), "only a future that fits is kept inline");
        let mut storage = Storage([MaybeUninit::uninit(); N]);
        // SAFETY: the storage is at least `size_of::<F>()` bytes and aligned
        // to 16, at least `align_of::<F>()` (checked above), and nothing is in
        // it yet.
        unsafe { storage.0.as_mut_ptr().cast::<F>().write(future) };
        Self {
            storage,
            poll: poll_in_place::<F>,
            drop: drop_in_place::<F>,
            _pinned: PhantomPinned,
            _erased: PhantomData,
        }
    }
}

impl<R, const N: usize> UnaryFuture<R, N> {
    /// Where the future is.
    #[inline]
    fn storage_ptr(&mut self) -> *mut u8 {
        std::ptr::addr_of_mut!(self.storage).cast()
    }
}

/// Polls the `F` at `at`.
///
/// # Safety
/// `at` holds a live `F` that stays where it is until it is dropped.
unsafe fn poll_in_place<F: Future>(at: *mut u8, cx: &mut Context<'_>) -> Poll<F::Output> {
    // SAFETY: the caller promises a live `F` at `at` that does not move.
    let future = unsafe { Pin::new_unchecked(&mut *at.cast::<F>()) };
    future.poll(cx)
}

/// Drops the `F` at `at`.
///
/// # Safety
/// `at` holds a live `F`, not used again after this.
unsafe fn drop_in_place<F>(at: *mut u8) {
    // SAFETY: the caller promises a live `F` at `at`, used no more.
    unsafe { at.cast::<F>().drop_in_place() }
}

impl<R, const N: usize> Future for UnaryFuture<R, N> {
    type Output = R;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<R> {
        // SAFETY: nothing is moved out of `self`; the future in the storage
        // stays where it is, because `self` is pinned.
        let this = unsafe { self.get_unchecked_mut() };
        let poll = this.poll;
        // SAFETY: `inline` wrote an `F` to the storage and chose `poll` for
        // that `F`; it lives until `drop`, and `self` is pinned. The pointer
        // is taken without a `&mut` to the bytes, which would claim them all
        // and void the future's pointers into itself.
        unsafe { poll(this.storage_ptr(), cx) }
    }
}

impl<R, const N: usize> Drop for UnaryFuture<R, N> {
    fn drop(&mut self) {
        let drop = self.drop;
        // SAFETY: the storage holds the `F` that `drop` was chosen for, and
        // nothing uses it after this.
        unsafe { drop(self.storage_ptr()) }
    }
}

impl<R, const N: usize> fmt::Debug for UnaryFuture<R, N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("UnaryFuture")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::task::Waker;

    fn fits_of<F: Future>(_: &F) -> bool {
        UnaryFuture::<F::Output>::fits::<F>()
    }

    fn poll_once<R, const N: usize>(future: Pin<&mut UnaryFuture<R, N>>) -> Poll<R> {
        future.poll(&mut Context::from_waker(Waker::noop()))
    }

    /// Counts its drops.
    struct Counted(Arc<AtomicUsize>);

    impl Drop for Counted {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn a_small_future_is_kept_inline_and_answers() {
        async fn answer(x: u64) -> u64 {
            x + 1
        }
        let future = answer(41);
        assert!(fits_of(&future));
        let mut future = std::pin::pin!(UnaryFuture::new(future));
        assert_eq!(poll_once(future.as_mut()), Poll::Ready(42));
    }

    #[test]
    fn a_large_future_is_boxed_and_still_answers() {
        let big = [7u8; UNARY_INLINE_BYTES * 2];
        let future = async move { big.iter().map(|&b| u64::from(b)).sum::<u64>() };
        assert!(!fits_of(&future));
        let mut future = std::pin::pin!(UnaryFuture::new(future));
        assert_eq!(
            poll_once(future.as_mut()),
            Poll::Ready(7 * 2 * UNARY_INLINE_BYTES as u64)
        );
    }

    #[test]
    fn an_over_aligned_future_is_boxed() {
        #[repr(align(64))]
        struct Aligned(u64);
        let aligned = Aligned(5);
        // The whole value, not only its field.
        let future = async move {
            let aligned = aligned;
            aligned.0
        };
        assert!(!fits_of(&future));
        let mut future = std::pin::pin!(UnaryFuture::new(future));
        assert_eq!(poll_once(future.as_mut()), Poll::Ready(5));
    }

    #[test]
    fn what_the_future_holds_is_dropped_once_whether_it_ran_or_not() {
        let drops = Arc::new(AtomicUsize::new(0));
        // Never polled.
        let held = Counted(Arc::clone(&drops));
        drop(UnaryFuture::new(async move {
            let _held = held;
        }));
        assert_eq!(drops.load(Ordering::SeqCst), 1);
        // Dropped while it waits.
        let held = Counted(Arc::clone(&drops));
        let mut waiting = Box::pin(UnaryFuture::new(async move {
            let _held = held;
            std::future::pending::<()>().await;
        }));
        assert_eq!(poll_once(waiting.as_mut()), Poll::Pending);
        drop(waiting);
        assert_eq!(drops.load(Ordering::SeqCst), 2);
        // Finished: what it held went when it returned.
        let held = Counted(Arc::clone(&drops));
        let mut finished = Box::pin(UnaryFuture::new(async move {
            drop(held);
        }));
        assert_eq!(poll_once(finished.as_mut()), Poll::Ready(()));
        assert_eq!(drops.load(Ordering::SeqCst), 3);
        drop(finished);
        assert_eq!(drops.load(Ordering::SeqCst), 3);
    }

    #[test]
    fn a_future_moved_before_its_first_poll_runs_where_it_lands() {
        // The async block keeps a reference into its own state across the
        // await: it would read freed bytes if it were moved after a poll.
        let future = UnaryFuture::new(async {
            let owned = vec![1u64, 2, 3];
            let borrowed = &owned;
            tokio::task::yield_now().await;
            borrowed.iter().sum::<u64>()
        });
        let moved = vec![future];
        let mut pinned = Box::pin(moved.into_iter().next().expect("the future"));
        let waker = Waker::noop();
        let mut cx = Context::from_waker(waker);
        let mut polls = 0;
        let answer = loop {
            polls += 1;
            assert!(polls < 10, "a yield_now future finishes on its second poll");
            if let Poll::Ready(answer) = pinned.as_mut().poll(&mut cx) {
                break answer;
            }
        };
        assert_eq!(answer, 6);
    }

    #[test]
    fn a_panicking_future_can_be_dropped_after_the_panic() {
        let drops = Arc::new(AtomicUsize::new(0));
        let held = Counted(Arc::clone(&drops));
        let mut future = Box::pin(UnaryFuture::new(async move {
            let _held = held;
            panic!("the handler failed");
        }));
        let polled =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| poll_once(future.as_mut())));
        assert!(polled.is_err());
        // The panic unwound the async block's state: what it held is gone,
        // and dropping the future drops nothing twice.
        assert_eq!(drops.load(Ordering::SeqCst), 1);
        drop(future);
        assert_eq!(drops.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn the_size_is_the_types_to_choose() {
        let bytes = [3u8; 300];
        let future = async move {
            let bytes = bytes;
            bytes.len()
        };
        assert!(!fits_of(&future));
        assert!(UnaryFuture::<usize, 512>::fits::<
            std::future::Ready<[u8; 300]>,
        >());
        let mut future = std::pin::pin!(UnaryFuture::<usize, 512>::new_sized(future));
        assert_eq!(poll_once(future.as_mut()), Poll::Ready(300));
    }

    #[test]
    fn it_is_send() {
        fn send<T: Send>(_: &T) {}
        send(&UnaryFuture::new(async { 1u8 }));
    }
}
