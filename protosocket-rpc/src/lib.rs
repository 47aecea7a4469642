//! Remote procedure calls over protosocket connections.
//!
//! A client sends requests of your own message type and gets, per request, one
//! response (unary) or a stream of responses ended by `End` (server streaming);
//! a call may also send a stream of requests (client streaming, bidirectional:
//! see below).
//! Every message carries an id, set by the client, and a [`ControlCode`]; your type
//! exposes both through the [`Message`] trait. Dropping an unfinished call, or
//! letting its deadline pass, sends `Cancel`, and the server drops that rpc's work.
//!
//! A message type with a place for them (see [`Message`]'s provided methods) also
//! carries a failed call's [`Status`] (a gRPC code and a message, returned as
//! [`Error::Status`]), [`Metadata`] both ways, and the time the caller has left,
//! from which the server sets the call's deadline; a type without them still gets
//! a correct outcome from every path. Per-call [`Hook`]s (interceptors) on either
//! end see each call's metadata and may refuse it; nothing of this costs a call
//! that does not use it. A server may authenticate each connection once
//! ([`AuthHook`](server::AuthHook), the client's
//! [`credentials`](client::RpcClientConfig::credentials)) and every call reads
//! the result from its [`CallContext`](server::CallContext); it answers health
//! checks ([`health`]) and drains its connections on shutdown
//! ([`ControlCode::Draining`]), so a pool moves calls elsewhere without failing
//! any.
//! A server is a [`SocketService`](server::SocketService) (a codec and a
//! [`ConnectionService`](server::ConnectionService) per connection) served by an
//! [`RpcServer`](server::RpcServer); rpc work runs in the connection's task,
//! polled only while the connection has room to send, and need not be `Send`.
//!
//! ```
//! use std::future::{ready, Ready};
//!
//! use protosocket_prost::ProstCodec;
//! use protosocket_rpc::client::{RpcClient, RpcClientConfig};
//! use protosocket_rpc::server::{
//!     ConnectionInfo, ConnectionService, Rpc, RpcServer, RpcServerConfig, SocketService,
//! };
//! use protosocket_rpc::{ControlCode, Message};
//!
//! /// One message type both ways: id and code first, as every rpc message has.
//! #[derive(Clone, PartialEq, prost::Message)]
//! struct Text {
//!     #[prost(uint64, tag = "1")]
//!     id: u64,
//!     #[prost(uint32, tag = "2")]
//!     code: u32,
//!     #[prost(string, tag = "3")]
//!     text: String,
//! }
//!
//! impl Message for Text {
//!     fn message_id(&self) -> u64 {
//!         self.id
//!     }
//!     fn set_message_id(&mut self, id: u64) {
//!         self.id = id;
//!     }
//!     fn control_code(&self) -> ControlCode {
//!         ControlCode::from_u32(self.code)
//!     }
//!     fn control(id: u64, code: ControlCode) -> Self {
//!         Text { id, code: code as u32, text: String::new() }
//!     }
//!     fn cancelled(id: u64) -> Self {
//!         Self::control(id, ControlCode::Cancel)
//!     }
//!     fn ended(id: u64) -> Self {
//!         Self::control(id, ControlCode::End)
//!     }
//! }
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
//!         let text = request.text.chars().rev().collect();
//!         Rpc::Unary(ready(Text { text, ..request }))
//!     }
//! }
//!
//! /// Each connection gets a prost codec and a `Reverse`.
//! struct ReverseService;
//!
//! impl SocketService for ReverseService {
//!     type Codec = ProstCodec<Text, Text>;
//!     type ConnectionService = Reverse;
//!
//!     fn codec(&self) -> Self::Codec {
//!         protosocket_prost::codec()
//!     }
//!     fn new_connection_service(&self, _: &ConnectionInfo<'_>) -> Reverse {
//!         Reverse
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let server = RpcServer::bind("127.0.0.1:0".parse::<protosocket::Endpoint>()?, ReverseService, RpcServerConfig::default())?;
//! let endpoint = server.local_endpoint()?;
//! let shutdown = server.shutdown_handle();
//! tokio::spawn(server);
//!
//! let client: RpcClient<Text, Text> = RpcClient::connect(endpoint, protosocket_prost::codec(), &RpcClientConfig::default()).await?;
//! let response = client.send_unary(Text { text: "hello".into(), ..Default::default() }).await?;
//! assert_eq!(response.text, "olleh");
//!
//! shutdown.shutdown_and_wait().await;
//! # Ok(())
//! # }
//! ```
//!
//! # Streaming both ways, and flow control
//!
//! | kind | client | server | client API | server API |
//! |---|---|---|---|---|
//! | unary | `Normal(N)` | one response `N` | [`send_unary`](client::RpcClient::send_unary) | [`Rpc::Unary`](server::Rpc::Unary) |
//! | server streaming | `Normal(N)` | responses `N`, `End(N)` | [`send_streaming`](client::RpcClient::send_streaming) | [`Rpc::Streaming`](server::Rpc::Streaming) |
//! | client streaming | `Normal(N)`, more `Normal(N)`, `End(N)` | one response `N` | [`send_client_streaming`](client::RpcClient::send_client_streaming) | [`takes_request_stream`](server::ConnectionService::takes_request_stream), [`new_rpc_with_requests`](server::ConnectionService::new_rpc_with_requests) returning `Rpc::Unary` |
//! | bidirectional | as client streaming | responses `N`, `End(N)` | [`send_bidi`](client::RpcClient::send_bidi) | the same, returning `Rpc::Streaming` |
//!
//! The client's later requests go through a
//! [`RequestSender`](client::RequestSender): `send` waits when the call's budget
//! is used up, `finish` (or dropping it) sends `End(N)`. The server's handler
//! reads them from a [`RequestStream`](server::RequestStream). Dropping the
//! completion sends `Cancel(N)`, as for every call; when the call ends from the
//! server's side first, the sender's sends fail and the client sends `End(N)`.
//!
//! Every stream is bounded: a client buffers at most
//! [`stream_buffer`](client::RpcClientConfig::stream_buffer) responses of a call,
//! a server at most
//! [`request_stream_buffer`](server::RpcServerConfig::request_stream_buffer)
//! requests of an rpc. When your message type has a field for stream credit
//! ([`Message::credit`], [`Message::set_credit`]), streams flow by credit
//! ([`ControlCode::Credit`]): the producer sends no more than the reader's window
//! ahead of it, so a reader that stalls holds back its own stream only. Without
//! that field (or with an upstream peer) a full buffer makes its connection stop
//! reading until the reader takes an item: memory stays bounded, TCP holds the
//! producer back, and the connection's other calls wait with it.
//!
//! Layout:
//! - `message`: [`Message`], [`ControlCode`].
//! - `error`: [`Error`], how a call fails; `status`: [`Status`], [`StatusCode`].
//! - `metadata`: [`Metadata`], [`MetadataValue`]; `hook`: [`Hook`], a per-call
//!   interceptor.
//! - `derive_support` (hidden): what `#[derive(Message)]` and protosocket-build's
//!   generated services call, and the typed clients' [`CallOptions`] and
//!   [`Reply`].
//! - [`client`]: [`RpcClient`](client::RpcClient) and its
//!   [`RpcClientConfig`](client::RpcClientConfig), the completions a call returns,
//!   the [`RpcPool`](client::RpcPool), and the plumbing a connection runs on
//!   ([`ClientConnection`](client::ClientConnection),
//!   [`RpcClientReactor`](client::RpcClientReactor)).
//! - [`health`]: the [`HealthReporter`](health::HealthReporter) a server
//!   answers health checks from, and [`HealthStatus`](health::HealthStatus).
//! - [`server`]: what you implement ([`SocketService`](server::SocketService),
//!   [`ConnectionService`](server::ConnectionService)), the
//!   [`RpcServer`](server::RpcServer) and its config, and the plumbing
//!   ([`RpcServerReactor`](server::RpcServerReactor), the connector).
//! - `tls` (feature `tls`): `protosocket::tls`, re-exported: a `TlsListener` for
//!   [`RpcServer::new`](server::RpcServer::new), a `TlsConnector` for
//!   [`RpcClient::connect_with`](client::RpcClient::connect_with) and
//!   [`RpcPool::with_connector`](client::RpcPool::with_connector); the server's
//!   service reads a client's verified certificate in
//!   [`ConnectionInfo::peer_identity`](server::ConnectionInfo::peer_identity).
//!   `examples/tls.rs` runs mutual TLS end to end.
//!
//! Endpoints (`ip:port`, `host:port` or `unix:/path`) are [`protosocket::Endpoint`]s.
//! - `woken` (private): the queue of ids woken for a connection (the server's
//!   woken rpcs, the client's cancellations); `lock`: every mutex locked one way;
//!   `stream_buffer`: the bounded buffer of one stream between a connection and
//!   its reader.

pub mod client;
#[doc(hidden)]
pub mod derive_support;
mod error;
pub mod health;
mod hook;
mod lock;
mod message;
mod metadata;
pub mod server;
mod status;
mod stream_buffer;
mod woken;

pub use derive_support::{CallOptions, Reply, Requests, StreamMetadata};
pub use error::Error;
pub use hook::Hook;
pub use message::{ControlCode, Message};
pub use metadata::{Metadata, MetadataValue};
/// TLS with rustls (feature `tls`): `protosocket`'s TLS listener, connector and
/// config builders.
#[cfg(feature = "tls")]
pub use protosocket::tls;
/// `#[derive(Message)]`: the `Message` impl of a struct whose fields are marked
/// `#[rpc(id)]`, `#[rpc(code)]` and so on (the `derive` feature, on by default).
#[cfg(feature = "derive")]
pub use protosocket_derive::Message;
pub use status::{Status, StatusCode};

/// `docs/first-service.md`, whose code blocks run as doctests so the guide stays
/// true to the API.
#[cfg(doctest)]
#[doc = include_str!("../../docs/first-service.md")]
struct FirstServiceGuide;
