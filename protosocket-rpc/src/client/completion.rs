//! The caller's side of a call: a future (unary) or a stream (streaming).

use std::any::Any;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_core::Stream;
use tokio::time::{Instant, Sleep};

use crate::client::cell::{CallCell, CellPool};
use crate::client::reactor::{
    draining_error, ClientOutbound, ConnectionShared, ABANDONED, UNASSIGNED,
};
use crate::error::Error;
use crate::stream_buffer::{BufferReader, Next};

/// A call on its way into the outbound lane: waiting for room, or for an async
/// call hook and then for room. Resolves to whether it got in.
pub(crate) type Waiting = Pin<Box<dyn Future<Output = bool> + Send>>;

/// How far a call got into the outbound queue.
pub(crate) enum Submit {
    Queued,
    Waiting(Waiting),
    /// The connection was gone when the call was made: the call yields once to
    /// the runtime before it fails, so callers retrying in a loop cannot starve it.
    ClosedAtStart,
    Closed,
}

impl Submit {
    fn is_closed(&self) -> bool {
        matches!(self, Submit::Closed)
    }

    /// Drops what the call still waits for (room, an async hook): its
    /// deadline passed.
    #[cold]
    fn give_up(&mut self) {
        if let Submit::Waiting(_) = self {
            *self = Submit::Closed;
        }
    }

    /// Ready(true) once queued, Ready(false) if the connection is gone.
    fn poll(&mut self, cx: &mut Context<'_>) -> Poll<bool> {
        match self {
            Submit::Queued => Poll::Ready(true),
            Submit::Closed => Poll::Ready(false),
            Submit::ClosedAtStart => {
                *self = Submit::Closed;
                cx.waker().wake_by_ref();
                Poll::Pending
            }
            Submit::Waiting(waiting) => {
                let queued = std::task::ready!(waiting.as_mut().poll(cx));
                *self = if queued {
                    Submit::Queued
                } else {
                    Submit::Closed
                };
                Poll::Ready(queued)
            }
        }
    }
}

/// What the calls of one connection share: where a dropped call's `Cancel` goes,
/// and the cells of finished calls. Holding it keeps the connection open, as the
/// call's own sender would.
pub(crate) struct CallShared<Req, Resp> {
    pub(crate) sender: spillway::Sender<ClientOutbound<Req, Resp>>,
    /// Cancellations that found the sender's lane full, and the close reason.
    pub(crate) connection: Arc<ConnectionShared>,
    /// Cells for the next calls.
    pub(crate) cells: CellPool<Resp>,
}

/// Sends `Cancel` for an unfinished call when its completion goes away, and
/// gives the call's cell back for reuse.
pub(crate) struct CallGuard<Req, Resp> {
    /// `None` only while dropping.
    pub(crate) cell: Option<Arc<CallCell<Resp>>>,
    pub(crate) shared: Arc<CallShared<Req, Resp>>,
    pub(crate) finished: bool,
}

impl<Req, Resp> CallGuard<Req, Resp> {
    pub(crate) fn cell(&self) -> &CallCell<Resp> {
        self.cell
            .as_deref()
            .expect("a call's cell lives as long as its guard")
    }

    fn id(&self) -> u64 {
        self.cell().id.load(Ordering::Relaxed)
    }

    fn cancel(&mut self) {
        self.finished = true;
        let id = self.cell().id.swap(ABANDONED, Ordering::AcqRel);
        if id == UNASSIGNED || id == ABANDONED {
            // Not sent yet: the reactor will see ABANDONED and skip it.
            return;
        }
        if let Err(spillway::TrySendError::Full(_)) =
            self.shared.sender.send(ClientOutbound::cancel(id))
        {
            self.shared.connection.cancels.push(id);
        }
    }
}

