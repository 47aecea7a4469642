//! The event loop that owns one stream.
//!
//! A connection's state has three parts: its `Phase`; how far reading has got
//! (the receive side's `ReadState`, and whether complete messages are held back
//! in the buffer for want of room to answer them); and what stopped the last fill
//! of the send queue (`Fill`). The combinations that occur, and what a poll
//! does in each:
//!
//! | phase | reading | outbound | a poll |
//! |---|---|---|---|
//! | `New` | `Reading` | `Bounded` | opens it, then goes on as `Open` |
//! | `Open`, `Closing` | `Reading` | any | reads and decodes (at most what there is room to answer), polls the reactor, fills the send queue, writes |
//! | `Open`, `Closing` | `Reading`, held | any | decodes the held messages first (once the reactor takes inbound messages again), and reads again once all are handed over |
//! | `Open`, `Closing` | `Eof`, held | any | the same; the reactor hears of EOF once they are handed over |
//! | `Open`, `Closing` | `Done` | any | EOF was handled and the reactor went on: no reading |
//! | `Draining` | `Done` | `Bounded` | no reading, no reactor poll: fills the send queue and writes |
//! | `Draining` | `Done` | `Dry` | writes what is queued; once it is written and flushed, `ShuttingDown` |
//! | `ShuttingDown` | `Done` | any | flushes and shuts the stream down, then `Closed` |
//! | `Closed` | buffer freed | receiver dropped | nothing: the future is ready |
//!
//! `Closing` is `Open` after the owner asked for a graceful close and the reactor
//! put it off to finish its work; its disconnect then reports
//! [`CloseReason::Requested`]. `Eof` with nothing held lasts only within a receive
//! step: EOF is handed on at once. Beside these, the write side keeps whether
//! bytes were written since the last flush (`Flush`) and the stall timer, which
//! runs while the stream takes no bytes.

use std::fmt;
use std::future::Future;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite};

use crate::close::CloseReason;
use crate::coalesce::Coalescer;
use crate::codec::Encoder;
use crate::config::ConnectionConfig;
use crate::liveness::{Due, LivenessTimer};
use crate::reactor::{MessageReactor, ReactorStatus};
use crate::receive::{self, Delivery, ReadState, ReadStop, ReceiveBuffer};
use crate::replies::Replies;
use crate::send_queue::SendQueue;
use crate::stall::StallTimer;
use crate::stats::{ConnectionStats, Tally};

/// Bytes read in one poll before the connection yields to the runtime.
const READ_BUDGET: usize = 1024 * 1024;
/// Bytes written in one poll before the connection yields to the runtime.
const WRITE_BUDGET: usize = 1024 * 1024;
/// Receive-then-send rounds in one poll before the connection yields.
const ROUNDS: usize = 4;
/// Buffers gathered into one `writev`.
const MAX_IO_SLICES: usize = 64;

type Serialized<R> = <<R as MessageReactor>::Codec as Encoder>::Serialized;

/// A future that owns one stream for its whole life and moves messages between it
/// and a [`MessageReactor`]; it completes when the connection is closed.
///
/// Each poll runs up to four rounds of, in this order: read the stream until it
/// would block (or the receive buffer is full) and decode complete messages, as
/// many as there is room to answer (`max_queued_outbound_messages` less what the
/// send queue and the reactor's [`Replies`] hold; unbounded for a reactor whose
/// [`answers_inbound`](MessageReactor::answers_inbound) is false), handing each to
/// the reactor; poll the reactor; take outbound messages (the [`spillway`]
/// receiver's, the reactor's [`Replies`], the reactor's producer's) while the send
/// queue has room, encode them and write as many as the stream takes with vectored
/// writes. Every loop is bounded, and a poll that runs out of budget wakes itself
/// and yields, so one busy connection cannot hold a runtime thread.
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
    /// Bytes read and not yet decoded, and how far reading has got.
    receive: ReceiveBuffer,
    /// Encoded messages not yet fully written, oldest first.
    send_queue: SendQueue<Serialized<R>>,
    /// `max_queued_outbound_messages`: what the send queue holds at most, and so
    /// what bounds decoding.
    max_queued: usize,
    stats: Arc<ConnectionStats>,
    phase: Phase,
    fill: Fill,
    flush: Flush,
    /// Why the connection ended, once it has.
    close_reason: Option<CloseReason>,
    /// Closes the connection when the stream takes nothing for too long.
    stall: StallTimer,
    /// Puts fresh writes off while other ready tasks may add to them.
    coalescer: Coalescer,
    /// Pings and the silent-peer timeout, when configured.
    liveness: Option<LivenessTimer>,
}

