//! Telling a server to stop, and waiting for it to have stopped.

use tokio_util::sync::CancellationToken;

/// Stops a [`ProtosocketServer`](crate::ProtosocketServer) gracefully.
///
/// [`shutdown`](Self::shutdown) makes the server stop accepting (its listener is
/// closed) and tells every connection it started to close: each stops reading,
/// sends what it already has queued within the server's grace period, and is
/// dropped if that takes longer. The server future completes once every connection
/// has ended.
///
/// Clones share one server. Dropping a handle does nothing: only `shutdown` stops
/// the server.
///
/// The [crate documentation](crate) shows one in use.
#[derive(Debug, Clone)]
pub struct ShutdownHandle {
    shutdown: CancellationToken,
    finished: CancellationToken,
}

impl ShutdownHandle {
    pub(crate) fn new(shutdown: CancellationToken, finished: CancellationToken) -> Self {
        Self { shutdown, finished }
    }

    /// Starts the graceful shutdown. Calling it again does nothing more.
    pub fn shutdown(&self) {
        self.shutdown.cancel();
    }

    /// Whether [`shutdown`](Self::shutdown) has been called.
    #[must_use]
    pub fn is_shutdown(&self) -> bool {
        self.shutdown.is_cancelled()
    }

    /// Whether the server future has completed (or was dropped).
    #[must_use]
    pub fn is_finished(&self) -> bool {
        self.finished.is_cancelled()
    }

    /// Waits until the server future has completed (or was dropped). It does not
    /// start a shutdown.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: dropping the wait changes nothing.
    pub async fn wait(&self) {
        self.finished.cancelled().await;
    }

    /// Starts the graceful shutdown and waits for the server future to complete.
    /// The server future must be running (spawned, or polled elsewhere) for this to
    /// finish.
    ///
    /// # Cancel safety
    ///
    /// The shutdown starts at the call; dropping the returned future only stops the
    /// wait.
    pub fn shutdown_and_wait(&self) -> impl std::future::Future<Output = ()> + Send + '_ {
        self.shutdown();
        self.wait()
    }
}
