//! What a command costs in heap allocations on the server's path (decode,
//! execute, encode), counted by a global allocator: none for GET and INCR, none
//! for a SET of a short value that replaces one of the same key, and for a long
//! value only the stored copy (a GET of it allocates nothing, the first one
//! included). One test in this file, so nothing else allocates meanwhile.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use bytes::BytesMut;
use example_resp::{write_reply, Limits, Request, RespDecoder, Session, ShardedStore, Shared};
use protosocket::{DecodeError, Decoder};

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: defers to the system allocator; only counts calls.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: the caller's contract is passed on unchanged.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Allocations per command for `count` pipelined copies of `command`, decoded
/// from one buffer, run, and encoded into one reused output buffer.
fn per_command(session: &mut Session<ShardedStore>, command: &[u8], count: usize) -> f64 {
    let mut buffer = BytesMut::with_capacity(command.len() * count);
    for _ in 0..count {
        buffer.extend_from_slice(command);
    }
    let mut decoder = RespDecoder::new(Limits::default());
    let mut out = Vec::with_capacity(1 << 20);
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    for _ in 0..count {
        let request = match decoder.decode_buffer(&mut buffer) {
            Ok(Request::Command(args)) => args,
            other => panic!("{other:?}"),
        };
        let (reply, _) = session.execute(&request);
        assert!(!reply.is_error(), "{reply:?}");
        write_reply(&reply, session.protocol(), &mut out);
        out.clear();
    }
    assert!(matches!(
        decoder.decode_buffer(&mut buffer),
        Err(DecodeError::Incomplete { .. })
    ));
    (ALLOCATIONS.load(Ordering::Relaxed) - before) as f64 / count as f64
}

#[test]
fn allocations_per_command() {
    let store = Arc::new(ShardedStore::default());
    let mut session = Session::new(Arc::new(Shared::new(store, None, 0)));
    let set = b"*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n";
    let get = b"*2\r\n$3\r\nGET\r\n$3\r\nkey\r\n";
    let get_short = get;
    let incr = b"*2\r\n$4\r\nINCR\r\n$1\r\nn\r\n";
    let count = 10_000;
    // Warm: the key exists.
    per_command(&mut session, set, 1);

    let set = per_command(&mut session, set, count);
    let get = per_command(&mut session, get, count);
    let incr = per_command(&mut session, incr, count);
    println!("allocations per command: SET {set:.3}, GET {get:.3}, INCR {incr:.3}");
    // The receive buffer is promoted to shared once per buffer, not per command.
    assert!(get < 0.01, "GET allocates {get} times per command");
    assert!(incr < 0.01, "INCR allocates {incr} times per command");
    // A short value is kept in the key's entry.
    assert!(set < 0.01, "SET allocates {set} times per command");

    // A long value: SET stores a copy (so the receive buffer is not kept alive),
    // in one buffer with its reference count and one for the bytes; each GET,
    // the first one too, only counts a reference.
    let value = [b'v'; 100];
    let mut long_set = b"*3\r\n$3\r\nSET\r\n$4\r\nlong\r\n$100\r\n".to_vec();
    long_set.extend_from_slice(&value);
    long_set.extend_from_slice(b"\r\n");
    let long_get = b"*2\r\n$3\r\nGET\r\n$4\r\nlong\r\n";
    let set = per_command(&mut session, &long_set, count);
    // A single command pays for its fresh decoder and buffer: compare with a
    // GET of a short value measured the same way.
    let overhead = per_command(&mut session, get_short, 1);
    let first_get = per_command(&mut session, long_get, 1);
    let get = per_command(&mut session, long_get, count);
    println!("long value: SET {set:.3}, first GET {first_get:.3}, GET {get:.3}");
    assert!(
        set <= 2.01,
        "SET of a long value allocates {set} times per command"
    );
    assert_eq!(
        first_get, overhead,
        "the first GET of a long value allocates"
    );
    assert!(
        get < 0.01,
        "GET of a long value allocates {get} times per command"
    );
}
