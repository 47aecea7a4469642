//! The client's reactor: gives each call an id and routes responses to it.

use std::collections::VecDeque;
use std::fmt;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};

use protosocket::{CloseReason, Decoder, Encoder, MessageReactor, ReactorStatus, Replies};
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::client::call_table::CallTable;
use crate::client::cell::{CallCell, UnarySender};
use crate::error::Error;
use crate::message::{ControlCode, Message};
use crate::status::Status;
use crate::woken::WokenQueue;

/// A call's id slot before the reactor has given it an id.
pub(crate) const UNASSIGNED: u64 = 0;
/// A call's id slot once its completion is gone. Never used as an id.
pub(crate) const ABANDONED: u64 = u64::MAX;

/// Where a call's outcome goes.
pub(crate) enum CompletionSender<Resp> {
    Unary(UnarySender<Resp>),
    Streaming(mpsc::UnboundedSender<StreamEvent<Resp>>),
}

/// What a streaming call's completion receives. A channel that closes without
/// `End` or `Failed` means the connection is gone.
pub(crate) enum StreamEvent<Resp> {
    Item(Resp),
    End,
    Failed(Error),
}

/// The outcome of a message with control code `code` that ends a call without a
/// response: the status it carries, or what its code alone says (a peer whose
/// messages carry no status).
#[cold]
fn failure<M: Message>(code: ControlCode, message: &mut M) -> Error {
    let carried = match code {
        ControlCode::Status => message.take_status(),
        _ => None,
    };
    let status = carried
        .or_else(|| Status::from_control_code(code))
        .unwrap_or_else(|| Status::cancelled("the server ended the call without a response"));
    Error::Status(status)
}

/// What the client's handles, calls and connection share.
#[derive(Default)]
pub(crate) struct ConnectionShared {
    /// Cancellations that found the outbound lane full: a completion's `Drop`
    /// cannot wait for room, so it leaves the id here and wakes the connection.
    pub(crate) cancels: WokenQueue<u64>,
    /// Why the connection ended, set before its calls are dropped.
    pub(crate) closed: OnceLock<CloseReason>,
    /// Messages received so far, published once per reactor round.
    pub(crate) received: AtomicU64,
    /// Answers to calls (responses, stream items and ends, failures other than
    /// a passed deadline; not cancel acknowledgements or pongs) received so far,
    /// published once per round.
    pub(crate) answered: AtomicU64,
    /// `answered` when the last call's deadline passed.
    answered_at_deadline: AtomicU64,
    /// Deadlines passed in a row with no answer received in between: a server
    /// whose process or handlers are stuck (its loop may still acknowledge
    /// cancels).
    deadline_streak: AtomicU32,
    /// When the streak began, in milliseconds of [`clock_ms`].
    streak_began: AtomicU64,
    /// Set when the streak reaches [`SUSPECT_AFTER_DEADLINES`]: the pool routes
    /// no new call here.
    suspect: AtomicBool,
}

/// Deadlines in a row, with no answer received, that make a connection suspect.
pub(crate) const SUSPECT_AFTER_DEADLINES: u32 = 3;

/// How long the streak must last, with no answer at all, before it counts: calls
/// with deadlines of a millisecond or two miss them in bursts on a busy, healthy
/// connection, whose answers a few microseconds later have not been published
/// yet; a stuck server sends none for this long.
const SUSPECT_SPAN_MS: u64 = 100;

/// Milliseconds since the first call, for timing streaks in an atomic.
fn clock_ms() -> u64 {
    static START: OnceLock<std::time::Instant> = OnceLock::new();
    START
        .get_or_init(std::time::Instant::now)
        .elapsed()
        .as_millis() as u64
}

impl ConnectionShared {
    /// A call's deadline passed: one more in a row if no answer arrived since
    /// the last one.
    #[cold]
    pub(crate) fn deadline_passed(&self) {
        let answered = self.answered.load(Ordering::Relaxed);
        let before = self.answered_at_deadline.swap(answered, Ordering::Relaxed);
        let now = clock_ms();
        let streak = if before == answered {
            self.deadline_streak.fetch_add(1, Ordering::Relaxed) + 1
        } else {
            self.deadline_streak.store(1, Ordering::Relaxed);
            self.streak_began.store(now, Ordering::Relaxed);
            1
        };
        let lasted = now.saturating_sub(self.streak_began.load(Ordering::Relaxed));
        if streak >= SUSPECT_AFTER_DEADLINES
            && lasted >= SUSPECT_SPAN_MS
            && !self.suspect.swap(true, Ordering::Relaxed)
        {
            tracing::info!(
                streak,
                "calls keep missing their deadlines with nothing received"
            );
        }
    }

    /// Whether anything arrived on the connection: it is known to answer.
    pub(crate) fn has_received(&self) -> bool {
        self.received.load(Ordering::Relaxed) > 0
    }

    /// Whether a call has been answered on the connection.
    pub(crate) fn has_answered(&self) -> bool {
        self.answered.load(Ordering::Relaxed) > 0
    }

