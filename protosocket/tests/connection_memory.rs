//! Memory follows traffic: after a burst of large frames, an idle connection gives
//! its receive buffer and its outbound buffers back.
//!
//! The connection's buffers are private, so this binary counts the bytes the
//! test's own thread holds with a counting global allocator, and drives the
//! connection by hand on that thread over a scripted stream.

mod support;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use protosocket::{Connection, ConnectionConfig, MessageReactor, ReactorStatus, Replies};
use support::{
    frame, lock, u32_codec, Driver, Echo, Script, ScriptedStream, U32Codec, WritePolicy,
};

/// Counts live bytes per thread on top of the system allocator.
struct Counting;

thread_local! {
    static LIVE: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
}

fn add(bytes: isize) {
    // `try_with`: allocations during thread teardown are not ours to count.
    let _ = LIVE.try_with(|live| {
        let now = live.get() + bytes;
        live.set(now);
        let _ = PEAK.try_with(|peak| peak.set(peak.get().max(now)));
    });
}

// SAFETY: every method forwards to `System` with the caller's arguments, so
// `System`'s guarantees hold; the counting touches only const-initialised
// thread-locals without destructors, which never allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller upholds `alloc`'s contract, which we pass on.
        let pointer = unsafe { System.alloc(layout) };
        if !pointer.is_null() {
            add(layout.size() as isize);
        }
        pointer
    }

    unsafe fn dealloc(&self, pointer: *mut u8, layout: Layout) {
        // SAFETY: `pointer` came from `alloc`/`realloc` above with `layout`.
        unsafe { System.dealloc(pointer, layout) };
        add(-(layout.size() as isize));
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as for `alloc`.
        let pointer = unsafe { System.alloc_zeroed(layout) };
        if !pointer.is_null() {
            add(layout.size() as isize);
        }
        pointer
    }

    unsafe fn realloc(&self, pointer: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller upholds `realloc`'s contract, which we pass on.
        let moved = unsafe { System.realloc(pointer, layout, new_size) };
        if !moved.is_null() {
            add(new_size as isize - layout.size() as isize);
        }
        moved
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn live() -> isize {
    LIVE.with(Cell::get)
}

/// Starts a new peak measurement from the current live bytes.
fn reset_peak() {
    PEAK.with(|peak| peak.set(live()));
}

fn peak() -> isize {
    PEAK.with(Cell::get)
}

/// What an idle connection may keep ("a few KiB at most"): a small receive buffer, a few pooled
/// buffers, queue slots.
const IDLE_ALLOWANCE: isize = 8 * 1024;
const FRAME: usize = 2 * 1024 * 1024;
const FRAMES: usize = 4;

/// Runs a burst of large frames through `connection` and checks the memory the
/// burst took is given back once it is idle. `forget` drops what the test's own
/// reactor kept of the burst, before the final count.
fn assert_burst_memory_returns<R>(
    script: &Script,
    connection: &mut Connection<ScriptedStream, R>,
    forget: impl FnOnce(),
) where
    R: MessageReactor,
{
    let mut driver = Driver::new();
    assert!(driver.run_until_idle(connection).is_pending());
    // Made before the baseline: the script keeps played steps, so the input
    // stays counted and cannot mask a buffer the connection keeps.
    let burst: Vec<Vec<u8>> = (0..FRAMES).map(|i| frame(&vec![i as u8; FRAME])).collect();
    let baseline = live();
    reset_peak();
    for bytes in burst {
        script.push_data(bytes);
    }
    assert!(driver.run_until_idle(connection).is_pending());
    assert!(script.played_all());
    forget();
    let grew = peak() - baseline;
    assert!(
        grew >= FRAME as isize,
        "the burst never held a frame ({grew} bytes): the measurement is broken"
    );
    let kept = live() - baseline;
    assert!(
        kept <= IDLE_ALLOWANCE,
        "an idle connection kept {kept} bytes after a burst that peaked at {grew}"
    );
}

#[test]
fn receive_buffer_is_released_when_idle_after_a_burst() {
    let (script, stream) = Script::new();
    script.record_nothing();
    let config = ConnectionConfig::default();
    let (sender, outbound) = config.outbound_channel::<Vec<u8>>();
    let mut connection = Connection::new(
        stream,
        u32_codec(),
        Counter::default(),
        Some(outbound),
        config,
    );
    assert_burst_memory_returns(&script, &mut connection, || {});
    assert_eq!(connection.reactor().0, FRAMES);
    assert!(format!("{connection:?}").contains("buffered: 0"));
    drop(sender);
}

#[test]
fn outbound_buffers_are_released_when_idle_after_a_burst() {
    let (script, stream) = Script::new();
    script.record_nothing();
    script.set_write_policy(WritePolicy::AlternatePending(256 * 1024));
    let config = ConnectionConfig::default();
    let (sender, outbound) = config.outbound_channel();
    let mut connection = Connection::new(
        stream,
        u32_codec(),
        Echo::<U32Codec>::new(sender),
        Some(outbound),
        config,
    );
    // The echo reactor logs what it receives: room for the log before the
    // baseline, and the log emptied before the final count.
    let log = connection.reactor().log();
    lock(&log).reserve(FRAMES);
    assert_burst_memory_returns(&script, &mut connection, || {
        assert_eq!(lock(&log).len(), FRAMES);
        lock(&log).clear();
    });
    assert_eq!(script.bytes_written(), FRAMES * (FRAME + 4));
    assert_eq!(connection.stats().send_queue_depth(), 0);
}

/// Counts inbound messages and keeps nothing.
#[derive(Default)]
struct Counter(usize);

impl MessageReactor for Counter {
    type Codec = U32Codec;
    type Inbound = Vec<u8>;
    type Outbound = Vec<u8>;
    type LogicalOutbound = Vec<u8>;

    fn on_inbound_message(
        &mut self,
        _message: Vec<u8>,
        _replies: &mut Replies<Vec<u8>>,
    ) -> ReactorStatus {
        self.0 += 1;
        ReactorStatus::Continue
    }

    fn on_outbound_message(&mut self, message: Vec<u8>) -> Vec<u8> {
        message
    }
}
