//! The server's reactor: starts rpcs, polls their work when there is room to
//! send, and cancels them.

use std::any::Any;
use std::cmp::Reverse;
use std::collections::hash_map::Entry;
use std::collections::{BinaryHeap, VecDeque};
use std::fmt;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Instant;

use futures_core::Stream;
use protosocket::{Decoder, Encoder, MessageReactor, ReactorStatus, Replies};
use tokio::time::Sleep;

use crate::hook::{HookFuture, Hooked};
use crate::message::{credit_message, speaks_credit, ControlCode, Message};
use crate::server::context::{deadline_after, CallContext};
use crate::server::id_map::{id_map, IdMap};
use crate::server::inbox::RequestStream;
use crate::server::service::{ConnectionService, Rpc};
use crate::server::waker::SlotWaker;
use crate::server::CallHook;
use crate::status::Status;
use crate::stream_buffer::{stream_buffer, BufferWriter, FullBuffers};
use crate::woken::WokenQueue;

type Request<S> = <S as ConnectionService>::Request;
type Response<S> = <S as ConnectionService>::Response;

/// Which kind of work an rpc in flight has in its slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// An async call hook's future, with the request held back until it is done.
    Hook,
    Unary,
    Streaming,
    /// None: the deadline passed and the work was dropped; the answer saying so
    /// waits for room to send.
    Expired,
    /// The work is over; the id stays in flight until the client ends the rpc's
    /// input (see `server::inbox`).
    Done,
}

impl Kind {
    /// What was running when it panicked, for the log.
    fn during(self) -> &'static str {
        match self {
            Kind::Hook => "call hook",
            Kind::Unary => "unary future",
            Kind::Streaming => "response stream",
            Kind::Expired | Kind::Done => "nothing",
        }
    }
}

/// A pinned place for one kind of rpc work, allocated the first time its slot
/// runs that kind and kept, empty, from one rpc to the next: starting an rpc
/// allocates nothing once the slots are warm.
struct Place<T>(Option<Pin<Box<Option<T>>>>);

impl<T> Place<T> {
    const fn new() -> Self {
        Self(None)
    }

    #[inline]
    fn put(&mut self, work: T) {
        match &mut self.0 {
            Some(place) => place.set(Some(work)),
            None => self.0 = Some(Box::pin(Some(work))),
        }
    }

    fn get(&mut self) -> Option<Pin<&mut T>> {
        self.0.as_mut()?.as_mut().as_pin_mut()
    }

    /// Drops the work in place: for an unfinished rpc, its cancellation.
    fn clear(&mut self) {
        if let Some(place) = &mut self.0 {
            place.set(None);
        }
    }
}

/// What one poll of an rpc's work produced.
enum Polled<R> {
    Hook(Result<CallContext, Status>),
    Unary(R),
    Item(Option<R>),
}

#[derive(Debug, Clone, Copy)]
struct InFlight {
    id: u64,
    kind: Kind,
    /// When the rpc's work is dropped and answered `DeadlineExceeded`.
    deadline: Option<Instant>,
    /// The rpc took a request stream: later `Normal` messages with its id are
    /// its requests, not duplicates.
    takes_input: bool,
}

/// A request an async call hook holds back until it is done, with the request
/// stream of an rpc that takes one.
struct Held<Svc: ConnectionService> {
    future: HookFuture<CallContext>,
    request: Request<Svc>,
    requests: Option<RequestStream<Request<Svc>>>,
}

/// Where an rpc runs: its work while in flight, and the waker it is polled with;
/// the places and the waker stay with the slot from one rpc to the next.
struct Slot<Svc: ConnectionService> {
    /// `None` while the slot is free.
    rpc: Option<InFlight>,
    unary: Place<Svc::Unary>,
    streaming: Place<Svc::Streaming>,
    /// An async call hook's future, and the request it holds back.
    hook: Option<Held<Svc>>,
    waker: SlotWaker,
    /// The rpc's request stream, while the client's input is open.
    inbox: Option<BufferWriter<Request<Svc>, ()>>,
    /// Responses the client has room for, when its stream flows by credit:
    /// the stream is not polled at 0.
    credit: Option<u32>,
}