    /// Whether calls kept missing their deadlines with nothing received.
    pub(crate) fn is_suspect(&self) -> bool {
        self.suspect.load(Ordering::Relaxed)
    }

    /// The error of a call that the connection's end left without an outcome.
    pub(crate) fn closed_error(&self) -> Error {
        // Unset only when the connection was never built into a task that ended:
        // its future was dropped without a poll, which is a drop too.
        Error::ConnectionClosed(self.closed.get().cloned().unwrap_or(CloseReason::Dropped))
    }
}

/// What an [`RpcClient`](crate::client::RpcClient) queues for its connection: a call to
/// register and send, or the cancellation of one. Opaque.
pub struct ClientOutbound<Req, Resp> {
    kind: OutboundKind<Req, Resp>,
}

enum OutboundKind<Req, Resp> {
    Call {
        request: Req,
        completion: CompletionSender<Resp>,
        /// Shared with the caller; its id is `UNASSIGNED`, then the call's id, or
        /// `ABANDONED`.
        cell: Arc<CallCell<Resp>>,
        /// When the caller stops waiting: sent as the time left when the request
        /// is encoded.
        deadline: Option<Instant>,
    },
    Cancel(u64),
    /// A liveness message (id 0).
    Control(ControlCode),
}

impl<Req, Resp> ClientOutbound<Req, Resp> {
    pub(crate) fn call(
        request: Req,
        completion: CompletionSender<Resp>,
        cell: Arc<CallCell<Resp>>,
        deadline: Option<Instant>,
    ) -> Self {
        Self {
            kind: OutboundKind::Call {
                request,
                completion,
                cell,
                deadline,
            },
        }
    }

    pub(crate) fn cancel(id: u64) -> Self {
        Self {
            kind: OutboundKind::Cancel(id),
        }
    }

    fn control(code: ControlCode) -> Self {
        Self {
            kind: OutboundKind::Control(code),
        }
    }
}

impl<Req, Resp> fmt::Debug for ClientOutbound<Req, Resp> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            OutboundKind::Call { .. } => f.write_str("ClientOutbound::Call"),
            OutboundKind::Cancel(id) => write!(f, "ClientOutbound::Cancel({id})"),
            OutboundKind::Control(code) => write!(f, "ClientOutbound::Control({code:?})"),
        }
    }
}

/// The [`MessageReactor`] of a client connection.
///
/// It gives every call an id as the call leaves the outbound queue (one that
/// locates the call in a table, unique among the calls in flight), keeps the
/// call's completion under that id, and
/// hands each response to the completion of its id. Responses for ids it does not
/// know (calls already cancelled or finished) are dropped. When the connection
/// ends the reactor records why and is dropped with it, and so is every completion
/// it holds: each pending call then resolves with [`Error::ConnectionClosed`]
/// carrying the connection's [`CloseReason`].
pub struct RpcClientReactor<C>
where
    C: Encoder + Decoder,
{
    in_flight: CallTable<CompletionSender<<C as Decoder>::Message>>,
    shared: Arc<ConnectionShared>,
    /// Cancellations to send, from `cancels`.
    to_cancel: VecDeque<u64>,
    /// A ping went out and nothing has arrived since.
    ping_outstanding: bool,
    /// The server has answered a ping (or sent one): it speaks liveness, so an
    /// unanswered ping means something.
    peer_pongs: bool,
    /// Messages received; published to `shared.received` once per round.
    received: u64,
    /// Answers to calls received; published to `shared.answered`.
    answered: u64,
    _codec: PhantomData<fn() -> C>,
}

impl<C> RpcClientReactor<C>
where
    C: Encoder + Decoder,
    <C as Encoder>::Message: Message,
    <C as Decoder>::Message: Message,
{
    pub(crate) fn new(shared: Arc<ConnectionShared>) -> Self {
        Self {
            in_flight: CallTable::new(),
            shared,
            to_cancel: VecDeque::new(),
            ping_outstanding: false,
            peer_pongs: false,
            received: 0,
            answered: 0,
            _codec: PhantomData,
        }
    }

    /// Calls registered and not yet finished.
    #[must_use]
    pub fn in_flight(&self) -> usize {
        self.in_flight.len()
    }
}

// Nothing in the reactor is pinned in place.
impl<C: Encoder + Decoder> Unpin for RpcClientReactor<C> {}

