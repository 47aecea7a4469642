//! The server's reactor: starts rpcs, polls their work when there is room to
//! send, and cancels them.
//!
//! Layout:
//! - this module: [`RpcServerReactor`], its settings, request routing
//!   (`on_request`), the connection's phases (draining) and the
//!   [`MessageReactor`] impl;
//! - `slot`: where an rpc runs (its slot, the kinds of work, their places);
//! - `dispatch`: starting rpcs in slots, polling the woken ones, and the
//!   answers that refuse or fail one;
//! - `deadlines`: the deadline heap and timer, and expiring an rpc;
//! - `input`: request streams (client streaming and bidi), credit, and the
//!   end of an rpc's input.

mod deadlines;
mod dispatch;
mod input;
mod slot;

use std::collections::hash_map::Entry;
use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use protosocket::{
    Decoder, Encoder, MessageReactor, PeerAddress, PeerIdentity, ReactorStatus, Replies,
};
use tokio::time::Sleep;

use crate::health::{HealthReporter, HealthStatus};
use crate::message::{speaks_credit, ControlCode, Message};
use crate::server::auth::{AuthContext, AuthFuture, AuthHook, AuthRequest, Checked};
use crate::server::context::{deadline_after, CallContext};
use crate::server::id_map::{id_map, IdMap};
use crate::server::service::ConnectionService;
use crate::server::CallHook;
use crate::status::Status;
use crate::stream_buffer::FullBuffers;
use crate::woken::WokenQueue;
use deadlines::{deadline_passed, Deadlines};
use dispatch::refuse;
use slot::{Kind, Slot, Started};

type Request<S> = <S as ConnectionService>::Request;
type Response<S> = <S as ConnectionService>::Response;

/// How far the connection is toward its end.
///
/// | phase | a new request | disconnects |
/// |---|---|---|
/// | `Open` | starts an rpc | never by itself |
/// | `ReadClosed` | (none comes after EOF) | once no rpc is in flight |
/// | `Draining` | starts an rpc (the client sent it before it read the notice) | once the client has closed its side and no rpc is in flight |
/// | `Refusing` | is answered `Unavailable` | once no rpc is in flight |
///
/// A graceful close sends [`ControlCode::Draining`] and enters `Draining`; the
/// drain timeout moves it on to `Refusing`. A graceful close while or after
/// the peer closes its side is `Refusing` at once (no request can follow).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Open,
    ReadClosed,
    Draining,
    Refusing,
}

/// Authentication of the connection's client.
///
/// | state | a request |
/// |---|---|
/// | `Off` | runs, with no auth context |
/// | `Pending` | (the first) goes to the hook: runs with its context, or is answered with its status and the connection closes |
/// | `Checking` | is not read: an async hook decides, and the first request waits for it here |
/// | `Refused` | is not read: the first request's answer is queued, and the connection closes once it is sent |
/// | `Done` | runs with the context the hook returned |
enum Auth<R> {
    Off,
    Pending(AuthHook, PeerAddress, Option<Arc<PeerIdentity>>),
    Checking(AuthFuture, R),
    Refused,
    Done(AuthContext),
}

/// What became of a connection's first request at the auth hook.
enum Gate<R> {
    /// Authenticated: run it.
    Run(R),
    /// An async hook decides; the request waits in [`Auth::Checking`].
    Wait,
    /// Refused: answer it with this and close.
    Refuse(Status),
}

/// How long a draining connection waits for its client to close by default.
pub(crate) const DEFAULT_DRAIN_TIMEOUT: Duration = Duration::from_secs(3);

