//! [`StreamBuffer`]: the bounded buffer between a connection and the reader of
//! one rpc stream (the client's response stream, the server's request stream).
//!
//! The connection pushes every message it decodes for the stream (a push never
//! fails: the message is already read) and learns whether that filled the buffer;
//! a full buffer makes the connection hold inbound
//! ([`MessageReactor::poll_inbound_ready`](protosocket::MessageReactor::poll_inbound_ready))
//! until the reader takes an item, so the buffer never holds more than its
//! capacity and a slow reader holds the peer back through TCP.
//!
//! | writer | reader | `poll_next` | `poll_room` |
//! |---|---|---|---|
//! | open | reading | items, then `Pending` | `Ready` below capacity |
//! | ended (`end`) | reading | items, then the end | `Ready` |
//! | dropped unended | reading | items, then `Closed` | - |
//! | any | dropped | - | `Ready`: items are discarded |

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use protosocket::WakerSlot;

use crate::lock::lock;

/// What the reader of a stream gets next.
pub(crate) enum Next<T, E> {
    Item(T),
    /// The writer ended the stream with this.
    End(E),
    /// The writer went away without ending the stream.
    Closed,
}

/// Credit the reader gives back as it takes items, on a stream flowing by
/// credit.
struct Grants {
    /// Items taken since credit was last given back.
    taken: u32,
    /// Give credit back once this many were taken.
    every: u32,
    /// Woken when credit is due (the server's rpc slot); `None` where the reader
    /// gives it back itself (the client's completion).
    notify: Option<Waker>,
}

struct Inner<T, E> {
    items: VecDeque<T>,
    /// Items at which the connection holds inbound: the capacity, or twice it
    /// on a stream flowing by credit, whose peer never sends more than the
    /// capacity unless it misbehaves.
    hold_at: usize,
    grants: Option<Grants>,
    end: Option<E>,
    writer_gone: bool,
    reader_gone: bool,
    /// The reader waiting for an item.
    reader: WakerSlot,
    /// The connection waiting for room.
    writer: WakerSlot,
}

/// One stream's buffered items, at most `capacity` of them.
pub(crate) struct StreamBuffer<T, E> {
    inner: Mutex<Inner<T, E>>,
    capacity: usize,
}

/// Makes a buffer of `capacity` (at least 1) items: the connection's end and the
/// reader's.
pub(crate) fn stream_buffer<T, E>(capacity: usize) -> (BufferWriter<T, E>, BufferReader<T, E>) {
    let shared = Arc::new(StreamBuffer {
        inner: Mutex::new(Inner {
            items: VecDeque::new(),
            hold_at: capacity.max(1),
            grants: None,
            end: None,
            writer_gone: false,
            reader_gone: false,
            reader: WakerSlot::new(),
            writer: WakerSlot::new(),
        }),
        capacity: capacity.max(1),
    });
    (
        BufferWriter {
            shared: Arc::clone(&shared),
        },
        BufferReader { shared },
    )
}

impl<T, E> StreamBuffer<T, E> {
    /// `Ready` while the buffer has room (or nobody reads it any more); otherwise
    /// registers the connection's waker, which the reader's next take wakes.
    pub(crate) fn poll_room(&self, cx: &mut Context<'_>) -> Poll<()> {
        let mut inner = lock(&self.inner);
        if inner.reader_gone || inner.items.len() < inner.hold_at {
            Poll::Ready(())
        } else {
            inner.writer.register(cx.waker());
            Poll::Pending
        }
    }

    /// Items waiting for the reader.
    pub(crate) fn len(&self) -> usize {
        lock(&self.inner).items.len()
    }
}

/// Wakes `waker` (taken under the lock) after the lock is released.
fn wake(waker: Option<Waker>) {
    if let Some(waker) = waker {
        waker.wake();
    }
}

