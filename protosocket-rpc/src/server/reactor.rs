//! The server's reactor: starts rpcs, polls their work when there is room to
//! send, and cancels them.

use std::any::Any;
use std::collections::hash_map::Entry;
use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use futures_core::Stream;
use protosocket::{Decoder, Encoder, MessageReactor, ReactorStatus, Replies};

use crate::id_map::{id_map, IdMap};
use crate::message::{ControlCode, Message};
use crate::server::ready::{ReadyQueue, RpcWaker};
use crate::server::service::{ConnectionService, Rpc};

type Request<S> = <S as ConnectionService>::Request;
type Response<S> = <S as ConnectionService>::Response;

enum Work<U, S> {
    Unary(Pin<Box<U>>),
    Streaming(Pin<Box<S>>),
}

struct InFlight<Svc: ConnectionService> {
    id: u64,
    work: Work<Svc::Unary, Svc::Streaming>,
}

/// A slot's waker, made once and kept for every rpc the slot holds. A wake left
/// over from the slot's previous rpc costs the next one a spurious poll.
struct SlotWaker {
    state: Arc<RpcWaker>,
    waker: Waker,
}

/// The [`MessageReactor`] of a server connection: runs a [`ConnectionService`]'s
/// rpcs.
///
/// A `Normal` request starts an rpc (or is answered `Cancel` when the service
/// rejects it, when `max_in_flight` rpcs are already running, or when its id is
/// already in flight). A `Cancel` drops that rpc's work and is answered `Cancel`;
/// a cancel for an rpc not in flight (finished, or never started) is ignored.
/// `End` (and any other code) from a client means nothing and is ignored.
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
    slots: Vec<Option<InFlight<Svc>>>,
    /// Indexed like `slots`.
    wakers: Vec<SlotWaker>,
    free: Vec<usize>,
    by_id: IdMap<usize>,
    ready: Arc<ReadyQueue>,
    /// Woken slots taken from `ready`, to poll in turn.
    woken: VecDeque<usize>,
    max_in_flight: usize,
    read_closed: bool,
    /// Set by a graceful close: new requests are refused.
    draining: bool,
    /// A ping went out and nothing has arrived since.
    ping_outstanding: bool,
    /// The client has sent or answered a ping: it speaks liveness.
    peer_pongs: bool,
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
            wakers: Vec::new(),
            free: Vec::new(),
            by_id: id_map(),
            ready: Arc::new(ReadyQueue::default()),
            woken: VecDeque::new(),
            max_in_flight: max_in_flight.max(1),
            read_closed: false,
            draining: false,
            ping_outstanding: false,
            peer_pongs: false,
            _codec: std::marker::PhantomData,
        }
    }

    /// Rpcs started and not yet finished or cancelled.
    pub fn in_flight(&self) -> usize {
        self.by_id.len()
    }

    /// The service.
    pub fn service(&self) -> &Svc {
        &self.service
    }

    /// A free slot, made (with its waker) if there is none.
    fn free_slot(&mut self) -> usize {
        if let Some(slot) = self.free.pop() {
            return slot;
        }
        let slot = self.slots.len();
        let state = RpcWaker::new(slot, Arc::clone(&self.ready));
        let waker = Waker::from(Arc::clone(&state));
        self.slots.push(None);
        self.wakers.push(SlotWaker { state, waker });
        slot
    }

    /// Starts rpc `id`. A unary future is polled at once, in its slot with the
    /// slot's waker: the connection hands the reactor a request only when its
    /// send queue has room for an answer, and most unary work is ready on its
    /// first poll, which then costs no slot, no id entry and no queueing. Other
    /// work is queued to be polled from `poll_outbound`.
    fn start(
        &mut self,
        id: u64,
        work: Work<Svc::Unary, Svc::Streaming>,
        replies: &mut Replies<Response<Svc>>,
    ) {
        let slot = self.free_slot();
        let waker = &self.wakers[slot];
        match work {
            Work::Unary(mut future) => {
                waker.state.queued.store(false, Ordering::Release);
                let mut cx = Context::from_waker(&waker.waker);
                let polled = catch_unwind(AssertUnwindSafe(|| future.as_mut().poll(&mut cx)));
                let answer = match polled {
                    Ok(Poll::Pending) => None,
                    Ok(Poll::Ready(mut response)) => {
                        response.set_message_id(id);
                        Some(response)
                    }
                    Err(panic) => Some(failed(id, "unary future", &*panic)),
                };
                if let Some(answer) = answer {
                    // A wake during that poll may have queued the slot: a spurious
                    // poll of whatever holds it next is harmless.
                    self.free.push(slot);
                    replies.push(answer);
                    return;
                }
                self.slots[slot] = Some(InFlight {
                    id,
                    work: Work::Unary(future),
                });
            }
            Work::Streaming(stream) => {
                self.slots[slot] = Some(InFlight {
                    id,
                    work: Work::Streaming(stream),
                });
                // A new stream has not been polled yet: it is ready by definition.
                waker.state.queued.store(true, Ordering::Release);
                self.woken.push_back(slot);
            }
        }
        self.by_id.insert(id, slot);
    }

    fn remove(&mut self, slot: usize) -> Option<InFlight<Svc>> {
        let rpc = self.slots.get_mut(slot)?.take()?;
        self.by_id.remove(&rpc.id);
        self.free.push(slot);
        Some(rpc)
    }

    /// No rpc in flight (answers already queued are the connection's to send).
    fn idle(&self) -> bool {
        self.by_id.is_empty()
    }

    /// Starts the rpc of a `Normal` request, or answers why not.
    fn on_request(&mut self, request: Request<Svc>, replies: &mut Replies<Response<Svc>>) {
        let id = request.message_id();
        if self.draining {
            tracing::debug!(id, "request while shutting down; refused");
            replies.push(Message::control(id, ControlCode::Unavailable));
            return;
        }
        let full = self.by_id.len() >= self.max_in_flight;
        match self.by_id.entry(id) {
            Entry::Occupied(_) => {
                tracing::warn!(id, "request for an id already in flight; rejected");
                replies.push(Message::cancelled(id));
            }
            Entry::Vacant(_) if full => {
                tracing::debug!(id, max = self.max_in_flight, "too many rpcs in flight");
                replies.push(Message::cancelled(id));
            }
            Entry::Vacant(_) => {
                let service = &mut self.service;
                let work = match catch_unwind(AssertUnwindSafe(|| service.new_rpc(request))) {
                    Ok(Rpc::Unary(future)) => Work::Unary(Box::pin(future)),
                    Ok(Rpc::Streaming(stream)) => Work::Streaming(Box::pin(stream)),
                    Ok(Rpc::Reject) => {
                        replies.push(Message::cancelled(id));
                        return;
                    }
                    Err(panic) => {
                        replies.push(failed(id, "new_rpc", &*panic));
                        return;
                    }
                };
                self.start(id, work, replies);
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

// Nothing in the reactor is pinned in place: rpc work is boxed.
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
                    // Dropping the work is the cancellation.
                    drop(self.remove(slot));
                    replies.push(Message::cancelled(id));
                }
                None => tracing::debug!(id, "cancel for an rpc not in flight; ignored"),
            },
            code => tracing::debug!(id, ?code, "control code from a client; ignored"),
        }
        ReactorStatus::Continue
    }

    fn on_outbound_message(&mut self, response: Response<Svc>) -> Response<Svc> {
        response
    }

    fn poll(&mut self, cx: &mut Context<'_>) -> ReactorStatus {
        self.ready.register(cx.waker());
        if (self.read_closed || self.draining) && self.idle() {
            return ReactorStatus::Disconnect;
        }
        ReactorStatus::Continue
    }

    fn poll_outbound(&mut self, cx: &mut Context<'_>) -> Poll<Option<Response<Svc>>> {
        // Take newly woken rpcs at most once per call: an rpc that wakes itself
        // while polled is polled again on the connection's next poll, not here.
        let mut refilled = false;
        loop {
            let Some(slot) = self.woken.pop_front() else {
                if refilled {
                    return Poll::Pending;
                }
                refilled = true;
                self.ready.take(cx.waker(), &mut self.woken);
                continue;
            };
            // The slot may have been cancelled (and even reused) since it woke: a
            // spurious poll of the new rpc is harmless.
            let Some(rpc) = self.slots.get_mut(slot).and_then(Option::as_mut) else {
                continue;
            };
            let slot_waker = &self.wakers[slot];
            slot_waker.state.queued.store(false, Ordering::Release);
            let id = rpc.id;
            let mut rpc_cx = Context::from_waker(&slot_waker.waker);
            let polled = catch_unwind(AssertUnwindSafe(|| match &mut rpc.work {
                Work::Unary(future) => future.as_mut().poll(&mut rpc_cx).map(Polled::Unary),
                Work::Streaming(stream) => stream.as_mut().poll_next(&mut rpc_cx).map(Polled::Item),
            }));
            match polled {
                Err(panic) => {
                    let during = match rpc.work {
                        Work::Unary(_) => "unary future",
                        Work::Streaming(_) => "response stream",
                    };
                    let answer = failed(id, during, &*panic);
                    self.remove(slot);
                    return Poll::Ready(Some(answer));
                }
                Ok(Poll::Pending) => {}
                Ok(Poll::Ready(Polled::Unary(mut response))) => {
                    self.remove(slot);
                    response.set_message_id(id);
                    return Poll::Ready(Some(response));
                }
                Ok(Poll::Ready(Polled::Item(item))) => match item {
                    Some(mut response) => {
                        // It may have more right away: poll it again in turn.
                        if !slot_waker.state.queued.swap(true, Ordering::AcqRel) {
                            self.woken.push_back(slot);
                        }
                        response.set_message_id(id);
                        return Poll::Ready(Some(response));
                    }
                    None => {
                        self.remove(slot);
                        return Poll::Ready(Some(Message::ended(id)));
                    }
                },
            }
        }
    }

    fn on_read_closed(&mut self) -> ReactorStatus {
        self.read_closed = true;
        if self.idle() {
            ReactorStatus::Disconnect
        } else {
            ReactorStatus::Continue
        }
    }

    /// Only a ping to a client known to answer pings: rpcs in flight are the
    /// server's work, not the client's.
    fn awaits_peer(&self) -> bool {
        self.ping_outstanding && self.peer_pongs
    }

    fn ping(&mut self) -> Option<Response<Svc>> {
        self.ping_outstanding = true;
        Some(Message::control(0, ControlCode::Ping))
    }

    fn on_close_requested(&mut self) -> ReactorStatus {
        self.draining = true;
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

/// What one poll of an rpc's work produced.
enum Polled<R> {
    Unary(R),
    Item(Option<R>),
}

impl<Svc: ConnectionService, C> fmt::Debug for RpcServerReactor<Svc, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RpcServerReactor")
            .field("in_flight", &self.by_id.len())
            .field("max_in_flight", &self.max_in_flight)
            .field("read_closed", &self.read_closed)
            .field("draining", &self.draining)
            .finish()
    }
}
