//! Remote procedure calls over protosocket connections.
//!
//! A client sends requests of your own message type and gets, per request, one
//! response (unary) or a stream of responses ended by `End` (server streaming).
//! Every message carries an id, set by the client, and a [`ControlCode`]; your type
//! exposes both through the [`Message`] trait. Dropping an unfinished call, or
//! letting its deadline pass, sends `Cancel`, and the server drops that rpc's work.
//! A server is a [`SocketService`] (a codec and a [`ConnectionService`] per
//! connection) served by an [`RpcServer`]; rpc work runs in the connection's task,
//! polled only while the connection has room to send, and need not be `Send`.
//!
//! ```
//! # use protosocket_rpc::{ControlCode, Message};
//! # #[derive(Debug, Default)]
//! # struct Text { id: u64, code: u32, text: String }
//! # impl Text { fn new(text: impl Into<String>) -> Self { Text { text: text.into(), ..Default::default() } } }
//! # impl Message for Text {
//! #     fn message_id(&self) -> u64 { self.id }
//! #     fn set_message_id(&mut self, id: u64) { self.id = id }
//! #     fn control_code(&self) -> ControlCode { ControlCode::from_u32(self.code) }
//! #     fn cancelled(id: u64) -> Self { Text { id, code: 1, ..Default::default() } }
//! #     fn ended(id: u64) -> Self { Text { id, code: 2, ..Default::default() } }
//! # }
//! # /// Frames: u32 length, u64 id, u32 code, UTF-8 text.
//! # struct TextCodec;
//! # impl protosocket::Encoder for TextCodec {
//! #     type Message = Text;
//! #     type Serialized = std::io::Cursor<Vec<u8>>;
//! #     fn encode(&mut self, m: Text) -> Self::Serialized {
//! #         let mut b = ((12 + m.text.len()) as u32).to_be_bytes().to_vec();
//! #         b.extend_from_slice(&m.id.to_be_bytes());
//! #         b.extend_from_slice(&m.code.to_be_bytes());
//! #         b.extend_from_slice(m.text.as_bytes());
//! #         std::io::Cursor::new(b)
//! #     }
//! # }
//! # impl protosocket::Decoder for TextCodec {
//! #     type Message = Text;
//! #     fn decode(&mut self, b: &[u8]) -> Result<(usize, Text), protosocket::DecodeError> {
//! #         use protosocket::DecodeError;
//! #         let len = u32::from_be_bytes(*b.first_chunk::<4>().ok_or(DecodeError::Incomplete { frame_len: None })?) as usize;
//! #         let frame = b.get(4..4 + len).ok_or(DecodeError::Incomplete { frame_len: Some(4 + len) })?;
//! #         if len < 12 { return Err(DecodeError::invalid("short frame")); }
//! #         let text = String::from_utf8(frame[12..].to_vec()).map_err(DecodeError::invalid)?;
//! #         Ok((4 + len, Text { id: u64::from_be_bytes(frame[..8].try_into().unwrap()), code: u32::from_be_bytes(frame[8..12].try_into().unwrap()), text }))
//! #     }
//! # }
//! use std::future::{ready, Ready};
//! use protosocket_rpc::{
//!     RpcClientConfig, ConnectionService, Rpc, RpcClient, RpcServer, RpcServerConfig, SocketService,
//! };
//!
//! /// Answers each request with its text reversed.
//! struct Reverse;
//!
//! impl ConnectionService for Reverse {
//!     type Request = Text;
//!     type Response = Text;
//!     type Unary = Ready<Text>;
//!     type Streaming = futures_core::stream::BoxStream<'static, Text>;
//!
//!     fn new_rpc(&mut self, request: Text) -> Rpc<Self::Unary, Self::Streaming> {
//!         Rpc::Unary(ready(Text::new(request.text.chars().rev().collect::<String>())))
//!     }
//! }
//!
//! struct ReverseService;
//!
//! impl SocketService for ReverseService {
//!     type Codec = TextCodec;
//!     type ConnectionService = Reverse;
//!     fn codec(&self) -> TextCodec {
//!         TextCodec
//!     }
//!     fn new_connection_service(&self, _: &protosocket::PeerAddress) -> Reverse {
//!         Reverse
//!     }
//! }
//!
//! # let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
//! # runtime.block_on(async {
//! let server = RpcServer::bind_tcp("127.0.0.1:0".parse()?, ReverseService, RpcServerConfig::default())?;
//! let address = server.local_addr()?;
//! let shutdown = server.shutdown_handle();
//! tokio::spawn(server);
//!
//! let client = RpcClient::connect_tcp(address, TextCodec, &RpcClientConfig::default()).await?;
//! let response = client.send_unary(Text::new("hello")).await?;
//! assert_eq!(response.text, "olleh");
//!
//! shutdown.shutdown_and_wait().await;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```
//!
//! Layout:
//! - `message`: [`Message`], [`ControlCode`].
//! - `error`: [`Error`], how a call fails.
//! - `client`: [`RpcClient`], [`RpcClientConfig`], [`ClientConnection`], the
//!   completions ([`UnaryCompletion`], [`StreamingCompletion`]) and the
//!   [`RpcClientReactor`] that routes responses to them; `client::endpoint`:
//!   [`Endpoint`] (TCP or Unix) and [`ClientStream`]; `client::pool`: [`RpcPool`],
//!   N lazily connected connections with reconnect backoff ([`PoolConfig`]).
//! - `server`: [`SocketService`], [`ConnectionService`], [`Rpc`],
//!   [`RpcServer`] and its config and connector, and the [`RpcServerReactor`]
//!   that runs rpcs (with `waker`, each rpc slot's waker, and `id_map`, the rpcs
//!   by id).
//! - `woken`: the queue of ids woken for a connection (the server's woken rpcs,
//!   the client's cancellations); `lock`: every mutex locked one way.

mod client;
mod error;
mod lock;
mod message;
mod server;
mod woken;

pub use client::{
    ClientConnection, ClientOutbound, ClientStream, Endpoint, ParseEndpointError, PoolConfig,
    RpcClient, RpcClientConfig, RpcClientReactor, RpcPool, StreamingCompletion, UnaryCompletion,
};
pub use error::Error;
pub use message::{ControlCode, Message};
// `RpcServerConfig::server_config` takes it: users should not need a second
// dependency to name it.
pub use protosocket_server::ProtosocketServerConfig;
pub use server::{
    ConnectionService, LocalSpawn, Rpc, RpcConnector, RpcServer, RpcServerConfig, RpcServerReactor,
    SocketService, TokioSpawn,
};