impl<C> MessageReactor for RpcClientReactor<C>
where
    C: Encoder + Decoder,
    <C as Encoder>::Message: Message,
    <C as Decoder>::Message: Message,
{
    type Codec = C;
    type Inbound = <C as Decoder>::Message;
    type Outbound = <C as Encoder>::Message;
    type LogicalOutbound = ClientOutbound<Self::Outbound, Self::Inbound>;

    fn on_inbound_message(
        &mut self,
        mut response: Self::Inbound,
        replies: &mut Replies<Self::LogicalOutbound>,
    ) -> ReactorStatus {
        let id = response.message_id();
        let code = response.control_code();
        self.ping_outstanding = false;
        self.received += 1;
        match code {
            ControlCode::Ping => {
                self.peer_pongs = true;
                // One pong answers any number of pings: a peer that floods pings
                // while not reading cannot grow the queue.
                if replies.is_empty() {
                    replies.push(ClientOutbound::control(ControlCode::Pong));
                }
                return ReactorStatus::Continue;
            }
            ControlCode::Pong => {
                self.peer_pongs = true;
                return ReactorStatus::Continue;
            }
            _ => {}
        }
        let Some(completion) = self.in_flight.get(id) else {
            tracing::debug!(id, ?code, "response for an rpc not in flight; dropped");
            return ReactorStatus::Continue;
        };
        match (code, completion) {
            (ControlCode::Normal, CompletionSender::Streaming(items)) => {
                self.answered += 1;
                // A closed receiver means its completion was dropped and has
                // queued the cancellation already.
                let _ = items.send(StreamEvent::Item(response));
            }
            (code, _) => {
                let Some(completion) = self.in_flight.remove(id) else {
                    return ReactorStatus::Continue;
                };
                let outcome = match code {
                    ControlCode::Normal => Ok(response),
                    ControlCode::End if matches!(completion, CompletionSender::Streaming(_)) => {
                        Ok(response)
                    }
                    code => Err(failure(code, &mut response)),
                };
                // A deadline that passed on the server is no sign of health: its
                // handlers may be what hangs. The call counts it as a missed
                // deadline instead.
                if !matches!(&outcome, Err(error) if error.is_deadline_exceeded()) {
                    self.answered += 1;
                }
                match (outcome, completion) {
                    (outcome, CompletionSender::Unary(slot)) => slot.send(outcome),
                    (Ok(_), CompletionSender::Streaming(items)) => {
                        let _ = items.send(StreamEvent::End);
                    }
                    (Err(error), CompletionSender::Streaming(items)) => {
                        let _ = items.send(StreamEvent::Failed(error));
                    }
                }
            }
        }
        ReactorStatus::Continue
    }

    fn on_outbound_message(&mut self, message: Self::LogicalOutbound) -> Self::Outbound {
        match message.kind {
            OutboundKind::Call {
                mut request,
                completion,
                cell,
                deadline,
            } => {
                let id = self.in_flight.insert(completion);
                request.set_message_id(id);
                if let Some(deadline) = deadline {
                    // The time left as it leaves, so the server's deadline is
                    // not later than the caller's however long it queued here.
                    request.set_timeout(Some(deadline.saturating_duration_since(Instant::now())));
                }
                // The completion swaps in ABANDONED when dropped: either it sees the
                // id and cancels it, or this sees ABANDONED and sends no request.
                match cell
                    .id
                    .compare_exchange(UNASSIGNED, id, Ordering::AcqRel, Ordering::Acquire)
                {
                    Ok(_) => request,
                    Err(_) => {
                        self.in_flight.remove(id);
                        // Something must be encoded; a cancel for an id the server
                        // never saw is ignored there.
                        <Self::Outbound as Message>::cancelled(id)
                    }
                }
            }
            OutboundKind::Cancel(id) => {
                self.in_flight.remove(id);
                <Self::Outbound as Message>::cancelled(id)
            }
            OutboundKind::Control(code) => <Self::Outbound as Message>::control(0, code),
        }
    }

    fn poll(&mut self, cx: &mut Context<'_>) -> ReactorStatus {
        // A plain store per round: the pool reads it to judge the connection.
        self.shared.received.store(self.received, Ordering::Relaxed);
        self.shared.answered.store(self.answered, Ordering::Relaxed);
        let before = self.to_cancel.len();
        self.shared.cancels.take(cx.waker(), &mut self.to_cancel);
        // Only calls still in flight need telling the server.
        let mut index = before;
        while index < self.to_cancel.len() {
            if self.in_flight.remove(self.to_cancel[index]).is_some() {
                index += 1;
            } else {
                self.to_cancel.remove(index);
            }
        }
        ReactorStatus::Continue
    }

    fn poll_outbound(&mut self, _cx: &mut Context<'_>) -> Poll<Option<Self::Outbound>> {
        Poll::Ready(
            self.to_cancel
                .pop_front()
                .map(<Self::Outbound as Message>::cancelled),
        )
    }

    /// Responses need no answer: they are read whatever the send queue holds, so a
    /// client pipelining more requests than the server reads cannot deadlock.
    fn answers_inbound(&self) -> bool {
        false
    }

    /// Calls in flight, or a ping to a server known to answer pings.
    fn awaits_peer(&self) -> bool {
        self.in_flight.len() > 0 || (self.ping_outstanding && self.peer_pongs)
    }

    fn ping(&mut self) -> Option<Self::Outbound> {
        self.ping_outstanding = true;
        Some(<Self::Outbound as Message>::control(0, ControlCode::Ping))
    }

    fn on_closed(&mut self, reason: &CloseReason) {
        // Published before the calls' completions are dropped (with the reactor),
        // so each of them, and every call made later, reports it.
        let _ = self.shared.closed.set(reason.clone());
    }
}

impl<C> fmt::Debug for RpcClientReactor<C>
where
    C: Encoder + Decoder,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RpcClientReactor")
            .field("in_flight", &self.in_flight.len())
            .finish()
    }
}