/// The connection's end of a stream buffer. Dropping it unended closes the
/// stream.
pub(crate) struct BufferWriter<T, E> {
    shared: Arc<StreamBuffer<T, E>>,
}

impl<T, E> BufferWriter<T, E> {
    /// Buffers `item` for the reader; `true` when the buffer is now full (the
    /// connection should hold inbound until [`StreamBuffer::poll_room`]).
    pub(crate) fn push(&self, item: T) -> bool {
        let (full, waker) = {
            let mut inner = lock(&self.shared.inner);
            if inner.reader_gone {
                return false;
            }
            inner.items.push_back(item);
            (inner.items.len() >= inner.hold_at, inner.reader.take())
        };
        wake(waker);
        full
    }

    /// Ends the stream with `end`, after the items already buffered.
    pub(crate) fn end(self, end: E) {
        let waker = {
            let mut inner = lock(&self.shared.inner);
            inner.end = Some(end);
            inner.reader.take()
        };
        wake(waker);
    }

    /// The stream flows by credit from now on: the peer sends at most the
    /// buffer's capacity ahead of the reader, which gives credit back every half
    /// capacity it takes, waking `notify` (or leaving it to its owner, `None`).
    /// The connection holds inbound only past twice the capacity.
    /// Once: later calls change nothing.
    pub(crate) fn flow_by_credit(&self, notify: Option<Waker>) {
        let capacity = self.shared.capacity;
        let mut inner = lock(&self.shared.inner);
        if inner.grants.is_some() {
            return;
        }
        inner.hold_at = capacity.saturating_mul(2);
        inner.grants = Some(Grants {
            taken: 0,
            every: u32::try_from(capacity.div_ceil(2)).unwrap_or(u32::MAX),
            notify,
        });
    }

    /// Credit due back to the peer, taken (0 if none).
    pub(crate) fn take_credit(&self) -> u32 {
        take_credit(&mut lock(&self.shared.inner))
    }

    /// The buffer, for the connection to wait on while it is full.
    pub(crate) fn shared(&self) -> Arc<StreamBuffer<T, E>> {
        Arc::clone(&self.shared)
    }
}

impl<T, E> Drop for BufferWriter<T, E> {
    fn drop(&mut self) {
        let waker = {
            let mut inner = lock(&self.shared.inner);
            inner.writer_gone = true;
            inner.reader.take()
        };
        wake(waker);
    }
}

/// The reader's end of a stream buffer. Dropping it discards what is buffered
/// and gives the connection its room back.
pub(crate) struct BufferReader<T, E> {
    shared: Arc<StreamBuffer<T, E>>,
}

impl<T, E> BufferReader<T, E> {
    /// The next item, the end, or `Pending` with `cx` registered. Taking an item
    /// from a full buffer wakes the connection waiting for room.
    pub(crate) fn poll_next(&self, cx: &mut Context<'_>) -> Poll<Next<T, E>> {
        let (next, room, credit) = {
            let mut inner = lock(&self.shared.inner);
            let was_full = inner.items.len() >= inner.hold_at;
            match inner.items.pop_front() {
                Some(item) => {
                    let room = if was_full { inner.writer.take() } else { None };
                    let credit = inner.grants.as_mut().and_then(|grants| {
                        grants.taken += 1;
                        (grants.taken == grants.every)
                            .then(|| grants.notify.clone())
                            .flatten()
                    });
                    (Poll::Ready(Next::Item(item)), room, credit)
                }
                None => match inner.end.take() {
                    Some(end) => (Poll::Ready(Next::End(end)), None, None),
                    None if inner.writer_gone => (Poll::Ready(Next::Closed), None, None),
                    None => {
                        inner.reader.register(cx.waker());
                        (Poll::Pending, None, None)
                    }
                },
            }
        };
        wake(room);
        wake(credit);
        next
    }

    /// Items buffered and not yet read.
    pub(crate) fn len(&self) -> usize {
        self.shared.len()
    }

