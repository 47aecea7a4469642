//! The caller's side of a call: a future (unary) or a stream (streaming).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_core::Stream;
use tokio::sync::mpsc;
use tokio::time::{Instant, Sleep};

use crate::client::cell::{CallCell, CellPool};
use crate::client::reactor::{
    ClientOutbound, ConnectionShared, StreamEvent, ABANDONED, UNASSIGNED,
};
use crate::error::Error;
use crate::status::Status;

/// A call on its way into the outbound lane: waiting for room, or for an async
/// call hook and then for room.
pub(crate) type Waiting = Pin<Box<dyn Future<Output = Submitted> + Send>>;

/// Where a call's request went.
pub(crate) enum Submitted {
    /// Into the outbound lane.
    Queued,
    /// Nowhere: the connection is gone.
    Closed,
    /// Nowhere: a call hook refused it with this status.
    Refused(Status),
}

/// How far a call got into the outbound queue.
pub(crate) enum Submit {
    Queued,
    Waiting(Waiting),
    /// The connection was gone when the call was made: the call yields once to
    /// the runtime before it fails, so callers retrying in a loop cannot starve it.
    ClosedAtStart,
    Closed,
    /// A call hook refused the call before it was queued (`None` once taken).
    Refused(Option<Status>),
}

impl Submit {
    fn is_closed(&self) -> bool {
        matches!(self, Submit::Closed)
    }

    /// Ready once the request is queued, or will never be.
    fn poll(&mut self, cx: &mut Context<'_>) -> Poll<Submitted> {
        match self {
            Submit::Queued => Poll::Ready(Submitted::Queued),
            Submit::Closed => Poll::Ready(Submitted::Closed),
            Submit::ClosedAtStart => {
                *self = Submit::Closed;
                cx.waker().wake_by_ref();
                Poll::Pending
            }
            Submit::Refused(status) => Poll::Ready(match status.take() {
                Some(status) => Submitted::Refused(status),
                None => Submitted::Closed,
            }),
            Submit::Waiting(waiting) => {
                let submitted = std::task::ready!(waiting.as_mut().poll(cx));
                *self = match &submitted {
                    Submitted::Queued => Submit::Queued,
                    Submitted::Closed => Submit::Closed,
                    Submitted::Refused(_) => Submit::Refused(None),
                };
                Poll::Ready(submitted)
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
    fn closed_error(&self) -> Error {
        self.shared.connection.closed_error()
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
    pub(crate) fn instant_after(duration: Option<Duration>) -> Option<Instant> {
        duration.and_then(|duration| Instant::now().checked_add(duration))
    }

    pub(crate) fn at(deadline: Option<Instant>) -> Self {
        Self(deadline.map(|at| Box::pin(tokio::time::sleep_until(at))))
    }

    fn expired(&mut self, cx: &mut Context<'_>) -> bool {
        match &mut self.0 {
            Some(sleep) => sleep.as_mut().poll(cx).is_ready(),
            None => false,
        }
    }
}

impl<Req, Resp> CallGuard<Req, Resp> {
    /// Ends the call for `submitted` when its request will never be sent.
    fn unsent(&mut self, submitted: Submitted) -> Option<Error> {
        let error = match submitted {
            Submitted::Queued => return None,
            Submitted::Closed => self.closed_error(),
            Submitted::Refused(status) => Error::Status(status),
        };
        self.finished = true;
        Some(error)
    }

    /// Ends the call because its deadline passed, cancelling it upstream.
    #[cold]
    fn expire(&mut self) -> Error {
        self.cancel();
        self.shared.connection.deadline_passed();
        Error::deadline_exceeded()
    }

    /// Notes a deadline the server saw pass: as the client's own, it counts
    /// toward judging the connection.
    fn note(&self, error: &Error) {
        if error.is_deadline_exceeded() {
            self.shared.connection.deadline_passed();
        }
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
        if let Poll::Ready(submitted) = this.submit.poll(cx) {
            if let Some(error) = this.guard.unsent(submitted) {
                return Poll::Ready(Err(error));
            }
            if let Poll::Ready(outcome) = this.guard.cell().poll_outcome(cx) {
                this.guard.finished = true;
                let outcome = outcome.unwrap_or_else(|| Err(this.guard.closed_error()));
                if let Err(error) = &outcome {
                    this.guard.note(error);
                }
                return Poll::Ready(outcome);
            }
        }
        // A call that found the connection gone fails with that on its next poll,
        // whatever its deadline.
        if !this.submit.is_closed() && this.deadline.expired(cx) {
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
/// Responses are buffered without a bound until read: read the stream, or drop it.
#[must_use = "the call is already sent; dropping this stream cancels it"]
pub struct StreamingCompletion<Req, Resp> {
    pub(crate) submit: Submit,
    pub(crate) events: mpsc::UnboundedReceiver<StreamEvent<Resp>>,
    pub(crate) deadline: Deadline,
    pub(crate) guard: CallGuard<Req, Resp>,
}

impl<Req, Resp> Stream for StreamingCompletion<Req, Resp> {
    type Item = Result<Resp, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.guard.finished {
            return Poll::Ready(None);
        }
        if let Poll::Ready(submitted) = this.submit.poll(cx) {
            if let Some(error) = this.guard.unsent(submitted) {
                return Poll::Ready(Some(Err(error)));
            }
            if let Poll::Ready(event) = this.events.poll_recv(cx) {
                return Poll::Ready(match event {
                    Some(StreamEvent::Item(response)) => Some(Ok(response)),
                    Some(StreamEvent::End) => {
                        this.guard.finished = true;
                        None
                    }
                    Some(StreamEvent::Failed(error)) => {
                        this.guard.finished = true;
                        this.guard.note(&error);
                        Some(Err(error))
                    }
                    None => {
                        this.guard.finished = true;
                        Some(Err(this.guard.closed_error()))
                    }
                });
            }
        }
        // A call that found the connection gone fails with that on its next poll,
        // whatever its deadline.
        if !this.submit.is_closed() && this.deadline.expired(cx) {
            return Poll::Ready(Some(Err(this.guard.expire())));
        }
        Poll::Pending
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