/// The [`MessageReactor`] of a server connection: runs a [`ConnectionService`]'s
/// rpcs.
///
/// A `Normal` request starts an rpc, or is answered with a status
/// ([`Message::with_status`]) saying why not: the call hook's or the service's
/// refusal, [`ResourceExhausted`](crate::StatusCode::ResourceExhausted) when
/// `max_in_flight` rpcs are already running,
/// [`AlreadyExists`](crate::StatusCode::AlreadyExists) when its id is already in
/// flight, [`DeadlineExceeded`](crate::StatusCode::DeadlineExceeded) when it came
/// with no time left. A `Cancel` drops that rpc's work and is answered
/// [`Cancelled`](crate::StatusCode::Cancelled); a cancel for an rpc not in flight
/// (finished, or never started) is ignored. A message type without status fields
/// answers each status with its [`control_code`](crate::StatusCode::control_code),
/// which an upstream 2.x client reads correctly.
///
/// A `Normal` message with the id of an rpc that took a request stream is that
/// stream's next request instead, and the client's `End` ends the stream (see
/// [`RequestStream`](crate::server::RequestStream)); while a request stream is full, the reactor holds inbound
/// ([`MessageReactor::poll_inbound_ready`]) unless the client flows by credit. A
/// `Credit` lets that rpc's response stream send more. Other codes from a
/// client mean nothing and are ignored.
///
/// A request with a [`timeout`](Message::timeout) has a deadline, counted from
/// when it is read: when it passes, the rpc's work is dropped (wherever it is:
/// in an async call hook, waiting for room to send, or running) and the client
/// is answered `DeadlineExceeded`. One timer per connection, made when the first
/// rpc with a deadline arrives, waits for the earliest deadline.
///
/// A panic in the service (in `new_rpc`, a unary future or a response stream)
/// fails that rpc alone: it is logged with the rpc's id, its work is dropped and
/// the client is answered [`Internal`](crate::StatusCode::Internal)
/// ([`ControlCode::Failed`] without status fields); the connection and its other
/// rpcs go on.
///
/// It answers a client's `Ping` with `Pong`, and pings a quiet client itself when
/// the connection has [`Liveness`](protosocket::Liveness) configured.
///
/// On a graceful close (a server shutting down) it sends the client
/// [`ControlCode::Draining`] and goes on serving: requests the client sent
/// before it read the notice run as usual, and the connection closes once the
/// client, which sends nothing new after the notice, has closed its side and
/// the rpcs in flight have answered. A client that does not close within the
/// [drain timeout](Self::drain_timeout) (an upstream 2.x peer, which ignores
/// the notice) then has its new requests answered
/// [`Unavailable`](crate::StatusCode::Unavailable) (they did not run, and may
/// be sent elsewhere), and the connection closes once no rpc is left.
///
/// A unary future is first polled as its request arrives (the connection hands
/// over a request only when its send queue has room for the answer); after that,
/// and for streams, rpc work is polled from
/// [`poll_outbound`](MessageReactor::poll_outbound), which the connection calls
/// only while its send queue has room, and only the rpcs whose wakers fired are
/// polled, in the order they woke. After the peer closes
/// its side, the connection stays open until the rpcs in flight have answered.
pub struct RpcServerReactor<Svc: ConnectionService, C> {
    service: Svc,
    /// Kept so the connection does not close for lack of senders: this reactor
    /// sends through `poll_outbound` only.
    _outbound: spillway::Sender<Response<Svc>>,
    slots: Vec<Slot<Svc>>,
    /// Indexes of the slots that hold no rpc.
    free: Vec<usize>,
    /// The slot of each rpc in flight.
    by_id: IdMap<usize>,
    /// Where the slots' wakers queue their slot.
    ready: Arc<WokenQueue<usize>>,
    /// Woken slots taken from `ready`, to poll in turn.
    woken: VecDeque<usize>,
    max_in_flight: usize,
    phase: Phase,
    /// A ping went out and nothing has arrived since.
    ping_outstanding: bool,
    /// The client has sent or answered a ping: it speaks liveness.
    peer_pongs: bool,
    /// Run on each request before the service sees it.
    call_hook: Option<CallHook>,
    /// The deadlines of rpcs in flight.
    deadlines: Deadlines,
    /// Deadlines come up, taken from `deadlines` (kept for its allocation).
    expired: Vec<(usize, u64, Instant)>,
    /// Requests a request stream buffers.
    request_stream_buffer: usize,
    /// Request streams that are full: inbound is held until they have room.
    full: FullBuffers<Request<Svc>, ()>,
    /// The response type can carry credit: streams of clients that speak it
    /// flow by credit.
    credit_ok: bool,
    /// How long `Draining` lasts before `Refusing`.
    drain_timeout: Duration,
    /// The end of `Draining`, set as it begins.
    drain_timer: Option<Pin<Box<Sleep>>>,
    /// Messages of the reactor's own to send before any rpc's: the
    /// `Draining` notice, and the first request's answers once an async auth
    /// hook has decided.
    due: Replies<Response<Svc>>,
    /// What health checks are answered from.
    health: HealthReporter,
    /// Where the connection is in authenticating its client.
    auth: Auth<Request<Svc>>,
    _codec: std::marker::PhantomData<fn() -> C>,
}

