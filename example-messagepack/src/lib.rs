//! The echo rpc service of `example-proto`, spoken in MessagePack: serde types for
//! the schema, the server side ([`EchoService`]), and a client that alternates
//! unary and streaming calls and checks every answer ([`run_alternating`]).
//!
//! Unary requests are answered with their message and nanotime; streaming requests
//! with one [`EchoStream`] per character of the message (sequence 0, 1, ...) then
//! `End`; a request without a body is rejected with `Cancel`.
//!
//! ```
//! use std::time::Duration;
//! use example_messagepack::{connect, run_alternating, serve, Limit};
//! use protosocket_rpc::client::RpcClientConfig;
//!
//! # let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
//! # runtime.block_on(async {
//! let server = serve("127.0.0.1:0".parse()?)?;
//! let address = server.local_endpoint()?;
//! let shutdown = server.shutdown_handle();
//! tokio::spawn(server);
//!
//! let client = connect(address, &RpcClientConfig::default()).await?;
//! let summary = run_alternating(&client, Limit::Iterations(10), Duration::from_secs(5)).await;
//! assert!(summary.is_clean(), "{summary}");
//! assert_eq!((summary.unary_ok, summary.streaming_ok), (5, 5));
//!
//! shutdown.shutdown_and_wait().await;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```
//!
//! Layout:
//! - `messages`: [`Request`], [`Response`] and their parts, with their
//!   [`Message`](protosocket_rpc::Message) impls.
//! - `service`: [`EchoService`] and the [`CharStream`] of a streamed answer.
//! - `client`: [`connect`], [`run_alternating`] and its [`Summary`].
//! - `cli`: what the binaries share: [`init_tracing`], [`check_server`],
//!   [`serve_until_stopped`].

mod cli;
mod client;
mod messages;
mod service;

pub use cli::{check_server, init_tracing, serve_until_stopped, CALL_DEADLINE};
pub use client::{
    connect, message_for, nanotime, run_alternating, ClientCodec, EchoClient, Limit, Summary,
};
pub use messages::{
    EchoRequest, EchoResponse, EchoStream, Request, Response, ResponseBehavior, ResponseKind,
};
pub use service::{CharStream, EchoService, ServerCodec};

use std::io;
use std::net::SocketAddr;

use protosocket_rpc::server::{RpcServer, RpcServerConfig, TokioSpawn};

/// The echo server on TCP: a future to spawn.
pub type EchoServer = RpcServer<protosocket::EndpointListener, EchoService, TokioSpawn>;

/// Binds the echo server on `address` with the default configuration. Must be
/// called inside a tokio runtime.
///
/// # Errors
///
/// Binding failed.
pub fn serve(address: SocketAddr) -> io::Result<EchoServer> {
    RpcServer::bind(address, EchoService, RpcServerConfig::default())
}
