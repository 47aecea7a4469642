//! Dispatch: starting rpcs in slots, polling the woken ones for what they
//! produce, and the answers that refuse or fail an rpc.

use std::any::Any;
use std::task::{Poll, Waker};
use std::time::Instant;

use protosocket::{Decoder, Encoder, Replies};

use super::deadlines::deadline_passed;
use super::slot::{Held, InFlight, Kind, Place, Polled, Slot, StartPanic, Started};
use super::{Request, Response, RpcServerReactor};
use crate::hook::Hooked;
use crate::message::{ControlCode, Message};
use crate::server::context::CallContext;
use crate::server::inbox::RequestStream;
use crate::server::service::ConnectionService;
use crate::server::waker::SlotWaker;
use crate::status::Status;

/// Slots and their work.
impl<Svc, C> RpcServerReactor<Svc, C>
where
    Svc: ConnectionService,
    C: Encoder<Message = Response<Svc>> + Decoder<Message = Request<Svc>>,
{
    /// The index of a free slot, made (with its waker) if there is none.
    pub(super) fn free_slot(&mut self) -> usize {
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

    /// Goes on with unary rpc `id`, whose future is in slot `index`'s place
    /// and was polled once as it started (see [`Slot::start`]): the connection
    /// hands the reactor a request only when its send queue has room for an
    /// answer, and most unary work is ready on its first poll, which then costs
    /// no id entry and no queueing, and gives the slot straight back. Work still
    /// pending is polled from `poll_outbound` when it wakes.
    pub(super) fn start_unary(
        &mut self,
        index: usize,
        id: u64,
        deadline: Option<Instant>,
        polled: Poll<Response<Svc>>,
        replies: &mut Replies<Response<Svc>>,
    ) {
        let Poll::Ready(mut response) = polled else {
            self.track(index, id, Kind::Unary, deadline);
            return;
        };
        self.slots[index].unary.clear();
        response.set_message_id(id);
        // A wake during that poll may have queued the slot: a spurious poll of
        // whatever holds it next is harmless.
        self.free.push(index);
        replies.push(response);
    }

    /// Answers rpc `id`, which panicked as it started in slot `index` (in the
    /// service's `new_rpc` or its unary future's first poll), and frees the
    /// slot.
    #[cold]
    pub(super) fn start_panicked(
        &mut self,
        index: usize,
        id: u64,
        panic: StartPanic,
    ) -> Response<Svc> {
        let answer = match panic {
            StartPanic::NewRpc(panic) => failed(id, "new_rpc", &*panic),
            StartPanic::FirstPoll(panic) => {
                self.slots[index].unary.clear();
                failed(id, Kind::Unary.during(), &*panic)
            }
        };
        self.free.push(index);
        answer
    }

    /// Puts `kind` of work (already in slot `index`'s place) in flight as rpc
    /// `id`, queued to be polled from `poll_outbound`.
    pub(super) fn start_queued(
        &mut self,
        index: usize,
        id: u64,
        kind: Kind,
        deadline: Option<Instant>,
    ) {
        // Work not polled yet is ready by definition.
        self.slots[index].waker.set_queued();
        self.woken.push_back(index);
        self.track(index, id, kind, deadline);
    }

    /// Puts rpc `id`, whose work is in slot `index`, in flight.
    pub(super) fn track(&mut self, index: usize, id: u64, kind: Kind, deadline: Option<Instant>) {
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

    /// Ends the rpc in slot `index`, dropping its work, and frees the slot.
    pub(super) fn remove(&mut self, index: usize) {
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
    pub(super) fn next_woken(&mut self, refill: &mut Option<&Waker>) -> Option<usize> {
        if let Some(index) = self.woken.pop_front() {
            return Some(index);
        }
        self.ready.take(refill.take()?, &mut self.woken);
        self.woken.pop_front()
    }

    /// Polls the rpc in slot `index` once: the message it produced (its answer,
    /// its next item, its end, or the failure of a panic or a passed deadline),
    /// or `None`.
    pub(super) fn poll_slot(&mut self, index: usize) -> Option<Response<Svc>> {
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

    /// Runs the call hook on a request: the request and its context to start
    /// now, or `None` when the hook refused it (answered) or holds it (an async
    /// hook, whose future now runs in a slot).
    #[cold]
    pub(super) fn hook(
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
    pub(super) fn run_held(
        &mut self,
        index: usize,
        id: u64,
        request: Request<Svc>,
        requests: Option<RequestStream<Request<Svc>>>,
        context: CallContext,
    ) -> Option<Response<Svc>> {
        let window = request.credit();
        let service = &mut self.service;
        // Not polled at once: a credit grant goes out first (below).
        let kind = match self.slots[index].start(false, || match requests {
            None => service.new_rpc_with_context(request, context),
            Some(requests) => service.new_rpc_with_requests(request, context, requests),
        }) {
            Ok(Started::Unary(_)) => Kind::Unary,
            Ok(Started::Streaming) => Kind::Streaming,
            // Refused or failed at once: an rpc that takes input keeps its id,
            // with no work, until the client's End or Cancel (see `finish`).
            Ok(Started::Reject(status)) => {
                self.finish(index);
                return Some(Message::with_status(id, status));
            }
            // Only `new_rpc` ran: nothing was polled.
            Err(StartPanic::NewRpc(panic) | StartPanic::FirstPoll(panic)) => {
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
}

/// Answers request `id` with `status`, refusing it.
#[cold]
pub(super) fn refuse<M: Message>(replies: &mut Replies<M>, id: u64, status: Status) {
    replies.push(M::with_status(id, status));
}

/// Logs a panic in rpc `id`'s handler and builds the answer that fails it alone.
#[cold]
pub(super) fn failed<M: Message>(id: u64, during: &str, panic: &(dyn Any + Send)) -> M {
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
