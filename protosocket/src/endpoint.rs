//! Where a connection goes: an [`Endpoint`] (TCP or Unix), the [`EndpointStream`]
//! connecting to it yields, and the [`EndpointListener`] binding it yields.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::str::FromStr;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::listener::{Accepted, Listener, TcpListener};
use crate::socket::SocketOptions;

/// An address to connect to or listen on: TCP or (on Unix) a Unix socket path.
///
/// Parsed from text as `host:port` (an IP address and port) or `unix:/some/path`.
///
/// ```
/// use protosocket::Endpoint;
///
/// let tcp: Endpoint = "127.0.0.1:9000".parse().unwrap();
/// assert_eq!(tcp, Endpoint::Tcp(([127, 0, 0, 1], 9000).into()));
/// # #[cfg(unix)]
/// assert_eq!(
///     "unix:/tmp/echo.sock".parse::<Endpoint>().unwrap(),
///     Endpoint::Unix("/tmp/echo.sock".into())
/// );
/// assert!("localhost".parse::<Endpoint>().is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// A TCP address.
    Tcp(SocketAddr),
    /// A Unix socket path.
    #[cfg(unix)]
    Unix(std::path::PathBuf),
}

impl Endpoint {
    /// Connects to this endpoint (TCP with `options`).
    ///
    /// # Errors
    ///
    /// The i/o error of the failed connect.
    pub async fn connect(&self, options: &SocketOptions) -> io::Result<EndpointStream> {
        match self {
            Endpoint::Tcp(address) => options.connect_tcp(*address).await.map(EndpointStream::Tcp),
            #[cfg(unix)]
            Endpoint::Unix(path) => tokio::net::UnixStream::connect(path)
                .await
                .map(EndpointStream::Unix),
        }
    }

    /// Listens on this endpoint (TCP with `options`; bind port 0 and ask
    /// [`EndpointListener::local_endpoint`] for the port). Must be called inside a
    /// tokio runtime. A Unix socket file stays after the listener is dropped.
    ///
    /// # Errors
    ///
    /// Binding failed (for instance, the address is taken or the path exists).
    pub fn listen(&self, options: &SocketOptions) -> io::Result<EndpointListener> {
        match self {
            Endpoint::Tcp(address) => {
                TcpListener::bind(*address, options.clone()).map(EndpointListener::Tcp)
            }
            #[cfg(unix)]
            Endpoint::Unix(path) => {
                crate::listener::UnixListener::bind(path).map(EndpointListener::Unix)
            }
        }
    }

    /// The TCP address, if this is a TCP endpoint.
    #[must_use]
    pub fn tcp_address(&self) -> Option<SocketAddr> {
        match self {
            Endpoint::Tcp(address) => Some(*address),
            #[cfg(unix)]
            Endpoint::Unix(_) => None,
        }
    }
}

/// A listener bound from an [`Endpoint`]: TCP (with socket options applied to
/// each accepted stream) or Unix. Its streams are [`EndpointStream`]s.
#[derive(Debug)]
pub enum EndpointListener {
    /// A TCP listener.
    Tcp(TcpListener),
    /// A Unix socket listener.
    #[cfg(unix)]
    Unix(crate::listener::UnixListener),
}

impl EndpointListener {
    /// Where the listener is bound (for TCP, with the real port when bound to
    /// port 0).
    ///
    /// # Errors
    ///
    /// The socket could not tell.
    pub fn local_endpoint(&self) -> io::Result<Endpoint> {
        match self {
            EndpointListener::Tcp(listener) => listener.local_addr().map(Endpoint::Tcp),
            #[cfg(unix)]
            EndpointListener::Unix(listener) => listener.local_endpoint(),
        }
    }
}

impl Listener for EndpointListener {
    type Stream = EndpointStream;

    fn poll_accept(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<Accepted<EndpointStream>>> {
        match self {
            EndpointListener::Tcp(listener) => listener
                .poll_accept(cx)
                .map_ok(|accepted| accepted.map_stream(EndpointStream::Tcp)),
            #[cfg(unix)]
            EndpointListener::Unix(listener) => listener
                .poll_accept(cx)
                .map_ok(|accepted| accepted.map_stream(EndpointStream::Unix)),
        }
    }
}

impl From<SocketAddr> for Endpoint {
    fn from(address: SocketAddr) -> Self {
        Endpoint::Tcp(address)
    }
}

#[cfg(unix)]
impl From<std::path::PathBuf> for Endpoint {
    fn from(path: std::path::PathBuf) -> Self {
        Endpoint::Unix(path)
    }
}

#[cfg(unix)]
impl From<&std::path::PathBuf> for Endpoint {
    fn from(path: &std::path::PathBuf) -> Self {
        Endpoint::Unix(path.clone())
    }
}

#[cfg(unix)]
impl From<&std::path::Path> for Endpoint {
    fn from(path: &std::path::Path) -> Self {
        Endpoint::Unix(path.to_path_buf())
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Endpoint::Tcp(address) => address.fmt(f),
            #[cfg(unix)]
            Endpoint::Unix(path) => write!(f, "unix:{}", path.display()),
        }
    }
}

/// Text that is neither `ip:port` nor `unix:path`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseEndpointError {
    text: String,
}

impl fmt::Display for ParseEndpointError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid endpoint {:?}: expected ip:port or unix:/path",
            self.text
        )
    }
}

impl std::error::Error for ParseEndpointError {}

impl FromStr for Endpoint {
    type Err = ParseEndpointError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        #[cfg(unix)]
        if let Some(path) = text.strip_prefix("unix:") {
            if !path.is_empty() {
                return Ok(Endpoint::Unix(path.into()));
            }
        }
        text.parse::<SocketAddr>()
            .map(Endpoint::Tcp)
            .map_err(|_| ParseEndpointError {
                text: text.to_owned(),
            })
    }
}

/// The stream of a connection to or from an [`Endpoint`]: TCP or Unix.
#[derive(Debug)]
pub enum EndpointStream {
    /// A TCP connection.
    Tcp(tokio::net::TcpStream),
    /// A Unix socket connection.
    #[cfg(unix)]
    Unix(tokio::net::UnixStream),
}

impl AsyncRead for EndpointStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            EndpointStream::Tcp(stream) => Pin::new(stream).poll_read(cx, buf),
            #[cfg(unix)]
            EndpointStream::Unix(stream) => Pin::new(stream).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for EndpointStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            EndpointStream::Tcp(stream) => Pin::new(stream).poll_write(cx, buf),
            #[cfg(unix)]
            EndpointStream::Unix(stream) => Pin::new(stream).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            EndpointStream::Tcp(stream) => Pin::new(stream).poll_write_vectored(cx, bufs),
            #[cfg(unix)]
            EndpointStream::Unix(stream) => Pin::new(stream).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            EndpointStream::Tcp(stream) => stream.is_write_vectored(),
            #[cfg(unix)]
            EndpointStream::Unix(stream) => stream.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            EndpointStream::Tcp(stream) => Pin::new(stream).poll_flush(cx),
            #[cfg(unix)]
            EndpointStream::Unix(stream) => Pin::new(stream).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            EndpointStream::Tcp(stream) => Pin::new(stream).poll_shutdown(cx),
            #[cfg(unix)]
            EndpointStream::Unix(stream) => Pin::new(stream).poll_shutdown(cx),
        }
    }
}