impl<Svc, C> RpcServerReactor<Svc, C>
where
    Svc: ConnectionService,
    C: Encoder<Message = Response<Svc>> + Decoder<Message = Request<Svc>>,
{
    /// A reactor running `service`'s rpcs, at most `max_in_flight` (at least 1) at
    /// once. `outbound` is the connection's sender, kept for as long as the
    /// reactor lives.
    pub fn new(
        service: Svc,
        outbound: spillway::Sender<Response<Svc>>,
        max_in_flight: usize,
    ) -> Self {
        Self {
            service,
            _outbound: outbound,
            slots: Vec::new(),
            free: Vec::new(),
            by_id: id_map(),
            ready: Arc::new(WokenQueue::default()),
            woken: VecDeque::new(),
            max_in_flight: max_in_flight.max(1),
            phase: Phase::Open,
            ping_outstanding: false,
            peer_pongs: false,
            call_hook: None,
            deadlines: Deadlines::new(),
            expired: Vec::new(),
            request_stream_buffer: 64,
            full: FullBuffers::new(),
            credit_ok: speaks_credit::<Response<Svc>>(),
            drain_timeout: DEFAULT_DRAIN_TIMEOUT,
            drain_timer: None,
            due: Replies::new(),
            health: HealthReporter::new(),
            auth: Auth::Off,
            _codec: std::marker::PhantomData,
        }
    }

    /// Runs `hook` on each request before the service sees it.
    #[must_use]
    pub fn call_hook(mut self, hook: Option<CallHook>) -> Self {
        self.call_hook = hook;
        self
    }

    /// Requests one rpc's [`RequestStream`](crate::server::RequestStream) buffers (at least 1; default 64)
    /// before the connection stops reading until its handler takes one.
    #[must_use]
    pub fn request_stream_buffer(mut self, requests: usize) -> Self {
        self.request_stream_buffer = requests.max(1);
        self
    }

    /// How long a draining connection waits for its client to close (default
    /// 3 s) before it refuses new requests with
    /// [`Unavailable`](crate::StatusCode::Unavailable); zero refuses them as
    /// soon as the drain begins.
    #[must_use]
    pub fn drain_timeout(mut self, timeout: Duration) -> Self {
        self.drain_timeout = timeout;
        self
    }

    /// Answers health checks from `health` (by default, a reporter of its
    /// own, serving).
    #[must_use]
    pub fn health_reporter(mut self, health: HealthReporter) -> Self {
        self.health = health;
        self
    }

    /// Authenticates the connection with `hook` on its first request (see
    /// [`AuthHook`]); `peer` and `identity` (a mutual-TLS client's) are who the
    /// hook is told it is. `None` (the default) runs every call
    /// unauthenticated.
    #[must_use]
    pub fn auth_hook(
        mut self,
        hook: Option<AuthHook>,
        peer: PeerAddress,
        identity: Option<Arc<PeerIdentity>>,
    ) -> Self {
        self.auth = match hook {
            Some(hook) => Auth::Pending(hook, peer, identity),
            None => Auth::Off,
        };
        self
    }

    /// Rpcs started and not yet finished or cancelled.
    pub fn in_flight(&self) -> usize {
        self.by_id.len()
    }

    /// The service.
    pub fn service(&self) -> &Svc {
        &self.service
    }

    /// No rpc in flight, and no first request waiting for an async auth
    /// hook (answers already queued are the connection's to send).
    fn idle(&self) -> bool {
        self.by_id.is_empty() && !matches!(self.auth, Auth::Checking(..))
    }

    /// Starts the rpc of a `Normal` request, or answers why not.
    fn on_request(&mut self, mut request: Request<Svc>, replies: &mut Replies<Response<Svc>>) {
        let id = request.message_id();
        if self.phase == Phase::Refusing && !self.by_id.contains_key(&id) {
            tracing::debug!(id, "request while shutting down; refused");
            let status = Status::unavailable("the server is shutting down; the rpc did not run");
            return refuse(replies, id, status);
        }
        let full = self.by_id.len() >= self.max_in_flight;
        match self.by_id.entry(id) {
            Entry::Occupied(entry) => {
                let index = *entry.get();
                return self.on_in_flight(index, request, replies);
            }
            Entry::Vacant(_) if full => {
                tracing::debug!(id, max = self.max_in_flight, "too many rpcs in flight");
                let status =
                    Status::resource_exhausted("too many rpcs in flight on this connection");
                return refuse(replies, id, status);
            }
            Entry::Vacant(_) => {}
        }
        let deadline = match request.timeout() {
            None => None,
            // Sent with no time left: not worth a slot.
            Some(timeout) if timeout.is_zero() => return refuse(replies, id, deadline_passed()),
            Some(timeout) => Some(deadline_after(timeout)),
        };
        let mut context = CallContext::new(id, deadline, request.take_metadata());
        if let Auth::Done(auth) = &self.auth {
            context.set_auth_context(Some(Arc::clone(auth)));
        }
        if self.service.takes_request_stream(&request) {
            return self.start_with_input(request, context, replies);
        }
        if self.call_hook.is_some() {
            match self.hook(request, context, replies) {
                Some(through) => (request, context) = through,
                None => return,
            }
        }
        let window = request.credit();
        let index = self.free_slot();
        let service = &mut self.service;
        match self.slots[index].start(true, || service.new_rpc_with_context(request, context)) {
            Ok(Started::Unary(polled)) => self.start_unary(index, id, deadline, polled, replies),
            Ok(Started::Streaming) => {
                self.start_queued(index, id, Kind::Streaming, deadline);
                if let Some(credit) = self.open_credit(index, id, window) {
                    replies.push(credit);
                }
            }
            Ok(Started::Reject(status)) => {
                self.free.push(index);
                refuse(replies, id, status);
            }
            Err(panic) => {
                let answer = self.start_panicked(index, id, panic);
                replies.push(answer);
            }
        }
    }
}

