//! TLS with rustls (ring provider), feature `tls`: a [`TlsListener`] that turns
//! any [`Listener`] into one handing out TLS streams, a [`TlsConnector`] that
//! makes TLS streams to an [`Endpoint`], and builders of the rustls configs for
//! server certificates, client certificates (mutual TLS) and trusted roots.
//!
//! A server built on the listener learns the verified client identity of each
//! connection from [`Accepted::identity`] (a [`PeerIdentity`]).
//!
//! ```
//! use std::sync::Arc;
//! use protosocket::tls::{self, rustls::pki_types::{CertificateDer, PrivateKeyDer}};
//!
//! # fn configs(
//! #     server_chain: Vec<CertificateDer<'static>>,
//! #     server_key: PrivateKeyDer<'static>,
//! #     client_chain: Vec<CertificateDer<'static>>,
//! #     client_key: PrivateKeyDer<'static>,
//! #     ca: CertificateDer<'static>,
//! # ) -> Result<(), tls::TlsConfigError> {
//! // Server: its own chain and key; clients must present a certificate that `ca` issued.
//! let server = tls::server_config_with_client_auth(server_chain, server_key, &[ca.clone()])?;
//! // Client: trusts `ca` for the server, and proves itself with its own chain.
//! let client = tls::client_config_with_cert(&[ca], client_chain, client_key)?;
//! let connector = tls::TlsConnector::new(Arc::new(client));
//! # let _ = (server, connector);
//! # Ok(())
//! # }
//! ```

use std::fmt;
use std::future::Future;
use std::io;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::task::JoinSet;

use crate::connect::{Connect, EndpointConnector};
use crate::endpoint::Endpoint;
use crate::identity::PeerIdentity;
use crate::listener::{Accepted, Listener, PeerAddress};

/// The stream of a TLS connection a client made.
pub use tokio_rustls::client::TlsStream as ClientTlsStream;
/// The rustls crate this module builds on, so users need no second dependency
/// to name its configs and certificate types (`rustls::pki_types`).
pub use tokio_rustls::rustls;
/// The stream of a TLS connection a server accepted.
pub use tokio_rustls::server::TlsStream as ServerTlsStream;

use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{ClientConfig, RootCertStore, ServerConfig};

/// The crypto provider of every config built here: ring.
fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A config could not be built: a certificate or key rustls refused, or a client
/// verifier without a usable root.
#[derive(Debug)]
pub enum TlsConfigError {
    /// rustls refused a certificate, key or protocol setting.
    Rustls(rustls::Error),
    /// The client-certificate verifier could not be built (no usable root).
    ClientVerifier(rustls::server::VerifierBuilderError),
}

impl fmt::Display for TlsConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TlsConfigError::Rustls(error) => write!(f, "invalid tls config: {error}"),
            TlsConfigError::ClientVerifier(error) => {
                write!(f, "invalid client certificate verifier: {error}")
            }
        }
    }
}

impl std::error::Error for TlsConfigError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            TlsConfigError::Rustls(error) => Some(error),
            TlsConfigError::ClientVerifier(error) => Some(error),
        }
    }
}

impl From<rustls::Error> for TlsConfigError {
    fn from(error: rustls::Error) -> Self {
        TlsConfigError::Rustls(error)
    }
}

