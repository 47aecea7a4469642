//! Where an rpc runs: a slot, the kinds of work it holds, and the places
//! that keep that work pinned from one rpc to the next.

use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use futures_core::Stream;

use super::{Request, Response};
use crate::hook::HookFuture;
use crate::server::context::CallContext;
use crate::server::inbox::RequestStream;
use crate::server::service::{ConnectionService, Rpc};
use crate::server::waker::SlotWaker;
use crate::status::Status;
use crate::stream_buffer::BufferWriter;

/// Which kind of work an rpc in flight has in its slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
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
    pub(super) fn during(self) -> &'static str {
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
pub(super) struct Place<T>(Option<Pin<Box<Option<T>>>>);

impl<T> Place<T> {
    pub(super) const fn new() -> Self {
        Self(None)
    }

    #[inline]
    pub(super) fn put(&mut self, work: T) {
        match &mut self.0 {
            Some(place) => place.set(Some(work)),
            None => self.0 = Some(Box::pin(Some(work))),
        }
    }

    pub(super) fn get(&mut self) -> Option<Pin<&mut T>> {
        self.0.as_mut()?.as_mut().as_pin_mut()
    }

    /// Polls the future in place; `Pending` when the place is empty.
    #[inline]
    pub(super) fn poll(&mut self, cx: &mut Context<'_>) -> Poll<T::Output>
    where
        T: Future,
    {
        self.get().map_or(Poll::Pending, |future| future.poll(cx))
    }

    /// Drops the work in place: for an unfinished rpc, its cancellation.
    pub(super) fn clear(&mut self) {
        if let Some(place) = &mut self.0 {
            place.set(None);
        }
    }
}

/// What one poll of an rpc's work produced.
pub(super) enum Polled<R> {
    Hook(Result<CallContext, Status>),
    Unary(R),
    Item(Option<R>),
}

#[derive(Debug, Clone, Copy)]
pub(super) struct InFlight {
    pub(super) id: u64,
    pub(super) kind: Kind,
    /// When the rpc's work is dropped and answered `DeadlineExceeded`.
    pub(super) deadline: Option<Instant>,
    /// The rpc took a request stream: later `Normal` messages with its id are
    /// its requests, not duplicates.
    pub(super) takes_input: bool,
}

/// A request an async call hook holds back until it is done, with the request
/// stream of an rpc that takes one.
pub(super) struct Held<Svc: ConnectionService> {
    pub(super) future: HookFuture<CallContext>,
    pub(super) request: Request<Svc>,
    pub(super) requests: Option<RequestStream<Request<Svc>>>,
}

/// Where an rpc runs: its work while in flight, and the waker it is polled with;
/// the places and the waker stay with the slot from one rpc to the next.
pub(super) struct Slot<Svc: ConnectionService> {
    /// `None` while the slot is free.
    pub(super) rpc: Option<InFlight>,
    pub(super) unary: Place<Svc::Unary>,
    pub(super) streaming: Place<Svc::Streaming>,
    /// An async call hook's future, and the request it holds back.
    pub(super) hook: Option<Held<Svc>>,
    pub(super) waker: SlotWaker,
    /// The rpc's request stream, while the client's input is open.
    pub(super) inbox: Option<BufferWriter<Request<Svc>, ()>>,
    /// Responses the client has room for, when its stream flows by credit:
    /// the stream is not polled at 0.
    pub(super) credit: Option<u32>,
}

/// What the service's `new_rpc` put in a slot.
pub(super) enum Started<R> {
    /// A unary future, and what its first poll gave (`Pending` when it was
    /// not polled).
    Unary(Poll<R>),
    Streaming,
    Reject(Status),
}

/// Where a panic starting an rpc came from.
pub(super) enum StartPanic {
    /// The service's `new_rpc`.
    NewRpc(Box<dyn std::any::Any + Send>),
    /// The first poll of the unary future it returned (still in its place).
    FirstPoll(Box<dyn std::any::Any + Send>),
}

impl<Svc: ConnectionService> Slot<Svc> {
    /// Runs `new_rpc` (the service starting an rpc), its panics caught, and
    /// puts the work it returns in this slot's place; with `poll_unary`, a
    /// unary future is polled there once at once, with the slot's waker, under
    /// the same catch. The work goes from the
    /// service's return straight to its place: a future is moved once, not
    /// through each caller (a future kept inline, such as a
    /// [`UnaryFuture`](crate::server::UnaryFuture), is moved by copying it).
    #[inline]
    pub(super) fn start(
        &mut self,
        poll_unary: bool,
        new_rpc: impl FnOnce() -> Rpc<Svc::Unary, Svc::Streaming>,
    ) -> Result<Started<Response<Svc>>, StartPanic> {
        let Slot {
            unary,
            streaming,
            waker,
            ..
        } = self;
        let mut polling = false;
        catch_unwind(AssertUnwindSafe(|| match new_rpc() {
            Rpc::Unary(future) => {
                unary.put(future);
                if !poll_unary {
                    return Started::Unary(Poll::Pending);
                }
                polling = true;
                Started::Unary(unary.poll(&mut waker.polling()))
            }
            Rpc::Streaming(stream) => {
                streaming.put(stream);
                Started::Streaming
            }
            Rpc::Reject(status) => Started::Reject(status),
        }))
        .map_err(|panic| {
            if polling {
                StartPanic::FirstPoll(panic)
            } else {
                StartPanic::NewRpc(panic)
            }
        })
    }

    pub(super) fn poll_work(
        &mut self,
        kind: Kind,
    ) -> std::thread::Result<Poll<Polled<Response<Svc>>>> {
        let Slot {
            unary,
            streaming,
            hook,
            waker,
            ..
        } = self;
        let mut cx = waker.polling();
        catch_unwind(AssertUnwindSafe(|| match kind {
            Kind::Unary => unary.poll(&mut cx).map(Polled::Unary),
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
    pub(super) fn clear(&mut self, kind: Kind) {
        match kind {
            Kind::Unary => self.unary.clear(),
            Kind::Streaming => self.streaming.clear(),
            Kind::Hook => self.hook = None,
            Kind::Expired | Kind::Done => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::UnaryFuture;
    use std::task::{Context, Waker};

    // A place holding a future that points into itself, as the reactor holds
    // one: put, polled across a yield, cleared, and put again. Run under Miri
    // by CI, which checks the future's pointers stay valid.
    #[test]
    fn a_place_keeps_an_inline_future_pinned_across_polls() {
        let mut place: Place<UnaryFuture<u64>> = Place::new();
        let mut cx = Context::from_waker(Waker::noop());
        for round in 0..3u64 {
            place.put(UnaryFuture::new(async move {
                let owned = vec![round, 1, 2];
                let borrowed = &owned;
                tokio::task::yield_now().await;
                borrowed.iter().sum::<u64>()
            }));
            let mut polls = 0;
            let answer = loop {
                polls += 1;
                assert!(polls < 10, "yield_now is ready on its second poll");
                let future = place.get().expect("the future put there");
                if let Poll::Ready(answer) = future.poll(&mut cx) {
                    break answer;
                }
            };
            assert_eq!(answer, round + 3);
            place.clear();
            assert!(place.get().is_none());
        }
    }
}
