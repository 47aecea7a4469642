//! The server: a [`SocketService`] served through `protosocket-server`.

mod auth;
mod context;
pub(crate) mod id_map;
mod inbox;
mod reactor;
mod service;
mod unary;
mod waker;

pub use auth::{AuthContext, AuthHook, AuthRequest};
pub use context::CallContext;
pub use inbox::RequestStream;
pub use unary::{UnaryFuture, UNARY_INLINE_BYTES};

/// The server's per-call hook: it sees each request's [`CallContext`] before the
/// service does, and may let it through or answer it with a status (see
/// [`Hook`](crate::Hook)).
pub type CallHook = crate::hook::Hook<CallContext>;
pub use reactor::RpcServerReactor;
pub use service::{ConnectionInfo, ConnectionService, Rpc, SocketService};
// `RpcServerConfig::server_config` takes it: users should not need a second
// dependency to name it.
pub use protosocket_server::{ProtosocketServerConfig, ShutdownHandle};

use std::fmt;
use std::future::Future;
use std::io;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use protosocket::{
    Accepted, ConnectionStats, Endpoint, EndpointListener, EndpointStream, Listener, MessageReactor,
};
use protosocket_server::{Outbound, ProtosocketServer, ServedConnection, ServerConnector};

use crate::health::HealthReporter;
use tokio::io::{AsyncRead, AsyncWrite};

/// Settings of an [`RpcServer`].
///
/// | setting | default | what it does |
/// |---|---|---|
/// | `server_config` | [`ProtosocketServerConfig::default`] | connections, buffers, queue depth, socket options, shutdown grace period |
/// | `max_rpcs_in_flight` | 1024 | rpcs running at once on one connection; more are answered [`ResourceExhausted`](crate::StatusCode::ResourceExhausted) |
/// | `call_hook` | none | a [`CallHook`] run on each request before the service sees it |
/// | `request_stream_buffer` | 64 | requests one rpc's [`RequestStream`] holds before the connection stops reading |
/// | `auth_hook` | none | an [`AuthHook`] run once per connection, on its first request |
/// | `health_reporter` | a new [`HealthReporter`], serving | the health the server's connections answer checks with |
/// | `drain_timeout` | 3 s | on shutdown, how long a connection keeps serving new requests while it waits for its client to close; after it, new requests are answered [`Unavailable`](crate::StatusCode::Unavailable). Keep it below the grace period, which ends every connection |
#[derive(Debug, Clone)]
pub struct RpcServerConfig {
    server: ProtosocketServerConfig,
    max_rpcs_in_flight: usize,
    call_hook: Option<CallHook>,
    request_stream_buffer: usize,
    drain_timeout: Duration,
    health: HealthReporter,
    auth_hook: Option<AuthHook>,
}

impl Default for RpcServerConfig {
    fn default() -> Self {
        Self {
            server: ProtosocketServerConfig::default(),
            max_rpcs_in_flight: 1024,
            call_hook: None,
            request_stream_buffer: DEFAULT_REQUEST_STREAM_BUFFER,
            drain_timeout: reactor::DEFAULT_DRAIN_TIMEOUT,
            health: HealthReporter::new(),
            auth_hook: None,
        }
    }
}

impl RpcServerConfig {
    /// On a graceful shutdown, how long each connection goes on serving new
    /// requests while it waits for its client to close (see
    /// [`ControlCode::Draining`](crate::ControlCode::Draining)); after it, new
    /// requests are answered [`Unavailable`](crate::StatusCode::Unavailable)
    /// and the connection closes once its rpcs are done; zero refuses them as
    /// soon as the shutdown begins. Keep it below the server config's grace
    /// period, which ends every connection.
    #[must_use]
    pub fn drain_timeout(mut self, timeout: Duration) -> Self {
        self.drain_timeout = timeout;
        self
    }

    /// The configured drain timeout.
    #[must_use]
    pub fn get_drain_timeout(&self) -> Duration {
        self.drain_timeout
    }

    /// Where the server's health comes from: every connection answers health
    /// checks from it (the service never sees them), and a graceful shutdown
    /// sets it [`NotServing`](crate::health::HealthStatus::NotServing) first.
    /// Keep a clone to flip the status.
    #[must_use]
    pub fn health_reporter(mut self, health: HealthReporter) -> Self {
        self.health = health;
        self
    }

    /// The server's health reporter.
    #[must_use]
    pub fn get_health_reporter(&self) -> &HealthReporter {
        &self.health
    }

    /// Authenticates each connection once, on its first request (see
    /// [`AuthHook`]); every call then reads the connection's auth context
    /// from its [`CallContext`]. `None` (the default) authenticates nothing.
    #[must_use]
    pub fn auth_hook(mut self, hook: Option<AuthHook>) -> Self {
        self.auth_hook = hook;
        self
    }

