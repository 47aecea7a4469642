//! What the server asks of you for each connection.

use std::sync::Arc;

use protosocket::{spillway, Accepted, ConnectionStats, MessageReactor};
use tokio::io::{AsyncRead, AsyncWrite};

use crate::served::ServedConnection;

/// The outbound messages of a connection whose reactor is `R`.
pub type Outbound<R> = spillway::Sender<<R as MessageReactor>::LogicalOutbound>;

/// Builds the pieces of each accepted connection and decides where it runs.
///
/// For every stream it accepts, the server asks for a [`codec`](Self::codec) and a
/// [`new_reactor`](Self::new_reactor) (handing it the connection's outbound
/// sender and the accepted stream, whose peer address it may keep), builds a
/// [`Connection`](protosocket::Connection), wraps it in a [`ServedConnection`] that
/// follows the server's shutdown, and passes that to
/// [`spawn_connection`](Self::spawn_connection).
///
/// The trait has no `Send` bounds: a connector whose reactors are `!Send` spawns
/// them with `tokio::task::spawn_local` and runs the server on a `LocalSet`.
///
/// # Implementing
///
/// A connector for a reactor that echoes each line:
///
/// ```
/// use protosocket::{spillway, Accepted, LinesCodec, MessageReactor, ReactorStatus, Replies};
/// use protosocket_server::{ServedConnection, ServerConnector};
///
/// /// Answers through its replies; keeps the connection's sender so the connection
/// /// stays open (a reactor with tasks of its own would hand them clones).
/// struct Echo(spillway::Sender<String>);
///
/// impl MessageReactor for Echo {
///     type Codec = LinesCodec;
///     type Inbound = String;
///     type Outbound = String;
///     type LogicalOutbound = String;
///
///     fn on_inbound_message(&mut self, line: String, replies: &mut Replies<String>) -> ReactorStatus {
///         replies.push(line);
///         ReactorStatus::Continue
///     }
///
///     fn on_outbound_message(&mut self, line: String) -> String {
///         line
///     }
/// }
///
/// struct EchoConnector;
///
/// impl ServerConnector for EchoConnector {
///     type Stream = tokio::net::TcpStream;
///     type Reactor = Echo;
///
///     fn codec(&self) -> LinesCodec {
///         LinesCodec::new()
///     }
///
///     fn new_reactor(
///         &self,
///         outbound: spillway::Sender<String>,
///         stream: &Accepted<Self::Stream>,
///         _stats: &std::sync::Arc<protosocket::ConnectionStats>,
///     ) -> Echo {
///         tracing::debug!(peer = %stream.peer, "new echo reactor");
///         Echo(outbound)
///     }
///
///     fn spawn_connection(&self, connection: ServedConnection<Self::Stream, Echo>) {
///         tokio::spawn(connection);
///     }
/// }
/// ```
pub trait ServerConnector {
    /// The streams this connector's connections run over.
    type Stream: AsyncRead + AsyncWrite + Unpin;
    /// The reactor of each connection.
    type Reactor: MessageReactor;

    /// The codec of a new connection.
    fn codec(&self) -> <Self::Reactor as MessageReactor>::Codec;

    /// The reactor of a new connection. `outbound` feeds that connection: keep it
    /// (or clones of it) to send. The connection ends when the reactor disconnects,
    /// the peer closes, or every clone of `outbound` is gone. `stats` are the
    /// connection's counters (messages and bytes each way), kept up to date from
    /// its first poll: clone the `Arc` to read them later, from the reactor or
    /// from any thread.
    fn new_reactor(
        &self,
        outbound: Outbound<Self::Reactor>,
        stream: &Accepted<Self::Stream>,
        stats: &Arc<ConnectionStats>,
    ) -> Self::Reactor;

    /// Runs the connection: usually `tokio::spawn(connection)`, or
    /// `tokio::task::spawn_local` for `!Send` reactors. The server counts the
    /// connection as live until the future completes or is dropped, so dropping it
    /// here refuses the connection. Before spawning, you may read its
    /// [`stats`](ServedConnection::stats) or adjust it through
    /// [`connection_mut`](ServedConnection::connection_mut).
    fn spawn_connection(&self, connection: ServedConnection<Self::Stream, Self::Reactor>);
}