/// Where the connection is in its life; see the module docs for how it combines
/// with the receive side and `Fill`.
enum Phase {
    /// Not yet polled.
    New,
    Open,
    /// Open, after the owner asked for a graceful close that the reactor put off.
    Closing,
    /// Sending what is queued; then shutting down.
    Draining(CloseReason),
    /// Flushing and shutting the stream down.
    ShuttingDown(CloseReason),
    Closed,
}

impl Phase {
    /// Reading, polling the reactor and taking new work.
    #[inline]
    fn is_open(&self) -> bool {
        matches!(self, Phase::Open | Phase::Closing)
    }

    /// Taking outbound messages and writing them.
    #[inline]
    fn sends(&self) -> bool {
        matches!(self, Phase::Open | Phase::Closing | Phase::Draining(_))
    }
}

/// What stopped the last fill of the send queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fill {
    /// The send queue's bound: more may be ready.
    Bounded,
    /// The channel (empty or closed), the replies and the reactor's producer had
    /// nothing more.
    Dry,
}

/// Whether bytes were written since the stream was last flushed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flush {
    Done,
    Owed,
}

/// Why a poll ends with work left for a later one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pause {
    /// A round moved nothing: the stream, the channel or a timer wakes the task.
    Idle,
    /// Out of rounds or budget: the task wakes itself, after the runtime's others.
    Yield,
}

/// What one poll may still read and write before it yields.
struct Budget {
    read: usize,
    write: usize,
}

impl Budget {
    const FULL: Budget = Budget {
        read: READ_BUDGET,
        write: WRITE_BUDGET,
    };

