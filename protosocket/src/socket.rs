//! Socket options, applied with `socket2`.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use socket2::{Domain, Protocol, SockRef, Socket, TcpKeepalive, Type};

/// TCP keepalive: probes that find a peer whose host vanished (powered off,
/// partitioned) on a connection with nothing to send, which TCP alone would keep
/// forever.
///
/// A peer is declared dead after `idle + retries * interval` without an answer;
/// [`Keepalive::default`] takes 15 s + 4 x 5 s = 35 s. `interval` and `retries`
/// apply on Linux and Android; elsewhere the system's values are used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Keepalive {
    /// Time without traffic before the first probe.
    pub idle: Duration,
    /// Time between unanswered probes.
    pub interval: Duration,
    /// Unanswered probes before the connection is dropped.
    pub retries: u32,
}

impl Default for Keepalive {
    fn default() -> Self {
        Self {
            idle: Duration::from_secs(15),
            interval: Duration::from_secs(5),
            retries: 4,
        }
    }
}

impl Keepalive {
    /// Probes after `idle`, with the default interval and retries.
    #[must_use]
    pub fn after(idle: Duration) -> Self {
        Self {
            idle,
            ..Self::default()
        }
    }

    /// How long a vanished peer goes unnoticed at most: `idle + retries * interval`.
    #[must_use]
    pub fn detection_time(&self) -> Duration {
        self.idle + self.interval * self.retries
    }

    fn to_socket2(self) -> TcpKeepalive {
        let keepalive = TcpKeepalive::new().with_time(self.idle);
        #[cfg(any(target_os = "linux", target_os = "android"))]
        let keepalive = keepalive
            .with_interval(self.interval)
            .with_retries(self.retries);
        keepalive
    }
}

/// Options for listening and accepted (or connected) TCP sockets.
///
/// | option | default |
/// |---|---|
/// | `nodelay` | true: small messages leave at once |
/// | `keepalive` | none (servers and rpc clients set [`Keepalive::default`]) |
/// | `user_timeout` | none (servers and rpc clients set 30 s) |
/// | `reuse_address` | true |
/// | `reuse_port` | false |
/// | `backlog` | 1024 |
/// | `send_buffer_size` / `receive_buffer_size` | the kernel's |
#[derive(Debug, Clone)]
pub struct SocketOptions {
    nodelay: bool,
    keepalive: Option<Keepalive>,
    user_timeout: Option<Duration>,
    reuse_address: bool,
    reuse_port: bool,
    backlog: u32,
    send_buffer_size: Option<usize>,
    receive_buffer_size: Option<usize>,
}

impl Default for SocketOptions {
    fn default() -> Self {
        Self {
            nodelay: true,
            keepalive: None,
            user_timeout: None,
            reuse_address: true,
            reuse_port: false,
            backlog: 1024,
            send_buffer_size: None,
            receive_buffer_size: None,
        }
    }
}

impl SocketOptions {
    /// `TCP_NODELAY` on connections.
    #[must_use]
    pub fn nodelay(mut self, nodelay: bool) -> Self {
        self.nodelay = nodelay;
        self
    }

    /// TCP keepalive on connections (see [`Keepalive`]); `None` turns it off.
    #[must_use]
    pub fn keepalive(mut self, keepalive: Option<Keepalive>) -> Self {
        self.keepalive = keepalive;
        self
    }

