//! The client's input side of a client-streaming or bidirectional call: the
//! [`RequestSender`] and the state it shares with the connection.
//!
//! The call's first request opens it (id N); each [`send`](RequestSender::send)
//! queues one more request, which the connection sends with id N and code
//! `Normal`; [`finish`](RequestSender::finish) (or dropping the sender) sends
//! `End(N)` after them. Everything a sender queues goes through one outbound lane,
//! its own, so the order of the first request, the items and the end holds on
//! the wire.
//!
//! A sender may have at most `send_budget` requests queued and not yet taken by
//! the connection: beyond that, `send` waits. When the messages carry credit
//! ([`Message::credit`](crate::Message::credit)), it also sends no more than the
//! server granted: the server grants its request stream's size with its first
//! `Credit` (sent as the rpc starts, so it comes within a round trip; nothing is
//! sent before it), and more as the handler reads, so a slow handler holds back
//! its own sender only. Both ends must then use types that carry credit: a
//! server whose types cannot never grants any, and such a call's sender waits
//! until the call ends. Without credit the connection takes requests only while
//! its send queue has room, so a server that reads slowly (or stops, while its
//! handler's request stream is full and its connection holds inbound) holds the
//! sender back through TCP.
//!
//! When the call ends first (its answer came, the server cancelled or failed it,
//! the caller dropped the completion, its deadline passed), the connection closes
//! the input side: a server that ended the call is sent `End(N)` at once (its rpc
//! keeps the id until then), and later sends fail with [`SendError`].
//!
//! | `closed` | `end_requested` | what the connection does next |
//! |---|---|---|
//! | false | false | sends each item as it is taken |
//! | false | true | sends `End(N)` once every queued item is taken (the sender was dropped while the lane was full) |
//! | true | any | nothing more for this call: items still queued are replaced by an ignored `Cancel(0)` |

use std::fmt;
use std::future::poll_fn;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use protosocket::WakerSlot;

use crate::client::completion::CallShared;
use crate::client::hook_gate::{Half, HookGate};
use crate::client::reactor::{ClientOutbound, UNASSIGNED};
use crate::lock::lock;
use spillway::SendError;

/// What a [`RequestSender`] and its connection share.
pub(crate) struct Upload {
    /// `UNASSIGNED`, then the call's id once its first request left.
    pub(crate) id: AtomicU64,
    /// The input side is over: `End` or `Cancel` went out for the call, or it
    /// was never sent. Set by the connection only.
    closed: AtomicBool,
    /// Requests (the first one and the items) handed to the lane and not yet
    /// taken by the connection.
    queued: AtomicUsize,
    /// The sender was dropped while its lane was full: `End` follows the last
    /// queued item.
    pub(crate) end_requested: AtomicBool,
    /// The sender waiting for room in its budget, or for the call to end.
    waiting: Mutex<WakerSlot>,
    /// Items the server has granted, when the messages carry credit (nothing
    /// is sent before the server's first `Credit`); `u64::MAX` when they do not.
    ///
    /// Sending before that grant could fill the request stream of a server that
    /// speaks credit past its bound, making it hold inbound, and with it the
    /// `Credit` its response stream waits for: a deadlock.
    granted: AtomicU64,
}

impl Upload {
    /// A call's input side; `by_credit` when the messages carry credit, so a
    /// server that grants credit bounds what may be sent.
    pub(crate) fn new(by_credit: bool) -> Self {
        Self {
            id: AtomicU64::new(UNASSIGNED),
            closed: AtomicBool::new(false),
            // The first request counts until the connection takes it.
            queued: AtomicUsize::new(1),
            end_requested: AtomicBool::new(false),
            waiting: Mutex::new(WakerSlot::new()),
            granted: AtomicU64::new(if by_credit { 0 } else { u64::MAX }),
        }
    }

    /// The server granted `credit` more items. Called by the connection only.
    pub(crate) fn grant(&self, credit: u32) {
        if credit > 0 && self.granted.load(Ordering::Acquire) != u64::MAX {
            self.granted.fetch_add(u64::from(credit), Ordering::AcqRel);
            self.wake_sender();
        }
    }

    /// Whether the input side is over.
    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Closes the input side; `true` the first time.
    pub(crate) fn close(&self) -> bool {
        let first = !self.closed.swap(true, Ordering::AcqRel);
        if first {
            self.wake_sender();
        }
        first
    }

    /// The connection took one queued request (the first one or an item);
    /// `true` when it was the last of a sender that was dropped with its lane
    /// full (its `End` is due).
    pub(crate) fn item_taken(&self) -> bool {
        let before = self.queued.fetch_sub(1, Ordering::AcqRel);
        self.wake_sender();
        before == 1 && self.end_requested.load(Ordering::Acquire)
    }

