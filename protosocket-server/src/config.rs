//! Server settings.

use std::time::Duration;

use protosocket::{ConnectionConfig, SocketOptions};

/// A peer that takes no bytes for this long while some are queued for it is
/// dropped: long enough for any reader that is merely slow.
const DEFAULT_WRITE_STALL_TIMEOUT: Duration = Duration::from_secs(30);
/// Enough for a busy server; a bound, so a flood of peers meets the backlog, not
/// the file-descriptor limit.
const DEFAULT_MAX_CONNECTIONS: usize = 10_000;
/// Receive buffers of all connections together: 32 frames at the default 32 MiB
/// frame limit.
const DEFAULT_MAX_INBOUND_MEMORY: usize = 1024 * 1024 * 1024;

/// Settings of a [`ProtosocketServer`](crate::ProtosocketServer) and of every
/// connection it accepts.
///
/// | setting | default | what it does |
/// |---|---|---|
/// | `connection_config` | [`ConnectionConfig::default`] with a 30 s `write_stall_timeout` | each connection's buffers, queue depth, and how long a peer may take no bytes while some are queued for it (a server runs with tokio's timer anyway, so the stall timeout is on by default) |
/// | `socket_options` | [`SocketOptions::with_dead_peer_detection`] | listener and accepted-socket options (TCP); keepalive and `TCP_USER_TIMEOUT` drop a vanished client within about a minute |
/// | `max_connections` | 10,000 | connections served at once; more wait in the kernel backlog |
/// | `max_inbound_memory` | 1 GiB | receive-buffer bytes of all connections together; a connection whose buffer would take the total over it is closed |
/// | `grace_period` | 5 s | how long a connection may flush on shutdown before it is dropped |
/// | `accept_backoff` | 1 ms doubling to 1 s | the wait after a failed accept |
///
/// ```
/// use std::time::Duration;
/// use protosocket_server::ProtosocketServerConfig;
///
/// let connection =
///     ProtosocketServerConfig::default_connection_config().max_queued_outbound_messages(64);
/// let config = ProtosocketServerConfig::default()
///     .connection_config(connection)
///     .max_connections(10_000)
///     .grace_period(Duration::from_secs(2));
/// assert_eq!(config.get_max_connections(), 10_000);
/// assert_eq!(
///     config.get_connection_config().get_write_stall_timeout(),
///     Some(Duration::from_secs(30)),
/// );
/// ```
#[derive(Debug, Clone)]
pub struct ProtosocketServerConfig {
    pub(crate) connection: ConnectionConfig,
    pub(crate) socket_options: SocketOptions,
    pub(crate) max_connections: usize,
    pub(crate) max_inbound_memory: Option<usize>,
    pub(crate) grace_period: Duration,
    pub(crate) accept_backoff_min: Duration,
    pub(crate) accept_backoff_max: Duration,
}

impl Default for ProtosocketServerConfig {
    fn default() -> Self {
        Self {
            connection: Self::default_connection_config(),
            socket_options: SocketOptions::with_dead_peer_detection(),
            max_connections: DEFAULT_MAX_CONNECTIONS,
            max_inbound_memory: Some(DEFAULT_MAX_INBOUND_MEMORY),
            grace_period: Duration::from_secs(5),
            accept_backoff_min: Duration::from_millis(1),
            accept_backoff_max: Duration::from_secs(1),
        }
    }
}

impl ProtosocketServerConfig {
    /// The connection settings a server starts with: [`ConnectionConfig::default`]
    /// with a 30 s write-stall timeout. Start from these to change one setting and
    /// keep the others.
    #[must_use]
    pub fn default_connection_config() -> ConnectionConfig {
        ConnectionConfig::default().write_stall_timeout(Some(DEFAULT_WRITE_STALL_TIMEOUT))
    }

    /// The settings of every accepted connection: buffers, the outbound queue
    /// depth, the write-stall timeout, liveness.
    #[must_use]
    pub fn connection_config(mut self, config: ConnectionConfig) -> Self {
        self.connection = config;
        self
    }

    /// Options for the TCP listener and the sockets it accepts. Only
    /// [`bind_tcp`](crate::ProtosocketServer::bind_tcp) uses them; a custom
    /// [`Listener`](protosocket::Listener) applies its own.
    #[must_use]
    pub fn socket_options(mut self, options: SocketOptions) -> Self {
        self.socket_options = options;
        self
    }

    /// How many connections are served at once (at least 1). At the limit the
    /// server stops accepting, so new peers wait in the listen backlog, and resumes
    /// when a connection ends.
    #[must_use]
    pub fn max_connections(mut self, connections: usize) -> Self {
        self.max_connections = connections.max(1);
        self
    }

    /// A bound on the receive-buffer bytes of all this server's connections
    /// together (see [`protosocket::InboundMemory`]); `None` bounds each connection
    /// by its `max_buffer_length` alone. A connection config that already holds an
    /// [`InboundMemory`](protosocket::InboundMemory) (shared with other servers)
    /// keeps it, and this is ignored.
    #[must_use]
    pub fn max_inbound_memory(mut self, bytes: Option<usize>) -> Self {
        self.max_inbound_memory = bytes;
        self
    }

    /// The configured bound on all connections' receive buffers.
    #[must_use]
    pub fn get_max_inbound_memory(&self) -> Option<usize> {
        self.max_inbound_memory
    }

    /// How long, after a shutdown, a connection may take to send what it has
    /// queued before it is dropped unflushed.
    #[must_use]
    pub fn grace_period(mut self, grace: Duration) -> Self {
        self.grace_period = grace;
        self
    }

    /// The wait after a failed accept: `min` (at least 1 ms), doubling with each
    /// failure in a row up to `max`, and back to `min` after an accept succeeds.
    #[must_use]
    pub fn accept_backoff(mut self, min: Duration, max: Duration) -> Self {
        self.accept_backoff_min = min;
        self.accept_backoff_max = max;
        self
    }

    /// The settings each connection gets.
    #[must_use]
    pub fn get_connection_config(&self) -> &ConnectionConfig {
        &self.connection
    }

    /// The configured connection limit.
    #[must_use]
    pub fn get_max_connections(&self) -> usize {
        self.max_connections
    }

    /// The configured grace period.
    #[must_use]
    pub fn get_grace_period(&self) -> Duration {
        self.grace_period
    }

    /// The options of the TCP listener and the sockets it accepts.
    #[must_use]
    pub fn get_socket_options(&self) -> &SocketOptions {
        &self.socket_options
    }

    /// The configured wait after a failed accept: `(min, max)`.
    #[must_use]
    pub fn get_accept_backoff(&self) -> (Duration, Duration) {
        (self.accept_backoff_min, self.accept_backoff_max)
    }
}
