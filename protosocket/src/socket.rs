//! Socket options, applied with `socket2`.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use socket2::{Domain, Protocol, SockRef, Socket, TcpKeepalive, Type};

/// Options for listening and accepted (or connected) TCP sockets.
///
/// | option | default |
/// |---|---|
/// | `nodelay` | true: small messages leave at once |
/// | `keepalive` | none |
/// | `reuse_address` | true |
/// | `reuse_port` | false |
/// | `backlog` | 1024 |
/// | `send_buffer_size` / `receive_buffer_size` | the kernel's |
#[derive(Debug, Clone)]
pub struct SocketOptions {
    nodelay: bool,
    keepalive: Option<Duration>,
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
    pub fn nodelay(mut self, nodelay: bool) -> Self {
        self.nodelay = nodelay;
        self
    }

    /// TCP keepalive on connections, probing after `idle` without traffic.
    pub fn keepalive(mut self, idle: Option<Duration>) -> Self {
        self.keepalive = idle;
        self
    }

    /// `SO_REUSEADDR` on listeners.
    pub fn reuse_address(mut self, reuse: bool) -> Self {
        self.reuse_address = reuse;
        self
    }

    /// `SO_REUSEPORT` on listeners (Unix only; ignored elsewhere), so several
    /// listeners can share a port.
    pub fn reuse_port(mut self, reuse: bool) -> Self {
        self.reuse_port = reuse;
        self
    }

    /// The listen backlog.
    pub fn backlog(mut self, backlog: u32) -> Self {
        self.backlog = backlog;
        self
    }

    /// `SO_SNDBUF`; `None` keeps the kernel's default.
    pub fn send_buffer_size(mut self, bytes: Option<usize>) -> Self {
        self.send_buffer_size = bytes;
        self
    }

    /// `SO_RCVBUF`; `None` keeps the kernel's default.
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
        if let Some(idle) = self.keepalive {
            socket.set_tcp_keepalive(&TcpKeepalive::new().with_time(idle))?;
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
    pub fn get_nodelay(&self) -> bool {
        self.nodelay
    }
}