impl<Svc: ConnectionService> Slot<Svc> {
    /// Polls the slot's work of `kind` once, catching a panic in it.
    fn poll_work(&mut self, kind: Kind) -> std::thread::Result<Poll<Polled<Response<Svc>>>> {
        let Slot {
            unary,
            streaming,
            hook,
            waker,
            ..
        } = self;
        let mut cx = waker.polling();
        catch_unwind(AssertUnwindSafe(|| match kind {
            Kind::Unary => unary.get().map_or(Poll::Pending, |future| {
                future.poll(&mut cx).map(Polled::Unary)
            }),
            Kind::Streaming => streaming.get().map_or(Poll::Pending, |stream| {
                stream.poll_next(&mut cx).map(Polled::Item)
            }),
            Kind::Hook => hook.as_mut().map_or(Poll::Pending, |held| {
                held.future.as_mut().poll(&mut cx).map(Polled::Hook)
            }),
            Kind::Expired | Kind::Done => Poll::Pending,
        }))
    }

    /// Drops the work of `kind`.
    fn clear(&mut self, kind: Kind) {
        match kind {
            Kind::Unary => self.unary.clear(),
            Kind::Streaming => self.streaming.clear(),
            Kind::Hook => self.hook = None,
            Kind::Expired | Kind::Done => {}
        }
    }
}

/// The deadlines of the rpcs in flight, earliest first, and the one timer that
/// waits for the earliest: made when the first rpc with a deadline arrives, so
/// a connection whose calls carry none pays nothing for deadlines.
///
/// Entries of rpcs that ended before their deadline stay until they come up
/// (or until the heap is compacted): an entry counts only while its slot still
/// holds that rpc with that deadline.
struct Deadlines {
    /// (deadline, slot, rpc id).
    heap: BinaryHeap<Reverse<(Instant, usize, u64)>>,
    timer: Option<Pin<Box<Sleep>>>,
}

impl Deadlines {
    const fn new() -> Self {
        Self {
            heap: BinaryHeap::new(),
            timer: None,
        }
    }

    /// The entries that have come up by `now`, taken out; registers `cx` for
    /// the next one.
    fn poll_expired(&mut self, cx: &mut Context<'_>, expired: &mut Vec<(usize, u64, Instant)>) {
        loop {
            let Some(&Reverse((next, _, _))) = self.heap.peek() else {
                return;
            };
            let wake_at = tokio::time::Instant::from_std(next);
            let timer = self
                .timer
                .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(wake_at)));
            if timer.deadline() != wake_at {
                timer.as_mut().reset(wake_at);
            }
            if timer.as_mut().poll(cx).is_pending() {
                return;
            }
            // The timer's clock (tokio's, which a test may pause) says `next` has
            // come, whatever the system clock says: take it at least, so this
            // loop always moves on.
            let now = tokio::time::Instant::now().into_std().max(next);
            while let Some(&Reverse((at, slot, id))) = self.heap.peek() {
                if at > now {
                    break;
                }
                self.heap.pop();
                expired.push((slot, id, at));
            }
        }
    }
}

