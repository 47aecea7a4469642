//! An in-memory stream that plays a script of reads and writes by a policy, for
//! the codec and poll-order edge cases a real socket will not produce on demand.

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::reactor::lock;

/// One step of the read script.
#[derive(Debug)]
pub(crate) enum Read {
    /// These bytes, over as many reads as the reader's buffer needs.
    Data(Vec<u8>),
    /// One `Pending`, with the waker woken at once (readiness arriving later).
    Pending,
    /// One end-of-stream.
    Eof,
    /// One read error.
    Error(io::ErrorKind),
}

/// How the stream takes writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WritePolicy {
    /// Everything offered.
    All,
    /// At most this many bytes per call.
    Chunk(usize),
    /// Every other call is `Pending` (with the waker woken at once); the others
    /// take at most this many bytes.
    AlternatePending(usize),
    /// `Pending` until the policy changes (a peer that does not read).
    Blocked,
    /// Takes this many bytes in all, then behaves as [`WritePolicy::Blocked`] (a
    /// peer that reads a little now and then).
    Then(usize),
}

/// What the stream saw, in order (when recording).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Event {
    /// A read that returned this many bytes.
    Read(usize),
    /// A write that took this many bytes.
    Write(usize),
    /// `poll_flush`.
    Flush,
    /// `poll_shutdown`.
    Shutdown,
}

#[derive(Debug)]
struct State {
    /// The read script. Played steps are kept, so their memory stays put.
    reads: Vec<Read>,
    next: usize,
    /// How far into `reads[next]` (a `Data` step) the reader has got.
    offset: usize,
    /// The reader waiting for a script step that is not there yet.
    read_waker: Option<Waker>,
    policy: WritePolicy,
    write_calls: usize,
    /// The writer waiting on a `Blocked` policy.
    write_waker: Option<Waker>,
    /// Whether to keep written bytes and events (off for memory measurements).
    record: bool,
    written: Vec<u8>,
    bytes_written: usize,
    events: Vec<Event>,
    shut_down: bool,
    dropped: bool,
}

/// The stream half, owned by the connection under test.
#[derive(Debug)]
pub(crate) struct ScriptedStream {
    state: Arc<Mutex<State>>,
}

/// The test's handle on a [`ScriptedStream`]: extends the script, changes the
/// write policy, and inspects what was written.
#[derive(Debug, Clone)]
pub(crate) struct Script {
    state: Arc<Mutex<State>>,
}

impl Script {
    /// A stream with an empty script (reads are `Pending` until steps are pushed)
    /// that takes every write.
    pub(crate) fn new() -> (Script, ScriptedStream) {
        let state = Arc::new(Mutex::new(State {
            reads: Vec::new(),
            next: 0,
            offset: 0,
            read_waker: None,
            policy: WritePolicy::All,
            write_calls: 0,
            write_waker: None,
            record: true,
            written: Vec::new(),
            bytes_written: 0,
            events: Vec::new(),
            shut_down: false,
            dropped: false,
        }));
        (
            Script {
                state: Arc::clone(&state),
            },
            ScriptedStream { state },
        )
    }