    /// `TCP_USER_TIMEOUT` on connections (Linux and Android; ignored elsewhere):
    /// the connection is dropped when data it sent stays unacknowledged this long,
    /// so a peer that vanished with calls in flight is noticed in that time rather
    /// than at TCP's retransmission limit (about 15 minutes). `None` keeps the
    /// system's behaviour.
    #[must_use]
    pub fn user_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.user_timeout = timeout;
        self
    }

    /// The options servers and rpc clients use by default: these defaults, plus
    /// [`Keepalive::default`] and a 30 s `user_timeout`, so a vanished peer is
    /// dropped within about a minute whether or not data was in flight.
    #[must_use]
    pub fn with_dead_peer_detection() -> Self {
        Self::default()
            .keepalive(Some(Keepalive::default()))
            .user_timeout(Some(Duration::from_secs(30)))
    }

    /// `SO_REUSEADDR` on listeners.
    #[must_use]
    pub fn reuse_address(mut self, reuse: bool) -> Self {
        self.reuse_address = reuse;
        self
    }

    /// `SO_REUSEPORT` on listeners (Unix only; ignored elsewhere), so several
    /// listeners can share a port.
    #[must_use]
    pub fn reuse_port(mut self, reuse: bool) -> Self {
        self.reuse_port = reuse;
        self
    }

    /// The listen backlog.
    #[must_use]
    pub fn backlog(mut self, backlog: u32) -> Self {
        self.backlog = backlog;
        self
    }

    /// `SO_SNDBUF`; `None` keeps the kernel's default.
    #[must_use]
    pub fn send_buffer_size(mut self, bytes: Option<usize>) -> Self {
        self.send_buffer_size = bytes;
        self
    }

    /// `SO_RCVBUF`; `None` keeps the kernel's default.
    #[must_use]
    pub fn receive_buffer_size(mut self, bytes: Option<usize>) -> Self {
        self.receive_buffer_size = bytes;
        self
    }

    /// Applies the per-connection options (nodelay, keepalive, buffer sizes) to a
    /// connected TCP stream.
    ///
    /// # Errors
    ///
    /// The first `setsockopt` that fails.
    pub fn apply_to_stream(&self, stream: &tokio::net::TcpStream) -> io::Result<()> {
        stream.set_nodelay(self.nodelay)?;
        let socket = SockRef::from(stream);
        if let Some(keepalive) = self.keepalive {
            socket.set_tcp_keepalive(&keepalive.to_socket2())?;
        }
        #[cfg(any(target_os = "linux", target_os = "android"))]
        if self.user_timeout.is_some() {
            socket.set_tcp_user_timeout(self.user_timeout)?;
        }
        self.apply_buffer_sizes(&socket)
    }

    fn apply_buffer_sizes(&self, socket: &SockRef<'_>) -> io::Result<()> {
        if let Some(bytes) = self.send_buffer_size {
            socket.set_send_buffer_size(bytes)?;
        }
        if let Some(bytes) = self.receive_buffer_size {
            socket.set_recv_buffer_size(bytes)?;
        }
        Ok(())
    }

    /// Binds a TCP listener on `address` with these options. Must be called inside
    /// a tokio runtime.
    ///
    /// # Errors
    ///
    /// Creating, configuring, binding or listening on the socket failed.
    pub fn bind_tcp(&self, address: SocketAddr) -> io::Result<tokio::net::TcpListener> {
        let socket = Socket::new(
            Domain::for_address(address),
            Type::STREAM,
            Some(Protocol::TCP),
        )?;
        socket.set_reuse_address(self.reuse_address)?;
        #[cfg(all(unix, not(any(target_os = "solaris", target_os = "illumos"))))]
        socket.set_reuse_port(self.reuse_port)?;
        // Accepted sockets inherit buffer sizes set before listen().
        self.apply_buffer_sizes(&SockRef::from(&socket))?;
        socket.set_nonblocking(true)?;
        socket.bind(&address.into())?;
        socket.listen(self.backlog.min(i32::MAX as u32) as i32)?;
        tokio::net::TcpListener::from_std(socket.into())
    }

    /// Connects a TCP stream to `address` and applies the per-connection options.
    ///
    /// # Errors
    ///
    /// The connection or an option failed.
    pub async fn connect_tcp(&self, address: SocketAddr) -> io::Result<tokio::net::TcpStream> {
        let stream = tokio::net::TcpStream::connect(address).await?;
        self.apply_to_stream(&stream)?;
        Ok(stream)
    }

    /// Whether `nodelay` is set.
    #[must_use]
    pub fn get_nodelay(&self) -> bool {
        self.nodelay
    }

    /// The configured keepalive.
    #[must_use]
    pub fn get_keepalive(&self) -> Option<Keepalive> {
        self.keepalive
    }

    /// The configured `TCP_USER_TIMEOUT`.
    #[must_use]
    pub fn get_user_timeout(&self) -> Option<Duration> {
        self.user_timeout
    }

    /// Whether `SO_REUSEADDR` is set on listeners.
    #[must_use]
    pub fn get_reuse_address(&self) -> bool {
        self.reuse_address
    }

    /// Whether `SO_REUSEPORT` is set on listeners.
    #[must_use]
    pub fn get_reuse_port(&self) -> bool {
        self.reuse_port
    }

    /// The listen backlog.
    #[must_use]
    pub fn get_backlog(&self) -> u32 {
        self.backlog
    }

    /// The configured `SO_SNDBUF`; `None` leaves the kernel's.
    #[must_use]
    pub fn get_send_buffer_size(&self) -> Option<usize> {
        self.send_buffer_size
    }

    /// The configured `SO_RCVBUF`; `None` leaves the kernel's.
    #[must_use]
    pub fn get_receive_buffer_size(&self) -> Option<usize> {
        self.receive_buffer_size
    }
}
