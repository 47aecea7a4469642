//! Wiring the reactor into protosocket-server.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use protosocket::{spillway, Accepted, ConnectionStats, LinesCodec, TcpListener};
use protosocket_server::{
    ProtosocketServer, ProtosocketServerConfig, ServedConnection, ServerConnector,
};
use tokio::net::TcpStream;

use crate::codec::LineDecoder;
use crate::reactor::{Reply, TelnetReactor};

/// The line limit unless configured otherwise.
pub const DEFAULT_MAX_LINE_LENGTH: usize = 1024;

/// The greeting each connection gets first.
pub const GREETING: &str =
    "hello from example-telnet; commands: echo TEXT, upper TEXT, sleep SECONDS TEXT, stats, quit";

/// The telnet server type.
pub type TelnetServer = ProtosocketServer<TcpListener, TelnetConnector>;

/// Builds a [`TelnetReactor`] and line codec for each TCP connection and runs it
/// with `tokio::spawn`.
#[derive(Debug, Clone)]
pub struct TelnetConnector {
    max_line_length: usize,
}

impl Default for TelnetConnector {
    fn default() -> Self {
        Self::new(DEFAULT_MAX_LINE_LENGTH)
    }
}

impl TelnetConnector {
    /// A connector for lines of at most `max_line_length` bytes (at least 1).
    pub fn new(max_line_length: usize) -> Self {
        Self {
            max_line_length: max_line_length.max(1),
        }
    }

    /// A server config whose receive buffers can hold a whole line and see past it
    /// (a line that overflows the buffer would close the connection without the
    /// error message).
    pub fn server_config(&self) -> ProtosocketServerConfig {
        let buffer = self.max_line_length.saturating_add(2).saturating_mul(2);
        ProtosocketServerConfig::default().connection_config(
            ProtosocketServerConfig::default_connection_config()
                .max_buffer_length(buffer.max(4096)),
        )
    }

    /// Binds a telnet server on `address` with [`server_config`](Self::server_config).
    /// Must be called inside a tokio runtime.
    ///
    /// # Errors
    ///
    /// Binding failed.
    pub fn bind(self, address: SocketAddr) -> io::Result<TelnetServer> {
        let config = self.server_config();
        ProtosocketServer::bind_tcp(address, self, config)
    }
}

impl ServerConnector for TelnetConnector {
    type Stream = TcpStream;
    type Reactor = TelnetReactor;

    fn codec(&self) -> (LinesCodec, LineDecoder) {
        (LinesCodec::new(), LineDecoder::new(self.max_line_length))
    }

    fn new_reactor(
        &self,
        outbound: spillway::Sender<Reply>,
        _stream: &Accepted<TcpStream>,
        stats: &Arc<ConnectionStats>,
    ) -> TelnetReactor {
        // A fresh channel has room, so the greeting is queued ahead of any answer.
        let _ = outbound.send(Reply::Line(GREETING.to_string()));
        TelnetReactor::new(outbound, self.max_line_length, Arc::clone(stats))
    }

    fn spawn_connection(&self, connection: ServedConnection<TcpStream, TelnetReactor>) {
        tokio::spawn(connection);
    }
}