    /// Credit due back to the peer, taken (0 if none): for a reader that gives
    /// credit back itself.
    pub(crate) fn take_credit(&self) -> u32 {
        take_credit(&mut lock(&self.shared.inner))
    }
}

/// Takes the credit due: what was taken since the last grant, once it reaches
/// the grant size.
fn take_credit<T, E>(inner: &mut Inner<T, E>) -> u32 {
    match &mut inner.grants {
        Some(grants) if grants.taken >= grants.every => std::mem::take(&mut grants.taken),
        _ => 0,
    }
}

impl<T, E> Drop for BufferReader<T, E> {
    fn drop(&mut self) {
        let (items, waker) = {
            let mut inner = lock(&self.shared.inner);
            inner.reader_gone = true;
            (std::mem::take(&mut inner.items), inner.writer.take())
        };
        // Dropped outside the lock: an item's drop may do anything.
        drop(items);
        wake(waker);
    }
}

/// The full buffers a connection holds inbound for: it takes messages again
/// once each has room.
pub(crate) struct FullBuffers<T, E>(Vec<Arc<StreamBuffer<T, E>>>);

impl<T, E> FullBuffers<T, E> {
    pub(crate) const fn new() -> Self {
        Self(Vec::new())
    }

    /// Holds inbound until `buffer` has room.
    #[cold]
    pub(crate) fn add(&mut self, buffer: Arc<StreamBuffer<T, E>>) {
        self.0.push(buffer);
    }

    /// Whether inbound is held now (as of the last poll).
    #[inline]
    pub(crate) fn is_holding(&self) -> bool {
        !self.0.is_empty()
    }

    /// `Ready` once every full buffer has room; otherwise `Pending`, with `cx`
    /// registered with those still full.
    #[inline]
    pub(crate) fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        if self.0.is_empty() {
            return Poll::Ready(());
        }
        self.poll_full(cx)
    }

    #[cold]
    fn poll_full(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        self.0.retain(|buffer| buffer.poll_room(cx).is_pending());
        if self.0.is_empty() {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::task::Waker;

    fn cx() -> Context<'static> {
        Context::from_waker(Waker::noop())
    }

    #[test]
    fn items_then_end_in_order_and_full_at_capacity() {
        let (writer, reader) = stream_buffer::<u32, &str>(2);
        assert!(!writer.push(1));
        assert!(writer.push(2), "the second item fills a buffer of two");
        assert!(writer.shared().poll_room(&mut cx()).is_pending());
        assert!(matches!(
            reader.poll_next(&mut cx()),
            Poll::Ready(Next::Item(1))
        ));
        assert!(writer.shared().poll_room(&mut cx()).is_ready());
        writer.end("done");
        assert!(matches!(
            reader.poll_next(&mut cx()),
            Poll::Ready(Next::Item(2))
        ));
        assert!(matches!(
            reader.poll_next(&mut cx()),
            Poll::Ready(Next::End("done"))
        ));
    }

    #[test]
    fn a_dropped_writer_closes_and_a_dropped_reader_frees_room() {
        let (writer, reader) = stream_buffer::<u32, ()>(1);
        assert!(writer.push(1));
        let shared = writer.shared();
        drop(writer);
        assert!(matches!(
            reader.poll_next(&mut cx()),
            Poll::Ready(Next::Item(1))
        ));
        assert!(matches!(
            reader.poll_next(&mut cx()),
            Poll::Ready(Next::Closed)
        ));

        let (writer, reader) = stream_buffer::<u32, ()>(1);
        assert!(writer.push(1));
        assert!(writer.shared().poll_room(&mut cx()).is_pending());
        drop(reader);
        assert!(writer.shared().poll_room(&mut cx()).is_ready());
        assert!(!writer.push(2), "items for a gone reader are discarded");
        assert_eq!(writer.shared().len(), 0);
        drop(shared);
    }
}
