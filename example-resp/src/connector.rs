//! Wiring the reactor into protosocket-server.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use protosocket::{spillway, Accepted, ConnectionStats, PooledEncoder, TcpListener};
use protosocket_server::{
    ProtosocketServer, ProtosocketServerConfig, ServedConnection, ServerConnector,
};
use tokio::net::TcpStream;

use crate::codec::{Limits, RespDecoder};
use crate::reactor::RespReactor;
use crate::reply::{Frame, RespSerializer};
use crate::session::{Session, Shared};
use crate::store::{spawn_sweeper, Store};

/// A RESP server over the store `S`.
pub type RespServer<S> = ProtosocketServer<TcpListener, RespConnector<S>>;

/// Settings of a RESP server.
///
/// | setting | default | what it does |
/// |---|---|---|
/// | `requirepass` | none | the password `AUTH` (or `HELLO ... AUTH`) must give before other commands run |
/// | `limits` | [`Limits::default`] | bounds on bulk strings, arguments and lines a peer may send |
#[derive(Debug, Clone, Default)]
pub struct RespConfig {
    password: Option<Bytes>,
    limits: Limits,
}

impl RespConfig {
    /// Requires `AUTH password` (user `default`) before other commands; `None`
    /// lets every connection in.
    #[must_use]
    pub fn requirepass(mut self, password: Option<impl Into<Bytes>>) -> Self {
        self.password = password.map(Into::into);
        self
    }

    /// Bounds on what a peer may send.
    #[must_use]
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// The configured limits.
    pub fn get_limits(&self) -> Limits {
        self.limits
    }

    /// Binds a server on `address` over `store`, and starts the task that sweeps
    /// the store's expired keys (it ends when the store is dropped). Must be
    /// called inside a tokio runtime with its timer.
    ///
    /// # Errors
    ///
    /// Binding failed.
    pub fn bind<S: Store>(self, address: SocketAddr, store: Arc<S>) -> io::Result<RespServer<S>> {
        let connector_config = self.server_config();
        let listener = TcpListener::bind(address, connector_config.get_socket_options().clone())?;
        let port = listener.local_addr()?.port();
        tracing::info!(address = %listener.local_addr()?, "listening");
        spawn_sweeper(&store);
        let connector = RespConnector {
            shared: Arc::new(Shared::new(store, self.password, port)),
            limits: self.limits,
        };
        Ok(ProtosocketServer::new(
            listener,
            connector,
            connector_config,
        ))
    }

    /// The server config: receive buffers that hold the largest request the
    /// limits allow (a request that overflowed the buffer would close the
    /// connection without the protocol error reply).
    pub fn server_config(&self) -> ProtosocketServerConfig {
        ProtosocketServerConfig::default().connection_config(
            ProtosocketServerConfig::default_connection_config()
                .max_buffer_length(self.limits.max_request_len()),
        )
    }
}

/// Builds a [`RespReactor`] and RESP codec for each TCP connection and runs it
/// with `tokio::spawn`.
#[derive(Debug)]
pub struct RespConnector<S> {
    shared: Arc<Shared<S>>,
    limits: Limits,
}

impl<S> RespConnector<S> {
    /// What the server's connections share.
    pub fn shared(&self) -> &Arc<Shared<S>> {
        &self.shared
    }
}

impl<S: Store> ServerConnector for RespConnector<S> {
    type Stream = TcpStream;
    type Reactor = RespReactor<S>;

    fn codec(&self) -> (PooledEncoder<RespSerializer>, RespDecoder) {
        (
            PooledEncoder::new(RespSerializer),
            RespDecoder::new(self.limits),
        )
    }

    fn new_reactor(
        &self,
        outbound: spillway::Sender<Frame>,
        _stream: &Accepted<TcpStream>,
        _stats: &Arc<ConnectionStats>,
    ) -> RespReactor<S> {
        RespReactor::new(Session::new(Arc::clone(&self.shared)), outbound)
    }

    fn spawn_connection(&self, connection: ServedConnection<TcpStream, RespReactor<S>>) {
        tokio::spawn(connection);
    }
}
