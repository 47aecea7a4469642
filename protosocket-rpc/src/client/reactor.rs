//! The client's reactor: gives each call an id and routes responses to it.

use std::collections::VecDeque;
use std::fmt;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};

use tokio::time::Instant;

use crate::client::call_table::CallTable;
use crate::client::cell::{CallCell, UnarySender};
use crate::client::upload::{OpeningInput, Upload};
use crate::error::Error;
use crate::message::{credit_message, ControlCode, Message};
use crate::metadata::Metadata;
use crate::server::id_map::{id_map, IdMap};
use crate::status::Status;
use crate::stream_buffer::{BufferWriter, FullBuffers};
use crate::woken::WokenQueue;
use protosocket::{CloseReason, Decoder, Encoder, MessageReactor, ReactorStatus, Replies};

/// A call's id slot before the reactor has given it an id.
pub(crate) const UNASSIGNED: u64 = 0;
/// A call's id slot once its completion is gone. Never used as an id.
pub(crate) const ABANDONED: u64 = u64::MAX;

/// Where a call's outcome goes.
pub(crate) enum CompletionSender<Resp> {
    Unary(UnarySender<Resp>),
    /// A streaming call's bounded buffer, ended with `Ok` (the server's `End`) or
    /// the error that failed it. A buffer dropped unended means the connection
    /// is gone.
    Streaming(ResponseWriter<Resp>),
}

/// The connection's end of a streaming call's responses.
pub(crate) type ResponseWriter<Resp> = BufferWriter<Resp, Result<(), Error>>;

impl<Resp> CompletionSender<Resp> {
    /// Ends the call with `error`.
    #[cold]
    pub(crate) fn fail(self, error: Error) {
        match self {
            CompletionSender::Unary(slot) => slot.send(Err(error)),
            CompletionSender::Streaming(items) => items.end(Err(error)),
        }
    }
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
    /// Credit that response streams' readers gave back, to send as `Credit`.
    pub(crate) credits: WokenQueue<(u64, u32)>,
    /// Set when `credits` may hold grants.
    pub(crate) credits_queued: AtomicBool,
    /// Request senders dropped while their lane was full: the connection sends
    /// their `End` after their last queued request.
    pub(crate) ends: WokenQueue<Arc<Upload>>,
    /// Set when `ends` may hold uploads, so a connection without any does not
    /// lock it every round.
    pub(crate) ends_queued: AtomicBool,
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
    /// Set when the server sent [`ControlCode::Draining`]: new calls are
    /// refused unsent, and the connection closes once none is in flight.
    draining: AtomicBool,
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

    /// Queues credit a response stream's reader gave back, for the connection
    /// to send.
    pub(crate) fn queue_credit(&self, id: u64, credit: u32) {
        self.credits_queued.store(true, Ordering::Release);
        self.credits.push((id, credit));
        // The connection registers its waker with `cancels` every round, and
        // with `credits` only when it takes them.
        self.cancels.wake();
    }

