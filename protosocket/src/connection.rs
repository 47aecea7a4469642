//! The event loop that owns one stream.

use std::fmt;
use std::future::Future;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::{Buf, BufMut, BytesMut};
use tokio::io::{AsyncRead, AsyncWrite};

use crate::close::CloseReason;
use crate::coalesce::Coalescer;
use crate::codec::{DecodeError, Decoder, Encoder, InvalidFrame};
use crate::config::ConnectionConfig;
use crate::liveness::{Due, LivenessTimer};
use crate::reactor::{MessageReactor, ReactorStatus};
use crate::replies::Replies;
use crate::send_queue::SendQueue;
use crate::stats::{ConnectionStats, Tally};

/// Bytes read in one poll before the connection yields to the runtime.
const READ_BUDGET: usize = 1024 * 1024;
/// Bytes written in one poll before the connection yields to the runtime.
const WRITE_BUDGET: usize = 1024 * 1024;
/// Receive-then-send rounds in one poll before the connection yields.
const ROUNDS: usize = 4;
/// Buffers gathered into one `writev`.
const MAX_IO_SLICES: usize = 64;
/// The smallest read: what a connection with light traffic allocates per read burst.
const MIN_READ: usize = 4 * 1024;

type Serialized<R> = <<R as MessageReactor>::Codec as Encoder>::Serialized;

/// A future that owns one stream for its whole life and moves messages between it
/// and a [`MessageReactor`]; it completes when the connection is closed.
///
/// Each poll runs up to four rounds of, in this order: read the stream until it
/// would block (or the receive buffer is full) and decode complete messages, as
/// many as the send queue has room to answer (see
/// [`MessageReactor::answers_inbound`]), handing each to the reactor; poll the
/// reactor; take outbound messages (the [`spillway`] receiver's, the reactor's
/// [`Replies`], the reactor's producer's) while the send queue has room, encode them
/// and write as many as the stream takes with vectored writes. Every loop is
/// bounded, and a poll that runs out of budget wakes itself and yields, so one busy
/// connection cannot hold a runtime thread.
///
/// It closes when the reactor says [`ReactorStatus::Disconnect`], when the peer
/// closes its side (unless the reactor asks to go on), or when every outbound
/// sender is gone; in each case what is already queued is sent and flushed first,
/// then the stream is shut down. A decode error or an i/o error closes it at once.
/// EOF is recorded when it is read, so a stream that reports it once still ends
/// the connection after the messages buffered before it are answered. The reason
/// ([`CloseReason`]) is logged with `tracing`, handed to
/// [`MessageReactor::on_closed`] and kept for [`close_reason`](Self::close_reason).
/// When it ends, the outbound receiver is dropped, so every sender's next send
/// fails with `Closed`.
///
/// | phase | reading | taking outbound | ends when |
/// |---|---|---|---|
/// | open | until EOF (then the reactor decides) | yes | the reactor disconnects, EOF, senders gone, an error |
/// | draining | no | what is ready now | everything ready is written |
/// | shutting down | no | no | the stream is flushed and shut down |
///
/// # Cancel safety
///
/// Dropping the future closes the stream without flushing; the reactor's
/// [`on_closed`](MessageReactor::on_closed) sees [`CloseReason::Dropped`].
pub struct Connection<S, R: MessageReactor> {
    stream: S,
    reactor: R,
    codec: R::Codec,
    /// `None` without a channel, and once the connection has ended, so senders see
    /// `Closed` at once.
    outbound: Option<spillway::Receiver<R::LogicalOutbound>>,
    /// Answers the reactor queued; taken after the channel, before `poll_outbound`.
    replies: Replies<R::LogicalOutbound>,
    receive: BytesMut,
    /// Receive-buffer bytes charged to the config's shared `InboundMemory`.
    charged: usize,
    /// Encoded messages not yet fully written, oldest first.
    send_queue: SendQueue<Serialized<R>>,
    config: ConnectionConfig,
    stats: Arc<ConnectionStats>,
    phase: Phase,
    read: ReadState,
    /// Whether the owner asked for a graceful close (asked of the reactor once).
    close_requested: bool,
    /// Why the connection ended, once it has.
    close_reason: Option<CloseReason>,
    /// The length of the partial frame at the front of `receive`, when known.
    frame_len: usize,
    /// Bytes the last burst of reads brought (up to the stream blocking); sizes
    /// the next read.
    read_hint: usize,
    /// Whether bytes were written since the last flush.
    unflushed: bool,
    /// Whether `receive` may hold complete messages that were not decoded yet
    /// because the send queue had no room for their answers.
    undecoded: bool,
    /// Whether the last fill found the outbound channel empty (or closed), rather
    /// than stopping for lack of room.
    outbound_empty: bool,
    /// Whether a write stall is being timed; see `write_stall_timeout`.
    stall_armed: bool,
    /// When the stream last took bytes during the current stall.
    last_write: tokio::time::Instant,
    /// Fires at the stall deadline; made on the first stall only.
    stall_timer: Option<Pin<Box<tokio::time::Sleep>>>,
    /// Puts fresh writes off while other ready tasks may add to them.
    coalescer: Coalescer,
    /// Pings and the silent-peer timeout, when configured.
    liveness: Option<LivenessTimer>,
}

