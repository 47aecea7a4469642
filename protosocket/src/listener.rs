//! Where streams come from: TCP and Unix listeners behind one small trait.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite};

use crate::identity::PeerIdentity;
use crate::socket::SocketOptions;

/// The address of the peer of an accepted stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PeerAddress {
    /// A TCP peer.
    Tcp(SocketAddr),
    /// A Unix socket peer; its path, if it bound one.
    Unix(Option<std::path::PathBuf>),
}

impl fmt::Display for PeerAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PeerAddress::Tcp(address) => address.fmt(f),
            PeerAddress::Unix(Some(path)) => write!(f, "unix:{}", path.display()),
            PeerAddress::Unix(None) => f.write_str("unix:(unnamed)"),
        }
    }
}

/// An accepted stream and who is on the other end.
#[derive(Debug)]
pub struct Accepted<S> {
    /// The stream.
    pub stream: S,
    /// The peer's address.
    pub peer: PeerAddress,
    /// The peer's verified identity, when the listener authenticated it (a TLS
    /// listener that requires client certificates); `None` on plain TCP and Unix.
    pub identity: Option<Arc<PeerIdentity>>,
}

impl<S> Accepted<S> {
    /// A stream from `peer`, without a verified identity.
    pub fn new(stream: S, peer: PeerAddress) -> Self {
        Self {
            stream,
            peer,
            identity: None,
        }
    }

    /// The same peer with its stream wrapped (or replaced) by `wrap`.
    pub fn map_stream<T>(self, wrap: impl FnOnce(S) -> T) -> Accepted<T> {
        Accepted {
            stream: wrap(self.stream),
            peer: self.peer,
            identity: self.identity,
        }
    }
}

/// A source of connected streams. Implement it to wrap a listener: accept from
/// the inner listener and hand out the wrapped stream. Work that waits on the
/// peer (a TLS handshake) must not run inside `poll_accept`, which would stall
/// every other accept: run it concurrently and hand out the streams that finish,
/// as `tls::TlsListener` (feature `tls`) does.
///
/// ```
/// use std::task::{Context, Poll};
/// use protosocket::{Accepted, Listener, TcpListener};
///
/// /// Refuses peers outside loopback.
/// struct LoopbackOnly(TcpListener);
///
/// impl Listener for LoopbackOnly {
///     type Stream = tokio::net::TcpStream;
///
///     fn poll_accept(&mut self, cx: &mut Context<'_>) -> Poll<std::io::Result<Accepted<Self::Stream>>> {
///         loop {
///             let accepted = std::task::ready!(self.0.poll_accept(cx))?;
///             match &accepted.peer {
///                 protosocket::PeerAddress::Tcp(address) if address.ip().is_loopback() => {
///                     return Poll::Ready(Ok(accepted))
///                 }
///                 _ => drop(accepted),
///             }
///         }
///     }
/// }
/// ```
pub trait Listener {
    /// The streams it accepts.
    type Stream: AsyncRead + AsyncWrite + Unpin;

    /// Accepts the next stream.
    ///
    /// # Errors
    ///
    /// The accept failed. Errors such as `EMFILE` or `ECONNABORTED` are transient:
    /// a server logs them and accepts again.
    fn poll_accept(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<Accepted<Self::Stream>>>;
}

/// A TCP listener that applies [`SocketOptions`] to every accepted stream.
#[derive(Debug)]
pub struct TcpListener {
    listener: tokio::net::TcpListener,
    options: SocketOptions,
}

impl TcpListener {
    /// Binds `address` with `options`. Must be called inside a tokio runtime.
    ///
    /// # Errors
    ///
    /// Binding failed.
    pub fn bind(address: SocketAddr, options: SocketOptions) -> io::Result<Self> {
        let listener = options.bind_tcp(address)?;
        Ok(Self { listener, options })
    }

    /// Wraps a bound tokio listener.
    pub fn from_tokio(listener: tokio::net::TcpListener, options: SocketOptions) -> Self {
        Self { listener, options }
    }

    /// The bound address (with the real port when bound to port 0).
    ///
    /// # Errors
    ///
    /// The socket could not tell.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }
}

impl Listener for TcpListener {
    type Stream = tokio::net::TcpStream;

    fn poll_accept(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<Accepted<Self::Stream>>> {
        let (stream, peer) = std::task::ready!(self.listener.poll_accept(cx))?;
        if let Err(error) = self.options.apply_to_stream(&stream) {
            // The connection still works without its options; say so and go on.
            tracing::warn!(%peer, %error, "could not apply socket options");
        }
        Poll::Ready(Ok(Accepted::new(stream, PeerAddress::Tcp(peer))))
    }
}

/// A Unix domain socket listener.
#[cfg(unix)]
#[derive(Debug)]
pub struct UnixListener {
    listener: tokio::net::UnixListener,
}

#[cfg(unix)]
impl UnixListener {
    /// Binds `path`. Must be called inside a tokio runtime.
    ///
    /// # Errors
    ///
    /// Binding failed (for instance, the path exists).
    pub fn bind(path: impl AsRef<std::path::Path>) -> io::Result<Self> {
        Ok(Self {
            listener: tokio::net::UnixListener::bind(path)?,
        })
    }

    /// Wraps a bound tokio listener.
    pub fn from_tokio(listener: tokio::net::UnixListener) -> Self {
        Self { listener }
    }

    /// The bound path, as an endpoint.
    ///
    /// # Errors
    ///
    /// The socket could not tell, or it is not bound to a path.
    pub fn local_endpoint(&self) -> io::Result<crate::Endpoint> {
        let address = self.listener.local_addr()?;
        address
            .as_pathname()
            .map(|path| crate::Endpoint::Unix(path.to_path_buf()))
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "unnamed unix socket"))
    }
}

#[cfg(unix)]
impl Listener for UnixListener {
    type Stream = tokio::net::UnixStream;

    fn poll_accept(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<Accepted<Self::Stream>>> {
        let (stream, peer) = std::task::ready!(self.listener.poll_accept(cx))?;
        let peer = PeerAddress::Unix(peer.as_pathname().map(|path| path.to_path_buf()));
        Poll::Ready(Ok(Accepted::new(stream, peer)))
    }
}
