//! Client settings.

use std::time::Duration;

use protosocket::{ConnectionConfig, Liveness, SocketOptions};

use crate::client::CallHook;
use crate::metadata::Metadata;

/// A quiet client connection pings its server after 1 s; a server that sends
/// nothing for 5 s while calls wait on it is given up (the calls fail with
/// `PeerUnresponsive`), so a hung server costs its calls 5 s, not their deadlines.
const DEFAULT_LIVENESS: Liveness =
    Liveness::new_const(Duration::from_secs(1), Duration::from_secs(5));

/// Settings of an rpc client connection.
///
/// | setting | default | what it does |
/// |---|---|---|
/// | `connection_config` | [`ConnectionConfig::default`] with [`Liveness`] pinging after 1 s and giving up after 5 s | receive buffer sizes, the outbound queue depth (each client handle's lane holds at most `max_queued_outbound_messages` calls before sends wait), and when a silent server is given up |
/// | `socket_options` | [`SocketOptions::with_dead_peer_detection`] | options of TCP connections (nodelay, keepalive, `TCP_USER_TIMEOUT`, buffer sizes) |
/// | `default_deadline` | none | the deadline of calls made without one |
/// | `call_hook` | none | a [`CallHook`] run on each request before it is queued (metadata, or refusing the call) |
/// | `stream_buffer` | 64 | responses a streaming call buffers unread; while one is full the connection reads nothing more |
/// | `credentials` | none | metadata sent once per connection, on its first call, for the server's [`AuthHook`](crate::server::AuthHook) |
/// | `send_budget` | 64 | requests a client-streaming or bidi call's sender may have queued, not yet taken by the connection, before `send` waits |
///
/// ```
/// use std::time::Duration;
/// use protosocket_rpc::client::RpcClientConfig;
///
/// let config = RpcClientConfig::default()
///     .connection_config(
///         RpcClientConfig::default_connection_config().max_queued_outbound_messages(64),
///     )
///     .default_deadline(Some(Duration::from_secs(5)));
/// assert_eq!(config.get_default_deadline(), Some(Duration::from_secs(5)));
/// assert_eq!(config.get_connection_config().get_max_queued_outbound_messages(), 64);
/// ```
#[derive(Debug, Clone)]
pub struct RpcClientConfig {
    pub(crate) connection: ConnectionConfig,
    pub(crate) socket_options: SocketOptions,
    pub(crate) default_deadline: Option<Duration>,
    pub(crate) call_hook: Option<CallHook>,
    pub(crate) stream_buffer: usize,
    pub(crate) send_budget: usize,
    pub(crate) credentials: Option<Metadata>,
}

impl Default for RpcClientConfig {
    fn default() -> Self {
        Self {
            connection: Self::default_connection_config(),
            socket_options: SocketOptions::with_dead_peer_detection(),
            default_deadline: None,
            call_hook: None,
            stream_buffer: 64,
            send_budget: 64,
            credentials: None,
        }
    }
}

impl RpcClientConfig {
    /// Metadata sent once per connection, on its first call (with that call's
    /// own metadata): what a server's
    /// [`AuthHook`](crate::server::AuthHook) checks. Every new connection
    /// (each reconnect of a pool too) sends it again; later calls carry
    /// nothing extra. `None` (the default) sends nothing.
    #[must_use]
    pub fn credentials(mut self, credentials: Option<Metadata>) -> Self {
        self.credentials = credentials;
        self
    }

    /// The configured credentials.
    #[must_use]
    pub fn get_credentials(&self) -> Option<&Metadata> {
        self.credentials.as_ref()
    }
    /// The connection settings a client starts with: [`ConnectionConfig::default`]
    /// with [`Liveness`] pinging after 1 s of quiet and giving up after 5 s. Start
    /// from these to change one setting and keep the others.
    #[must_use]
    pub fn default_connection_config() -> ConnectionConfig {
        ConnectionConfig::default().liveness(Some(DEFAULT_LIVENESS))
    }

    /// The connection's settings: buffers, the outbound queue depth, liveness.
    #[must_use]
    pub fn connection_config(mut self, config: ConnectionConfig) -> Self {
        self.connection = config;
        self
    }

    /// Options for TCP connections.
    #[must_use]
    pub fn socket_options(mut self, options: SocketOptions) -> Self {
        self.socket_options = options;
        self
    }

    /// The deadline of calls made without one; `None` (the default) lets them wait
    /// for as long as the connection lives.
    #[must_use]
    pub fn default_deadline(mut self, deadline: Option<Duration>) -> Self {
        self.default_deadline = deadline;
        self
    }

    /// The hook run on each request before it is queued; `None` (the default)
    /// runs nothing, at no cost per call.
    #[must_use]
    pub fn call_hook(mut self, hook: Option<CallHook>) -> Self {
        self.call_hook = hook;
        self
    }

    /// The configured call hook.
    #[must_use]
    pub fn get_call_hook(&self) -> Option<&CallHook> {
        self.call_hook.as_ref()
    }

    /// Responses a streaming call buffers unread (at least 1; default 64).
    ///
    /// With a server that speaks credit (both ends' message types carry a credit
    /// field, see [`Message::credit`](crate::Message::credit)) this is the window
    /// the call grants: the server's stream runs at most this far ahead of the
    /// reader, and a slow reader holds up only its own call. Without credit,
    /// while one call's buffer is full the connection reads nothing more from
    /// the server, so the server's stream waits for the reader, and so do the
    /// connection's other calls.
    #[must_use]
    pub fn stream_buffer(mut self, responses: usize) -> Self {
        self.stream_buffer = responses.max(1);
        self
    }

    /// Requests a client-streaming or bidi call's
    /// [`RequestSender`](crate::client::RequestSender) may have queued and not
    /// yet taken by the connection (at least 1) before its `send` waits.
    #[must_use]
    pub fn send_budget(mut self, requests: usize) -> Self {
        self.send_budget = requests.max(1);
        self
    }

    /// The configured size of a streaming call's buffer.
    #[must_use]
    pub fn get_stream_buffer(&self) -> usize {
        self.stream_buffer
    }

    /// The configured budget of a request sender.
    #[must_use]
    pub fn get_send_budget(&self) -> usize {
        self.send_budget
    }

    /// The configured default deadline.
    #[must_use]
    pub fn get_default_deadline(&self) -> Option<Duration> {
        self.default_deadline
    }

    /// The connection's settings.
    #[must_use]
    pub fn get_connection_config(&self) -> &ConnectionConfig {
        &self.connection
    }

    /// The options of TCP connections.
    #[must_use]
    pub fn get_socket_options(&self) -> &SocketOptions {
        &self.socket_options
    }
}