    /// The accept loop's and every connection's settings.
    #[must_use]
    pub fn server_config(mut self, config: ProtosocketServerConfig) -> Self {
        self.server = config;
        self
    }

    /// Rpcs running at once on one connection (at least 1); requests over the
    /// limit are answered [`ResourceExhausted`](crate::StatusCode::ResourceExhausted)
    /// (`Cancel` for a message type without status fields).
    #[must_use]
    pub fn max_rpcs_in_flight(mut self, rpcs: usize) -> Self {
        self.max_rpcs_in_flight = rpcs.max(1);
        self
    }

    /// The hook run on each request before the service sees it; `None` (the
    /// default) runs nothing, at no cost per call.
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

    /// Requests one rpc's [`RequestStream`] holds (at least 1) before the
    /// connection stops reading from its client until the handler takes one.
    #[must_use]
    pub fn request_stream_buffer(mut self, requests: usize) -> Self {
        self.request_stream_buffer = requests.max(1);
        self
    }

    /// The configured size of a request stream's buffer.
    #[must_use]
    pub fn get_request_stream_buffer(&self) -> usize {
        self.request_stream_buffer
    }

    /// The configured limit of rpcs in flight per connection.
    #[must_use]
    pub fn get_max_rpcs_in_flight(&self) -> usize {
        self.max_rpcs_in_flight
    }

    /// The accept loop's and every connection's settings.
    #[must_use]
    pub fn get_server_config(&self) -> &ProtosocketServerConfig {
        &self.server
    }
}

/// Requests a [`RequestStream`] buffers by default.
const DEFAULT_REQUEST_STREAM_BUFFER: usize = 64;

/// Runs each connection with `tokio::spawn`: the service's connections must be
/// `Send`.
#[derive(Debug, Clone, Copy, Default)]
pub struct TokioSpawn;

/// Runs each connection with `tokio::task::spawn_local`: nothing needs to be
/// `Send`, and the server must run inside a `tokio::task::LocalSet`.
#[derive(Debug, Clone, Copy, Default)]
pub struct LocalSpawn;

/// The reactor of a server connection of `Svc`.
pub(crate) type ServiceReactor<Svc> =
    RpcServerReactor<<Svc as SocketService>::ConnectionService, <Svc as SocketService>::Codec>;

/// The [`ServerConnector`] of an [`RpcServer`]: a [`SocketService`], the
/// per-connection rpc limit, the call hook, and where connections run (`Sp`).
pub struct RpcConnector<Svc, S, Sp> {
    service: Svc,
    max_rpcs_in_flight: usize,
    call_hook: Option<CallHook>,
    request_stream_buffer: usize,
    drain_timeout: Duration,
    health: HealthReporter,
    auth_hook: Option<AuthHook>,
    _stream: PhantomData<fn() -> (S, Sp)>,
}

impl<Svc, S, Sp> RpcConnector<Svc, S, Sp> {
    /// A connector for `service`, without a call hook.
    pub fn new(service: Svc, max_rpcs_in_flight: usize) -> Self {
        Self {
            service,
            max_rpcs_in_flight,
            call_hook: None,
            request_stream_buffer: DEFAULT_REQUEST_STREAM_BUFFER,
            drain_timeout: reactor::DEFAULT_DRAIN_TIMEOUT,
            health: HealthReporter::new(),
            auth_hook: None,
            _stream: PhantomData,
        }
    }

    /// Runs `hook` on each request of every connection before the service sees
    /// it.
    #[must_use]
    pub fn call_hook(mut self, hook: Option<CallHook>) -> Self {
        self.call_hook = hook;
        self
    }

    /// Requests one rpc's [`RequestStream`] holds (at least 1; default 64).
    #[must_use]
    pub fn request_stream_buffer(mut self, requests: usize) -> Self {
        self.request_stream_buffer = requests.max(1);
        self
    }

    /// A connector for `service` with `config`'s settings (a connector made
    /// with [`new`](Self::new) drains, reports health and authenticates as
    /// [`RpcServerConfig::default`] does).
    fn configured(service: Svc, config: &RpcServerConfig) -> Self {
        Self {
            drain_timeout: config.drain_timeout,
            health: config.health.clone(),
            auth_hook: config.auth_hook.clone(),
            ..Self::new(service, config.max_rpcs_in_flight)
                .call_hook(config.call_hook.clone())
                .request_stream_buffer(config.request_stream_buffer)
        }
    }