    /// Whether `End` is due now: the sender was dropped with its lane full and
    /// the connection has taken everything it queued.
    pub(crate) fn end_due(&self) -> bool {
        self.end_requested.load(Ordering::Acquire) && self.queued.load(Ordering::Acquire) == 0
    }

    fn wake_sender(&self) {
        let waker = lock(&self.waiting).take();
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// `Ready(true)` when one more item fits the budget (and the credit, with
    /// `sent` items sent so far), `Ready(false)` when the input side is closed,
    /// else `Pending` with `cx` registered. With `awaits_id` the call's first
    /// request went through another lane, so nothing fits before the
    /// connection has taken it.
    fn poll_room(
        &self,
        cx: &mut Context<'_>,
        budget: usize,
        sent: u64,
        awaits_id: bool,
    ) -> Poll<bool> {
        let check = || {
            if self.is_closed() {
                Some(false)
            } else if self.queued.load(Ordering::Acquire) < budget
                && sent < self.granted.load(Ordering::Acquire)
                && !(awaits_id && self.id.load(Ordering::Acquire) == UNASSIGNED)
            {
                Some(true)
            } else {
                None
            }
        };
        if let Some(ready) = check() {
            return Poll::Ready(ready);
        }
        lock(&self.waiting).register(cx.waker());
        // Taken or closed between the check and the registration: look again.
        match check() {
            Some(ready) => Poll::Ready(ready),
            None => Poll::Pending,
        }
    }
}

/// The input side carried by a call's first request: closed if that request
/// is dropped before the connection takes it (its lane went with the
/// connection), so a sender waiting for the call's id does not wait forever.
pub(crate) struct OpeningInput(Option<Arc<Upload>>);

impl OpeningInput {
    pub(crate) fn new(upload: Arc<Upload>) -> Self {
        Self(Some(upload))
    }

    /// The input side, for the connection that took the request.
    pub(crate) fn take(mut self) -> Arc<Upload> {
        self.0.take().expect("taken once")
    }
}

impl Drop for OpeningInput {
    fn drop(&mut self) {
        if let Some(upload) = self.0.take() {
            upload.close();
        }
    }
}

/// Undoes the count of an item whose send did not complete.
struct Counted<'a>(&'a Upload, bool);

