//! One connection, run under the server's shutdown signal.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use protosocket::{Connection, ConnectionStats, MessageReactor, PeerAddress, WakerSlot};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::time::Sleep;
use tokio_util::sync::{CancellationToken, WaitForCancellationFutureOwned};

use crate::tracker::LiveGuard;

/// A [`Connection`] started by a [`ProtosocketServer`](crate::ProtosocketServer),
/// handed to [`ServerConnector::spawn_connection`](crate::ServerConnector::spawn_connection)
/// to be run.
///
/// It is a future that drives the connection to its end. When the server shuts
/// down it calls [`Connection::close`] (stop reading, send what is queued, shut the
/// stream down) and keeps driving the connection for at most the server's grace
/// period; after that it drops the connection unflushed. Either way it completes,
/// and the server counts the connection as ended when this future completes or is
/// dropped.
///
/// Its polls run inside a `connection` tracing span carrying the peer's address.
///
/// # Cancel safety
///
/// Dropping it drops the connection at once, unflushed, and counts it as ended.
pub struct ServedConnection<S, R: MessageReactor> {
    /// `None` once the connection has ended: dropped then, so the socket is closed
    /// before the server hears that the connection is gone.
    connection: Option<Connection<S, R>>,
    stats: Arc<ConnectionStats>,
    peer: PeerAddress,
    /// The server's shutdown signal: checked with a load on every poll.
    shutdown_token: CancellationToken,
    /// Registers this task to be woken on shutdown. Polling it takes the lock of a
    /// notifier shared by every connection of the server, so it is polled only
    /// when the task's waker changes, not on every poll.
    shutdown: Pin<Box<WaitForCancellationFutureOwned>>,
    /// The waker `shutdown` was last polled with.
    registered: WakerSlot,
    grace_period: Duration,
    /// Set once the shutdown reached this connection: the end of its grace period.
    deadline: Option<Pin<Box<Sleep>>>,
    live: Option<LiveGuard>,
    span: tracing::Span,
}

impl<S, R> ServedConnection<S, R>
where
    S: AsyncRead + AsyncWrite + Unpin,
    R: MessageReactor,
{
    pub(crate) fn new(
        connection: Connection<S, R>,
        peer: PeerAddress,
        shutdown: CancellationToken,
        grace_period: Duration,
        live: LiveGuard,
    ) -> Self {
        let span = tracing::info_span!("connection", %peer);
        Self {
            stats: connection.stats(),
            connection: Some(connection),
            peer,
            shutdown: Box::pin(shutdown.clone().cancelled_owned()),
            shutdown_token: shutdown,
            registered: WakerSlot::new(),
            grace_period,
            deadline: None,
            live: Some(live),
            span,
        }
    }

    /// The peer's address.
    pub fn peer(&self) -> &PeerAddress {
        &self.peer
    }

    /// The connection's counters (see [`Connection::stats`]); they stay readable
    /// after the connection ends.
    pub fn stats(&self) -> Arc<ConnectionStats> {
        Arc::clone(&self.stats)
    }

    /// The connection, until it has ended.
    pub fn connection(&self) -> Option<&Connection<S, R>> {
        self.connection.as_ref()
    }

    /// The connection, mutably, until it has ended: for instance to hand the
    /// reactor the connection's [`stats`](Self::stats) before spawning.
    pub fn connection_mut(&mut self) -> Option<&mut Connection<S, R>> {
        self.connection.as_mut()
    }

    /// Whether the server is shutting down; otherwise makes sure this task's current
    /// waker is registered for the signal.
    fn shutdown_requested(&mut self, cx: &mut Context<'_>) -> bool {
        if self.shutdown_token.is_cancelled() {
            return true;
        }
        if !self.registered.register(cx.waker()) {
            return false;
        }
        self.shutdown.as_mut().poll(cx).is_ready()
    }

    /// Drops the connection (closing its stream) and then stops counting it.
    fn end(&mut self) {
        self.connection = None;
        self.deadline = None;
        self.live = None;
    }
}

// Nothing here is pinned in place: the connection is `Unpin` and the timers are
// boxed.
impl<S, R: MessageReactor> Unpin for ServedConnection<S, R> {}

impl<S, R> Future for ServedConnection<S, R>
where
    S: AsyncRead + AsyncWrite + Unpin,
    R: MessageReactor,
{
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        // Moved out for the poll (no reference-count traffic, unlike a clone) so
        // that the entered span does not borrow `this`.
        let span = std::mem::replace(&mut this.span, tracing::Span::none());
        let polled = span.in_scope(|| this.poll_served(cx));
        this.span = span;
        polled
    }
}

impl<S, R> ServedConnection<S, R>
where
    S: AsyncRead + AsyncWrite + Unpin,
    R: MessageReactor,
{
    fn poll_served(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        if self.connection.is_none() {
            return Poll::Ready(());
        }
        if self.deadline.is_none() && self.shutdown_requested(cx) {
            tracing::debug!("server shutting down: closing connection");
            if let Some(connection) = self.connection.as_mut() {
                connection.close();
            }
            self.deadline = Some(Box::pin(tokio::time::sleep(self.grace_period)));
        }
        let Some(connection) = self.connection.as_mut() else {
            return Poll::Ready(());
        };

        if Pin::new(&mut *connection).poll(cx).is_ready() {
            // The connection logged why it closed.
            self.end();
            return Poll::Ready(());
        }

        if let Some(deadline) = self.deadline.as_mut() {
            if deadline.as_mut().poll(cx).is_ready() {
                tracing::warn!(
                    grace_period = ?self.grace_period,
                    "connection did not finish within the grace period; dropping it"
                );
                self.end();
                return Poll::Ready(());
            }
        }
        Poll::Pending
    }
}

impl<S, R: MessageReactor> fmt::Debug for ServedConnection<S, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServedConnection")
            .field("peer", &self.peer)
            .field("connection", &self.connection)
            .field("closing", &self.deadline.is_some())
            .finish()
    }
}
