//! Where a client connects: [`Endpoint`], and the [`ClientStream`] it yields.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::str::FromStr;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::client::RpcClientConfig;

/// A server address: TCP or (on Unix) a Unix socket path.
///
/// Parsed from text as `host:port` (an IP address and port) or `unix:/some/path`.
///
/// ```
/// use protosocket_rpc::Endpoint;
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
    /// A TCP address, connected with the configuration's socket options.
    Tcp(SocketAddr),
    /// A Unix socket path.
    #[cfg(unix)]
    Unix(std::path::PathBuf),
}

impl Endpoint {
    /// Connects to this endpoint (TCP with the configuration's socket options).
    ///
    /// # Errors
    ///
    /// The i/o error of the failed connect.
    pub async fn connect(&self, config: &RpcClientConfig) -> io::Result<ClientStream> {
        match self {
            Endpoint::Tcp(address) => config
                .socket_options
                .connect_tcp(*address)
                .await
                .map(ClientStream::Tcp),
            #[cfg(unix)]
            Endpoint::Unix(path) => tokio::net::UnixStream::connect(path)
                .await
                .map(ClientStream::Unix),
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

/// The stream of a connection made from an [`Endpoint`]: TCP or Unix.
#[derive(Debug)]
pub enum ClientStream {
    /// A TCP connection.
    Tcp(tokio::net::TcpStream),
    /// A Unix socket connection.
    #[cfg(unix)]
    Unix(tokio::net::UnixStream),
}

impl AsyncRead for ClientStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            ClientStream::Tcp(stream) => Pin::new(stream).poll_read(cx, buf),
            #[cfg(unix)]
            ClientStream::Unix(stream) => Pin::new(stream).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for ClientStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            ClientStream::Tcp(stream) => Pin::new(stream).poll_write(cx, buf),
            #[cfg(unix)]
            ClientStream::Unix(stream) => Pin::new(stream).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            ClientStream::Tcp(stream) => Pin::new(stream).poll_write_vectored(cx, bufs),
            #[cfg(unix)]
            ClientStream::Unix(stream) => Pin::new(stream).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            ClientStream::Tcp(stream) => stream.is_write_vectored(),
            #[cfg(unix)]
            ClientStream::Unix(stream) => stream.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            ClientStream::Tcp(stream) => Pin::new(stream).poll_flush(cx),
            #[cfg(unix)]
            ClientStream::Unix(stream) => Pin::new(stream).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            ClientStream::Tcp(stream) => Pin::new(stream).poll_shutdown(cx),
            #[cfg(unix)]
            ClientStream::Unix(stream) => Pin::new(stream).poll_shutdown(cx),
        }
    }
}