    fn reactor(
        &self,
        outbound: Outbound<ServiceReactor<Svc>>,
        accepted: &Accepted<S>,
        stats: &Arc<ConnectionStats>,
    ) -> ServiceReactor<Svc>
    where
        Svc: SocketService,
    {
        let connection = ConnectionInfo::new(&accepted.peer, stats)
            .with_peer_identity(accepted.identity.as_ref());
        let service = self.service.new_connection_service(&connection);
        RpcServerReactor::new(service, outbound, self.max_rpcs_in_flight)
            .call_hook(self.call_hook.clone())
            .request_stream_buffer(self.request_stream_buffer)
            .drain_timeout(self.drain_timeout)
            .health_reporter(self.health.clone())
            .auth_hook(
                self.auth_hook.clone(),
                accepted.peer.clone(),
                accepted.identity.clone(),
            )
    }
}

impl<Svc, S> ServerConnector for RpcConnector<Svc, S, TokioSpawn>
where
    Svc: SocketService,
    S: AsyncRead + AsyncWrite + Unpin,
    ServedConnection<S, ServiceReactor<Svc>>: Send + 'static,
{
    type Stream = S;
    type Reactor = ServiceReactor<Svc>;

    fn codec(&self) -> <Self::Reactor as MessageReactor>::Codec {
        self.service.codec()
    }

    fn new_reactor(
        &self,
        outbound: Outbound<Self::Reactor>,
        stream: &Accepted<S>,
        stats: &Arc<ConnectionStats>,
    ) -> Self::Reactor {
        self.reactor(outbound, stream, stats)
    }

    fn spawn_connection(&self, connection: ServedConnection<S, Self::Reactor>) {
        tokio::spawn(connection);
    }
}

impl<Svc, S> ServerConnector for RpcConnector<Svc, S, LocalSpawn>
where
    Svc: SocketService,
    S: AsyncRead + AsyncWrite + Unpin,
    ServedConnection<S, ServiceReactor<Svc>>: 'static,
{
    type Stream = S;
    type Reactor = ServiceReactor<Svc>;

    fn codec(&self) -> <Self::Reactor as MessageReactor>::Codec {
        self.service.codec()
    }

    fn new_reactor(
        &self,
        outbound: Outbound<Self::Reactor>,
        stream: &Accepted<S>,
        stats: &Arc<ConnectionStats>,
    ) -> Self::Reactor {
        self.reactor(outbound, stream, stats)
    }

    fn spawn_connection(&self, connection: ServedConnection<S, Self::Reactor>) {
        tokio::task::spawn_local(connection);
    }
}

impl<Svc, S, Sp> fmt::Debug for RpcConnector<Svc, S, Sp> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RpcConnector")
            .field("max_rpcs_in_flight", &self.max_rpcs_in_flight)
            .field("call_hook", &self.call_hook)
            .finish()
    }
}

/// An rpc server: a future that accepts connections and serves a
/// [`SocketService`] on each, until shut down through its
/// [`shutdown_handle`](Self::shutdown_handle).
///
/// Shutting down stops accepting and drains each connection: it tells its client
/// ([`ControlCode::Draining`](crate::ControlCode::Draining)), serves the requests
/// already sent, and closes once the client has closed its side and the rpcs in
/// flight have answered (after the [drain
/// timeout](RpcServerConfig::drain_timeout), new requests are refused with
/// [`Unavailable`](crate::StatusCode::Unavailable)); rpcs still running at the
/// end of the grace period are dropped.
///
/// # Cancel safety
///
/// Dropping it closes the listener; connections already started keep running.
pub struct RpcServer<L: Listener, Svc, Sp> {
    server: ProtosocketServer<L, RpcConnector<Svc, L::Stream, Sp>>,
}

impl<Svc> RpcServer<EndpointListener, Svc, TokioSpawn>
where
    RpcConnector<Svc, EndpointStream, TokioSpawn>: ServerConnector<Stream = EndpointStream>,
{
    /// Serves `service` on `endpoint` (TCP with the server config's socket options,
    /// or a Unix socket), each connection on `tokio::spawn`. Bind TCP port 0 and ask
    /// [`local_endpoint`](Self::local_endpoint) for the port. Must be called inside
    /// a tokio runtime. A Unix socket file stays after the server ends.
    ///
    /// # Errors
    ///
    /// Binding failed (the address is taken, the path exists, ...).
    pub fn bind(
        endpoint: impl Into<Endpoint>,
        service: Svc,
        config: RpcServerConfig,
    ) -> io::Result<Self> {
        Self::bind_with(&endpoint.into(), service, config)
    }
}

impl<Svc> RpcServer<EndpointListener, Svc, LocalSpawn>
where
    RpcConnector<Svc, EndpointStream, LocalSpawn>: ServerConnector<Stream = EndpointStream>,
{
    /// As [`bind`](RpcServer::bind), with each connection on
    /// `tokio::task::spawn_local`: the service and its rpcs may be `!Send`.
    ///
    /// # Errors
    ///
    /// Binding failed.
    ///
    /// # Panics
    ///
    /// The server panics when it accepts a connection outside a `LocalSet`.
    pub fn bind_local(
        endpoint: impl Into<Endpoint>,
        service: Svc,
        config: RpcServerConfig,
    ) -> io::Result<Self> {
        Self::bind_with(&endpoint.into(), service, config)
    }
}