/// A root store of `roots`.
fn root_store(roots: &[CertificateDer<'_>]) -> Result<RootCertStore, TlsConfigError> {
    let mut store = RootCertStore::empty();
    for root in roots {
        store.add(root.clone().into_owned())?;
    }
    Ok(store)
}

/// A server config presenting `chain` (the server's certificate first) with
/// `key`, without client certificates. TLS 1.2 and 1.3.
///
/// # Errors
///
/// rustls refused the key or the chain.
pub fn server_config(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<ServerConfig, TlsConfigError> {
    Ok(ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(chain, key)?)
}

/// A server config presenting `chain` with `key` that requires every client to
/// present a certificate issued by one of `client_roots` (mutual TLS): a client
/// without one, or with one that does not verify (another CA, expired), fails
/// the handshake. The verified chain reaches the server as
/// [`Accepted::identity`].
///
/// # Errors
///
/// rustls refused the key, the chain or a root, or `client_roots` is empty.
pub fn server_config_with_client_auth(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    client_roots: &[CertificateDer<'_>],
) -> Result<ServerConfig, TlsConfigError> {
    let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
        Arc::new(root_store(client_roots)?),
        provider(),
    )
    .build()
    .map_err(TlsConfigError::ClientVerifier)?;
    Ok(ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)?)
}

/// A client config that trusts servers whose certificates `roots` issued, and
/// presents no certificate of its own.
///
/// # Errors
///
/// rustls refused a root.
pub fn client_config(roots: &[CertificateDer<'_>]) -> Result<ClientConfig, TlsConfigError> {
    Ok(ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .with_root_certificates(root_store(roots)?)
        .with_no_client_auth())
}

/// A client config that trusts servers whose certificates `roots` issued and
/// proves itself with `chain` (its certificate first) and `key`, for servers
/// that require client certificates.
///
/// # Errors
///
/// rustls refused a root, the chain or the key.
pub fn client_config_with_cert(
    roots: &[CertificateDer<'_>],
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<ClientConfig, TlsConfigError> {
    Ok(ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .with_root_certificates(root_store(roots)?)
        .with_client_auth_cert(chain, key)?)
}

/// Settings of a [`TlsListener`].
///
/// | setting | default | what it does |
/// |---|---|---|
/// | `handshake_timeout` | 10 s | a handshake not done by then is dropped (a peer that connects and says nothing) |
/// | `max_handshakes` | 256 | handshakes running at once; past it the listener stops accepting (peers wait in the backlog) until one ends |
///
/// Connections still in their handshake are not yet the server's: they do not
/// count toward its `max_connections`, so a server holds at most
/// `max_connections + max_handshakes` sockets.
#[derive(Debug, Clone)]
pub struct TlsListenerConfig {
    handshake_timeout: Duration,
    max_handshakes: usize,
}

impl Default for TlsListenerConfig {
    fn default() -> Self {
        Self {
            handshake_timeout: Duration::from_secs(10),
            max_handshakes: 256,
        }
    }
}

impl TlsListenerConfig {
    /// How long one handshake may take.
    #[must_use]
    pub fn handshake_timeout(mut self, timeout: Duration) -> Self {
        self.handshake_timeout = timeout;
        self
    }

    /// Handshakes running at once (at least 1).
    #[must_use]
    pub fn max_handshakes(mut self, handshakes: usize) -> Self {
        self.max_handshakes = handshakes.max(1);
        self
    }

    /// How long one handshake may take.
    #[must_use]
    pub fn get_handshake_timeout(&self) -> Duration {
        self.handshake_timeout
    }

    /// Handshakes running at once.
    #[must_use]
    pub fn get_max_handshakes(&self) -> usize {
        self.max_handshakes
    }
}

/// A handshake's outcome: the TLS stream, or the peer and why it failed.
type Handshake<S> = Result<Accepted<ServerTlsStream<S>>, (PeerAddress, io::Error)>;

/// A [`Listener`] that hands out TLS streams: it accepts from `L`, runs each
/// TLS handshake on a task of its own (on the current tokio runtime), and
/// yields the connections whose handshake succeeded, with the client's verified
/// identity in [`Accepted::identity`] when the config asks for client
/// certificates.
///
/// A slow or silent peer holds up nobody: handshakes run concurrently, each under
/// the [handshake timeout](TlsListenerConfig::handshake_timeout), at most
/// [`max_handshakes`](TlsListenerConfig::max_handshakes) at once. A failed
/// handshake (a wrong CA, an expired certificate, garbage, a timeout) is logged
/// and dropped; it is never an accept error. Errors of the inner listener pass
/// through as they are.
///
/// ```
/// use std::sync::Arc;
/// use protosocket::tls::{rustls, TlsListener};
/// use protosocket::{Endpoint, SocketOptions};
///
/// # fn serve(server_config: rustls::ServerConfig) -> std::io::Result<()> {
/// let endpoint: Endpoint = "127.0.0.1:0".parse().unwrap();
/// let listener = TlsListener::new(endpoint.listen(&SocketOptions::default())?, Arc::new(server_config));
/// // Hand it to `protosocket_server::ProtosocketServer::new`, or to
/// // `protosocket_rpc::server::RpcServer::new`.
/// # let _ = listener;
/// # Ok(())
/// # }
/// ```
///
/// Dropping the listener aborts the handshakes still running.
pub struct TlsListener<L: Listener> {
    inner: L,
    acceptor: tokio_rustls::TlsAcceptor,
    config: TlsListenerConfig,
    handshakes: JoinSet<Handshake<L::Stream>>,
}

impl<L: Listener> TlsListener<L> {
    /// Wraps `inner`, with the default [`TlsListenerConfig`].
    pub fn new(inner: L, server_config: Arc<ServerConfig>) -> Self {
        Self::with_config(inner, server_config, TlsListenerConfig::default())
    }

    /// Wraps `inner`, with `config`.
    pub fn with_config(
        inner: L,
        server_config: Arc<ServerConfig>,
        config: TlsListenerConfig,
    ) -> Self {
        Self {
            inner,
            acceptor: tokio_rustls::TlsAcceptor::from(server_config),
            config,
            handshakes: JoinSet::new(),
        }
    }

    /// The listener it accepts from (for its address, say).
    pub fn get_ref(&self) -> &L {
        &self.inner
    }

    /// Handshakes running now.
    pub fn handshakes_in_flight(&self) -> usize {
        self.handshakes.len()
    }
}

impl<L> TlsListener<L>
where
    L: Listener,
    L::Stream: Send + 'static,
{
    fn start_handshake(&mut self, accepted: Accepted<L::Stream>) {
        let acceptor = self.acceptor.clone();
        let timeout = self.config.handshake_timeout;
        self.handshakes.spawn(async move {
            let Accepted { stream, peer, .. } = accepted;
            match tokio::time::timeout(timeout, acceptor.accept(stream)).await {
                Ok(Ok(stream)) => {
                    let identity = stream
                        .get_ref()
                        .1
                        .peer_certificates()
                        .map(|chain| Arc::new(PeerIdentity::from_certificates(chain)));
                    Ok(Accepted {
                        stream,
                        peer,
                        identity,
                    })
                }
                Ok(Err(error)) => Err((peer, error)),
                Err(_) => Err((
                    peer,
                    io::Error::new(io::ErrorKind::TimedOut, "tls handshake timed out"),
                )),
            }
        });
    }
}

impl<L> Listener for TlsListener<L>
where
    L: Listener,
    L::Stream: Send + 'static,
{
    type Stream = ServerTlsStream<L::Stream>;

    fn poll_accept(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<Accepted<Self::Stream>>> {
        loop {
            // Finished handshakes first: they are peers already waiting.
            while let Poll::Ready(Some(finished)) = self.handshakes.poll_join_next(cx) {
                match finished {
                    Ok(Ok(accepted)) => return Poll::Ready(Ok(accepted)),
                    Ok(Err((peer, error))) => {
                        tracing::warn!(%peer, %error, "tls handshake failed");
                    }
                    Err(error) => tracing::warn!(%error, "tls handshake task failed"),
                }
            }
            // At the cap, the join set's waker (registered above: the set is not
            // empty) brings us back when a handshake ends.
            if self.handshakes.len() >= self.config.max_handshakes {
                return Poll::Pending;
            }
            let accepted = std::task::ready!(self.inner.poll_accept(cx))?;
            self.start_handshake(accepted);
        }
    }
}

impl<L: Listener + fmt::Debug> fmt::Debug for TlsListener<L> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsListener")
            .field("inner", &self.inner)
            .field("config", &self.config)
            .field("handshakes", &self.handshakes.len())
            .finish()
    }
}

/// A [`Connect`] that makes TLS connections over the streams of another
/// connector (plain TCP or Unix by default).
///
/// The server's certificate is checked against the endpoint's host name
/// ([`Endpoint::host_name`]); for an IP endpoint, against its IP address,
/// unless a [`server_name`](Self::server_name) is given, which overrides both
/// (and is required over a Unix socket).
///
/// ```
/// use std::sync::Arc;
/// use protosocket::tls::{rustls, TlsConnector};
///
/// # fn connector(client_config: rustls::ClientConfig) {
/// // The server at 10.0.0.7 presents a certificate for `db.internal`.
/// let connector = TlsConnector::new(Arc::new(client_config))
///     .server_name("db.internal".try_into().unwrap());
/// # let _ = connector;
/// # }
/// ```
#[derive(Clone)]
pub struct TlsConnector<K = EndpointConnector> {
    inner: K,
    connector: tokio_rustls::TlsConnector,
    server_name: Option<ServerName<'static>>,
}

impl TlsConnector<EndpointConnector> {
    /// TLS with `client_config` over TCP (with
    /// [`SocketOptions::with_dead_peer_detection`](crate::SocketOptions::with_dead_peer_detection))
    /// or Unix connections.
    pub fn new(client_config: Arc<ClientConfig>) -> Self {
        Self::over(EndpointConnector::default(), client_config)
    }
}

impl<K> TlsConnector<K> {
    /// TLS with `client_config` over the streams `inner` makes.
    pub fn over(inner: K, client_config: Arc<ClientConfig>) -> Self {
        Self {
            inner,
            connector: tokio_rustls::TlsConnector::from(client_config),
            server_name: None,
        }
    }

    /// The name to check the server's certificate against, whatever the
    /// endpoint.
    #[must_use]
    pub fn server_name(mut self, name: ServerName<'static>) -> Self {
        self.server_name = Some(name);
        self
    }

    /// The name the server's certificate is checked against for `endpoint`.
    fn name_for(&self, endpoint: &Endpoint) -> io::Result<ServerName<'static>> {
        if let Some(name) = &self.server_name {
            return Ok(name.clone());
        }
        match endpoint {
            Endpoint::Tcp(address) => Ok(ServerName::IpAddress(address.ip().into())),
            Endpoint::Host { name, .. } => ServerName::try_from(name.clone()).map_err(|error| {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("{name} is not a tls server name: {error}"),
                )
            }),
            #[cfg(unix)]
            Endpoint::Unix(_) => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "tls over a unix socket needs an explicit server name",
            )),
        }
    }
}

impl<K> Connect for TlsConnector<K>
where
    K: Connect + Sync,
{
    type Stream = ClientTlsStream<K::Stream>;

    fn connect(
        &self,
        endpoint: &Endpoint,
    ) -> impl Future<Output = io::Result<Self::Stream>> + Send {
        let name = self.name_for(endpoint);
        let stream = self.inner.connect(endpoint);
        async move {
            let name = name?;
            let stream = stream.await?;
            self.connector.connect(name, stream).await
        }
    }
}

impl<K: fmt::Debug> fmt::Debug for TlsConnector<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsConnector")
            .field("inner", &self.inner)
            .field("server_name", &self.server_name)
            .finish_non_exhaustive()
    }
}
