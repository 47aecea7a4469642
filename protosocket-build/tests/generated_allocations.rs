//! What the generated glue costs a call in heap allocations: nothing for a
//! unary call (its future is kept inline in a `UnaryFuture`), the box of its
//! stream for a streaming one. The context the handler is lent, and its
//! response metadata when it sets none, allocate nothing. Each call here is
//! driven by hand (no connection) on this thread, whose allocations are
//! counted; the handlers' own allocations are known: one `String` (a name) or
//! one `Vec` (the corners).

mod support;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use futures::{FutureExt, StreamExt};
use protosocket_rpc::server::{ConnectionService, Rpc};
use support::shapes::{shapes_request, ShapesRequest, Sides};

/// Counts the allocations of the threads that ask it to.
struct Counting;

thread_local! {
    /// `None` on threads that are not counted.
    static COUNT: Cell<Option<u64>> = const { Cell::new(None) };
}

fn count() {
    // `try_with`: allocations during thread teardown are not ours to count.
    let _ = COUNT.try_with(|count| count.set(count.get().map(|n| n + 1)));
}

// SAFETY: every method forwards to `System` with the caller's arguments, so
// `System`'s guarantees hold; the counting touches only a const-initialised
// thread-local without a destructor, which never allocates.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: the caller upholds `alloc`'s contract, which we pass on.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, pointer: *mut u8, layout: Layout) {
        // SAFETY: `pointer` came from `alloc`/`realloc` above with `layout`.
        unsafe { System.dealloc(pointer, layout) }
    }

    unsafe fn realloc(&self, pointer: *mut u8, layout: Layout, size: usize) -> *mut u8 {
        count();
        // SAFETY: the caller upholds `realloc`'s contract, which we pass on.
        unsafe { System.realloc(pointer, layout, size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// The allocations `work` makes on this thread.
fn allocations(work: impl FnOnce()) -> u64 {
    COUNT.with(|count| count.set(Some(0)));
    work();
    COUNT.with(|count| count.replace(None)).unwrap_or(0)
}

fn request(body: shapes_request::Body) -> ShapesRequest {
    ShapesRequest {
        id: 5,
        body: Some(body),
        ..Default::default()
    }
}

#[test]
fn a_unary_call_allocates_only_what_its_handler_does() {
    let mut connection = support::connection();
    for _ in 0..100 {
        let request = request(shapes_request::Body::Name(Sides { count: 3 }));
        let made = allocations(|| {
            let Rpc::Unary(call) = connection.new_rpc(request) else {
                panic!("name is unary");
            };
            let response = call.now_or_never().expect("name answers at once");
            assert!(response.metadata.is_empty());
        });
        assert_eq!(made, 1, "the handler's String, and no box for the future");
    }
}

#[test]
fn a_server_stream_allocates_its_box_and_what_its_handler_does() {
    let mut connection = support::connection();
    for _ in 0..100 {
        let request = request(shapes_request::Body::Corners(Sides { count: 3 }));
        let made = allocations(|| {
            let Rpc::Streaming(mut corners) = connection.new_rpc(request) else {
                panic!("corners is streaming");
            };
            let mut items = 0;
            while let Some(Some(_)) = corners.next().now_or_never() {
                items += 1;
            }
            assert_eq!(items, 3);
        });
        assert_eq!(made, 2, "the box of the stream and the handler's Vec");
    }
}
