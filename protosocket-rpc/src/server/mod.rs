//! The server: a [`SocketService`] served through `protosocket-server`.

mod id_map;
mod reactor;
mod service;
mod waker;

pub use reactor::RpcServerReactor;
pub use service::{ConnectionService, Rpc, SocketService};

use std::fmt;
use std::future::Future;
use std::io;
use std::marker::PhantomData;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};

use protosocket::{Accepted, Listener, MessageReactor, TcpListener};
use protosocket_server::{
    Outbound, ProtosocketServer, ProtosocketServerConfig, ServedConnection, ServerConnector,
    ShutdownHandle,
};
use tokio::io::{AsyncRead, AsyncWrite};

/// Settings of an [`RpcServer`].
///
/// | setting | default | what it does |
/// |---|---|---|
/// | `server_config` | [`ProtosocketServerConfig::default`] | connections, buffers, queue depth, socket options, shutdown grace period |
/// | `max_rpcs_in_flight` | 1024 | rpcs running at once on one connection; more are answered `Cancel` |
#[derive(Debug, Clone)]
pub struct RpcServerConfig {
    server: ProtosocketServerConfig,
    max_rpcs_in_flight: usize,
}

impl Default for RpcServerConfig {
    fn default() -> Self {
        Self {
            server: ProtosocketServerConfig::default(),
            max_rpcs_in_flight: 1024,
        }
    }
}

impl RpcServerConfig {
    /// The accept loop's and every connection's settings.
    #[must_use]
    pub fn server_config(mut self, config: ProtosocketServerConfig) -> Self {
        self.server = config;
        self
    }

    /// Rpcs running at once on one connection (at least 1); requests over the
    /// limit are answered `Cancel`.
    #[must_use]
    pub fn max_rpcs_in_flight(mut self, rpcs: usize) -> Self {
        self.max_rpcs_in_flight = rpcs.max(1);
        self
    }

    /// The configured limit of rpcs in flight per connection.
    #[must_use]
    pub fn get_max_rpcs_in_flight(&self) -> usize {
        self.max_rpcs_in_flight
    }
}

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
/// per-connection rpc limit, and where connections run (`Sp`).
pub struct RpcConnector<Svc, S, Sp> {
    service: Svc,
    max_rpcs_in_flight: usize,
    _stream: PhantomData<fn() -> (S, Sp)>,
}

impl<Svc, S, Sp> RpcConnector<Svc, S, Sp> {
    /// A connector for `service`.
    pub fn new(service: Svc, max_rpcs_in_flight: usize) -> Self {
        Self {
            service,
            max_rpcs_in_flight,
            _stream: PhantomData,
        }
    }

    fn reactor(
        &self,
        outbound: Outbound<ServiceReactor<Svc>>,
        peer: &Accepted<S>,
    ) -> ServiceReactor<Svc>
    where
        Svc: SocketService,
    {
        let service = self.service.new_connection_service(&peer.peer);
        RpcServerReactor::new(service, outbound, self.max_rpcs_in_flight)
    }

    /// Tells the service a connection is about to run.
    fn started(&self, connection: &ServedConnection<S, ServiceReactor<Svc>>)
    where
        Svc: SocketService,
        S: AsyncRead + AsyncWrite + Unpin,
    {
        self.service
            .connection_started(connection.peer(), connection.stats());
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
    ) -> Self::Reactor {
        self.reactor(outbound, stream)
    }

    fn spawn_connection(&self, connection: ServedConnection<S, Self::Reactor>) {
        self.started(&connection);
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
    ) -> Self::Reactor {
        self.reactor(outbound, stream)
    }

    fn spawn_connection(&self, connection: ServedConnection<S, Self::Reactor>) {
        self.started(&connection);
        tokio::task::spawn_local(connection);
    }
}

impl<Svc, S, Sp> fmt::Debug for RpcConnector<Svc, S, Sp> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RpcConnector")
            .field("max_rpcs_in_flight", &self.max_rpcs_in_flight)
            .finish()
    }
}

/// An rpc server: a future that accepts connections and serves a
/// [`SocketService`] on each, until shut down through its
/// [`shutdown_handle`](Self::shutdown_handle).
///
/// Shutting down stops accepting; each connection stops reading and sends what it
/// has queued within the grace period; rpcs still running are then dropped.
///
/// # Cancel safety
///
/// Dropping it closes the listener; connections already started keep running.
pub struct RpcServer<L: Listener, Svc, Sp> {
    server: ProtosocketServer<L, RpcConnector<Svc, L::Stream, Sp>>,
}