    fn is_spent(&self) -> bool {
        self.read == 0 || self.write == 0
    }
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
        let stats = Arc::new(ConnectionStats::default());
        Self::with_stats(stream, codec, reactor, outbound, config, stats)
    }

    /// A connection like [`new`](Self::new)'s that adds to `stats`, counters made
    /// before it, so that whoever builds the reactor (a server's service, say)
    /// can hold this connection's counters from the start. [`stats`](Self::stats)
    /// returns the same `Arc`. Counters shared by several connections add up
    /// their traffic, though `send_queue_depth` is only the last poll's.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use protosocket::{Connection, ConnectionConfig, ConnectionStats};
    /// # use protosocket::{DecodeError, Decoder, Encoder, MessageReactor, ReactorStatus, Replies};
    /// # struct Bytes;
    /// # impl Encoder for Bytes {
    /// #     type Message = Vec<u8>;
    /// #     type Serialized = std::io::Cursor<Vec<u8>>;
    /// #     fn encode(&mut self, message: Vec<u8>) -> Self::Serialized { std::io::Cursor::new(message) }
    /// # }
    /// # impl Decoder for Bytes {
    /// #     type Message = Vec<u8>;
    /// #     fn decode(&mut self, buffer: &[u8]) -> Result<(usize, Vec<u8>), DecodeError> {
    /// #         Ok((buffer.len(), buffer.to_vec()))
    /// #     }
    /// # }
    /// # struct Sink;
    /// # impl MessageReactor for Sink {
    /// #     type Codec = Bytes;
    /// #     type Inbound = Vec<u8>;
    /// #     type Outbound = Vec<u8>;
    /// #     type LogicalOutbound = Vec<u8>;
    /// #     fn on_inbound_message(&mut self, _: Vec<u8>, _: &mut Replies<Vec<u8>>) -> ReactorStatus {
    /// #         ReactorStatus::Continue
    /// #     }
    /// #     fn on_outbound_message(&mut self, message: Vec<u8>) -> Vec<u8> { message }
    /// # }
    ///
    /// let stats = Arc::new(ConnectionStats::default());
    /// // ... hand `Arc::clone(&stats)` to whatever builds the reactor, then:
    /// let (_peer, stream) = tokio::io::duplex(1024);
    /// let config = ConnectionConfig::default();
    /// let connection = Connection::with_stats(stream, Bytes, Sink, None, config, stats.clone());
    /// assert!(Arc::ptr_eq(&connection.stats(), &stats));
    /// ```
    pub fn with_stats(
        stream: S,
        codec: R::Codec,
        reactor: R,
        outbound: Option<spillway::Receiver<R::LogicalOutbound>>,
        config: ConnectionConfig,
        stats: Arc<ConnectionStats>,
    ) -> Self {
        Self {
            stream,
            reactor,
            codec,
            outbound,
            replies: Replies::new(),
            receive: ReceiveBuffer::new(&config),
            send_queue: SendQueue::new(),
            max_queued: config.max_queued_outbound_messages,
            stats,
            phase: Phase::New,
            fill: Fill::Bounded,
            flush: Flush::Done,
            close_reason: None,
            stall: StallTimer::new(config.write_stall_timeout),
            coalescer: Coalescer::new(config.write_coalescing),
            liveness: config.liveness.map(LivenessTimer::new),
        }
    }

    /// Starts a graceful close. The reactor is asked first
    /// ([`MessageReactor::on_close_requested`]): by default, or when it agrees, the
    /// connection stops reading, sends and flushes what is queued (the outbound
    /// channel included), then shuts the stream down; a reactor with work in flight
    /// may finish it first. Keep polling the connection for it to happen; bound the
    /// wait with a timeout if the peer may not read.
    pub fn close(&mut self) {
        if !matches!(self.phase, Phase::New | Phase::Open) {
            return;
        }
        if self.reactor.on_close_requested() == ReactorStatus::Disconnect {
            self.drain(CloseReason::Requested);
        } else {
            self.phase = Phase::Closing;
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

    /// One poll: up to [`ROUNDS`] rounds of the four steps (read and decode, poll
    /// the reactor, fill the send queue, write it), each of which does nothing in
    /// the phases it has no part in. A round that moved nothing ends the poll, and
    /// so, with a wake-up, do the rounds or a budget running out.
    fn poll_connection(
        &mut self,
        cx: &mut Context<'_>,
        tally: &mut Tally,
    ) -> Result<Poll<()>, CloseReason> {
        self.start_poll();
        let mut budget = Budget::FULL;
        for _ in 0..ROUNDS {
            let received = self.poll_receive(cx, tally, &mut budget.read)?;
            self.stats.record(tally, self.send_queue.len());
            self.poll_reactor(cx);
            let filled = self.fill_send_queue(cx);
            let written = self.poll_send(cx, tally, &mut budget.write)?;
            if let Phase::ShuttingDown(_) = self.phase {
                return Ok(self.poll_shutdown(cx));
            }
            if !(received || filled || written) {
                return Ok(self.pause(cx, Pause::Idle));
            }
            if budget.is_spent() {
                break;
            }
        }
        Ok(self.pause(cx, Pause::Yield))
    }

    /// Opens the connection on its first poll; readies the channel and the
    /// coalescer for this one.
    fn start_poll(&mut self) {
        if let Phase::New = self.phase {
            tracing::debug!("connection open");
            self.phase = Phase::Open;
        }
        // Messages sent on the channel during this poll must not wake this very
        // task: the fill step takes them, and parks the receiver again if it runs
        // dry.
        self.unpark();
        self.coalescer.start_poll(self.send_queue.is_empty());
    }

    /// Ends a poll with work left: a write the coalescer held back is deferred to
    /// a poll after the runtime's other ready tasks.
    fn pause(&mut self, cx: &mut Context<'_>, pause: Pause) -> Poll<()> {
        let deferred = self
            .coalescer
            .end_poll(self.send_queue.len(), cx, pause == Pause::Idle);
        match pause {
            // Sends until the deferred poll add to the batch without waking this
            // task early; that poll takes them.
            Pause::Idle if deferred => self.unpark(),
            Pause::Idle => {}
            Pause::Yield => cx.waker().wake_by_ref(),
        }
        Poll::Pending
    }

    fn unpark(&self) {
        if let Some(outbound) = &self.outbound {
            outbound.unpark();
        }
    }

    /// Step 1, while open: hands the reactor the messages held back for room, then
    /// what the stream brings, at most as many as there is room to answer
    /// ([`receive::decode_room`]), so a reactor answering every request never
    /// overruns the bound. With no room it reads nothing, and TCP flow control
    /// holds the peer back. Returns whether any message was decoded, or the read
    /// budget ran out with bytes maybe left.
    fn poll_receive(
        &mut self,
        cx: &mut Context<'_>,
        tally: &mut Tally,
        budget: &mut usize,
    ) -> Result<bool, CloseReason> {
        if !self.phase.is_open() || !self.receive.is_reading() {
            return Ok(false);
        }
        if self.reactor.poll_inbound_ready(cx).is_pending() {
            // The reactor wakes the task when it takes messages again; until then
            // complete ones wait in the buffer and TCP holds the peer back. EOF is
            // no message: once everything before it was handed over, it is handed
            // on even to a reactor that holds inbound.
            if self.receive.state() == ReadState::Eof && self.receive.len() == 0 {
                self.end_of_input();
            }
            return Ok(false);
        }
        let queued = self.send_queue.len() + self.replies.len();
        let room = receive::decode_room(self.reactor.answers_inbound(), self.max_queued, queued);
        let decoded = if self.receive.is_held() {
            self.decode(cx, tally, room)?
        } else {
            0
        };
        let received = if self.receive.is_held() || !self.phase.is_open() {
            // Still out of room, or disconnecting: see `read_and_decode`.
            decoded > 0
        } else if self.receive.state() == ReadState::Eof {
            // Everything that arrived before EOF has been handed over.
            self.end_of_input();
            decoded > 0
        } else if decoded < room {
            self.read_and_decode(cx, tally, budget, room - decoded)? || decoded > 0
        } else {
            decoded > 0
        };
        if received {
            // Answers to what arrived leave in this poll.
            self.coalescer.inbound_arrived();
        }
        Ok(received)
    }

    /// Reads the stream and decodes up to `room` messages, until it would block,
    /// EOF, the room is used or the budget is spent.
    fn read_and_decode(
        &mut self,
        cx: &mut Context<'_>,
        tally: &mut Tally,
        budget: &mut usize,
        room: usize,
    ) -> Result<bool, CloseReason> {
        let mut decoded = 0;
        let mut burst = 0;
        loop {
            let stop = self
                .receive
                .poll_read(&mut self.stream, cx, budget, &mut burst, tally)?;
            let decoded_now = self.decode(cx, tally, room - decoded)?;
            decoded += decoded_now;
            if self.receive.is_held() || !self.phase.is_open() {
                // Out of room with complete messages buffered, or disconnecting:
                // they (and any EOF behind them) wait for the send queue to drain.
                return Ok(decoded > 0);
            }
            match stop {
                ReadStop::Eof => {
                    self.end_of_input();
                    return Ok(decoded > 0);
                }
                ReadStop::WouldBlock => {
                    self.receive.idle(burst);
                    return Ok(decoded > 0);
                }
                // The stream may still hold bytes and will not wake us for them:
                // report progress so the poll yields with a wake-up.
                ReadStop::BudgetSpent => return Ok(true),
                // Everything complete in the full buffer was decoded: if nothing
                // was, the frame at its front can never fit.
                ReadStop::Full if decoded_now == 0 => {
                    if let Some(too_large) = self.receive.frame_too_large() {
                        return Err(too_large);
                    }
                }
                ReadStop::Full => {}
            }
        }
    }

    /// Decodes up to `limit` messages and hands them to the reactor; returns how
    /// many it decoded.
    #[inline]
    fn decode(
        &mut self,
        cx: &mut Context<'_>,
        tally: &mut Tally,
        limit: usize,
    ) -> Result<usize, CloseReason> {
        let (reactor, replies) = (&mut self.reactor, &mut self.replies);
        let decoded =
            self.receive
                .decode(&mut self.codec, limit, tally, |message| {
                    match reactor.on_inbound_message(message, replies) {
                        ReactorStatus::Disconnect => Delivery::Disconnect,
                        ReactorStatus::Continue if reactor.poll_inbound_ready(cx).is_pending() => {
                            Delivery::Hold
                        }
                        ReactorStatus::Continue => Delivery::Continue,
                    }
                })?;
        if decoded.status == ReactorStatus::Disconnect {
            self.drain(CloseReason::Reactor);
        }
        Ok(decoded.messages)
    }

    /// The peer's EOF, once every message before it was handed to the reactor.
    fn end_of_input(&mut self) {
        self.receive.end_input();
        if self.reactor.on_read_closed() == ReactorStatus::Disconnect {
            self.drain(CloseReason::PeerClosed);
        }
    }

    /// Step 2, while open: the reactor pushes its own work forward.
    fn poll_reactor(&mut self, cx: &mut Context<'_>) {
        if self.phase.is_open() && self.reactor.poll(cx) == ReactorStatus::Disconnect {
            self.drain(CloseReason::Reactor);
        }
    }

    /// Step 3, while sending: moves outbound messages into the send queue, encoded,
    /// while it has room: the channel's (queued before this poll's answers, a
    /// greeting say), then the reactor's replies, then the reactor's producer.
    /// Records in `fill` what stopped it. Returns whether it added any.
    fn fill_send_queue(&mut self, cx: &mut Context<'_>) -> bool {
        if !self.phase.sends() {
            return false;
        }
        let room = self.max_queued.saturating_sub(self.send_queue.len());
        let mut added = self.take_channel(cx, room);
        added += self.take_replies(room - added);
        self.fill = Fill::Bounded;
        while added < room {
            match self.reactor.poll_outbound(cx) {
                Poll::Ready(Some(message)) => {
                    self.send_queue.push_message(message, &mut self.codec);
                    added += 1;
                }
                Poll::Ready(None) | Poll::Pending => {
                    self.fill = Fill::Dry;
                    break;
                }
            }
        }
        added > 0
    }

    /// Takes up to `room` messages from the outbound channel; a channel whose
    /// senders are all gone starts a drain.
    fn take_channel(&mut self, cx: &mut Context<'_>, room: usize) -> usize {
        let mut added = 0;
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
                    if self.phase.is_open() {
                        self.drain(CloseReason::SendersGone);
                    }
                    break;
                }
                Poll::Pending => break,
            }
        }
        added
    }

    /// Takes up to `room` of the reactor's replies.
    fn take_replies(&mut self, room: usize) -> usize {
        self.replies.note_peak();
        let mut added = 0;
        while added < room {
            let Some(reply) = self.replies.pop() else {
                break;
            };
            let message = self.reactor.on_outbound_message(reply);
            self.send_queue.push_message(message, &mut self.codec);
            added += 1;
        }
        added
    }

    /// Step 4, while sending: writes the send queue, unless the coalescer holds a
    /// fresh write back for the rest of its batch. A stream that takes no more
    /// starts the stall timer; an emptied queue is flushed, which may end a drain.
    /// Returns whether bytes were written.
    fn poll_send(
        &mut self,
        cx: &mut Context<'_>,
        tally: &mut Tally,
        budget: &mut usize,
    ) -> Result<bool, CloseReason> {
        if !self.phase.sends() {
            return Ok(false);
        }
        let sent_before = tally.bytes_sent;
        if !self.send_queue.is_empty() {
            if self
                .coalescer
                .hold(self.send_queue.len(), self.phase.is_open())
            {
                return Ok(false);
            }
            // Pending leaves the rest queued; the stream wakes us when it has room.
            if self.poll_write(cx, tally, budget)?.is_pending() {
                self.stall.poll(cx)?;
            }
        }
        if self.send_queue.is_empty() {
            self.stall.clear();
            self.poll_idle(cx)?;
        }
        Ok(tally.bytes_sent > sent_before)
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
            self.flush = Flush::Owed;
            self.stall.wrote();
            tally.bytes_sent += written as u64;
            *budget = budget.saturating_sub(written);
            self.send_queue.advance(written, &mut self.codec, tally);
        }
    }

    /// The send queue is empty: flush what was written, and finish a drain.
    fn poll_idle(&mut self, cx: &mut Context<'_>) -> io::Result<()> {
        if self.flush == Flush::Owed {
            match Pin::new(&mut self.stream).poll_flush(cx) {
                Poll::Ready(Ok(())) => self.flush = Flush::Done,
                Poll::Ready(Err(error)) => return Err(error),
                Poll::Pending => return Ok(()),
            }
        }
        self.send_queue.release_idle();
        self.replies.release_idle();
        if self.fill == Fill::Dry && matches!(self.phase, Phase::Draining(_)) {
            if let Phase::Draining(reason) = std::mem::replace(&mut self.phase, Phase::Closed) {
                self.phase = Phase::ShuttingDown(reason);
            }
        }
        Ok(())
    }

    /// Stops reading and taking new work; what is queued is still sent.
    fn drain(&mut self, reason: CloseReason) {
        let reason = match (&self.phase, reason) {
            // A reactor that finished its work after a requested close ends it.
            (Phase::Closing, CloseReason::Reactor) => CloseReason::Requested,
            (Phase::New | Phase::Open | Phase::Closing, reason) => reason,
            _ => return,
        };
        tracing::debug!(%reason, "connection draining");
        self.receive.stop();
        self.phase = Phase::Draining(reason);
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
        if !self.phase.is_open() {
            return Poll::Pending;
        }
        if tally.heard || tally.bytes_received > 0 {
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
        self.receive.release();
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
        let mut result = this
            .poll_connection(cx, &mut tally)
            .unwrap_or_else(|reason| this.abort(reason));
        if result.is_pending() {
            result = this.poll_liveness(cx, &tally);
        }
        this.stats.record(&mut tally, this.send_queue.len());
        result
    }
}

impl<S, R: MessageReactor> fmt::Debug for Connection<S, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let phase = match &self.phase {
            Phase::New => "new",
            Phase::Open => "open",
            Phase::Closing => "closing",
            Phase::Draining(_) => "draining",
            Phase::ShuttingDown(_) => "shutting down",
            Phase::Closed => "closed",
        };
        f.debug_struct("Connection")
            .field("phase", &phase)
            .field("read", &self.receive.state())
            .field("buffered", &self.receive.len())
            .field("send_queue", &self.send_queue.len())
            .finish()
    }
}
