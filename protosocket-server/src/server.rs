//! The accept loop.

use std::fmt;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use protosocket::{Accepted, Connection, ConnectionStats, Listener, TcpListener};
use tokio::time::Sleep;
use tokio_util::sync::{CancellationToken, WaitForCancellationFutureOwned};

use crate::backoff::Backoff;
use crate::config::ProtosocketServerConfig;
use crate::connector::ServerConnector;
use crate::served::ServedConnection;
use crate::shutdown::ShutdownHandle;
use crate::tracker::Tracker;

/// Accepts in one poll before the server yields to the runtime.
const ACCEPT_BUDGET: usize = 64;

/// A server: a future that accepts streams from a [`Listener`] and runs a
/// [`Connection`] for each, built by a [`ServerConnector`].
///
/// It runs until a [`ShutdownHandle`] (from [`shutdown_handle`](Self::shutdown_handle))
/// says stop; then it closes its listener, lets every connection it started flush
/// for up to the grace period, and completes once all of them have ended.
///
/// Failed accepts (`EMFILE` when out of file descriptors, `ECONNABORTED` when a
/// peer gave up in the backlog, and any other) are logged and retried after a
/// backoff; they never end the server. At
/// [`max_connections`](ProtosocketServerConfig::max_connections) it stops accepting
/// until a connection ends.
///
/// The runtime needs its time driver (`enable_time` or `enable_all`): the backoff
/// and the grace period are tokio timers.
///
/// # Cancel safety
///
/// Dropping the server closes its listener. Connections already started keep
/// running; a [`ShutdownHandle`] still closes them, but nothing waits for them any
/// more, and [`ShutdownHandle::wait`] returns at once.
pub struct ProtosocketServer<L, C> {
    /// `None` once shutting down: the listening socket is closed so new peers are
    /// refused instead of waiting in a backlog nobody will accept from.
    listener: Option<L>,
    connector: C,
    config: ProtosocketServerConfig,
    shutdown: CancellationToken,
    shutdown_signal: Pin<Box<WaitForCancellationFutureOwned>>,
    finished: CancellationToken,
    tracker: Arc<Tracker>,
    backoff: Backoff,
    /// The wait after a failed accept, while it runs.
    retry: Option<Pin<Box<Sleep>>>,
}

impl<C> ProtosocketServer<TcpListener, C>
where
    C: ServerConnector<Stream = tokio::net::TcpStream>,
{
    /// A server on a TCP listener bound to `address` with the config's socket
    /// options (bind port 0 and ask [`local_addr`](Self::local_addr) for the port).
    /// Must be called inside a tokio runtime.
    ///
    /// # Errors
    ///
    /// Binding the listener failed.
    pub fn bind_tcp(
        address: SocketAddr,
        connector: C,
        config: ProtosocketServerConfig,
    ) -> io::Result<Self> {
        let listener = TcpListener::bind(address, config.socket_options.clone())?;
        tracing::info!(address = %listener.local_addr()?, "listening");
        Ok(Self::new(listener, connector, config))
    }

    /// The address the server listens on.
    ///
    /// # Errors
    ///
    /// The socket could not tell, or the server has shut down its listener
    /// ([`io::ErrorKind::NotConnected`]).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        match &self.listener {
            Some(listener) => listener.local_addr(),
            None => Err(stopped_listening()),
        }
    }
}

#[cfg(unix)]
impl<C> ProtosocketServer<protosocket::UnixListener, C>
where
    C: ServerConnector<Stream = tokio::net::UnixStream>,
{
    /// A server on a Unix socket bound at `path`. Must be called inside a tokio
    /// runtime. The socket file stays after the server ends: remove it yourself.
    ///
    /// # Errors
    ///
    /// Binding failed (for instance, `path` exists).
    pub fn bind_unix(
        path: impl AsRef<std::path::Path>,
        connector: C,
        config: ProtosocketServerConfig,
    ) -> io::Result<Self> {
        let path = path.as_ref();
        let listener = protosocket::UnixListener::bind(path)?;
        tracing::info!(path = %path.display(), "listening");
        Ok(Self::new(listener, connector, config))
    }
}

fn stopped_listening() -> io::Error {
    io::Error::new(
        io::ErrorKind::NotConnected,
        "the server has stopped listening",
    )
}