impl<Svc> RpcServer<TcpListener, Svc, TokioSpawn>
where
    RpcConnector<Svc, tokio::net::TcpStream, TokioSpawn>:
        ServerConnector<Stream = tokio::net::TcpStream>,
{
    /// Serves `service` on TCP `address`, each connection on `tokio::spawn`. Must
    /// be called inside a tokio runtime.
    ///
    /// # Errors
    ///
    /// Binding failed.
    pub fn bind_tcp(
        address: SocketAddr,
        service: Svc,
        config: RpcServerConfig,
    ) -> io::Result<Self> {
        Self::bind_tcp_with(address, service, config)
    }
}

impl<Svc> RpcServer<TcpListener, Svc, LocalSpawn>
where
    RpcConnector<Svc, tokio::net::TcpStream, LocalSpawn>:
        ServerConnector<Stream = tokio::net::TcpStream>,
{
    /// Serves `service` on TCP `address`, each connection on
    /// `tokio::task::spawn_local`: the service and its rpcs may be `!Send`.
    ///
    /// # Errors
    ///
    /// Binding failed.
    ///
    /// # Panics
    ///
    /// The server panics when it accepts a connection outside a `LocalSet`.
    pub fn bind_tcp_local(
        address: SocketAddr,
        service: Svc,
        config: RpcServerConfig,
    ) -> io::Result<Self> {
        Self::bind_tcp_with(address, service, config)
    }
}

impl<Svc, Sp> RpcServer<TcpListener, Svc, Sp>
where
    RpcConnector<Svc, tokio::net::TcpStream, Sp>: ServerConnector<Stream = tokio::net::TcpStream>,
{
    fn bind_tcp_with(
        address: SocketAddr,
        service: Svc,
        config: RpcServerConfig,
    ) -> io::Result<Self> {
        let connector = RpcConnector::new(service, config.max_rpcs_in_flight);
        Ok(Self {
            server: ProtosocketServer::bind_tcp(address, connector, config.server)?,
        })
    }

    /// The address the server listens on.
    ///
    /// # Errors
    ///
    /// As [`ProtosocketServer::local_addr`].
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.server.local_addr()
    }
}

#[cfg(unix)]
impl<Svc> RpcServer<protosocket::UnixListener, Svc, TokioSpawn>
where
    RpcConnector<Svc, tokio::net::UnixStream, TokioSpawn>:
        ServerConnector<Stream = tokio::net::UnixStream>,
{
    /// Serves `service` on a Unix socket at `path`, each connection on
    /// `tokio::spawn`. The socket file stays after the server ends.
    ///
    /// # Errors
    ///
    /// Binding failed (for instance, `path` exists).
    pub fn bind_unix(
        path: impl AsRef<std::path::Path>,
        service: Svc,
        config: RpcServerConfig,
    ) -> io::Result<Self> {
        Self::bind_unix_with(path, service, config)
    }
}

#[cfg(unix)]
impl<Svc> RpcServer<protosocket::UnixListener, Svc, LocalSpawn>
where
    RpcConnector<Svc, tokio::net::UnixStream, LocalSpawn>:
        ServerConnector<Stream = tokio::net::UnixStream>,
{
    /// As [`bind_unix`](RpcServer::bind_unix), with connections on
    /// `tokio::task::spawn_local`.
    ///
    /// # Errors
    ///
    /// Binding failed.
    pub fn bind_unix_local(
        path: impl AsRef<std::path::Path>,
        service: Svc,
        config: RpcServerConfig,
    ) -> io::Result<Self> {
        Self::bind_unix_with(path, service, config)
    }
}

#[cfg(unix)]
impl<Svc, Sp> RpcServer<protosocket::UnixListener, Svc, Sp>
where
    RpcConnector<Svc, tokio::net::UnixStream, Sp>: ServerConnector<Stream = tokio::net::UnixStream>,
{
    fn bind_unix_with(
        path: impl AsRef<std::path::Path>,
        service: Svc,
        config: RpcServerConfig,
    ) -> io::Result<Self> {
        let connector = RpcConnector::new(service, config.max_rpcs_in_flight);
        Ok(Self {
            server: ProtosocketServer::bind_unix(path, connector, config.server)?,
        })
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
        let connector = RpcConnector::new(service, config.max_rpcs_in_flight);
        Self {
            server: ProtosocketServer::new(listener, connector, config.server),
        }
    }

    /// A handle that shuts the server down gracefully.
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        self.server.shutdown_handle()
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
