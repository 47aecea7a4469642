//! Servers for protosocket reactors: an accept loop that builds a
//! [`Connection`](protosocket::Connection) for every accepted stream, limits how
//! many run at once, rides out failed accepts, and shuts down gracefully.
//!
//! You write a [`ServerConnector`] (a codec and a reactor per connection, and where
//! to spawn it), pick a [`ProtosocketServerConfig`], and bind: the result is a
//! [`ProtosocketServer`] future to spawn or await. A [`ShutdownHandle`] stops it:
//! no more accepts, open connections flush what they have queued for up to a grace
//! period and close, then the server future completes.
//!
//! ```
//! use protosocket::{spillway, Accepted, LinesCodec, MessageReactor, ReactorStatus, Replies};
//! use protosocket_server::{
//!     ProtosocketServer, ProtosocketServerConfig, ServedConnection, ServerConnector,
//! };
//!
//! /// Answers each line in upper case. Keeps the connection's sender (the
//! /// connection closes once every sender is gone) and answers through its replies.
//! struct Upper(spillway::Sender<String>);
//!
//! impl MessageReactor for Upper {
//!     type Codec = LinesCodec;
//!     type Inbound = String;
//!     type Outbound = String;
//!     type LogicalOutbound = String;
//!
//!     fn on_inbound_message(&mut self, line: String, replies: &mut Replies<String>) -> ReactorStatus {
//!         replies.push(line.to_uppercase());
//!         ReactorStatus::Continue
//!     }
//!
//!     fn on_outbound_message(&mut self, line: String) -> String {
//!         line
//!     }
//! }
//!
//! struct Connector;
//!
//! impl ServerConnector for Connector {
//!     type Stream = tokio::net::TcpStream;
//!     type Reactor = Upper;
//!
//!     fn codec(&self) -> LinesCodec {
//!         LinesCodec::new()
//!     }
//!
//!     fn new_reactor(
//!         &self,
//!         outbound: spillway::Sender<String>,
//!         _: &Accepted<Self::Stream>,
//!         _: &std::sync::Arc<protosocket::ConnectionStats>,
//!     ) -> Upper {
//!         Upper(outbound)
//!     }
//!
//!     fn spawn_connection(&self, connection: ServedConnection<Self::Stream, Upper>) {
//!         tokio::spawn(connection);
//!     }
//! }
//!
//! # let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
//! # runtime.block_on(async {
//! use tokio::io::{AsyncReadExt, AsyncWriteExt};
//!
//! let config = ProtosocketServerConfig::default().max_connections(1000);
//! let server = ProtosocketServer::bind_tcp("127.0.0.1:0".parse().unwrap(), Connector, config)?;
//! let address = server.local_addr()?;
//! let shutdown = server.shutdown_handle();
//! let running = tokio::spawn(server);
//!
//! let mut client = tokio::net::TcpStream::connect(address).await?;
//! client.write_all(b"hello\n").await?;
//! let mut answer = [0; 6];
//! client.read_exact(&mut answer).await?;
//! assert_eq!(&answer, b"HELLO\n");
//!
//! shutdown.shutdown_and_wait().await;
//! assert_eq!(client.read(&mut [0; 1]).await?, 0, "closed after the shutdown");
//! running.await.unwrap();
//! # Ok::<(), std::io::Error>(())
//! # }).unwrap();
//! ```
//!
//! Layout:
//! - `connector`: [`ServerConnector`], what you implement.
//! - `config`: [`ProtosocketServerConfig`].
//! - `server`: [`ProtosocketServer`], the accept loop.
//! - `served`: [`ServedConnection`], one connection under the shutdown signal.
//! - `shutdown`: [`ShutdownHandle`]; `signal`: [`StopSignals`], Ctrl-C or SIGTERM.
//! - `tracker`: the live-connection count that gates accepting and shutdown.
//! - `backoff`: the wait after failed accepts.

mod backoff;
mod config;
mod connector;
mod served;
mod server;
mod shutdown;
mod signal;
mod tracker;

pub use config::ProtosocketServerConfig;
pub use connector::{Outbound, ServerConnector};
pub use served::ServedConnection;
pub use server::ProtosocketServer;
pub use shutdown::ShutdownHandle;
pub use signal::{StopSignal, StopSignals};