impl<L, C> ProtosocketServer<L, C>
where
    L: Listener,
    C: ServerConnector<Stream = L::Stream>,
{
    /// A server accepting from any [`Listener`]: a TLS wrapper, or a scripted one in
    /// tests.
    pub fn new(listener: L, connector: C, mut config: ProtosocketServerConfig) -> Self {
        let shutdown = CancellationToken::new();
        // One budget for this server's connections, unless the caller shares one.
        if config.connection.get_inbound_memory().is_none() {
            if let Some(limit) = config.max_inbound_memory {
                config.connection = config
                    .connection
                    .inbound_memory(Some(protosocket::InboundMemory::new(limit)));
            }
        }
        Self {
            listener: Some(listener),
            connector,
            backoff: Backoff::new(config.accept_backoff_min, config.accept_backoff_max),
            config,
            shutdown_signal: Box::pin(shutdown.clone().cancelled_owned()),
            shutdown,
            finished: CancellationToken::new(),
            tracker: Arc::new(Tracker::default()),
            retry: None,
        }
    }

    /// A handle that shuts this server down gracefully.
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        ShutdownHandle::new(self.shutdown.clone(), self.finished.clone())
    }

    /// The listener, until the server shuts it down.
    pub fn listener(&self) -> Option<&L> {
        self.listener.as_ref()
    }

    /// Connections started and not yet ended.
    pub fn live_connections(&self) -> usize {
        self.tracker.live()
    }

    /// Accepts until the listener, the connection limit or the backoff says wait.
    /// Returns only when it waits: every path registers `cx` first.
    fn poll_accept_loop(&mut self, cx: &mut Context<'_>) {
        for _ in 0..ACCEPT_BUDGET {
            if let Some(retry) = self.retry.as_mut() {
                if retry.as_mut().poll(cx).is_pending() {
                    return;
                }
                self.retry = None;
            }
            if self.tracker.live() >= self.config.max_connections {
                self.tracker.register(cx.waker());
                // Checked again after registering: a connection that ended in
                // between would otherwise leave this wait without a wake-up.
                if self.tracker.live() >= self.config.max_connections {
                    return;
                }
            }
            let Some(listener) = self.listener.as_mut() else {
                return;
            };
            match listener.poll_accept(cx) {
                Poll::Pending => return,
                Poll::Ready(Ok(accepted)) => {
                    self.backoff.reset();
                    self.serve(accepted);
                }
                Poll::Ready(Err(error)) => {
                    let delay = self.backoff.next_delay();
                    tracing::warn!(%error, retry_in = ?delay, "accept failed");
                    self.retry = Some(Box::pin(tokio::time::sleep(delay)));
                }
            }
        }
        // Budget spent with accepts perhaps still waiting: come back after others ran.
        cx.waker().wake_by_ref();
    }

    fn serve(&mut self, accepted: Accepted<L::Stream>) {
        let live = self.tracker.enter();
        tracing::debug!(peer = %accepted.peer, live = self.tracker.live(), "accepted connection");
        let config = self.config.connection.clone();
        let (outbound, inbound) = config.outbound_channel();
        let stats = Arc::new(ConnectionStats::default());
        let reactor = self.connector.new_reactor(outbound, &accepted, &stats);
        let codec = self.connector.codec();
        let Accepted { stream, peer, .. } = accepted;
        let connection =
            Connection::with_stats(stream, codec, reactor, Some(inbound), config, stats);
        let served = ServedConnection::new(
            connection,
            peer,
            self.shutdown.clone(),
            self.config.grace_period,
            live,
        );
        self.connector.spawn_connection(served);
    }
}

// Nothing is pinned in place: the listener is polled through `&mut`, the timers
// are boxed.
impl<L, C> Unpin for ProtosocketServer<L, C> {}

impl<L, C> Future for ProtosocketServer<L, C>
where
    L: Listener,
    C: ServerConnector<Stream = L::Stream>,
{
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        if this.listener.is_some() {
            if this.shutdown_signal.as_mut().poll(cx).is_ready() {
                this.listener = None;
                this.retry = None;
                tracing::info!(
                    live = this.tracker.live(),
                    "shutting down: stopped accepting, closing connections"
                );
            } else {
                this.poll_accept_loop(cx);
                return Poll::Pending;
            }
        }
        this.tracker.register(cx.waker());
        if this.tracker.live() > 0 {
            return Poll::Pending;
        }
        if !this.finished.is_cancelled() {
            tracing::info!("server stopped");
            this.finished.cancel();
        }
        Poll::Ready(())
    }
}

impl<L, C> Drop for ProtosocketServer<L, C> {
    fn drop(&mut self) {
        self.finished.cancel();
    }
}

impl<L, C> fmt::Debug for ProtosocketServer<L, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProtosocketServer")
            .field("listening", &self.listener.is_some())
            .field("live_connections", &self.tracker.live())
            .field("shutting_down", &self.shutdown.is_cancelled())
            .field("config", &self.config)
            .finish()
    }
}