impl Drop for Counted<'_> {
    fn drop(&mut self) {
        if !self.1 {
            self.0.queued.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

/// The input side of a client-streaming or bidirectional call, from
/// [`RpcClient::send_client_streaming`](crate::client::RpcClient::send_client_streaming)
/// or [`RpcClient::send_bidi`](crate::client::RpcClient::send_bidi): sends the
/// call's later requests, then `End`.
///
/// Requests must carry control code `Normal` (the value 0 your type starts
/// with); the connection sets their id.
///
/// # Backpressure
///
/// At most `send_budget` requests
/// ([`RpcClientConfig::send_budget`](crate::client::RpcClientConfig::send_budget))
/// wait in the client for the connection to take them; beyond that
/// [`send`](Self::send) waits. The server's request stream is bounded too, and
/// while it is full the server reads nothing from this connection, so a handler
/// that reads slowly holds every sender back (and the connection's other calls
/// with it).
///
/// While an async [`CallHook`](crate::client::CallHook) decides on the call,
/// [`send`](Self::send) waits (and runs the hook, as polling the completion
/// does): nothing is queued before the call's first request.
///
/// # Ending
///
/// [`finish`](Self::finish), or dropping the sender, sends `End` after the
/// requests already sent. When the call ends first (answered, cancelled by the
/// server or by dropping its completion, its deadline), sends fail with
/// [`SendError`].
pub struct RequestSender<Req, Resp> {
    /// This sender's own lane: the first request, the items and the end keep
    /// their order.
    lane: spillway::Sender<ClientOutbound<Req, Resp>>,
    upload: Arc<Upload>,
    /// The first request, when the lane was full as the call was made: sent
    /// before anything else.
    opening: Option<ClientOutbound<Req, Resp>>,
    /// An async call hook still deciding on the first request (`hook_gate`).
    gate: Option<Arc<HookGate<Req, Resp>>>,
    /// The completion queued the first request on its own lane: items wait
    /// until the connection has taken it.
    awaits_id: bool,
    shared: Arc<CallShared<Req, Resp>>,
    budget: usize,
    /// Items sent so far, against the server's credit.
    sent: u64,
    finished: bool,
}

impl<Req, Resp> RequestSender<Req, Resp> {
    pub(crate) fn new(
        lane: spillway::Sender<ClientOutbound<Req, Resp>>,
        upload: Arc<Upload>,
        opening: Option<ClientOutbound<Req, Resp>>,
        gate: Option<Arc<HookGate<Req, Resp>>>,
        shared: Arc<CallShared<Req, Resp>>,
        budget: usize,
    ) -> Self {
        Self {
            lane,
            upload,
            opening,
            gate,
            awaits_id: false,
            shared,
            budget: budget.max(1),
            sent: 0,
            finished: false,
        }
    }

    /// Sends the call's next request, waiting while the sender's budget of
    /// queued requests is used up.
    ///
    /// # Errors
    ///
    /// [`SendError`] with the request when the call has ended (its completion
    /// tells how) or its connection closed.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future before it completes drops the request unsent; the
    /// requests sent before it stay sent.
    pub async fn send(&mut self, request: Req) -> Result<(), SendError<Req>> {
        if !self.open().await {
            return Err(SendError(request));
        }
        let (budget, sent, awaits_id) = (self.budget, self.sent, self.awaits_id);
        let upload = &*self.upload;
        if !poll_fn(|cx| upload.poll_room(cx, budget, sent, awaits_id)).await {
            return Err(SendError(request));
        }
        upload.queued.fetch_add(1, Ordering::AcqRel);
        let mut counted = Counted(upload, false);
        let item = ClientOutbound::item(request, Arc::clone(&self.upload));
        match self.lane.send_async(item).await {
            Ok(()) => {
                counted.1 = true;
                self.sent += 1;
                Ok(())
            }
            Err(SendError(item)) => Err(SendError(
                item.into_request().expect("an item hands its request back"),
            )),
        }
    }

    /// Waits for an async call hook to decide on the call's first request, then
    /// sends that request if it waits for room in the lane; `false` when the
    /// connection is gone.
    async fn open(&mut self) -> bool {
        if let Some(gate) = self.gate.clone() {
            match poll_fn(|cx| gate.poll(Half::Sender, cx)).await {
                Some(opening) => self.opening = Some(opening),
                // Refused (the input side is closed), or queued by the completion.
                None => self.awaits_id = true,
            }
            self.gate = None;
        }
        match self.opening.take() {
            None => true,
            Some(opening) => self.lane.send_async(opening).await.is_ok(),
        }
    }

    /// Whether the call's input side is over: a send now fails.
    #[must_use]
    pub fn is_closed(&self) -> bool {
        self.upload.is_closed() || self.lane.is_closed()
    }

    /// Requests sent (the call's first one included) and not yet taken by the
    /// connection.
    #[must_use]
    pub fn queued(&self) -> usize {
        self.upload.queued.load(Ordering::Acquire)
    }

    /// Ends the call's input: `End` goes out after the requests already sent.
    /// Waits for the call's first request to leave if the lane was full when
    /// the call was made.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future before it completes ends the input as dropping the
    /// sender does.
    pub async fn finish(mut self) {
        self.open().await;
        self.end();
    }

    /// Queues `End` (once).
    fn end(&mut self) {
        if std::mem::replace(&mut self.finished, true) {
            return;
        }
        if let Some(opening) = self.opening.take() {
            if let Err(error) = self.lane.send(opening) {
                // Never sent: the call fails at once instead of waiting.
                error.into_inner().abandon();
                return;
            }
        }
        if self.upload.is_closed() {
            return;
        }
        if self.gate.is_some()
            || (self.awaits_id && self.upload.id.load(Ordering::Acquire) == UNASSIGNED)
        {
            // The first request is not in this lane (an async hook still
            // decides on it, or the completion queued it): `End` follows it.
            self.end_after_queued();
            if let Some(gate) = self.gate.take() {
                gate.sender_gone();
            }
            return;
        }
        match self
            .lane
            .send(ClientOutbound::end(Arc::clone(&self.upload)))
        {
            Ok(()) | Err(spillway::TrySendError::Closed(_)) => {}
            Err(spillway::TrySendError::Full(_)) => self.end_after_queued(),
        }
    }

    /// Has the connection send `End` once it has taken every queued request.
    fn end_after_queued(&self) {
        self.upload.end_requested.store(true, Ordering::Release);
        self.shared.connection.queue_end(Arc::clone(&self.upload));
    }
}

impl<Req, Resp> Drop for RequestSender<Req, Resp> {
    fn drop(&mut self) {
        self.end();
    }
}

impl<Req, Resp> fmt::Debug for RequestSender<Req, Resp> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestSender")
            .field("id", &self.upload.id.load(Ordering::Relaxed))
            .field("closed", &self.upload.is_closed())
            .field("queued", &self.queued())
            .field("finished", &self.finished)
            .finish()
    }
}