impl<Req, Resp> CallGuard<Req, Resp> {
    /// The error of a call its connection let go of: a call never sent (it has
    /// no id) on a connection that drained was refused, and may go elsewhere.
    fn closed_error(&self) -> Error {
        let connection = &self.shared.connection;
        if connection.is_draining() && self.cell().id.load(Ordering::Acquire) == UNASSIGNED {
            return draining_error();
        }
        connection.closed_error()
    }
}

impl<Req, Resp> Drop for CallGuard<Req, Resp> {
    fn drop(&mut self) {
        if !self.finished {
            self.cancel();
        }
        if let Some(cell) = self.cell.take() {
            self.shared.cells.give_back(cell);
        }
    }
}

/// A call's deadline timer.
pub(crate) struct Deadline(Option<Pin<Box<Sleep>>>);

impl Deadline {
    /// When a call given `duration` from now must end; `None` for no deadline,
    /// or one too far off to name.
    #[inline]
    pub(crate) fn instant_after(duration: Option<Duration>) -> Option<Instant> {
        duration.and_then(|duration| Instant::now().checked_add(duration))
    }

    #[inline]
    pub(crate) fn at(deadline: Option<Instant>) -> Self {
        Self(deadline.map(|at| Box::pin(tokio::time::sleep_until(at))))
    }

    /// The time left, for a call sent again elsewhere.
    fn left(&self) -> Option<Duration> {
        self.0
            .as_ref()
            .map(|sleep| sleep.deadline().saturating_duration_since(Instant::now()))
    }

    fn expired(&mut self, cx: &mut Context<'_>) -> bool {
        match &mut self.0 {
            Some(sleep) => sleep.as_mut().poll(cx).is_ready(),
            None => false,
        }
    }
}

impl<Req, Resp> CallGuard<Req, Resp> {
    /// Ends the call because its deadline passed, cancelling it upstream.
    #[cold]
    fn expire(&mut self) -> Error {
        self.cancel();
        self.shared.connection.deadline_passed();
        Error::deadline_exceeded()
    }
}

/// The future of a unary call, from [`RpcClient::send_unary`](crate::client::RpcClient::send_unary).
///
/// It first waits for room in the client's outbound lane (when the queue is full),
/// then for the response.
///
/// # Errors
///
/// [`Error::Status`] when the server fails the call (its handler's status, a
/// rejection, [`Internal`](crate::StatusCode::Internal) for a panicked handler,
/// [`Unavailable`](crate::StatusCode::Unavailable) when it refused the call
/// while shutting down), when a call hook refuses it (it is then not sent), or
/// with [`DeadlineExceeded`](crate::StatusCode::DeadlineExceeded) when the
/// deadline passes first (`Cancel` is sent);
/// [`Error::ConnectionClosed`] with the connection's close reason when the
/// connection ends before the response (or had ended before the call: then the
/// future yields to the runtime once before it fails).
///
/// # Eager
///
/// The call is queued for sending when it is made, not when this future is first
/// polled: calls made one after another leave in one write, and their order on
/// the wire is the order they were made in.
/// An async [`CallHook`](crate::client::CallHook) is the exception: its future
/// is polled with this one, and the request is queued once it is done.
///
/// # Cancel safety
///
/// Dropping it before it completes sends `Cancel` for the call (if the call was
/// already sent), and the server drops its work.
#[must_use = "the call is already sent; dropping this future cancels it"]
pub struct UnaryCompletion<Req, Resp> {
    pub(crate) submit: Submit,
    pub(crate) deadline: Deadline,
    pub(crate) guard: CallGuard<Req, Resp>,
}

impl<Req, Resp> Future for UnaryCompletion<Req, Resp> {
    type Output = Result<Resp, Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        if this.guard.finished {
            return Poll::Ready(Err(this.guard.closed_error()));
        }
        if let Poll::Ready(queued) = this.submit.poll(cx) {
            if !queued {
                this.guard.finished = true;
                return Poll::Ready(Err(this.guard.closed_error()));
            }
            if let Poll::Ready(outcome) = this.guard.cell().poll_outcome(cx) {
                this.guard.finished = true;
                return Poll::Ready(outcome.unwrap_or_else(|| Err(this.guard.closed_error())));
            }
        }
        // A call that found the connection gone fails with that on its next poll,
        // whatever its deadline.
        if !this.submit.is_closed() && this.deadline.expired(cx) {
            this.submit.give_up();
            return Poll::Ready(Err(this.guard.expire()));
        }
        Poll::Pending
    }
}

