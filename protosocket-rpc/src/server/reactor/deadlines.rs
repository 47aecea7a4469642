//! Deadlines: the rpcs' deadlines in one heap with one timer, and dropping
//! the work of an rpc whose deadline has passed.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::future::Future;
use std::pin::Pin;
use std::task::Context;
use std::time::Instant;

use protosocket::{Decoder, Encoder};
use tokio::time::Sleep;

use super::slot::Kind;
use super::{Request, Response, RpcServerReactor};
use crate::server::service::ConnectionService;
use crate::status::Status;

/// The deadlines of the rpcs in flight, earliest first, and the one timer that
/// waits for the earliest: made when the first rpc with a deadline arrives, so
/// a connection whose calls carry none pays nothing for deadlines.
///
/// Entries of rpcs that ended before their deadline stay until they come up
/// (or until the heap is compacted): an entry counts only while its slot still
/// holds that rpc with that deadline.
pub(super) struct Deadlines {
    /// (deadline, slot, rpc id).
    pub(super) heap: BinaryHeap<Reverse<(Instant, usize, u64)>>,
    pub(super) timer: Option<Pin<Box<Sleep>>>,
}

impl Deadlines {
    pub(super) const fn new() -> Self {
        Self {
            heap: BinaryHeap::new(),
            timer: None,
        }
    }

    /// The entries that have come up by `now`, taken out; registers `cx` for
    /// the next one.
    pub(super) fn poll_expired(
        &mut self,
        cx: &mut Context<'_>,
        expired: &mut Vec<(usize, u64, Instant)>,
    ) {
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

/// Deadlines of the rpcs in flight.
impl<Svc, C> RpcServerReactor<Svc, C>
where
    Svc: ConnectionService,
    C: Encoder<Message = Response<Svc>> + Decoder<Message = Request<Svc>>,
{
    /// Wakes the connection at `deadline` to expire rpc `id` in slot `index`.
    #[cold]
    pub(super) fn watch_deadline(&mut self, index: usize, id: u64, deadline: Instant) {
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

    /// Drops the work of rpc `id` in slot `index`, whose `deadline` has passed,
    /// and queues the slot to answer so; nothing if the slot has moved on.
    pub(super) fn expire(&mut self, index: usize, id: u64, deadline: Instant) {
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

    /// Drops the work of every rpc whose deadline has come up.
    pub(super) fn poll_deadlines(&mut self, cx: &mut Context<'_>) {
        self.deadlines.poll_expired(cx, &mut self.expired);
        let mut expired = std::mem::take(&mut self.expired);
        for (index, id, deadline) in expired.drain(..) {
            self.expire(index, id, deadline);
        }
        self.expired = expired;
    }
}

/// The status of an rpc whose deadline passed on the server.
pub(super) fn deadline_passed() -> Status {
    Status::deadline_exceeded("the rpc's deadline passed on the server")
}
