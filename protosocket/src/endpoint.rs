//! Where a connection goes: an [`Endpoint`] (TCP by address or host name, or
//! Unix), the [`EndpointStream`] connecting to it yields, and the
//! [`EndpointListener`] binding it yields.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::str::FromStr;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::listener::{Accepted, Listener, TcpListener};
use crate::socket::SocketOptions;

/// An address to connect to or listen on: TCP (an IP address, or a host name
/// resolved when used) or (on Unix) a Unix socket path.
///
/// Parsed from text as `ip:port` (`[v6]:port` for IPv6), `name:port` (a DNS host
/// name) or `unix:/some/path`.
///
/// A host name is resolved on every [`connect`](Self::connect), so a client that
/// reconnects (an rpc pool does) follows DNS changes; an IP endpoint costs no
/// resolution at all.
///
/// ```
/// use protosocket::Endpoint;
///
/// let tcp: Endpoint = "127.0.0.1:9000".parse().unwrap();
/// assert_eq!(tcp, Endpoint::Tcp(([127, 0, 0, 1], 9000).into()));
/// let named: Endpoint = "db.internal:9000".parse().unwrap();
/// assert_eq!(named, Endpoint::host("db.internal", 9000));
/// assert_eq!(named.host_name(), Some("db.internal"));
/// # #[cfg(unix)]
/// assert_eq!(
///     "unix:/tmp/echo.sock".parse::<Endpoint>().unwrap(),
///     Endpoint::Unix("/tmp/echo.sock".into())
/// );
/// assert!("localhost".parse::<Endpoint>().is_err(), "a port is required");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// A TCP address.
    Tcp(SocketAddr),
    /// A TCP host name and port, resolved on each connect.
    Host {
        /// The DNS name (or anything the system resolver takes, such as
        /// `localhost`).
        name: String,
        /// The TCP port.
        port: u16,
    },
    /// A Unix socket path.
    #[cfg(unix)]
    Unix(std::path::PathBuf),
}

impl Endpoint {
    /// A TCP endpoint by host name, resolved on each connect.
    #[must_use]
    pub fn host(name: impl Into<String>, port: u16) -> Self {
        Endpoint::Host {
            name: name.into(),
            port,
        }
    }

    /// Connects to this endpoint (TCP with `options`).
    ///
    /// A host name is resolved now (each call resolves afresh), and the addresses
    /// it resolves to are tried in the resolver's order until one connects.
    ///
    /// ```
    /// use protosocket::{Endpoint, SocketOptions};
    ///
    /// # let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    /// # runtime.block_on(async {
    /// let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    /// let port = listener.local_addr()?.port();
    /// let endpoint: Endpoint = format!("localhost:{port}").parse().unwrap();
    /// # // `localhost` may resolve to ::1 first, where nothing listens: that
    /// # // address is refused and the next one tried.
    /// let stream = endpoint.connect(&SocketOptions::default()).await?;
    /// # drop(stream);
    ///
    /// let unknown = Endpoint::host("no-such-host.invalid", 1);
    /// let error = unknown.connect(&SocketOptions::default()).await.unwrap_err();
    /// assert!(error.to_string().contains("no-such-host.invalid"));
    /// # Ok::<(), std::io::Error>(())
    /// # }).unwrap();
    /// ```
    ///
    /// # Errors
    ///
    /// The i/o error of the failed connect (for a host name, the last address's);
    /// for a host name that does not resolve, or resolves to no address, an error
    /// whose message names the host.
    pub async fn connect(&self, options: &SocketOptions) -> io::Result<EndpointStream> {
        match self {
            Endpoint::Tcp(address) => options.connect_tcp(*address).await.map(EndpointStream::Tcp),
            Endpoint::Host { name, port } => {
                let addresses = resolve(name, *port).await?;
                connect_in_order(addresses, options)
                    .await
                    .map(EndpointStream::Tcp)
            }
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
    /// A host name is resolved here, with the system resolver (which blocks the
    /// calling thread), and the listener binds the first address it resolves to
    /// only: list several endpoints to listen on several addresses.
    ///
    /// # Errors
    ///
    /// Binding failed (for instance, the address is taken or the path exists), or
    /// a host name did not resolve (the message names the host).
    pub fn listen(&self, options: &SocketOptions) -> io::Result<EndpointListener> {
        match self {
            Endpoint::Tcp(address) => {
                TcpListener::bind(*address, options.clone()).map(EndpointListener::Tcp)
            }
            Endpoint::Host { name, port } => {
                let address = std::net::ToSocketAddrs::to_socket_addrs(&(name.as_str(), *port))
                    .map_err(|error| unresolved(name, &error))?
                    .next()
                    .ok_or_else(|| no_address(name))?;
                TcpListener::bind(address, options.clone()).map(EndpointListener::Tcp)
            }
            #[cfg(unix)]
            Endpoint::Unix(path) => {
                crate::listener::UnixListener::bind(path).map(EndpointListener::Unix)
            }
        }
    }

    /// The TCP address, if this is a TCP endpoint given by address.
    #[must_use]
    pub fn tcp_address(&self) -> Option<SocketAddr> {
        match self {
            Endpoint::Tcp(address) => Some(*address),
            Endpoint::Host { .. } => None,
            #[cfg(unix)]
            Endpoint::Unix(_) => None,
        }
    }

    /// The host name, if this is a TCP endpoint given by name (a TLS client
    /// checks the server's certificate against it).
    #[must_use]
    pub fn host_name(&self) -> Option<&str> {
        match self {
            Endpoint::Host { name, .. } => Some(name),
            _ => None,
        }
    }
}

/// Resolves `name` with the system resolver (on tokio's blocking pool).
async fn resolve(name: &str, port: u16) -> io::Result<Vec<SocketAddr>> {
    let addresses: Vec<SocketAddr> = tokio::net::lookup_host((name, port))
        .await
        .map_err(|error| unresolved(name, &error))?
        .collect();
    if addresses.is_empty() {
        return Err(no_address(name));
    }
    Ok(addresses)
}

/// Connects to each address in turn until one accepts; the last error if none
/// does.
pub(crate) async fn connect_in_order(
    addresses: impl IntoIterator<Item = SocketAddr>,
    options: &SocketOptions,
) -> io::Result<tokio::net::TcpStream> {
    let mut last_error = None;
    for address in addresses {
        match options.connect_tcp(address).await {
            Ok(stream) => return Ok(stream),
            Err(error) => {
                tracing::debug!(%address, %error, "connect failed; trying the next address");
                last_error = Some(error);
            }
        }
    }
    Err(last_error
        .unwrap_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no address to connect to")))
}

#[cold]
fn unresolved(name: &str, error: &io::Error) -> io::Error {
    io::Error::new(
        error.kind(),
        format!("could not resolve host {name}: {error}"),
    )
}

#[cold]
fn no_address(name: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::NotFound,
        format!("host {name} resolved to no address"),
    )
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
            Endpoint::Host { name, port } => write!(f, "{name}:{port}"),
            #[cfg(unix)]
            Endpoint::Unix(path) => write!(f, "unix:{}", path.display()),
        }
    }
}

