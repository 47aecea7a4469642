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
//! use protosocket::{
//!     Connection, ConnectionConfig, DecodeError, Decoder, MessageReactor, PooledEncoder,
//!     ReactorStatus, Replies, SerializeInto,
//! };
//!
//! /// Frames: one length byte, then that many bytes.
//! #[derive(Default)]
//! struct Bytes255;
//!
//! impl SerializeInto for Bytes255 {
//!     type Message = Vec<u8>;
//!     fn serialize_into(&mut self, message: Vec<u8>, buffer: &mut Vec<u8>) {
//!         buffer.push(message.len() as u8);
//!         buffer.extend_from_slice(&message);
//!     }
//! }
//!
//! impl Decoder for Bytes255 {
//!     type Message = Vec<u8>;
//!     fn decode(&mut self, buffer: &[u8]) -> Result<(usize, Vec<u8>), DecodeError> {
//!         let len = buffer[0] as usize;
//!         match buffer.get(1..1 + len) {
//!             Some(body) => Ok((1 + len, body.to_vec())),
//!             None => Err(DecodeError::Incomplete { frame_len: Some(1 + len) }),
//!         }
//!     }
//! }
//!
//! /// Echoes every message back.
//! struct Echo;
//!
//! impl MessageReactor for Echo {
//!     type Codec = (PooledEncoder<Bytes255>, Bytes255);
//!     type Inbound = Vec<u8>;
//!     type Outbound = Vec<u8>;
//!     type LogicalOutbound = Vec<u8>;
//!
//!     fn on_inbound_message(&mut self, message: Vec<u8>, replies: &mut Replies<Vec<u8>>) -> ReactorStatus {
//!         replies.push(message);
//!         ReactorStatus::Continue
//!     }
//!
//!     fn on_outbound_message(&mut self, message: Vec<u8>) -> Vec<u8> {
//!         message
//!     }
//! }
//!
//! # let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
//! # runtime.block_on(async {
//! use tokio::io::{AsyncReadExt, AsyncWriteExt};
//!
//! let (mut client, server) = tokio::io::duplex(4096);
//! let codec = (PooledEncoder::default(), Bytes255);
//! tokio::spawn(Connection::new(server, codec, Echo, None, ConnectionConfig::default()));
//!
//! client.write_all(b"\x02hi\x00").await.unwrap();
//! let mut echoed = [0; 4];
//! client.read_exact(&mut echoed).await.unwrap();
//! assert_eq!(&echoed, b"\x02hi\x00");
//! # });
//! ```
//!
//! Layout:
//! - `codec`: [`Encoder`], [`Decoder`], [`Codec`], [`DecodeError`].
//! - `pooled`: [`PooledEncoder`] and its [`SerializeInto`] trait.
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
//! - `endpoint`: [`Endpoint`] (TCP or Unix, parsed from text), the
//!   [`EndpointStream`] connecting to it yields and the [`EndpointListener`] binding
//!   it yields.
//! - `waker`: [`WakerSlot`], the stored waker of a task waiting on something.

mod close;
mod coalesce;
mod codec;
mod config;
mod connection;
mod endpoint;
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
mod waker;

pub use close::CloseReason;
pub use coalesce::WriteCoalescing;
pub use codec::{Codec, DecodeError, Decoder, Encoder, InvalidFrame};
pub use config::ConnectionConfig;
pub use connection::Connection;
pub use endpoint::{Endpoint, EndpointListener, EndpointStream, ParseEndpointError};
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