/// How far the connection is toward its end.
///
/// | phase | a new request | disconnects |
/// |---|---|---|
/// | `Open` | starts an rpc | never by itself |
/// | `ReadClosed` | (none comes after EOF) | once no rpc is in flight |
/// | `Draining` | is answered `Unavailable` | once no rpc is in flight |
///
/// A graceful close while or after the peer closes its side is `Draining`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Open,
    ReadClosed,
    Draining,
}

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
/// [`RequestStream`]); while a request stream is full, the reactor holds inbound
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
/// On a graceful close (a server shutting down) the rpcs in flight run to their
/// end while new requests are answered
/// [`Unavailable`](crate::StatusCode::Unavailable); the connection closes once
/// none is left.
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
            _codec: std::marker::PhantomData,
        }
    }

    /// Runs `hook` on each request before the service sees it.
    #[must_use]
    pub fn call_hook(mut self, hook: Option<CallHook>) -> Self {
        self.call_hook = hook;
        self
    }

    /// Requests one rpc's [`RequestStream`] buffers (at least 1; default 64)
    /// before the connection stops reading until its handler takes one.
    #[must_use]
    pub fn request_stream_buffer(mut self, requests: usize) -> Self {
        self.request_stream_buffer = requests.max(1);
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

    /// The index of a free slot, made (with its waker) if there is none.
    fn free_slot(&mut self) -> usize {
        if let Some(index) = self.free.pop() {
            return index;
        }
        let index = self.slots.len();
        self.slots.push(Slot {
            rpc: None,
            unary: Place::new(),
            streaming: Place::new(),
            hook: None,
            waker: SlotWaker::new(index, &self.ready),
            inbox: None,
            credit: None,
        });
        index
    }

    /// Starts unary rpc `id` by polling its future at once, in a free slot's
    /// place with the slot's waker: the connection hands the reactor a request
    /// only when its send queue has room for an answer, and most unary work is
    /// ready on its first poll, which then costs no id entry and no queueing, and
    /// gives the slot straight back. Work still pending is polled from
    /// `poll_outbound` when it wakes.
    fn start_unary(
        &mut self,
        id: u64,
        deadline: Option<Instant>,
        future: Svc::Unary,
        replies: &mut Replies<Response<Svc>>,
    ) {
        let index = self.free_slot();
        let slot = &mut self.slots[index];
        slot.unary.put(future);
        let answer = match slot.poll_work(Kind::Unary) {
            Ok(Poll::Pending) => {
                self.track(index, id, Kind::Unary, deadline);
                return;
            }
            Ok(Poll::Ready(Polled::Unary(mut response))) => {
                slot.unary.clear();
                response.set_message_id(id);
                response
            }
            Ok(Poll::Ready(Polled::Item(_) | Polled::Hook(_))) => {
                unreachable!("a unary future yields a response")
            }
            Err(panic) => {
                let answer = failed(id, Kind::Unary.during(), &*panic);
                slot.unary.clear();
                answer
            }
        };
        // A wake during that poll may have queued the slot: a spurious poll of
        // whatever holds it next is harmless.
        self.free.push(index);
        replies.push(answer);
    }

    /// Puts `kind` of work (already in slot `index`'s place) in flight as rpc
    /// `id`, queued to be polled from `poll_outbound`.
    fn start_queued(&mut self, index: usize, id: u64, kind: Kind, deadline: Option<Instant>) {
        // Work not polled yet is ready by definition.
        self.slots[index].waker.set_queued();
        self.woken.push_back(index);
        self.track(index, id, kind, deadline);
    }

    /// Puts rpc `id`, whose work is in slot `index`, in flight.
    fn track(&mut self, index: usize, id: u64, kind: Kind, deadline: Option<Instant>) {
        self.slots[index].rpc = Some(InFlight {
            id,
            kind,
            deadline,
            takes_input: false,
        });
        self.by_id.insert(id, index);
        if let Some(deadline) = deadline {
            self.watch_deadline(index, id, deadline);
        }
    }

    /// Wakes the connection at `deadline` to expire rpc `id` in slot `index`.
    #[cold]
    fn watch_deadline(&mut self, index: usize, id: u64, deadline: Instant) {
        let heap = &mut self.deadlines.heap;
        // Entries of rpcs that ended early pile up under a steady flow of short
        // calls with long deadlines: keep those that still count.
        if heap.len() >= 2 * self.by_id.len() + 64 {
            let slots = &self.slots;
            heap.retain(|Reverse((at, index, id))| {
                slots[*index]
                    .rpc
                    .is_some_and(|rpc| rpc.id == *id && rpc.deadline == Some(*at))
            });
        }
        heap.push(Reverse((deadline, index, id)));
    }

    /// Ends the rpc in slot `index`, dropping its work, and frees the slot.
    fn remove(&mut self, index: usize) {
        let Some(slot) = self.slots.get_mut(index) else {
            return;
        };
        let Some(rpc) = slot.rpc.take() else {
            return;
        };
        slot.clear(rpc.kind);
        slot.inbox = None;
        slot.credit = None;
        self.by_id.remove(&rpc.id);
        self.free.push(index);
    }

    /// Drops the work of rpc `id` in slot `index`, whose `deadline` has passed,
    /// and queues the slot to answer so; nothing if the slot has moved on.
    fn expire(&mut self, index: usize, id: u64, deadline: Instant) {
        let Some(slot) = self.slots.get_mut(index) else {
            return;
        };
        let Some(rpc) = slot.rpc.as_mut() else {
            return;
        };
        if rpc.id != id
            || rpc.deadline != Some(deadline)
            || matches!(rpc.kind, Kind::Expired | Kind::Done)
        {
            return;
        }
        tracing::debug!(
            id,
            during = rpc.kind.during(),
            "deadline passed; dropping the rpc's work"
        );
        let kind = std::mem::replace(&mut rpc.kind, Kind::Expired);
        slot.clear(kind);
        if slot.waker.queue() {
            self.woken.push_back(index);
        }
    }

    /// The next woken slot to poll. When those taken before are done, the newly
    /// woken ones are taken from `ready` once, with the connection's waker
    /// (`refill`, `None` after that): an rpc that wakes itself while polled is
    /// polled again on the connection's next poll, not in this one.
    fn next_woken(&mut self, refill: &mut Option<&Waker>) -> Option<usize> {
        if let Some(index) = self.woken.pop_front() {
            return Some(index);
        }
        self.ready.take(refill.take()?, &mut self.woken);
        self.woken.pop_front()
    }

    /// Polls the rpc in slot `index` once: the message it produced (its answer,
    /// its next item, its end, or the failure of a panic or a passed deadline),
    /// or `None`.
    fn poll_slot(&mut self, index: usize) -> Option<Response<Svc>> {
        let slot = self.slots.get_mut(index)?;
        // The slot may have been cancelled (and even reused) since it woke: a
        // spurious poll of the new rpc is harmless.
        let InFlight { id, kind, .. } = slot.rpc?;
        if kind == Kind::Expired {
            self.finish(index);
            return Some(Message::with_status(id, deadline_passed()));
        }
        if slot.inbox.is_some() || slot.credit.is_some() {
            if let Some(message) = self.poll_credit(index, id) {
                return message;
            }
        }
        let slot = &mut self.slots[index];
        let mut response = match slot.poll_work(kind) {
            Ok(Poll::Pending) => return None,
            Ok(Poll::Ready(Polled::Item(Some(response)))) => {
                if let Some(credit) = &mut slot.credit {
                    *credit -= 1;
                }
                if response.control_code() != ControlCode::Normal {
                    // The handler ended its stream with this (a status, say).
                    self.finish(index);
                } else if slot.waker.queue() {
                    // It may have more right away: poll it again in turn.
                    self.woken.push_back(index);
                }
                response
            }
            Ok(Poll::Ready(Polled::Unary(response))) => {
                self.finish(index);
                response
            }
            Ok(Poll::Ready(Polled::Item(None))) => {
                self.finish(index);
                return Some(Message::ended(id));
            }
            Ok(Poll::Ready(Polled::Hook(outcome))) => {
                let held = slot.hook.take();
                return match (outcome, held) {
                    (Ok(context), Some(held)) => {
                        self.run_held(index, id, held.request, held.requests, context)
                    }
                    (Err(status), _) => {
                        self.finish(index);
                        Some(Message::with_status(id, status))
                    }
                    (Ok(_), None) => unreachable!("a hook that ran held its request"),
                };
            }
            Err(panic) => {
                let answer = failed(id, kind.during(), &*panic);
                self.finish(index);
                return Some(answer);
            }
        };
        response.set_message_id(id);
        Some(response)
    }

    /// No rpc in flight (answers already queued are the connection's to send).
    fn idle(&self) -> bool {
        self.by_id.is_empty()
    }

    /// Starts the rpc of a `Normal` request, or answers why not.
    fn on_request(&mut self, mut request: Request<Svc>, replies: &mut Replies<Response<Svc>>) {
        let id = request.message_id();
        if self.phase == Phase::Draining && !self.by_id.contains_key(&id) {
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
        let service = &mut self.service;
        match catch_unwind(AssertUnwindSafe(|| {
            service.new_rpc_with_context(request, context)
        })) {
            Ok(Rpc::Unary(future)) => self.start_unary(id, deadline, future, replies),
            Ok(Rpc::Streaming(stream)) => {
                let index = self.free_slot();
                self.slots[index].streaming.put(stream);
                self.start_queued(index, id, Kind::Streaming, deadline);
                if let Some(credit) = self.open_credit(index, id, window) {
                    replies.push(credit);
                }
            }
            Ok(Rpc::Reject(status)) => refuse(replies, id, status),
            Err(panic) => replies.push(failed(id, "new_rpc", &*panic)),
        }
    }

    /// Runs the call hook on a request: the request and its context to start
    /// now, or `None` when the hook refused it (answered) or holds it (an async
    /// hook, whose future now runs in a slot).
    #[cold]
    fn hook(
        &mut self,
        request: Request<Svc>,
        context: CallContext,
        replies: &mut Replies<Response<Svc>>,
    ) -> Option<(Request<Svc>, CallContext)> {
        let (id, deadline) = (context.id(), context.deadline());
        match self.call_hook.as_ref()?.run(context) {
            Ok(Hooked::Ready(context)) => Some((request, context)),
            Ok(Hooked::Later(future)) => {
                let index = self.free_slot();
                self.slots[index].hook = Some(Held {
                    future,
                    request,
                    requests: None,
                });
                self.start_queued(index, id, Kind::Hook, deadline);
                None
            }
            Err(status) => {
                tracing::debug!(id, %status, "call hook refused the request");
                refuse(replies, id, status);
                None
            }
        }
    }

    /// Starts rpc `id`, in flight in slot `index` already (its request held by
    /// an async call hook that let it through, or one that takes `requests`):
    /// its first message, if it has one at once.
    fn run_held(
        &mut self,
        index: usize,
        id: u64,
        request: Request<Svc>,
        requests: Option<RequestStream<Request<Svc>>>,
        context: CallContext,
    ) -> Option<Response<Svc>> {
        let window = request.credit();
        let service = &mut self.service;
        let kind = match catch_unwind(AssertUnwindSafe(|| match requests {
            None => service.new_rpc_with_context(request, context),
            Some(requests) => service.new_rpc_with_requests(request, context, requests),
        })) {
            Ok(Rpc::Unary(future)) => {
                self.slots[index].unary.put(future);
                Kind::Unary
            }
            Ok(Rpc::Streaming(stream)) => {
                self.slots[index].streaming.put(stream);
                Kind::Streaming
            }
            // Refused or failed at once: an rpc that takes input keeps its id,
            // with no work, until the client's End or Cancel (see `finish`).
            Ok(Rpc::Reject(status)) => {
                self.finish(index);
                return Some(Message::with_status(id, status));
            }
            Err(panic) => {
                self.finish(index);
                return Some(failed(id, "new_rpc", &*panic));
            }
        };
        if let Some(rpc) = self.slots[index].rpc.as_mut() {
            rpc.kind = kind;
        }
        if let Some(credit) = self.open_credit(index, id, window) {
            // Its work is polled in turn, after the grant goes out.
            self.slots[index].waker.set_queued();
            self.woken.push_back(index);
            return Some(credit);
        }
        self.poll_slot(index)
    }

    /// Drops the work of every rpc whose deadline has come up.
    fn poll_deadlines(&mut self, cx: &mut Context<'_>) {
        self.deadlines.poll_expired(cx, &mut self.expired);
        let mut expired = std::mem::take(&mut self.expired);
        for (index, id, deadline) in expired.drain(..) {
            self.expire(index, id, deadline);
        }
        self.expired = expired;
    }
}

/// Request streams: rpcs that take the client's later messages (`server::inbox`).
impl<Svc, C> RpcServerReactor<Svc, C>
where
    Svc: ConnectionService,
    C: Encoder<Message = Response<Svc>> + Decoder<Message = Request<Svc>>,
{
    /// Starts the rpc of `request`, which takes a request stream. Its id is in
    /// flight from here until the client ends its input, whatever happens to the
    /// rpc's work (a hook's or the service's refusal, a panic, its deadline), so
    /// the client's later messages never start rpcs of their own.
    #[cold]
    fn start_with_input(
        &mut self,
        request: Request<Svc>,
        context: CallContext,
        replies: &mut Replies<Response<Svc>>,
    ) {
        let (id, deadline) = (context.id(), context.deadline());
        let (writer, reader) = stream_buffer(self.request_stream_buffer);
        let requests = RequestStream::new(reader);
        let index = self.free_slot();
        self.slots[index].inbox = Some(writer);
        self.track(index, id, Kind::Done, deadline);
        if let Some(rpc) = self.slots[index].rpc.as_mut() {
            rpc.takes_input = true;
        }
        let hooked = match &self.call_hook {
            None => Ok(Hooked::Ready(context)),
            Some(hook) => hook.run(context),
        };
        let context = match hooked {
            Ok(Hooked::Ready(context)) => context,
            Ok(Hooked::Later(future)) => {
                let slot = &mut self.slots[index];
                slot.hook = Some(Held {
                    future,
                    request,
                    requests: Some(requests),
                });
                if let Some(rpc) = slot.rpc.as_mut() {
                    rpc.kind = Kind::Hook;
                }
                // Not polled yet: ready by definition.
                slot.waker.set_queued();
                self.woken.push_back(index);
                return;
            }
            Err(status) => {
                tracing::debug!(id, %status, "call hook refused the request");
                return refuse(replies, id, status);
            }
        };
        if let Some(message) = self.run_held(index, id, request, Some(requests), context) {
            replies.push(message);
        }
    }

    /// Lets rpc `id` in slot `index` flow by credit if its client speaks it (its
    /// request carried a `window`) and the response type can carry it: its
    /// response stream sends at most what the client granted, its request
    /// stream grants the client `request_stream_buffer` and more as the handler
    /// reads. The first `Credit` tells the client so.
    fn open_credit(&mut self, index: usize, id: u64, window: u32) -> Option<Response<Svc>> {
        if window == 0 || !self.credit_ok {
            return None;
        }
        let slot = &mut self.slots[index];
        if slot.rpc.is_some_and(|rpc| rpc.kind == Kind::Streaming) {
            slot.credit = Some(window);
        }
        let grant = match &slot.inbox {
            Some(inbox) => {
                inbox.flow_by_credit(Some(slot.waker.waker().clone()));
                u32::try_from(self.request_stream_buffer).unwrap_or(u32::MAX)
            }
            None => 0,
        };
        Some(credit_message(id, grant))
    }

    /// What the slot owes or lacks by credit: the credit its handler gave back
    /// by reading its request stream (to send now), or `Some(None)` when its
    /// response stream has no credit left (it is not polled until the client
    /// grants more). `None` to poll its work.
    fn poll_credit(&mut self, index: usize, id: u64) -> Option<Option<Response<Svc>>> {
        let slot = &mut self.slots[index];
        let owed = slot.inbox.as_ref().map_or(0, BufferWriter::take_credit);
        if owed > 0 {
            // Its work may be ready too: poll it again in turn.
            slot.waker.set_queued();
            self.woken.push_back(index);
            return Some(Some(credit_message(id, owed)));
        }
        (slot.credit == Some(0)).then_some(None)
    }

    /// The client's `Credit(id)`: its response stream may send `credit` more.
    fn on_credit(&mut self, id: u64, credit: u32) {
        let Some(index) = self.by_id.get(&id).copied() else {
            return;
        };
        let slot = &mut self.slots[index];
        if let Some(left) = &mut slot.credit {
            *left = left.saturating_add(credit);
            // It may have stopped for want of credit: poll it in turn.
            slot.waker.set_queued();
            self.woken.push_back(index);
        }
    }

    /// A `Normal` message with the id of rpc in slot `index`, in flight: the
    /// next request of an rpc that takes a request stream, or a duplicate.
    fn on_in_flight(
        &mut self,
        index: usize,
        request: Request<Svc>,
        replies: &mut Replies<Response<Svc>>,
    ) {
        let slot = &mut self.slots[index];
        if !slot.rpc.is_some_and(|rpc| rpc.takes_input) {
            let id = request.message_id();
            tracing::warn!(id, "request for an id already in flight; rejected");
            let status = Status::already_exists("an rpc with this id is in flight");
            return refuse(replies, id, status);
        }
        // After the client's End (or once the rpc's work has dropped its stream)
        // what still arrives is discarded.
        if let Some(inbox) = &slot.inbox {
            if inbox.push(request) {
                self.full.add(inbox.shared());
            }
        }
    }

    /// Whether the rpc in slot `index` has finished its work and waits only for
    /// the client to end its input.
    fn is_done(&self, index: usize) -> bool {
        self.slots[index]
            .rpc
            .is_some_and(|rpc| rpc.kind == Kind::Done)
    }

    /// The work of the rpc in slot `index` is over (answered, ended or failed):
    /// the slot is freed, unless the client's input is still open.
    fn finish(&mut self, index: usize) {
        let slot = &mut self.slots[index];
        match slot.rpc {
            Some(mut rpc) if slot.inbox.is_some() => {
                slot.clear(rpc.kind);
                rpc.kind = Kind::Done;
                slot.rpc = Some(rpc);
            }
            _ => self.remove(index),
        }
    }

    /// The client's `End(id)`: the rpc's request stream ends after what it holds;
    /// an rpc whose work is over leaves.
    fn on_input_end(&mut self, id: u64) {
        let Some(index) = self.by_id.get(&id).copied() else {
            tracing::debug!(id, "end for an rpc not in flight; ignored");
            return;
        };
        let slot = &mut self.slots[index];
        match slot.inbox.take() {
            Some(inbox) => inbox.end(()),
            None => tracing::debug!(id, "end for an rpc that takes no requests; ignored"),
        }
        if self.is_done(index) {
            self.remove(index);
        }
    }

    /// The client's input ended (EOF): every request stream ends, and the rpcs
    /// whose work is over leave.
    fn end_inputs(&mut self) {
        for index in 0..self.slots.len() {
            let slot = &mut self.slots[index];
            if let Some(inbox) = slot.inbox.take() {
                inbox.end(());
                if self.is_done(index) {
                    self.remove(index);
                }
            }
        }
    }
}

/// Answers request `id` with `status`, refusing it.
#[cold]
fn refuse<M: Message>(replies: &mut Replies<M>, id: u64, status: Status) {
    replies.push(M::with_status(id, status));
}

/// The status of an rpc whose deadline passed on the server.
fn deadline_passed() -> Status {
    Status::deadline_exceeded("the rpc's deadline passed on the server")
}

/// Logs a panic in rpc `id`'s handler and builds the answer that fails it alone.
#[cold]
fn failed<M: Message>(id: u64, during: &str, panic: &(dyn Any + Send)) -> M {
    let message = panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(not a string)");
    tracing::error!(
        id,
        during,
        panic = message,
        "rpc handler panicked; failing that rpc"
    );
    M::with_status(
        id,
        Status::internal("the server's handler for this rpc panicked"),
    )
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
            ControlCode::Normal => self.on_request(request, replies),
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
            code => tracing::debug!(id, ?code, "control code from a client; ignored"),
        }
        ReactorStatus::Continue
    }

    fn on_outbound_message(&mut self, response: Response<Svc>) -> Response<Svc> {
        response
    }

    fn poll_inbound_ready(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        self.full.poll_ready(cx)
    }

    fn poll(&mut self, cx: &mut Context<'_>) -> ReactorStatus {
        self.ready.register(cx.waker());
        if !self.deadlines.heap.is_empty() {
            self.poll_deadlines(cx);
        }
        if self.phase != Phase::Open && self.idle() {
            return ReactorStatus::Disconnect;
        }
        ReactorStatus::Continue
    }

    fn poll_outbound(&mut self, cx: &mut Context<'_>) -> Poll<Option<Response<Svc>>> {
        let mut refill = Some(cx.waker());
        while let Some(index) = self.next_woken(&mut refill) {
            if let Some(message) = self.poll_slot(index) {
                return Poll::Ready(Some(message));
            }
        }
        Poll::Pending
    }

    fn on_read_closed(&mut self) -> ReactorStatus {
        if self.phase == Phase::Open {
            self.phase = Phase::ReadClosed;
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
        self.phase = Phase::Draining;
        if self.idle() {
            ReactorStatus::Disconnect
        } else {
            tracing::debug!(
                in_flight = self.by_id.len(),
                "draining: letting rpcs finish"
            );
            ReactorStatus::Continue
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