enum Phase {
    /// Not yet polled.
    New,
    Open,
    /// Sending what is queued; then shutting down.
    Draining(CloseReason),
    /// Flushing and shutting the stream down.
    ShuttingDown(CloseReason),
    Closed,
}

/// The receive side's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ReadState {
    Reading,
    /// EOF was read; messages buffered before it may still wait for room. The
    /// reactor hears of it once they are all decoded.
    Eof,
    /// Not reading any more: EOF was handled, or the connection is draining.
    Done,
}

/// What one poll may still read and write before it yields.
struct Budget {
    read: usize,
    write: usize,
}

impl<S, R> Connection<S, R>
where
    S: AsyncRead + AsyncWrite + Unpin,
    R: MessageReactor,
{
    /// A connection over `stream`. `outbound` is the receiving half of the channel
    /// whose senders feed it (see [`ConnectionConfig::outbound_channel`]), or `None`
    /// when only the reactor sends; with a channel, the connection closes once every
    /// sender is gone.
    pub fn new(
        stream: S,
        codec: R::Codec,
        reactor: R,
        outbound: Option<spillway::Receiver<R::LogicalOutbound>>,
        config: ConnectionConfig,
    ) -> Self {
        Self {
            stream,
            reactor,
            codec,
            outbound,
            replies: Replies::new(),
            receive: BytesMut::new(),
            charged: 0,
            send_queue: SendQueue::new(),
            stats: Arc::new(ConnectionStats::default()),
            phase: Phase::New,
            read: ReadState::Reading,
            close_requested: false,
            close_reason: None,
            frame_len: 0,
            read_hint: 0,
            unflushed: false,
            undecoded: false,
            outbound_empty: false,
            stall_armed: false,
            last_write: tokio::time::Instant::now(),
            stall_timer: None,
            coalescer: Coalescer::new(config.write_coalescing),
            liveness: config.liveness.map(LivenessTimer::new),
            config,
        }
    }

    /// Starts a graceful close. The reactor is asked first
    /// ([`MessageReactor::on_close_requested`]): by default, or when it agrees, the
    /// connection stops reading, sends and flushes what is queued (the outbound
    /// channel included), then shuts the stream down; a reactor with work in flight
    /// may finish it first. Keep polling the connection for it to happen; bound the
    /// wait with a timeout if the peer may not read.
    pub fn close(&mut self) {
        if self.close_requested || !matches!(self.phase, Phase::New | Phase::Open) {
            return;
        }
        self.close_requested = true;
        if self.reactor.on_close_requested() == ReactorStatus::Disconnect {
            self.drain(CloseReason::Requested);
        }
    }

    /// Whether the connection has finished (the future returned `Ready`).
    pub fn is_closed(&self) -> bool {
        matches!(self.phase, Phase::Closed)
    }

    /// Why the connection ended; `None` while it runs.
    pub fn close_reason(&self) -> Option<&CloseReason> {
        self.close_reason.as_ref()
    }

    /// This connection's counters, readable from any task while it runs.
    pub fn stats(&self) -> Arc<ConnectionStats> {
        Arc::clone(&self.stats)
    }

    /// The reactor.
    pub fn reactor(&self) -> &R {
        &self.reactor
    }

    /// The reactor, mutably.
    pub fn reactor_mut(&mut self) -> &mut R {
        &mut self.reactor
    }

    /// The stream.
    pub fn stream(&self) -> &S {
        &self.stream
    }

    fn poll_connection(&mut self, cx: &mut Context<'_>, tally: &mut Tally) -> Poll<()> {
        if let Phase::New = self.phase {
            tracing::debug!("connection open");
            self.phase = Phase::Open;
        }
        // Replies the reactor queues during this poll must not wake this very task:
        // the send step below takes them, and parks the receiver again if it runs dry.
        if let Some(outbound) = &self.outbound {
            outbound.unpark();
        }
        self.coalescer.start_poll(self.send_queue.is_empty());
        let mut budget = Budget {
            read: READ_BUDGET,
            write: WRITE_BUDGET,
        };
        // Each round reads and decodes at most what the send queue has room to
        // answer, then sends; a round that moved nothing ends the poll.
        for _ in 0..ROUNDS {
            let mut progress = false;
            if matches!(self.phase, Phase::Open) && self.read != ReadState::Done {
                match self.poll_receive(cx, tally, &mut budget) {
                    Ok(received) => {
                        if received {
                            // Answers to what arrived leave in this poll.
                            self.coalescer.inbound_arrived();
                        }
                        progress |= received;
                    }
                    Err(reason) => return self.abort(reason),
                }
            }
            if matches!(self.phase, Phase::Open)
                && self.reactor.poll(cx) == ReactorStatus::Disconnect
            {
                self.drain(CloseReason::Reactor);
            }
            if matches!(self.phase, Phase::Open | Phase::Draining(_)) {
                match self.poll_send(cx, tally, &mut budget) {
                    Ok(sent) => progress |= sent,
                    Err(reason) => return self.abort(reason),
                }
            }
            if let Phase::ShuttingDown(_) = self.phase {
                return self.poll_shutdown(cx);
            }
            if !progress {
                if self.coalescer.is_holding() {
                    self.coalescer.defer(self.send_queue.len(), cx, true);
                    // Sends until the deferred poll add to the batch without
                    // waking this task early; that poll takes them.
                    if let Some(outbound) = &self.outbound {
                        outbound.unpark();
                    }
                }
                return Poll::Pending;
            }
            if budget.read == 0 || budget.write == 0 {
                break;
            }
        }
        // Out of rounds or budget with work left: let the runtime run others first.
        if self.coalescer.is_holding() {
            self.coalescer.defer(self.send_queue.len(), cx, false);
        }
        cx.waker().wake_by_ref();
        Poll::Pending
    }

    /// How many messages may be decoded now: as many as the send queue has room to
    /// answer, counting answers already queued, unless inbound messages need no
    /// answer from this side.
    fn decode_room(&self) -> usize {
        if !self.reactor.answers_inbound() {
            return usize::MAX;
        }
        self.config
            .max_queued_outbound_messages
            .saturating_sub(self.send_queue.len() + self.replies.len())
    }

    /// Decodes what is buffered and reads more, handing at most as many messages to
    /// the reactor as [`decode_room`](Self::decode_room) allows, so a reactor
    /// answering every request never overruns the bound. With no room it reads
    /// nothing, and TCP flow control holds the peer back. Returns whether any
    /// message was decoded, or the read budget ran out with bytes maybe left.
    fn poll_receive(
        &mut self,
        cx: &mut Context<'_>,
        tally: &mut Tally,
        budget: &mut Budget,
    ) -> Result<bool, CloseReason> {
        let room = self.decode_room();
        let mut decoded = 0;
        if self.undecoded {
            decoded += self.decode(tally, room)?;
            if self.undecoded || !matches!(self.phase, Phase::Open) {
                return Ok(decoded > 0);
            }
        }
        if self.read == ReadState::Eof {
            // Everything that arrived before EOF has been handed over.
            self.end_of_input();
            return Ok(decoded > 0);
        }
        if decoded >= room {
            return Ok(decoded > 0);
        }
        let max = self.config.max_buffer_length;
        let mut burst = 0;
        loop {
            let mut would_block = false;
            while self.receive.len() < max && budget.read > 0 {
                self.reserve_receive_space()?;
                // The allocator may round capacity up: never read past the limit, or
                // a frame over it could arrive whole and be decoded.
                let limit = max - self.receive.len();
                let mut space = (&mut self.receive).limit(limit);
                match tokio_util::io::poll_read_buf(Pin::new(&mut self.stream), cx, &mut space) {
                    Poll::Ready(Ok(0)) => {
                        // Recorded now: the stream may never report it again.
                        self.read = ReadState::Eof;
                        break;
                    }
                    Poll::Ready(Ok(n)) => {
                        tally.bytes_received += n as u64;
                        budget.read = budget.read.saturating_sub(n);
                        burst += n;
                        self.read_hint = self.read_hint.max(burst);
                    }
                    Poll::Ready(Err(error)) if error.kind() == io::ErrorKind::Interrupted => {}
                    Poll::Ready(Err(error)) => return Err(error.into()),
                    Poll::Pending => {
                        would_block = true;
                        break;
                    }
                }
            }
            let decoded_now = self.decode(tally, room - decoded)?;
            decoded += decoded_now;
            if !matches!(self.phase, Phase::Open) || self.undecoded {
                // Disconnecting, or out of room with complete messages buffered:
                // they (and any EOF behind them) wait for the send queue to drain.
                return Ok(decoded > 0);
            }
            if self.read == ReadState::Eof {
                self.end_of_input();
                return Ok(decoded > 0);
            }
            if would_block {
                self.read_hint = burst;
                self.release_idle_receive_buffer();
                return Ok(decoded > 0);
            }
            if budget.read == 0 {
                // The stream may still hold bytes and will not wake us for them:
                // report progress so the poll yields with a wake-up.
                return Ok(true);
            }
            // The buffer was full and everything complete in it was decoded: if
            // nothing was, the frame at its front can never fit.
            if decoded_now == 0 && self.receive.len() >= max {
                return Err(CloseReason::FrameTooLarge {
                    len: self.frame_len.max(self.receive.len() + 1),
                    max,
                });
            }
        }
    }

    /// The peer's EOF, once every message before it was handed to the reactor.
    fn end_of_input(&mut self) {
        self.read = ReadState::Done;
        if !self.receive.is_empty() {
            tracing::debug!(
                bytes = self.receive.len(),
                "the peer closed its side in the middle of a frame"
            );
        }
        if self.reactor.on_read_closed() == ReactorStatus::Disconnect {
            self.drain(CloseReason::PeerClosed);
        }
    }

    /// Makes room for the next read. Toward a frame whose length is known the
    /// buffer grows with what arrives (at most doubling per step), so a prefix that
    /// announces a large frame reserves nothing until its bytes come.
    fn reserve_receive_space(&mut self) -> Result<(), CloseReason> {
        let len = self.receive.len();
        let spare = self.receive.capacity() - len;
        let room = self.config.max_buffer_length - len;
        let step = self.config.buffer_allocation_increment;
        if self.frame_len > len {
            let needed = (self.frame_len - len).min(room).min(len.max(step));
            if spare < needed {
                self.grow_receive_exactly(needed)?;
            }
            return Ok(());
        }
        // Else room for twice the last burst (so a steady stream of batches takes
        // one read each), within the growth step. Topping up only below half keeps
        // a small buffer from doubling just because a few bytes sit in it.
        // An increment below the smallest read wins: it is the configured bound.
        let target = (2 * self.read_hint).max(MIN_READ).min(step).min(room);
        if spare < target / 2 {
            self.grow_receive(target)?;
        }
        Ok(())
    }

    /// Reserves `additional` bytes past what is buffered (a read buffer of at most
    /// `buffer_allocation_increment`), charging the shared inbound budget first: a
    /// growth it cannot afford closes this connection instead of allocating.
    /// `reserve` may round the capacity up past what was charged (it can double a
    /// buffer); the charge then follows the capacity, which can take the budget
    /// past its limit by that rounding, one read buffer per connection at most.
    fn grow_receive(&mut self, additional: usize) -> Result<(), CloseReason> {
        if let Some(budget) = &self.config.inbound_memory {
            let after = self.receive.len() + additional;
            if after > self.charged {
                if !budget.try_charge(after - self.charged) {
                    return Err(CloseReason::InboundMemoryExhausted {
                        limit: budget.limit(),
                    });
                }
                self.charged = after;
            }
        }
        self.receive.reserve(additional);
        self.sync_charge();
        Ok(())
    }

    /// Grows the buffer toward a frame to exactly `len + additional` bytes: a new
    /// allocation and a copy, so the capacity charged is the capacity held
    /// (`reserve` may double a buffer, which the budget would see only after the
    /// allocation). A frame being assembled grows at most by doubling, so the
    /// copies add up to less than the frame.
    fn grow_receive_exactly(&mut self, additional: usize) -> Result<(), CloseReason> {
        let capacity = self.receive.len() + additional;
        if let Some(budget) = &self.config.inbound_memory {
            if capacity > self.charged && !budget.try_charge(capacity - self.charged) {
                return Err(CloseReason::InboundMemoryExhausted {
                    limit: budget.limit(),
                });
            }
            self.charged = self.charged.max(capacity);
        }
        let mut grown = BytesMut::with_capacity(capacity);
        grown.extend_from_slice(&self.receive);
        self.receive = grown;
        self.sync_charge();
        Ok(())
    }

    /// Makes the charge match the receive buffer's capacity.
    fn sync_charge(&mut self) {
        let Some(budget) = &self.config.inbound_memory else {
            return;
        };
        let capacity = self.receive.capacity();
        if capacity > self.charged {
            budget.force_charge(capacity - self.charged);
        } else {
            budget.release(self.charged - capacity);
        }
        self.charged = capacity;
    }

    /// Gives back a receive buffer that grew for a burst, once it is empty and the
    /// stream has nothing more. One of up to twice the smallest read is kept, so a
    /// connection trading small messages does not allocate per request.
    fn release_idle_receive_buffer(&mut self) {
        if self.receive.is_empty() && self.receive.capacity() > 2 * MIN_READ {
            self.receive = BytesMut::new();
            self.sync_charge();
        }
    }

    /// Decodes up to `limit` messages from the receive buffer and hands them to the
    /// reactor; sets `undecoded` when it stopped at the limit with bytes left.
    /// Returns how many it decoded.
    fn decode(&mut self, tally: &mut Tally, limit: usize) -> Result<usize, CloseReason> {
        let mut decoded = 0;
        self.undecoded = false;
        while !self.receive.is_empty() {
            if decoded == limit {
                self.undecoded = true;
                break;
            }
            match self.codec.decode_buffer(&mut self.receive) {
                Ok(message) => {
                    self.frame_len = 0;
                    decoded += 1;
                    tally.messages_received += 1;
                    if self.reactor.on_inbound_message(message, &mut self.replies)
                        == ReactorStatus::Disconnect
                    {
                        self.drain(CloseReason::Reactor);
                        break;
                    }
                }
                Err(DecodeError::Incomplete { frame_len }) => {
                    if let Some(len) = frame_len {
                        if len > self.config.max_buffer_length {
                            return Err(CloseReason::FrameTooLarge {
                                len,
                                max: self.config.max_buffer_length,
                            });
                        }
                        self.frame_len = len;
                    }
                    break;
                }
                Err(DecodeError::Skip(0)) => {
                    return Err(CloseReason::InvalidFrame(InvalidFrame::new(
                        "the decoder asked to skip 0 bytes",
                    )));
                }
                Err(DecodeError::Skip(n)) => self.receive.advance(n.min(self.receive.len())),
                Err(DecodeError::Invalid(invalid)) => {
                    return Err(CloseReason::InvalidFrame(invalid))
                }
            }
        }
        Ok(decoded)
    }

    /// Fills the send queue (while it has room) and writes it. Returns whether
    /// anything was queued or written.
    fn poll_send(
        &mut self,
        cx: &mut Context<'_>,
        tally: &mut Tally,
        budget: &mut Budget,
    ) -> Result<bool, CloseReason> {
        let filled = self.fill_send_queue(cx);
        let sent_before = tally.bytes_sent;
        if !self.send_queue.is_empty()
            && self
                .coalescer
                .hold(self.send_queue.len(), matches!(self.phase, Phase::Open))
        {
            return Ok(filled > 0);
        }
        if !self.send_queue.is_empty() {
            // Pending leaves the rest queued; the stream wakes us when it has room.
            let written = self.poll_write(cx, tally, &mut budget.write)?;
            if written.is_pending() {
                self.poll_stall(cx)?;
            }
        }
        if self.send_queue.is_empty() {
            self.stall_armed = false;
            self.poll_idle(cx)?;
        }
        Ok(filled > 0 || tally.bytes_sent > sent_before)
    }

    /// The stream takes no more bytes: with a stall timeout configured, closes the
    /// connection once nothing has been written for that long.
    fn poll_stall(&mut self, cx: &mut Context<'_>) -> Result<(), CloseReason> {
        let Some(timeout) = self.config.write_stall_timeout else {
            return Ok(());
        };
        let now = tokio::time::Instant::now();
        if !self.stall_armed {
            // The stall starts now, however long ago the last write was.
            self.stall_armed = true;
            self.last_write = now;
        }
        let deadline = self.last_write + timeout;
        if now >= deadline {
            return Err(CloseReason::WriteStalled(timeout));
        }
        // One timer per connection, reset only when a stall starts or it fires
        // early: a write in between just moves `last_write`.
        let timer = self
            .stall_timer
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
        if timer.deadline() != deadline {
            timer.as_mut().reset(deadline);
        }
        if timer.as_mut().poll(cx).is_ready() {
            return Err(CloseReason::WriteStalled(timeout));
        }
        Ok(())
    }

    /// Moves outbound messages into the send queue, encoded, while it has room: the
    /// channel's (queued before this poll's answers, a greeting say), then the
    /// reactor's replies, then the reactor's producer. Records in `outbound_empty`
    /// whether all three ran dry (rather than the room). Returns how many were
    /// added.
    fn fill_send_queue(&mut self, cx: &mut Context<'_>) -> usize {
        let room = self
            .config
            .max_queued_outbound_messages
            .saturating_sub(self.send_queue.len());
        let mut added = 0;
        self.outbound_empty = false;
        while added < room {
            let Some(outbound) = self.outbound.as_mut() else {
                break;
            };
            match outbound.poll_next(cx) {
                Poll::Ready(Some(message)) => {
                    let message = self.reactor.on_outbound_message(message);
                    self.send_queue.push_message(message, &mut self.codec);
                    added += 1;
                }
                Poll::Ready(None) => {
                    if let Phase::Open = self.phase {
                        self.drain(CloseReason::SendersGone);
                    }
                    break;
                }
                Poll::Pending => break,
            }
        }
        while added < room {
            let Some(reply) = self.replies.pop() else {
                break;
            };
            let message = self.reactor.on_outbound_message(reply);
            self.send_queue.push_message(message, &mut self.codec);
            added += 1;
        }
        while added < room {
            match self.reactor.poll_outbound(cx) {
                Poll::Ready(Some(message)) => {
                    self.send_queue.push_message(message, &mut self.codec);
                    added += 1;
                }
                Poll::Ready(None) | Poll::Pending => {
                    self.outbound_empty = true;
                    break;
                }
            }
        }
        added
    }

    /// Writes queued messages with vectored writes until the queue is empty
    /// (`Ready`), the stream would block (`Pending`) or the budget is spent.
    fn poll_write(
        &mut self,
        cx: &mut Context<'_>,
        tally: &mut Tally,
        budget: &mut usize,
    ) -> io::Result<Poll<()>> {
        loop {
            self.send_queue.settle(&mut self.codec, tally);
            if self.send_queue.is_empty() || *budget == 0 {
                return Ok(Poll::Ready(()));
            }
            let mut slices = [IoSlice::new(&[]); MAX_IO_SLICES];
            let count = self.send_queue.io_slices(&mut slices);
            let written = match Pin::new(&mut self.stream).poll_write_vectored(cx, &slices[..count])
            {
                Poll::Ready(Ok(0)) => return Err(io::ErrorKind::WriteZero.into()),
                Poll::Ready(Ok(written)) => written,
                Poll::Ready(Err(error)) if error.kind() == io::ErrorKind::Interrupted => continue,
                Poll::Ready(Err(error)) => return Err(error),
                Poll::Pending => return Ok(Poll::Pending),
            };
            self.unflushed = true;
            if self.stall_armed {
                self.last_write = tokio::time::Instant::now();
            }
            tally.bytes_sent += written as u64;
            *budget = budget.saturating_sub(written);
            self.send_queue.advance(written, &mut self.codec, tally);
        }
    }

    /// The send queue is empty: flush what was written, and finish a drain.
    fn poll_idle(&mut self, cx: &mut Context<'_>) -> io::Result<()> {
        if self.unflushed {
            match Pin::new(&mut self.stream).poll_flush(cx) {
                Poll::Ready(Ok(())) => self.unflushed = false,
                Poll::Ready(Err(error)) => return Err(error),
                Poll::Pending => return Ok(()),
            }
        }
        self.send_queue.release_idle();
        self.replies.release_idle();
        if matches!(self.phase, Phase::Draining(_)) && self.outbound_empty {
            if let Phase::Draining(reason) = std::mem::replace(&mut self.phase, Phase::Closed) {
                self.phase = Phase::ShuttingDown(reason);
            }
        }
        Ok(())
    }

    /// Stops reading and taking new work; what is queued is still sent.
    fn drain(&mut self, reason: CloseReason) {
        if matches!(self.phase, Phase::Open | Phase::New) {
            // A reactor that finished its work after a requested close ends it.
            let reason = match reason {
                CloseReason::Reactor if self.close_requested => CloseReason::Requested,
                reason => reason,
            };
            tracing::debug!(%reason, "connection draining");
            self.read = ReadState::Done;
            self.phase = Phase::Draining(reason);
        }
    }

    /// Closes at once: the stream is dropped with the connection, unflushed.
    fn abort(&mut self, reason: CloseReason) -> Poll<()> {
        self.finish(reason);
        Poll::Ready(())
    }

    /// Notes what arrived, pings a quiet peer, and closes on one that stays silent
    /// while awaited.
    fn poll_liveness(&mut self, cx: &mut Context<'_>, tally: &Tally) -> Poll<()> {
        let Some(timer) = self.liveness.as_mut() else {
            return Poll::Pending;
        };
        if !matches!(self.phase, Phase::Open) {
            return Poll::Pending;
        }
        if tally.bytes_received > 0 {
            timer.received();
        }
        timer.awaiting(self.reactor.awaits_peer());
        match timer.poll(cx) {
            Due::Nothing => Poll::Pending,
            Due::Ping => {
                timer.pinged();
                if let Some(ping) = self.reactor.ping() {
                    // One message past the queue bound at most: pings are spaced.
                    self.send_queue.push_message(ping, &mut self.codec);
                    cx.waker().wake_by_ref();
                }
                Poll::Pending
            }
            Due::GiveUp => {
                let timeout = timer.timeout();
                self.abort(CloseReason::PeerUnresponsive(timeout))
            }
        }
    }

    fn poll_shutdown(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let result = match Pin::new(&mut self.stream).poll_flush(cx) {
            Poll::Ready(Ok(())) => Pin::new(&mut self.stream).poll_shutdown(cx),
            other => other,
        };
        match result {
            Poll::Pending => Poll::Pending,
            // A peer that already went away makes shutdown fail; the reason it
            // closed is the one worth reporting.
            Poll::Ready(_) => {
                let reason = match std::mem::replace(&mut self.phase, Phase::Closed) {
                    Phase::ShuttingDown(reason) => reason,
                    _ => CloseReason::Reactor,
                };
                self.finish(reason);
                Poll::Ready(())
            }
        }
    }
}

