//! Non-blocking, bidirectional message streams over TCP and Unix sockets, for
//! servers you own on both ends.
//!
//! A [`Connection`] is a future that owns one stream, its receive buffer, its send
//! queue and its codec, and runs a [`MessageReactor`] over the messages: no locks,
//! one task per connection. Outbound messages come from any thread through the
//! connection's [`spillway::Sender`]s. Client and server are the same `Connection`
//! with different reactors; `protosocket-server` accepts connections for you and
//! `protosocket-rpc` builds RPC on top.
//!
//! ```
//! use bytes::Bytes;
//! use protosocket::{
//!     Connection, ConnectionConfig, LengthDelimitedCodec, MessageReactor, ReactorStatus, Replies,
//! };
//!
//! /// Echoes every message back.
//! struct Echo;
//!
//! impl MessageReactor for Echo {
//!     type Codec = LengthDelimitedCodec;
//!     type Inbound = Bytes;
//!     type Outbound = Bytes;
//!     type LogicalOutbound = Bytes;
//!
//!     fn on_inbound_message(&mut self, message: Bytes, replies: &mut Replies<Bytes>) -> ReactorStatus {
//!         replies.push(message);
//!         ReactorStatus::Continue
//!     }
//!
//!     fn on_outbound_message(&mut self, message: Bytes) -> Bytes {
//!         message
//!     }
//! }
//!
//! # let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
//! # runtime.block_on(async {
//! use tokio::io::{AsyncReadExt, AsyncWriteExt};
//!
//! let (mut client, server) = tokio::io::duplex(4096);
//! let codec = LengthDelimitedCodec::new();
//! tokio::spawn(Connection::new(server, codec, Echo, None, ConnectionConfig::default()));
//!
//! // Each frame: a 4-byte big-endian length, then that many bytes.
//! client.write_all(b"\0\0\0\x02hi\0\0\0\0").await.unwrap();
//! let mut echoed = [0; 10];
//! client.read_exact(&mut echoed).await.unwrap();
//! assert_eq!(&echoed, b"\0\0\0\x02hi\0\0\0\0");
//! # });
//! ```
//!
//! Layout:
//! - `codec`: [`Encoder`], [`Decoder`], [`Codec`], [`DecodeError`].
//! - `pooled`: [`PooledEncoder`] and its [`SerializeInto`] trait.
//! - `codecs`: stock codecs, [`LengthDelimitedCodec`] and [`LinesCodec`].
//! - `reactor`: [`MessageReactor`], [`ReactorStatus`]; `replies`: [`Replies`], the
//!   answers a reactor queues.
//! - `connection`: [`Connection`], the event loop; `close`: [`CloseReason`].
//! - `memory`: [`InboundMemory`], a receive-buffer budget shared by connections.
//! - `liveness`: [`Liveness`], pings and the silent-peer timeout.
//! - `receive`: the receive buffer, its sizing and its charge to [`InboundMemory`],
//!   and decoding as many messages as there is room to answer.
//! - `send_queue`: encoded messages waiting for the stream; small ones are staged
//!   into one buffer so a burst leaves in one write.
//! - `stall`: the write-stall timeout.
//! - `coalesce`: [`WriteCoalescing`], when a fresh write waits for the runtime's
//!   other ready tasks.
//! - `config`: [`ConnectionConfig`].
//! - `stats`: [`ConnectionStats`].
//! - `socket`: [`SocketOptions`], [`Keepalive`].
//! - `listener`: [`Listener`], [`TcpListener`], [`UnixListener`], [`PeerAddress`].
//! - `endpoint`: [`Endpoint`] (TCP by address or host name, or Unix, parsed from
//!   text), the [`EndpointStream`] connecting to it yields and the
//!   [`EndpointListener`] binding it yields.
//! - `connect`: [`Connect`], how a client makes its stream, and
//!   [`EndpointConnector`], plain TCP or Unix.
//! - `identity`: [`PeerIdentity`], the verified identity of a peer.
//! - `tls` (feature `tls`): TLS with rustls, a listener wrapper and a connector.
//! - `waker`: [`WakerSlot`], the stored waker of a task waiting on something.

mod close;
mod coalesce;
mod codec;
mod codecs;
mod config;
mod connect;
mod connection;
mod endpoint;
mod identity;
mod listener;
mod liveness;
mod memory;
mod pooled;
mod reactor;
mod receive;
mod replies;
mod send_queue;
mod socket;
mod stall;
mod stats;
#[cfg(feature = "tls")]
pub mod tls;
mod waker;

pub use close::CloseReason;
pub use coalesce::WriteCoalescing;
pub use codec::{Codec, DecodeError, Decoder, Encoder, InvalidFrame};
pub use codecs::{LengthDelimitedCodec, LinesCodec};
pub use config::ConnectionConfig;
pub use connect::{Connect, EndpointConnector};
pub use connection::Connection;
pub use endpoint::{Endpoint, EndpointListener, EndpointStream, ParseEndpointError};
pub use identity::PeerIdentity;
#[cfg(unix)]
pub use listener::UnixListener;
pub use listener::{Accepted, Listener, PeerAddress, TcpListener};
pub use liveness::Liveness;
pub use memory::InboundMemory;
pub use pooled::{PooledBuffer, PooledEncoder, SerializeInto};
pub use reactor::{MessageReactor, ReactorStatus};
pub use replies::Replies;
pub use socket::{Keepalive, SocketOptions};
pub use stats::ConnectionStats;
pub use waker::WakerSlot;

pub use spillway;