    /// Queues the `End` of a sender dropped while its lane was full.
    pub(crate) fn queue_end(&self, upload: Arc<Upload>) {
        self.ends_queued.store(true, Ordering::Release);
        self.ends.push(upload);
        self.cancels.wake();
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

    /// Whether the server has told this connection it is draining.
    #[inline]
    pub(crate) fn is_draining(&self) -> bool {
        self.draining.load(Ordering::Acquire)
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
    /// The first request of a call with an input side (client streaming, bidi).
    Upload {
        request: Req,
        completion: CompletionSender<Resp>,
        cell: Arc<CallCell<Resp>>,
        upload: OpeningInput,
        /// As for `Call`.
        deadline: Option<Instant>,
    },
    /// One more request of such a call.
    Item(Req, Arc<Upload>),
    /// The end of such a call's input.
    End(Arc<Upload>),
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

    pub(crate) fn upload(
        request: Req,
        completion: CompletionSender<Resp>,
        cell: Arc<CallCell<Resp>>,
        upload: Arc<Upload>,
        deadline: Option<Instant>,
    ) -> Self {
        Self {
            kind: OutboundKind::Upload {
                request,
                completion,
                cell,
                upload: OpeningInput::new(upload),
                deadline,
            },
        }
    }

    pub(crate) fn item(request: Req, upload: Arc<Upload>) -> Self {
        Self {
            kind: OutboundKind::Item(request, upload),
        }
    }

    pub(crate) fn end(upload: Arc<Upload>) -> Self {
        Self {
            kind: OutboundKind::End(upload),
        }
    }

    /// The request of an item, handed back when it could not be sent.
    pub(crate) fn into_request(self) -> Option<Req> {
        match self.kind {
            OutboundKind::Item(request, _) => Some(request),
            _ => None,
        }
    }

    /// Fails a call that was never sent (its first request found no room as its
    /// sender was dropped).
    pub(crate) fn abandon(self) {
        self.fail_unsent(Error::Status(Status::cancelled(
            "the call's sender was dropped before its first request left",
        )));
    }

    /// Fails a call with an input side that was never sent with `error`, and
    /// closes its input side.
    pub(crate) fn fail_unsent(self, error: Error) {
        if let OutboundKind::Upload {
            completion, upload, ..
        } = self.kind
        {
            upload.take().close();
            completion.fail(error);
        }
    }

    /// The request of a call's first message, to finish before it is queued.
    pub(crate) fn opening_request(&mut self) -> Option<&mut Req> {
        match &mut self.kind {
            OutboundKind::Call { request, .. } | OutboundKind::Upload { request, .. } => {
                Some(request)
            }
            _ => None,
        }
    }
}

impl<Req, Resp> fmt::Debug for ClientOutbound<Req, Resp> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            OutboundKind::Call { .. } => f.write_str("ClientOutbound::Call"),
            OutboundKind::Cancel(id) => write!(f, "ClientOutbound::Cancel({id})"),
            OutboundKind::Control(code) => write!(f, "ClientOutbound::Control({code:?})"),
            OutboundKind::Upload { .. } => f.write_str("ClientOutbound::Upload"),
            OutboundKind::Item(..) => f.write_str("ClientOutbound::Item"),
            OutboundKind::End(_) => f.write_str("ClientOutbound::End"),
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
    /// Calls whose input side is open, by id.
    uploads: IdMap<Arc<Upload>>,
    /// Uploads to send `End` for.
    to_end: VecDeque<u64>,
    /// Uploads whose sender was dropped with its lane full, from `shared.ends`.
    ending: VecDeque<Arc<Upload>>,
    /// Response streams that are full: inbound is held until they have room.
    full: FullBuffers<<C as Decoder>::Message, Result<(), Error>>,
    /// Credit to send, from `credits`.
    to_credit: VecDeque<(u64, u32)>,
    /// Where the connection is in a drain the server asked for.
    drain: Drain,
    /// Credentials to put on the connection's first call.
    credentials: Option<Metadata>,
    _codec: PhantomData<fn() -> C>,
}

/// A client connection's part in the server's graceful drain.
///
/// | state | a call taken from the queue | the connection |
/// |---|---|---|
/// | `No` | is sent | runs |
/// | `Asked` | is sent (it was queued before the notice was read; the server still serves it) | closes once no call is in flight |
/// | `Closing` | fails `Unavailable`, unsent | is closing: nothing more is read |
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Drain {
    No,
    Asked,
    Closing,
}

/// The error of a call refused unsent because its connection is draining.
#[cold]
pub(crate) fn draining_error() -> Error {
    Error::Status(Status::unavailable(
        "the server is draining this connection; the call was not sent",
    ))
}

impl<C> RpcClientReactor<C>
where
    C: Encoder + Decoder,
    <C as Encoder>::Message: Message + Send + 'static,
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
            uploads: id_map(),
            to_end: VecDeque::new(),
            ending: VecDeque::new(),
            full: FullBuffers::new(),
            to_credit: VecDeque::new(),
            drain: Drain::No,
            credentials: None,
            _codec: PhantomData,
        }
    }

    /// Puts `credentials` on the connection's first call.
    pub(crate) fn credentials(mut self, credentials: Option<Metadata>) -> Self {
        self.credentials = credentials;
        self
    }

    /// Puts the credentials, once, on the first call's request (a `Normal`
    /// one: a health check is answered without them).
    #[cold]
    fn attach_credentials(&mut self, request: &mut <C as Encoder>::Message) {
        if request.control_code() != ControlCode::Normal {
            return;
        }
        if let Some(credentials) = self.credentials.take() {
            let mut metadata = request.take_metadata();
            metadata.extend(credentials);
            request.set_metadata(metadata);
        }
    }

    /// Calls registered and not yet finished.
    #[must_use]
    pub fn in_flight(&self) -> usize {
        self.in_flight.len()
    }

    /// Ends a call with the failure `code` and `message` say.
    #[cold]
    fn fail(
        &mut self,
        code: ControlCode,
        mut message: <C as Decoder>::Message,
        completion: CompletionSender<<C as Decoder>::Message>,
    ) {
        let error = failure(code, &mut message);
        // A deadline that passed on the server is no sign of health (its
        // handlers may be what hangs): it counts as a missed deadline, as the
        // client's own does.
        if error.is_deadline_exceeded() {
            self.shared.deadline_passed();
        } else {
            self.answered += 1;
        }
        completion.fail(error);
    }
}