impl<Req, Resp> fmt::Debug for UnaryCompletion<Req, Resp> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnaryCompletion")
            .field("id", &self.guard.id())
            .field("finished", &self.guard.finished)
            .finish()
    }
}

/// The responses of a streaming call, from
/// [`RpcClient::send_streaming`](crate::client::RpcClient::send_streaming).
///
/// It yields each response in order and ends (`None`) after the server's `End`.
/// If the call fails it yields one error and then ends. The deadline covers the
/// whole stream.
///
/// # Errors
///
/// As [`UnaryCompletion`]: [`Error::Status`] (the server's, a hook's, or a
/// passed deadline's) and [`Error::ConnectionClosed`], each as the last item.
///
/// # Eager
///
/// As [`UnaryCompletion`]: the request is queued when the call is made.
///
/// # Cancel safety
///
/// Dropping it before it ends sends `Cancel` for the call, and the server drops
/// the stream's work.
///
/// # Backpressure
///
/// At most [`stream_buffer`](crate::client::RpcClientConfig::stream_buffer)
/// responses wait here to be read; while the buffer is full the connection reads
/// nothing more from the server, so a reader that stops holds the server's stream
/// back through TCP (and the connection's other calls wait with it).
#[must_use = "the call is already sent; dropping this stream cancels it"]
pub struct StreamingCompletion<Req, Resp> {
    pub(crate) submit: Submit,
    pub(crate) events: BufferReader<Resp, Result<(), Error>>,
    pub(crate) deadline: Deadline,
    pub(crate) guard: CallGuard<Req, Resp>,
    /// The pool that made the call, to send it once more on another
    /// connection if its draining connection refuses it unsent.
    pub(crate) retry: Option<Arc<dyn Resend<Req, Resp>>>,
}

/// Sends a call that a draining connection refused unsent once more, on
/// another connection (a pool does; see its "Drain and retry").
pub(crate) trait Resend<Req, Resp>: Send + Sync {
    /// `request` (a `Req`, as the cell parked it) again, on a connection up now other than `refused_by`, within
    /// `deadline`; `None` when there is none.
    fn resend_streaming(
        self: Arc<Self>,
        refused_by: &Arc<CallShared<Req, Resp>>,
        request: Box<dyn Any + Send>,
        deadline: Option<Duration>,
    ) -> Option<StreamingCompletion<Req, Resp>>;
}

impl<Req, Resp> Stream for StreamingCompletion<Req, Resp> {
    type Item = Result<Resp, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.guard.finished {
            return Poll::Ready(None);
        }
        if let Poll::Ready(queued) = this.submit.poll(cx) {
            if !queued {
                this.guard.finished = true;
                return Poll::Ready(Some(Err(this.guard.closed_error())));
            }
            if let Poll::Ready(event) = this.events.poll_next(cx) {
                return Poll::Ready(match event {
                    Next::Item(response) => {
                        this.give_credit();
                        Some(Ok(response))
                    }
                    Next::End(Ok(())) => {
                        this.guard.finished = true;
                        None
                    }
                    Next::End(Err(error)) => {
                        if this.retry.is_some() {
                            if let Some(again) = this.resend() {
                                *this = again;
                                return Pin::new(this).poll_next(cx);
                            }
                        }
                        this.guard.finished = true;
                        Some(Err(error))
                    }
                    Next::Closed => {
                        this.guard.finished = true;
                        Some(Err(this.guard.closed_error()))
                    }
                });
            }
        }
        // A call that found the connection gone fails with that on its next poll,
        // whatever its deadline.
        if !this.submit.is_closed() && this.deadline.expired(cx) {
            this.submit.give_up();
            return Poll::Ready(Some(Err(this.guard.expire())));
        }
        Poll::Pending
    }
}

