//! [`Connect`]: how a client makes the stream to an [`Endpoint`].

use std::future::Future;
use std::io;

use tokio::io::{AsyncRead, AsyncWrite};

use crate::endpoint::{Endpoint, EndpointStream};
use crate::socket::SocketOptions;

/// Makes a connected stream to an [`Endpoint`]: plain TCP or Unix
/// ([`EndpointConnector`]), TLS over either (`tls::TlsConnector`, feature `tls`),
/// or any stream of your own. A client that reconnects (an rpc pool) calls it on
/// every connect.
///
/// # Implementing
///
/// A connector that counts its connects:
///
/// ```
/// use std::future::Future;
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use protosocket::{Connect, Endpoint, EndpointConnector, EndpointStream};
///
/// #[derive(Default)]
/// struct Counting {
///     inner: EndpointConnector,
///     connects: AtomicUsize,
/// }
///
/// impl Connect for Counting {
///     type Stream = EndpointStream;
///
///     fn connect(&self, endpoint: &Endpoint) -> impl Future<Output = std::io::Result<EndpointStream>> + Send {
///         self.connects.fetch_add(1, Ordering::Relaxed);
///         self.inner.connect(endpoint)
///     }
/// }
/// ```
pub trait Connect {
    /// The streams it makes.
    type Stream: AsyncRead + AsyncWrite + Unpin + Send + 'static;

    /// Connects to `endpoint`.
    ///
    /// # Errors
    ///
    /// The i/o error of the failed connect (or handshake).
    fn connect(&self, endpoint: &Endpoint)
        -> impl Future<Output = io::Result<Self::Stream>> + Send;
}

/// Plain TCP (with [`SocketOptions`]) or Unix connections: [`Endpoint::connect`].
///
/// Its default uses [`SocketOptions::with_dead_peer_detection`], as rpc clients do.
#[derive(Debug, Clone)]
pub struct EndpointConnector {
    options: SocketOptions,
}

impl EndpointConnector {
    /// Connects with `options` on TCP.
    #[must_use]
    pub fn new(options: SocketOptions) -> Self {
        Self { options }
    }

    /// The options of its TCP connections.
    #[must_use]
    pub fn options(&self) -> &SocketOptions {
        &self.options
    }
}

impl Default for EndpointConnector {
    fn default() -> Self {
        Self::new(SocketOptions::with_dead_peer_detection())
    }
}

impl Connect for EndpointConnector {
    type Stream = EndpointStream;

    fn connect(
        &self,
        endpoint: &Endpoint,
    ) -> impl Future<Output = io::Result<EndpointStream>> + Send {
        endpoint.connect(&self.options)
    }
}