// Nothing in the reactor is pinned in place.
impl<C: Encoder + Decoder> Unpin for RpcClientReactor<C> {}

impl<C> MessageReactor for RpcClientReactor<C>
where
    C: Encoder + Decoder,
    <C as Encoder>::Message: Message + Send + 'static,
    <C as Decoder>::Message: Message,
{
    type Codec = C;
    type Inbound = <C as Decoder>::Message;
    type Outbound = <C as Encoder>::Message;
    type LogicalOutbound = ClientOutbound<Self::Outbound, Self::Inbound>;

    fn on_inbound_message(
        &mut self,
        response: Self::Inbound,
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
            ControlCode::Credit => {
                self.on_credit(id, response.credit());
                return ReactorStatus::Continue;
            }
            ControlCode::Draining => {
                self.on_draining();
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
                // A dropped reader means its completion was dropped and has
                // queued the cancellation already; the item is discarded.
                if items.push(response) {
                    self.full.add(items.shared());
                }
            }
            (code, _) => {
                let Some(completion) = self.in_flight.remove(id) else {
                    return ReactorStatus::Continue;
                };
                self.call_over(id, true);
                match (code, completion) {
                    (ControlCode::Normal, CompletionSender::Unary(slot)) => {
                        self.answered += 1;
                        slot.send(Ok(response));
                    }
                    // The answer to a health check (`RpcClient::check_health`).
                    (ControlCode::Health, CompletionSender::Unary(slot)) => {
                        slot.send(Ok(response));
                    }
                    (ControlCode::End, CompletionSender::Streaming(items)) => {
                        self.answered += 1;
                        items.end(Ok(()));
                    }
                    (code, completion) => self.fail(code, response, completion),
                }
            }
        }
        ReactorStatus::Continue
    }

    fn on_outbound_message(&mut self, message: Self::LogicalOutbound) -> Self::Outbound {
        if self.drain == Drain::Closing {
            return self.refuse_unsent(message);
        }
        match message.kind {
            OutboundKind::Call {
                mut request,
                completion,
                cell,
                deadline,
            } => {
                if self.credentials.is_some() {
                    self.attach_credentials(&mut request);
                }
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
                self.call_over(id, false);
                <Self::Outbound as Message>::cancelled(id)
            }
            OutboundKind::Control(code) => <Self::Outbound as Message>::control(0, code),
            OutboundKind::Upload {
                mut request,
                completion,
                cell,
                upload,
                deadline,
            } => {
                if self.credentials.is_some() {
                    self.attach_credentials(&mut request);
                }
                self.open_upload(request, completion, &cell, upload.take(), deadline)
            }
            OutboundKind::Item(request, upload) => self.upload_item(request, &upload),
            OutboundKind::End(upload) => self.end_upload(&upload),
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
            let id = self.to_cancel[index];
            if self.in_flight.remove(id).is_some() {
                self.call_over(id, false);
                index += 1;
            } else {
                self.to_cancel.remove(index);
            }
        }
        self.poll_ends(cx);
        if self.shared.credits_queued.load(Ordering::Acquire) {
            self.shared.credits_queued.store(false, Ordering::Release);
            self.shared.credits.take(cx.waker(), &mut self.to_credit);
        }
        if self.drain == Drain::Asked && self.in_flight.len() == 0 {
            tracing::debug!("server draining and no call in flight: closing");
            self.drain = Drain::Closing;
            return ReactorStatus::Disconnect;
        }
        ReactorStatus::Continue
    }

    fn poll_outbound(&mut self, _cx: &mut Context<'_>) -> Poll<Option<Self::Outbound>> {
        if let Some(id) = self.to_cancel.pop_front() {
            return Poll::Ready(Some(<Self::Outbound as Message>::cancelled(id)));
        }
        while let Some((id, credit)) = self.to_credit.pop_front() {
            // Only calls still in flight need it.
            if self.in_flight.get(id).is_some() {
                return Poll::Ready(Some(credit_message(id, credit)));
            }
        }
        Poll::Ready(
            self.to_end
                .pop_front()
                .map(<Self::Outbound as Message>::ended),
        )
    }

    fn poll_inbound_ready(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        self.full.poll_ready(cx)
    }

    /// Responses need no answer: they are read whatever the send queue holds, so a
    /// client pipelining more requests than the server reads cannot deadlock.
    fn answers_inbound(&self) -> bool {
        false
    }

    /// Calls in flight, or a ping to a server known to answer pings.
    fn awaits_peer(&self) -> bool {
        // While inbound is held, what the server sent waits unread: not its fault.
        !self.full.is_holding()
            && (self.in_flight.len() > 0 || (self.ping_outstanding && self.peer_pongs))
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

/// Calls with an input side (`client::upload`), and the server's graceful
/// drain.
impl<C> RpcClientReactor<C>
where
    C: Encoder + Decoder,
    <C as Encoder>::Message: Message + Send + 'static,
    <C as Decoder>::Message: Message,
{
    /// The server is draining: no new call goes out from the handles, and the
    /// connection closes once the calls in flight are done.
    #[cold]
    fn on_draining(&mut self) {
        if self.drain == Drain::No {
            tracing::debug!(
                in_flight = self.in_flight.len(),
                "server draining this connection"
            );
            self.drain = Drain::Asked;
            self.shared.draining.store(true, Ordering::Release);
        }
    }

    /// A message taken from the queue after the connection decided to close:
    /// a call fails `Unavailable` without being sent, its request parked in
    /// its cell (the pool sends it elsewhere); anything else is moot. Something must be encoded: an ignored
    /// `Cancel(0)`.
    #[cold]
    fn refuse_unsent(
        &mut self,
        message: ClientOutbound<<C as Encoder>::Message, <C as Decoder>::Message>,
    ) -> <C as Encoder>::Message {
        match message.kind {
            OutboundKind::Call {
                request,
                completion,
                cell,
                ..
            } => {
                cell.park(Box::new(request));
                completion.fail(draining_error());
            }
            kind @ OutboundKind::Upload { .. } => {
                ClientOutbound { kind }.fail_unsent(draining_error());
            }
            OutboundKind::Item(_, upload) | OutboundKind::End(upload) => {
                upload.close();
            }
            OutboundKind::Cancel(_) | OutboundKind::Control(_) => {}
        }
        <<C as Encoder>::Message as Message>::cancelled(0)
    }

    /// Call `id` is over (`in_flight` no longer has it): its input side closes,
    /// with `End` to the server when `ended_by_server` (the server keeps the id
    /// until then). Costs one check for calls without an input side.
    #[inline]
    fn call_over(&mut self, id: u64, ended_by_server: bool) {
        if self.uploads.is_empty() {
            return;
        }
        self.close_upload(id, ended_by_server);
    }

    #[cold]
    fn close_upload(&mut self, id: u64, send_end: bool) {
        if let Some(upload) = self.uploads.remove(&id) {
            if upload.close() && send_end {
                self.to_end.push_back(id);
            }
        }
    }

    /// Registers a call with an input side, as a plain call, and gives its
    /// sender the id.
    #[cold]
    fn open_upload(
        &mut self,
        mut request: <C as Encoder>::Message,
        completion: CompletionSender<<C as Decoder>::Message>,
        cell: &CallCell<<C as Decoder>::Message>,
        upload: Arc<Upload>,
        deadline: Option<Instant>,
    ) -> <C as Encoder>::Message {
        let id = self.in_flight.insert(completion);
        request.set_message_id(id);
        if let Some(deadline) = deadline {
            request.set_timeout(Some(deadline.saturating_duration_since(Instant::now())));
        }
        upload.id.store(id, Ordering::Release);
        let due = upload.item_taken();
        if cell
            .id
            .compare_exchange(UNASSIGNED, id, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            // Abandoned before it left: as for a plain call.
            self.in_flight.remove(id);
            upload.close();
            return <<C as Encoder>::Message as Message>::cancelled(id);
        }
        if due {
            upload.close();
            self.to_end.push_back(id);
        } else {
            self.uploads.insert(id, upload);
        }
        request
    }

    /// One more request of an open call; a call whose input side is over gets
    /// an ignored `Cancel(0)` in its place (something must be encoded).
    #[cold]
    fn upload_item(
        &mut self,
        mut request: <C as Encoder>::Message,
        upload: &Arc<Upload>,
    ) -> <C as Encoder>::Message {
        let due = upload.item_taken();
        if upload.is_closed() {
            return <<C as Encoder>::Message as Message>::cancelled(0);
        }
        let id = upload.id.load(Ordering::Acquire);
        request.set_message_id(id);
        if due {
            self.end_input(id, upload);
        }
        request
    }

    /// The sender's `End`.
    #[cold]
    fn end_upload(&mut self, upload: &Arc<Upload>) -> <C as Encoder>::Message {
        let id = upload.id.load(Ordering::Acquire);
        if upload.close() {
            self.uploads.remove(&id);
            <<C as Encoder>::Message as Message>::ended(id)
        } else {
            <<C as Encoder>::Message as Message>::cancelled(0)
        }
    }

    /// Queues `End` for the open call `id`.
    fn end_input(&mut self, id: u64, upload: &Upload) {
        if upload.close() {
            self.uploads.remove(&id);
            self.to_end.push_back(id);
        }
    }

    /// The server's `Credit(id)`: it speaks credit, so the call's response stream
    /// flows by credit from now on (its reader gives credit back as it reads);
    /// and its sender may send `credit` more requests.
    #[cold]
    fn on_credit(&mut self, id: u64, credit: u32) {
        if let Some(CompletionSender::Streaming(items)) = self.in_flight.get(id) {
            items.flow_by_credit(None);
        }
        if let Some(upload) = self.uploads.get(&id) {
            upload.grant(credit);
        }
    }

    /// Sends `End` for the senders dropped with a full lane whose requests have
    /// all been taken; the others wait for their last request
    /// ([`upload_item`](Self::upload_item)).
    fn poll_ends(&mut self, cx: &mut Context<'_>) {
        if !self.shared.ends_queued.load(Ordering::Acquire) {
            return;
        }
        self.shared.ends_queued.store(false, Ordering::Release);
        self.shared.ends.take(cx.waker(), &mut self.ending);
        while let Some(upload) = self.ending.pop_front() {
            if upload.end_due() {
                let id = upload.id.load(Ordering::Acquire);
                self.end_input(id, &upload);
            }
        }
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