impl<S, R: MessageReactor> Connection<S, R> {
    /// Ends the connection for `reason`: logs it once, tells the reactor, and drops
    /// the outbound receiver so senders see `Closed`.
    fn finish(&mut self, reason: CloseReason) {
        self.phase = Phase::Closed;
        // The owner may keep the finished connection; its senders must not wait.
        self.outbound = None;
        if let Some(budget) = &self.config.inbound_memory {
            budget.release(self.charged);
        }
        self.charged = 0;
        self.receive = BytesMut::new();
        if reason.is_error() {
            tracing::info!(%reason, "connection closed");
        } else {
            tracing::debug!(%reason, "connection closed");
        }
        self.reactor.on_closed(&reason);
        self.close_reason = Some(reason);
    }
}

impl<S, R: MessageReactor> Drop for Connection<S, R> {
    fn drop(&mut self) {
        if !matches!(self.phase, Phase::Closed) {
            self.finish(CloseReason::Dropped);
        }
    }
}

// Nothing in a connection is pinned in place: the stream is polled through
// `Pin::new`, which needs `S: Unpin`.
impl<S, R: MessageReactor> Unpin for Connection<S, R> {}

impl<S, R> Future for Connection<S, R>
where
    S: AsyncRead + AsyncWrite + Unpin,
    R: MessageReactor,
{
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        if let Phase::Closed = this.phase {
            return Poll::Ready(());
        }
        let mut tally = Tally::default();
        let mut result = this.poll_connection(cx, &mut tally);
        if result.is_pending() {
            result = this.poll_liveness(cx, &tally);
        }
        this.stats.record(&tally, this.send_queue.len());
        result
    }
}

impl<S, R: MessageReactor> fmt::Debug for Connection<S, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let phase = match &self.phase {
            Phase::New => "new",
            Phase::Open => "open",
            Phase::Draining(_) => "draining",
            Phase::ShuttingDown(_) => "shutting down",
            Phase::Closed => "closed",
        };
        f.debug_struct("Connection")
            .field("phase", &phase)
            .field("read", &self.read)
            .field("buffered", &self.receive.len())
            .field("send_queue", &self.send_queue.len())
            .finish()
    }
}