impl<Req, Resp> StreamingCompletion<Req, Resp> {
    /// The same call on another connection of the pool that made it, when
    /// its own refused it unsent (the request is parked in its cell then).
    #[cold]
    fn resend(&mut self) -> Option<Self> {
        let request = self.guard.cell().take_parked()?;
        let retry = self.retry.take()?;
        tracing::debug!("stream refused unsent by a draining connection; retrying it once");
        retry.resend_streaming(&self.guard.shared, request, self.deadline.left())
    }
}

impl<Req, Resp> UnaryCompletion<Req, Resp> {
    /// The request of a call that its connection refused without sending it,
    /// because the server had begun draining
    /// ([`RpcClient::is_draining`](crate::client::RpcClient::is_draining)):
    /// the call failed [`Unavailable`](crate::StatusCode::Unavailable) and never
    /// ran, so the request may go to another server. `None` for any other
    /// outcome, and once taken. An [`RpcPool`](crate::client::RpcPool) does this
    /// itself.
    ///
    /// ```no_run
    /// use protosocket_rpc::client::RpcClient;
    /// use protosocket_rpc::{Error, Message};
    ///
    /// /// `request` on `client`, or on `other` if `client`'s server is draining.
    /// async fn call<Req, Resp>(
    ///     client: &RpcClient<Req, Resp>,
    ///     other: &RpcClient<Req, Resp>,
    ///     request: Req,
    /// ) -> Result<Resp, Error>
    /// where
    ///     Req: Message + Send + 'static,
    ///     Resp: Message + Send + 'static,
    /// {
    ///     let mut call = client.send_unary(request);
    ///     match (&mut call).await {
    ///         Err(error) => match call.take_refused() {
    ///             Some(request) => other.send_unary(request).await,
    ///             None => Err(error),
    ///         },
    ///         answered => answered,
    ///     }
    /// }
    /// ```
    pub fn take_refused(&mut self) -> Option<Req>
    where
        Req: 'static,
    {
        take_refused(&self.guard)
    }
}

/// The request parked in `guard`'s cell by a refusal, as a `Req`.
fn take_refused<Req: 'static, Resp>(guard: &CallGuard<Req, Resp>) -> Option<Req> {
    let request = guard.cell().take_parked()?.downcast::<Req>().ok()?;
    Some(*request)
}

impl<Req, Resp> StreamingCompletion<Req, Resp> {
    /// On a stream flowing by credit, hands the credit its reads have earned to
    /// the connection, which sends it as `Credit`.
    fn give_credit(&self) {
        let credit = self.events.take_credit();
        if credit == 0 {
            return;
        }
        self.guard
            .shared
            .connection
            .queue_credit(self.guard.id(), credit);
    }

    /// As [`UnaryCompletion::take_refused`]: the request of a stream that its
    /// draining connection refused unsent (the stream's one item was an
    /// [`Unavailable`](crate::StatusCode::Unavailable) error).
    pub fn take_refused(&mut self) -> Option<Req>
    where
        Req: 'static,
    {
        take_refused(&self.guard)
    }

    /// Responses received and not yet read: at most the configured
    /// [`stream_buffer`](crate::client::RpcClientConfig::stream_buffer).
    #[must_use]
    pub fn unread(&self) -> usize {
        self.events.len()
    }
}

impl<Req, Resp> futures_core::FusedStream for StreamingCompletion<Req, Resp> {
    fn is_terminated(&self) -> bool {
        self.guard.finished
    }
}

impl<Req, Resp> fmt::Debug for StreamingCompletion<Req, Resp> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StreamingCompletion")
            .field("id", &self.guard.id())
            .field("finished", &self.guard.finished)
            .finish()
    }
}
