//! An async call hook on a call with an input side (client streaming, bidi):
//! the gate its first request waits behind.
//!
//! The hook's future must make progress whichever half of the call the caller
//! polls: a caller may push every item through the [`RequestSender`] before it
//! looks at the completion, or (bidi) wait for a response before it sends. So
//! both halves poll the same future, under one lock, and whichever sees it
//! finish wakes the other. The half that finishes it takes the call's first
//! request on a pass:
//!
//! | finished by | first request goes | the sender's items |
//! |---|---|---|
//! | the sender | into the sender's own lane, ahead of its items | follow it in that lane |
//! | the completion | into the completion's lane | wait until the connection has taken it (the call has its id) |
//!
//! While the hook runs, [`send`](crate::client::RequestSender::send) waits
//! (nothing is queued), so the sender's budget bounds the call as before. A
//! refusal fails the call with the hook's status and closes its input side; so
//! does dropping the completion (or its deadline) while the hook runs.
//!
//! [`RequestSender`]: crate::client::RequestSender

use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use protosocket::WakerSlot;

use crate::client::reactor::ClientOutbound;
use crate::error::Error;
use crate::hook::HookFuture;
use crate::lock::lock;
use crate::message::Message;
use crate::metadata::Metadata;

/// Which half of the call polls the gate.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Half {
    Sender,
    Completion,
}

/// The gate a call's first request waits behind while an async hook runs.
pub(crate) struct HookGate<Req, Resp> {
    state: Mutex<GateState<Req, Resp>>,
}

struct GateState<Req, Resp> {
    /// `None` once the hook is over (passed, refused, or abandoned).
    hooking: Option<Hooking<Req, Resp>>,
    sender: WakerSlot,
    completion: WakerSlot,
}

/// The hook's future and the call's first request, which waits for it.
struct Hooking<Req, Resp> {
    hook: HookFuture<Metadata>,
    opening: ClientOutbound<Req, Resp>,
    /// `Message::set_metadata` of the request type, so that polling the gate
    /// asks nothing of it.
    set_metadata: fn(&mut Req, Metadata),
}

impl<Req: Message, Resp> HookGate<Req, Resp> {
    /// A gate for `opening`, a call's first request, whose metadata `hook` has
    /// taken.
    pub(crate) fn new(hook: HookFuture<Metadata>, opening: ClientOutbound<Req, Resp>) -> Self {
        Self {
            state: Mutex::new(GateState {
                hooking: Some(Hooking {
                    hook,
                    opening,
                    set_metadata: Req::set_metadata,
                }),
                sender: WakerSlot::new(),
                completion: WakerSlot::new(),
            }),
        }
    }
}

impl<Req, Resp> HookGate<Req, Resp> {
    /// Polls the hook for `half`: `Ready(Some(first request))` to the half
    /// that saw it pass, `Ready(None)` once it is over otherwise (the other
    /// half has the request, or the call was refused or abandoned).
    pub(crate) fn poll(
        &self,
        half: Half,
        cx: &mut Context<'_>,
    ) -> Poll<Option<ClientOutbound<Req, Resp>>> {
        let mut state = lock(&self.state);
        let Some(hooking) = state.hooking.as_mut() else {
            return Poll::Ready(None);
        };
        let Poll::Ready(outcome) = hooking.hook.as_mut().poll(cx) else {
            match half {
                Half::Sender => state.sender.register(cx.waker()),
                Half::Completion => state.completion.register(cx.waker()),
            };
            return Poll::Pending;
        };
        let hooking = state.hooking.take().expect("checked above");
        // The other half may wait on the hook with its own waker no longer
        // registered in the hook's future.
        match half {
            Half::Sender => state.completion.wake(),
            Half::Completion => state.sender.wake(),
        }
        drop(state);
        let Hooking {
            mut opening,
            set_metadata,
            ..
        } = hooking;
        Poll::Ready(match outcome {
            Ok(metadata) => {
                if let Some(request) = opening.opening_request() {
                    set_metadata(request, metadata);
                }
                Some(opening)
            }
            Err(status) => {
                opening.fail_unsent(Error::Status(status));
                None
            }
        })
    }

    /// The sender went away while the hook may still run: the completion,
    /// now the only half left to drive it, is woken to poll it with its own
    /// waker.
    pub(crate) fn sender_gone(&self) {
        lock(&self.state).completion.wake();
    }

    /// The completion went away (or its deadline passed): a hook still running
    /// is dropped, and the call's input side closes.
    pub(crate) fn abandon(&self) {
        let hooking = lock(&self.state).hooking.take();
        // The first request's input side closes as it is dropped.
        drop(hooking);
    }
}

/// The completion's part: drives the hook, and queues the first request on
/// `lane` if the hook passes here. Resolves to whether the call got that far
/// (`false` when the connection is gone). Dropping it before the hook is over
/// abandons the call.
pub(crate) async fn completion_wait<Req, Resp>(
    gate: Arc<HookGate<Req, Resp>>,
    lane: spillway::Sender<ClientOutbound<Req, Resp>>,
) -> bool {
    let abandon = AbandonOnDrop(gate);
    match std::future::poll_fn(|cx| abandon.0.poll(Half::Completion, cx)).await {
        None => true,
        // A first request dropped unsent closes the call's input side.
        Some(opening) => lane.send_async(opening).await.is_ok(),
    }
}

/// Abandons the gate's call when the completion's part goes away first.
struct AbandonOnDrop<Req, Resp>(Arc<HookGate<Req, Resp>>);

impl<Req, Resp> Drop for AbandonOnDrop<Req, Resp> {
    fn drop(&mut self) {
        self.0.abandon();
    }
}