impl<Svc, Sp> RpcServer<EndpointListener, Svc, Sp>
where
    RpcConnector<Svc, EndpointStream, Sp>: ServerConnector<Stream = EndpointStream>,
{
    fn bind_with(endpoint: &Endpoint, service: Svc, config: RpcServerConfig) -> io::Result<Self> {
        let listener = endpoint.listen(config.server.get_socket_options())?;
        tracing::info!(endpoint = %listener.local_endpoint()?, "listening");
        let connector = RpcConnector::configured(service, &config);
        Ok(Self {
            server: ProtosocketServer::new(listener, connector, config.server),
        })
    }

    /// Where the server listens (for TCP, with the real port when bound to port 0).
    ///
    /// # Errors
    ///
    /// The socket could not tell, or the server has shut down its listener
    /// ([`io::ErrorKind::NotConnected`]).
    pub fn local_endpoint(&self) -> io::Result<Endpoint> {
        match self.server.listener() {
            Some(listener) => listener.local_endpoint(),
            None => Err(io::Error::new(
                io::ErrorKind::NotConnected,
                "the server has stopped listening",
            )),
        }
    }
}

impl<Svc> RpcServer<EndpointListener, Svc, TokioSpawn>
where
    RpcConnector<Svc, EndpointStream, TokioSpawn>: ServerConnector<Stream = EndpointStream>,
    Self: Future<Output = ()> + Send + 'static,
{
    /// Runs the server on a task of its own (`tokio::spawn`) and returns where it
    /// listens and how to stop it: what a program that only serves needs, in one
    /// call.
    ///
    /// # Errors
    ///
    /// The listener could not tell its address.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime.
    pub fn spawn(self) -> io::Result<RunningServer> {
        let endpoint = self.local_endpoint()?;
        let shutdown = self.shutdown_handle();
        tokio::spawn(self);
        Ok(RunningServer { endpoint, shutdown })
    }
}

/// A server running on a task of its own, from [`RpcServer::spawn`]. Dropping
/// it leaves the server running.
#[derive(Debug, Clone)]
pub struct RunningServer {
    endpoint: Endpoint,
    shutdown: ShutdownHandle,
}

impl RunningServer {
    /// Where the server listens (for TCP, with the real port when bound to
    /// port 0).
    #[must_use]
    pub fn local_endpoint(&self) -> Endpoint {
        self.endpoint.clone()
    }

    /// A handle that shuts the server down gracefully.
    #[must_use]
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        self.shutdown.clone()
    }

    /// Stops accepting, lets each connection send what it has queued within the
    /// grace period, and waits until the server has finished.
    pub async fn shutdown(self) {
        self.shutdown.shutdown_and_wait().await;
    }
}

impl<L, Svc, Sp> RpcServer<L, Svc, Sp>
where
    L: Listener,
    RpcConnector<Svc, L::Stream, Sp>: ServerConnector<Stream = L::Stream>,
{
    /// Serves `service` on connections from any [`Listener`]; `spawn` says where
    /// connections run ([`TokioSpawn`] or [`LocalSpawn`]).
    pub fn new(listener: L, service: Svc, config: RpcServerConfig, spawn: Sp) -> Self {
        let _ = spawn;
        let connector = RpcConnector::configured(service, &config);
        Self {
            server: ProtosocketServer::new(listener, connector, config.server),
        }
    }

    /// A handle that shuts the server down gracefully.
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        self.server.shutdown_handle()
    }

    /// The listener, until the server shuts it down (for its address: a
    /// `TlsListener`'s `get_ref` is the listener it wraps).
    pub fn listener(&self) -> Option<&L> {
        self.server.listener()
    }

    /// Connections started and not yet ended.
    pub fn live_connections(&self) -> usize {
        self.server.live_connections()
    }
}

impl<L, Svc, Sp> Future for RpcServer<L, Svc, Sp>
where
    L: Listener,
    RpcConnector<Svc, L::Stream, Sp>: ServerConnector<Stream = L::Stream>,
    ProtosocketServer<L, RpcConnector<Svc, L::Stream, Sp>>: Future<Output = ()> + Unpin,
{
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        Pin::new(&mut self.get_mut().server).poll(cx)
    }
}

impl<L: Listener, Svc, Sp> fmt::Debug for RpcServer<L, Svc, Sp> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RpcServer").finish_non_exhaustive()
    }
}