// Nothing in the reactor is pinned in place: rpc work sits in boxed places.
impl<Svc: ConnectionService, C> Unpin for RpcServerReactor<Svc, C> {}

impl<Svc, C> MessageReactor for RpcServerReactor<Svc, C>
where
    Svc: ConnectionService,
    C: Encoder<Message = Response<Svc>> + Decoder<Message = Request<Svc>>,
{
    type Codec = C;
    type Inbound = Request<Svc>;
    type Outbound = Response<Svc>;
    type LogicalOutbound = Response<Svc>;

    fn on_inbound_message(
        &mut self,
        request: Request<Svc>,
        replies: &mut Replies<Response<Svc>>,
    ) -> ReactorStatus {
        let id = request.message_id();
        self.ping_outstanding = false;
        match request.control_code() {
            ControlCode::Normal => {
                if let Auth::Off | Auth::Done(_) = self.auth {
                    self.on_request(request, replies);
                } else {
                    match self.authenticate(request) {
                        Gate::Run(request) => self.on_request(request, replies),
                        Gate::Wait => {}
                        Gate::Refuse(status) => {
                            tracing::debug!(id, %status, "authentication failed; closing");
                            refuse(replies, id, status);
                            return ReactorStatus::Disconnect;
                        }
                    }
                }
            }
            ControlCode::Ping => {
                self.peer_pongs = true;
                replies.push(Message::control(0, ControlCode::Pong));
            }
            ControlCode::Pong => self.peer_pongs = true,
            ControlCode::Cancel => match self.by_id.get(&id).copied() {
                Some(slot) => {
                    let finished = self.is_done(slot);
                    // Dropping the work is the cancellation.
                    self.remove(slot);
                    if !finished {
                        replies.push(Message::with_status(
                            id,
                            Status::cancelled("cancelled by the client"),
                        ));
                    }
                }
                None => tracing::debug!(id, "cancel for an rpc not in flight; ignored"),
            },
            ControlCode::End => self.on_input_end(id),
            ControlCode::Credit => self.on_credit(id, request.credit()),
            ControlCode::Health => replies.push(self.health_answer(id, request)),
            code => tracing::debug!(id, ?code, "control code from a client; ignored"),
        }
        ReactorStatus::Continue
    }

    fn on_outbound_message(&mut self, response: Response<Svc>) -> Response<Svc> {
        response
    }

    fn poll_inbound_ready(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        if let Auth::Checking(..) | Auth::Refused = self.auth {
            if !matches!(self.poll_auth(cx), Poll::Ready(true)) {
                return Poll::Pending;
            }
        }
        self.full.poll_ready(cx)
    }

    fn poll(&mut self, cx: &mut Context<'_>) -> ReactorStatus {
        self.ready.register(cx.waker());
        if let Auth::Checking(..) | Auth::Refused = self.auth {
            if self.poll_auth(cx) == Poll::Ready(false) {
                // The refusal is in `due`: the drain sends it, then closes.
                return ReactorStatus::Disconnect;
            }
        }
        if !self.deadlines.heap.is_empty() {
            self.poll_deadlines(cx);
        }
        if self.phase == Phase::Draining {
            self.poll_drain(cx);
        }
        if matches!(self.phase, Phase::ReadClosed | Phase::Refusing) && self.idle() {
            return ReactorStatus::Disconnect;
        }
        ReactorStatus::Continue
    }

    fn poll_outbound(&mut self, cx: &mut Context<'_>) -> Poll<Option<Response<Svc>>> {
        if let Some(message) = self.due.pop() {
            return Poll::Ready(Some(message));
        }
        let mut refill = Some(cx.waker());
        while let Some(index) = self.next_woken(&mut refill) {
            if let Some(message) = self.poll_slot(index) {
                return Poll::Ready(Some(message));
            }
        }
        Poll::Pending
    }

    fn on_read_closed(&mut self) -> ReactorStatus {
        match self.phase {
            Phase::Open => self.phase = Phase::ReadClosed,
            // The client has done what the notice asked.
            Phase::Draining => {
                self.phase = Phase::Refusing;
                self.drain_timer = None;
            }
            Phase::ReadClosed | Phase::Refusing => {}
        }
        self.end_inputs();
        if self.idle() {
            ReactorStatus::Disconnect
        } else {
            ReactorStatus::Continue
        }
    }

    /// Only a ping to a client known to answer pings: rpcs in flight are the
    /// server's work, not the client's.
    fn awaits_peer(&self) -> bool {
        // While inbound is held the pong may wait unread behind requests.
        self.ping_outstanding && self.peer_pongs && !self.full.is_holding()
    }

    fn ping(&mut self) -> Option<Response<Svc>> {
        self.ping_outstanding = true;
        Some(Message::control(0, ControlCode::Ping))
    }

    fn on_close_requested(&mut self) -> ReactorStatus {
        match self.phase {
            Phase::Open => {
                self.health.set("", HealthStatus::NotServing);
                tracing::debug!(
                    in_flight = self.by_id.len(),
                    "draining: telling the client, serving what it already sent"
                );
                self.due.push(Message::control(0, ControlCode::Draining));
                if !self.drain_timeout.is_zero() {
                    self.phase = Phase::Draining;
                    self.drain_timer = Some(Box::pin(tokio::time::sleep(self.drain_timeout)));
                    return ReactorStatus::Continue;
                }
                // No drain: refuse new requests at once.
                self.phase = Phase::Refusing;
            }
            Phase::ReadClosed => self.phase = Phase::Refusing,
            Phase::Draining | Phase::Refusing => {}
        }
        if self.idle() {
            ReactorStatus::Disconnect
        } else {
            ReactorStatus::Continue
        }
    }
}