/// Text that is neither `ip:port`, `name:port` nor `unix:path`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseEndpointError {
    text: String,
}

impl fmt::Display for ParseEndpointError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid endpoint {:?}: expected ip:port, host:port or unix:/path",
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
        if let Ok(address) = text.parse::<SocketAddr>() {
            return Ok(Endpoint::Tcp(address));
        }
        text.rsplit_once(':')
            .filter(|(name, _)| is_host_name(name))
            .and_then(|(name, port)| Some(Endpoint::host(name, port.parse().ok()?)))
            .ok_or_else(|| ParseEndpointError {
                text: text.to_owned(),
            })
    }
}

/// Whether `name` looks like a DNS name: dot-separated labels of letters, digits,
/// `-` and `_`. What resolves is the resolver's business.
fn is_host_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label
                    .bytes()
                    .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_')
        })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names_and_rejects_the_rest() {
        assert_eq!(
            "localhost:80".parse::<Endpoint>(),
            Ok(Endpoint::host("localhost", 80))
        );
        assert_eq!(
            "[::1]:80".parse::<Endpoint>(),
            Ok(Endpoint::Tcp("[::1]:80".parse().unwrap()))
        );
        for bad in [
            "localhost",
            ":80",
            "host:",
            "host:port",
            "a..b:1",
            "a b:1",
            "::1:80",
            "host:70000",
        ] {
            assert!(bad.parse::<Endpoint>().is_err(), "{bad} parsed");
        }
        assert_eq!(
            Endpoint::host("db.internal", 7).to_string(),
            "db.internal:7"
        );
    }

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    /// A name whose first address refuses and whose second accepts connects to
    /// the second: what `connect` does with what the resolver returned.
    #[test]
    fn tries_every_address_in_order() {
        runtime().block_on(async {
            let refusing = {
                let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
                closed.local_addr().unwrap()
            };
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let accepting = listener.local_addr().unwrap();
            let stream = tokio::time::timeout(
                std::time::Duration::from_secs(5),
                connect_in_order([refusing, accepting], &SocketOptions::default()),
            )
            .await
            .unwrap()
            .unwrap();
            assert_eq!(stream.peer_addr().unwrap(), accepting);

            let error = connect_in_order([refusing], &SocketOptions::default())
                .await
                .unwrap_err();
            assert_eq!(error.kind(), io::ErrorKind::ConnectionRefused);
        });
    }

    #[test]
    fn localhost_reaches_a_server_on_loopback() {
        runtime().block_on(async {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let port = listener.local_addr().unwrap().port();
            let endpoint: Endpoint = format!("localhost:{port}").parse().unwrap();
            let options = SocketOptions::default();
            let (connected, accepted) =
                tokio::time::timeout(std::time::Duration::from_secs(5), async {
                    tokio::join!(endpoint.connect(&options), listener.accept())
                })
                .await
                .unwrap();
            let EndpointStream::Tcp(stream) = connected.unwrap() else {
                panic!("a host endpoint connects over TCP");
            };
            assert_eq!(stream.local_addr().unwrap(), accepted.unwrap().1);
        });
    }

    #[test]
    fn an_unresolvable_name_fails_naming_the_host() {
        runtime().block_on(async {
            let endpoint: Endpoint = "no-such-host.invalid:1".parse().unwrap();
            let error = tokio::time::timeout(
                std::time::Duration::from_secs(30),
                endpoint.connect(&SocketOptions::default()),
            )
            .await
            .unwrap()
            .unwrap_err();
            assert!(
                error.to_string().contains("no-such-host.invalid"),
                "{error}"
            );
            let error = endpoint.listen(&SocketOptions::default()).unwrap_err();
            assert!(
                error.to_string().contains("no-such-host.invalid"),
                "{error}"
            );
        });
    }
}
