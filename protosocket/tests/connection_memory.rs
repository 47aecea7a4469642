//! Memory follows traffic: after a burst of large frames, an idle connection gives
//! its receive buffer and its outbound buffers back.
//!
//! The connection's buffers are private, so this binary counts the bytes the
//! test's own thread holds with a counting global allocator, and drives the
//! connection by hand on that thread over a scripted stream.

mod support;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use bytes::Bytes;
use protosocket::{
    CloseReason, Connection, ConnectionConfig, InboundMemory, MessageReactor, ReactorStatus,
    Replies,
};
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
    let (sender, outbound) = config.outbound_channel::<Bytes>();
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
    type Inbound = Bytes;
    type Outbound = Bytes;
    type LogicalOutbound = Bytes;

    fn on_inbound_message(
        &mut self,
        _message: Bytes,
        _replies: &mut Replies<Bytes>,
    ) -> ReactorStatus {
        self.0 += 1;
        ReactorStatus::Continue
    }

    fn on_outbound_message(&mut self, message: Bytes) -> Bytes {
        message
    }
}

/// A prefix that announces a large frame reserves nothing for it until its bytes
/// come: 500 such peers must not reserve 16 GB between them.
#[test]
fn an_announced_frame_reserves_memory_only_as_its_bytes_arrive() {
    const ANNOUNCED: usize = 32 * 1024 * 1024 - 4;
    const SENT: usize = 100 * 1024;
    let (script, stream) = Script::new();
    script.record_nothing();
    let config = ConnectionConfig::default().max_buffer_length(ANNOUNCED + 4);
    let mut connection = Connection::new(stream, u32_codec(), Counter::default(), None, config);
    let mut driver = Driver::new();
    assert!(driver.run_until_idle(&mut connection).is_pending());
    let prefix = (ANNOUNCED as u32).to_be_bytes().to_vec();
    let body = vec![7; SENT];
    let baseline = live();
    reset_peak();
    script.push_data(prefix);
    assert!(driver.run_until_idle(&mut connection).is_pending());
    let after_prefix = peak() - baseline;
    assert!(
        after_prefix <= 64 * 1024,
        "the prefix alone reserved {after_prefix} bytes"
    );
    script.push_data(body);
    assert!(driver.run_until_idle(&mut connection).is_pending());
    let grew = peak() - baseline;
    // The body's own bytes are in the script (counted): what the connection holds
    // is within a doubling of what arrived.
    assert!(
        grew <= (SENT as isize) * 4 + 64 * 1024,
        "{SENT} bytes of a {ANNOUNCED}-byte frame made the connection hold {grew}"
    );
    assert!(!connection.is_closed());
}

/// A shared budget: the connection whose buffer would take the total over it is
/// closed with its own reason; the others go on; closing gives the budget back.
#[test]
fn an_inbound_memory_budget_closes_the_connection_that_would_exceed_it() {
    const LIMIT: usize = 256 * 1024;
    let budget = InboundMemory::new(LIMIT);
    let config = ConnectionConfig::default()
        .max_buffer_length(4 * 1024 * 1024)
        .inbound_memory(Some(budget.clone()));
    let (greedy_script, greedy_stream) = Script::new();
    let (modest_script, modest_stream) = Script::new();
    let mut greedy = Connection::new(
        greedy_stream,
        u32_codec(),
        Counter::default(),
        None,
        config.clone(),
    );
    let mut modest = Connection::new(modest_stream, u32_codec(), Counter::default(), None, config);
    let mut driver = Driver::new();
    modest_script.push_data(frame(&[1; 100]));
    assert!(driver.run_until_idle(&mut modest).is_pending());
    assert_eq!(modest.reactor().0, 1);

    // A 1 MiB frame, of which 512 KiB arrive: more than the whole budget.
    let mut partial = (1024 * 1024u32).to_be_bytes().to_vec();
    partial.extend(vec![9; 512 * 1024]);
    greedy_script.push_data(partial);
    assert!(driver.run_until_idle(&mut greedy).is_ready());
    assert!(
        matches!(
            greedy.close_reason(),
            Some(CloseReason::InboundMemoryExhausted { limit: LIMIT })
        ),
        "{:?}",
        greedy.close_reason()
    );
    assert!(budget.in_use() <= LIMIT);

    modest_script.push_data(frame(&[2; 100]));
    assert!(driver.run_until_idle(&mut modest).is_pending());
    assert_eq!(modest.reactor().0, 2, "the other connection goes on");
    drop(greedy);
    drop(modest);
    assert_eq!(
        budget.in_use(),
        0,
        "closed connections give their bytes back"
    );
}

/// Found by the `connection` fuzz target: an allocation increment below the
/// smallest read (4 KiB) panicked on the first read.
#[test]
fn an_allocation_increment_below_the_smallest_read_is_honoured() {
    let (script, stream) = Script::new();
    let config = ConnectionConfig::default().buffer_allocation_increment(1024);
    let mut connection = Connection::new(stream, u32_codec(), Counter::default(), None, config);
    script.push_data(frame(&[5; 3000]));
    script.push_data(frame(&[6; 10]));
    assert!(Driver::new().run_until_idle(&mut connection).is_pending());
    assert_eq!(connection.reactor().0, 2);
}