    /// Appends a step and wakes a reader waiting for one.
    pub(crate) fn push(&self, step: Read) {
        let waker = {
            let mut state = lock(&self.state);
            state.reads.push(step);
            state.read_waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// Appends a [`Read::Data`] step.
    pub(crate) fn push_data(&self, bytes: impl Into<Vec<u8>>) {
        self.push(Read::Data(bytes.into()));
    }

    /// Sets the write policy and wakes a writer waiting on the old one.
    pub(crate) fn set_write_policy(&self, policy: WritePolicy) {
        let waker = {
            let mut state = lock(&self.state);
            state.policy = policy;
            state.write_waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// Stops keeping written bytes and events: only counts remain.
    pub(crate) fn record_nothing(&self) {
        let mut state = lock(&self.state);
        state.record = false;
        state.written = Vec::new();
        state.events = Vec::new();
    }

    /// Every byte written so far.
    pub(crate) fn written(&self) -> Vec<u8> {
        lock(&self.state).written.clone()
    }

    /// How many bytes were written so far, recorded or not.
    pub(crate) fn bytes_written(&self) -> usize {
        lock(&self.state).bytes_written
    }

    /// Write calls so far, `Pending` ones included.
    pub(crate) fn write_calls(&self) -> usize {
        lock(&self.state).write_calls
    }

    pub(crate) fn events(&self) -> Vec<Event> {
        lock(&self.state).events.clone()
    }

    /// Whether every script step has been played.
    pub(crate) fn played_all(&self) -> bool {
        let state = lock(&self.state);
        state.next == state.reads.len()
    }

    pub(crate) fn is_shut_down(&self) -> bool {
        lock(&self.state).shut_down
    }

    /// Whether the connection dropped the stream.
    pub(crate) fn is_dropped(&self) -> bool {
        lock(&self.state).dropped
    }
}

impl AsyncRead for ScriptedStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let mut guard = lock(&self.state);
        let state = &mut *guard;
        loop {
            let Some(step) = state.reads.get(state.next) else {
                state.read_waker = Some(cx.waker().clone());
                return Poll::Pending;
            };
            match step {
                Read::Data(bytes) => {
                    let rest = &bytes[state.offset..];
                    if rest.is_empty() {
                        // An empty step is no read at all: a 0-byte read means EOF.
                        state.next += 1;
                        state.offset = 0;
                        continue;
                    }
                    let n = rest.len().min(buf.remaining());
                    buf.put_slice(&rest[..n]);
                    state.offset += n;
                    if state.offset == bytes.len() {
                        state.next += 1;
                        state.offset = 0;
                    }
                    if state.record {
                        state.events.push(Event::Read(n));
                    }
                    return Poll::Ready(Ok(()));
                }
                Read::Pending => {
                    state.next += 1;
                    cx.waker().wake_by_ref();
                    return Poll::Pending;
                }
                Read::Eof => {
                    state.next += 1;
                    if state.record {
                        state.events.push(Event::Read(0));
                    }
                    return Poll::Ready(Ok(()));
                }
                Read::Error(kind) => {
                    let kind = *kind;
                    state.next += 1;
                    return Poll::Ready(Err(kind.into()));
                }
            }
        }
    }
}

impl AsyncWrite for ScriptedStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_write_vectored(cx, &[io::IoSlice::new(buf)])
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let mut guard = lock(&self.state);
        let state = &mut *guard;
        state.write_calls += 1;
        let offered: usize = bufs.iter().map(|buf| buf.len()).sum();
        let limit = match state.policy {
            WritePolicy::All => offered,
            WritePolicy::Chunk(n) => n.min(offered),
            WritePolicy::AlternatePending(n) => {
                if state.write_calls % 2 == 1 {
                    cx.waker().wake_by_ref();
                    return Poll::Pending;
                }
                n.min(offered)
            }
            WritePolicy::Blocked | WritePolicy::Then(0) => {
                state.write_waker = Some(cx.waker().clone());
                return Poll::Pending;
            }
            WritePolicy::Then(n) => {
                let take = n.min(offered);
                state.policy = WritePolicy::Then(n - take);
                take
            }
        };
        if state.record {
            let mut left = limit;
            for buf in bufs {
                let take = left.min(buf.len());
                state.written.extend_from_slice(&buf[..take]);
                left -= take;
            }
            state.events.push(Event::Write(limit));
        }
        state.bytes_written += limit;
        Poll::Ready(Ok(limit))
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut state = lock(&self.state);
        if state.record {
            state.events.push(Event::Flush);
        }
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut state = lock(&self.state);
        state.shut_down = true;
        if state.record {
            state.events.push(Event::Shutdown);
        }
        Poll::Ready(Ok(()))
    }
}

impl Drop for ScriptedStream {
    fn drop(&mut self) {
        lock(&self.state).dropped = true;
    }
}
