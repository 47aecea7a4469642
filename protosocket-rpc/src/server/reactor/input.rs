//! Request streams: rpcs that take the client's later messages
//! (`server::inbox`), their credit, and the end of their input.

use protosocket::{Decoder, Encoder, Replies};

use super::dispatch::refuse;
use super::slot::{Held, Kind};
use super::{Request, Response, RpcServerReactor};
use crate::hook::Hooked;
use crate::message::{credit_message, Message};
use crate::server::context::CallContext;
use crate::server::inbox::RequestStream;
use crate::server::service::ConnectionService;
use crate::status::Status;
use crate::stream_buffer::{stream_buffer, BufferWriter};

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
    pub(super) fn start_with_input(
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
    pub(super) fn open_credit(
        &mut self,
        index: usize,
        id: u64,
        window: u32,
    ) -> Option<Response<Svc>> {
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
    pub(super) fn poll_credit(&mut self, index: usize, id: u64) -> Option<Option<Response<Svc>>> {
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
    pub(super) fn on_credit(&mut self, id: u64, credit: u32) {
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
    pub(super) fn on_in_flight(
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
    pub(super) fn is_done(&self, index: usize) -> bool {
        self.slots[index]
            .rpc
            .is_some_and(|rpc| rpc.kind == Kind::Done)
    }

    /// The work of the rpc in slot `index` is over (answered, ended or failed):
    /// the slot is freed, unless the client's input is still open.
    pub(super) fn finish(&mut self, index: usize) {
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
    pub(super) fn on_input_end(&mut self, id: u64) {
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
    pub(super) fn end_inputs(&mut self) {
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