impl<Svc, C> RpcServerReactor<Svc, C>
where
    Svc: ConnectionService,
    C: Encoder<Message = Response<Svc>> + Decoder<Message = Request<Svc>>,
{
    /// Runs the auth hook on the connection's first request: the connection
    /// is authenticated from now on, or refused with the hook's status, or
    /// (an async hook) waits for its decision with the request.
    #[cold]
    fn authenticate(&mut self, mut request: Request<Svc>) -> Gate<Request<Svc>> {
        let Auth::Pending(hook, peer, identity) = &self.auth else {
            // Nothing more is read while a hook decides or after a refusal.
            return Gate::Refuse(Status::unavailable(
                "the connection is not authenticated; the rpc did not run",
            ));
        };
        let metadata = request.take_metadata();
        let checked = hook.start(&AuthRequest::new(peer, identity.as_ref(), &metadata));
        request.set_metadata(metadata);
        match checked {
            Checked::Now(Ok(context)) => {
                self.auth = Auth::Done(context);
                Gate::Run(request)
            }
            Checked::Now(Err(status)) => {
                self.auth = Auth::Refused;
                Gate::Refuse(status)
            }
            Checked::Later(decision) => {
                self.auth = Auth::Checking(decision, request);
                Gate::Wait
            }
        }
    }

    /// Polls an async auth hook's decision: `Ready(true)` once the
    /// connection is authenticated (its first request then runs, its answers
    /// queued in `due`), `Ready(false)` once it is refused (the refusal
    /// queued in `due`), `Pending` while the hook decides.
    #[cold]
    fn poll_auth(&mut self, cx: &mut Context<'_>) -> Poll<bool> {
        let decision = match &mut self.auth {
            Auth::Checking(decision, _) => std::task::ready!(decision.as_mut().poll(cx)),
            Auth::Refused => return Poll::Ready(false),
            Auth::Off | Auth::Pending(..) | Auth::Done(_) => return Poll::Ready(true),
        };
        let next = match &decision {
            Ok(context) => Auth::Done(Arc::clone(context)),
            Err(_) => Auth::Refused,
        };
        let Auth::Checking(_, request) = std::mem::replace(&mut self.auth, next) else {
            unreachable!("matched Checking above");
        };
        let id = request.message_id();
        match decision {
            Ok(_) => {
                let mut answers = std::mem::take(&mut self.due);
                self.on_request(request, &mut answers);
                self.due = answers;
                // Reading resumes: the connection may have asked before this
                // poll, and found inbound held.
                cx.waker().wake_by_ref();
                Poll::Ready(true)
            }
            Err(status) => {
                tracing::debug!(id, %status, "authentication failed; closing");
                refuse(&mut self.due, id, status);
                Poll::Ready(false)
            }
        }
    }

    /// The answer to health check `id`: the status of the service it names.
    #[cold]
    fn health_answer(&self, id: u64, mut check: Request<Svc>) -> Response<Svc> {
        let metadata = check.take_metadata();
        let service = metadata.text(crate::health::SERVICE_KEY).unwrap_or("");
        let status = self.health.status(service);
        drop(metadata);
        let mut answer = Response::<Svc>::control(id, ControlCode::Health);
        let mut carried = crate::metadata::Metadata::new();
        carried.insert(crate::health::STATUS_KEY, status.as_str());
        answer.set_metadata(carried);
        answer
    }

    /// Ends `Draining` when its timeout passes: the client did not close (an
    /// upstream peer ignores the notice), so new requests are refused from now.
    #[cold]
    fn poll_drain(&mut self, cx: &mut Context<'_>) {
        let Some(timer) = self.drain_timer.as_mut() else {
            return;
        };
        if timer.as_mut().poll(cx).is_ready() {
            tracing::debug!(
                timeout = ?self.drain_timeout,
                in_flight = self.by_id.len(),
                "the client did not close within the drain timeout; refusing new requests"
            );
            self.drain_timer = None;
            self.phase = Phase::Refusing;
        }
    }
}

impl<Svc: ConnectionService, C> fmt::Debug for RpcServerReactor<Svc, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RpcServerReactor")
            .field("in_flight", &self.by_id.len())
            .field("max_in_flight", &self.max_in_flight)
            .field("phase", &self.phase)
            .finish()
    }
}
