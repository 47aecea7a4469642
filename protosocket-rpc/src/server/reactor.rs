//! The server's reactor: starts rpcs, polls their work when there is room to
//! send, and cancels them.

use std::any::Any;
use std::collections::hash_map::Entry;
use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use futures_core::Stream;
use protosocket::{Decoder, Encoder, MessageReactor, ReactorStatus, Replies};

use crate::message::{credit_message, speaks_credit, ControlCode, Message};
use crate::server::id_map::{id_map, IdMap};
use crate::server::inbox::RequestStream;
use crate::server::service::{ConnectionService, Rpc};
use crate::server::waker::SlotWaker;
use crate::stream_buffer::{stream_buffer, BufferWriter, FullBuffers};
use crate::woken::WokenQueue;

type Request<S> = <S as ConnectionService>::Request;
type Response<S> = <S as ConnectionService>::Response;

/// Which kind of work an rpc in flight has in its slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Unary,
    Streaming,
    /// The work is over; the id stays in flight until the client ends the rpc's
    /// input (see `server::inbox`).
    Done,
}

impl Kind {
    /// What was running when it panicked, for the log.
    fn during(self) -> &'static str {
        match self {
            Kind::Unary => "unary future",
            Kind::Streaming => "response stream",
            Kind::Done => "nothing",
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
    Unary(R),
    Item(Option<R>),
}

#[derive(Debug, Clone, Copy)]
struct InFlight {
    id: u64,
    kind: Kind,
    /// The rpc took a request stream: later `Normal` messages with its id are
    /// its requests, not duplicates.
    takes_input: bool,
}

/// Where an rpc runs: its work while in flight, and the waker it is polled with;
/// the places and the waker stay with the slot from one rpc to the next.
struct Slot<Svc: ConnectionService> {
    /// `None` while the slot is free.
    rpc: Option<InFlight>,
    unary: Place<Svc::Unary>,
    streaming: Place<Svc::Streaming>,
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
            Kind::Done => Poll::Pending,
        }))
    }

    /// Drops the work of `kind`.
    fn clear(&mut self, kind: Kind) {
        match kind {
            Kind::Unary => self.unary.clear(),
            Kind::Streaming => self.streaming.clear(),
            Kind::Done => {}
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
/// A `Normal` request starts an rpc (or is answered `Cancel` when the service
/// rejects it, when `max_in_flight` rpcs are already running, or when its id is
/// already in flight). A `Normal` message with the id of an rpc that took a
/// request stream is that stream's next request instead, and the client's `End`
/// ends the stream (see [`RequestStream`]); while a request stream is full, the
/// reactor holds inbound ([`MessageReactor::poll_inbound_ready`]) unless the
/// client flows by credit. A `Cancel` drops that rpc's work and is answered
/// `Cancel`; a cancel for an rpc not in flight (finished, or never started) is
/// ignored. A `Credit` lets that rpc's response stream send more. Other codes
/// from a client mean nothing and are ignored.
///
/// A panic in the service (in `new_rpc`, a unary future or a response stream)
/// fails that rpc alone: it is logged with the rpc's id, its work is dropped and
/// the client is answered [`ControlCode::Failed`]; the connection and its other
/// rpcs go on.
///
/// It answers a client's `Ping` with `Pong`, and pings a quiet client itself when
/// the connection has [`Liveness`](protosocket::Liveness) configured.
///
/// On a graceful close (a server shutting down) the rpcs in flight run to their
/// end while new requests are answered [`ControlCode::Unavailable`]; the
/// connection closes once none is left.
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
            request_stream_buffer: 64,
            full: FullBuffers::new(),
            credit_ok: speaks_credit::<Response<Svc>>(),
            _codec: std::marker::PhantomData,
        }
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
    fn start_unary(&mut self, id: u64, future: Svc::Unary, replies: &mut Replies<Response<Svc>>) {
        let index = self.free_slot();
        let slot = &mut self.slots[index];
        slot.unary.put(future);
        let answer = match slot.poll_work(Kind::Unary) {
            Ok(Poll::Pending) => {
                self.track(index, id, Kind::Unary);
                return;
            }
            Ok(Poll::Ready(Polled::Unary(mut response))) => {
                slot.unary.clear();
                response.set_message_id(id);
                response
            }
            Ok(Poll::Ready(Polled::Item(_))) => unreachable!("a unary future yields no items"),
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

    /// Starts streaming rpc `id`, queued to be polled from `poll_outbound`.
    fn start_streaming(&mut self, id: u64, stream: Svc::Streaming) -> usize {
        let index = self.free_slot();
        let slot = &mut self.slots[index];
        slot.streaming.put(stream);
        // A new stream has not been polled yet: it is ready by definition.
        slot.waker.set_queued();
        self.woken.push_back(index);
        self.track(index, id, Kind::Streaming);
        index
    }

    /// Puts rpc `id`, whose work is in slot `index`, in flight.
    fn track(&mut self, index: usize, id: u64, kind: Kind) {
        self.slots[index].rpc = Some(InFlight {
            id,
            kind,
            takes_input: false,
        });
        self.by_id.insert(id, index);
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
    /// its next item, its end, or the failure of a panic), or `None`.
    fn poll_slot(&mut self, index: usize) -> Option<Response<Svc>> {
        let slot = self.slots.get_mut(index)?;
        // The slot may have been cancelled (and even reused) since it woke: a
        // spurious poll of the new rpc is harmless.
        let InFlight { id, kind, .. } = slot.rpc?;
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
                // It may have more right away: poll it again in turn.
                if slot.waker.queue() {
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
    fn on_request(&mut self, request: Request<Svc>, replies: &mut Replies<Response<Svc>>) {
        let id = request.message_id();
        if self.phase == Phase::Draining && !self.by_id.contains_key(&id) {
            tracing::debug!(id, "request while shutting down; refused");
            replies.push(Message::control(id, ControlCode::Unavailable));
            return;
        }
        let full = self.by_id.len() >= self.max_in_flight;
        match self.by_id.entry(id) {
            Entry::Occupied(entry) => {
                let index = *entry.get();
                self.on_in_flight(index, request, replies);
            }
            Entry::Vacant(_) if full => {
                tracing::debug!(id, max = self.max_in_flight, "too many rpcs in flight");
                replies.push(Message::cancelled(id));
            }
            Entry::Vacant(_) if self.service.takes_request_stream(&request) => {
                self.start_with_input(id, request, replies);
            }
            Entry::Vacant(_) => {
                let window = request.credit();
                let service = &mut self.service;
                match catch_unwind(AssertUnwindSafe(|| service.new_rpc(request))) {
                    Ok(Rpc::Unary(future)) => self.start_unary(id, future, replies),
                    Ok(Rpc::Streaming(stream)) => {
                        let index = self.start_streaming(id, stream);
                        self.open_credit(index, id, window, replies);
                    }
                    Ok(Rpc::Reject) => replies.push(Message::cancelled(id)),
                    Err(panic) => replies.push(failed(id, "new_rpc", &*panic)),
                }
            }
        }
    }
}

/// Request streams: rpcs that take the client's later messages (`server::inbox`).
impl<Svc, C> RpcServerReactor<Svc, C>
where
    Svc: ConnectionService,
    C: Encoder<Message = Response<Svc>> + Decoder<Message = Request<Svc>>,
{
    /// Starts rpc `id`, which takes a request stream, queued to be polled from
    /// `poll_outbound`; its id stays in flight until the client ends its input.
    #[cold]
    fn start_with_input(
        &mut self,
        id: u64,
        request: Request<Svc>,
        replies: &mut Replies<Response<Svc>>,
    ) {
        let (writer, reader) = stream_buffer(self.request_stream_buffer);
        let window = request.credit();
        let service = &mut self.service;
        let requests = RequestStream::new(reader);
        let kind = match catch_unwind(AssertUnwindSafe(|| {
            service.new_rpc_with_requests(request, requests)
        })) {
            Ok(Rpc::Unary(future)) => {
                let index = self.free_slot();
                self.slots[index].unary.put(future);
                (index, Kind::Unary)
            }
            Ok(Rpc::Streaming(stream)) => {
                let index = self.free_slot();
                self.slots[index].streaming.put(stream);
                (index, Kind::Streaming)
            }
            // Refused or failed at once: the client's input still ends with End
            // or Cancel, which then finds no rpc and is ignored, and its items
            // must not start rpcs: keep the id, with no work, until then.
            Ok(Rpc::Reject) => {
                replies.push(Message::cancelled(id));
                (self.free_slot(), Kind::Done)
            }
            Err(panic) => {
                replies.push(failed(id, "new_rpc_with_requests", &*panic));
                (self.free_slot(), Kind::Done)
            }
        };
        let (index, kind) = kind;
        let slot = &mut self.slots[index];
        slot.inbox = Some(writer);
        slot.rpc = Some(InFlight {
            id,
            kind,
            takes_input: true,
        });
        self.by_id.insert(id, index);
        if kind != Kind::Done {
            // Not polled yet: ready by definition.
            slot.waker.set_queued();
            self.woken.push_back(index);
            self.open_credit(index, id, window, replies);
        }
    }

    /// Lets rpc `id` in slot `index` flow by credit if its client speaks it (its
    /// request carried a `window`) and the response type can carry it: its
    /// response stream sends at most what the client granted, its request
    /// stream grants the client `request_stream_buffer` and more as the handler
    /// reads. The first `Credit` tells the client so.
    fn open_credit(
        &mut self,
        index: usize,
        id: u64,
        window: u32,
        replies: &mut Replies<Response<Svc>>,
    ) {
        if window == 0 || !self.credit_ok {
            return;
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
        replies.push(credit_message(id, grant));
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
            replies.push(Message::cancelled(id));
            return;
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
    M::control(id, ControlCode::Failed)
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
                        replies.push(Message::cancelled(id));
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
