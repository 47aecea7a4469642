//! The echo rpc service of DESIGN.md over protosocket-rpc with prost: the schema,
//! the server, and a closed-loop load generator that measures it.
//!
//! A unary request gets its message and nanotime back; a streaming request gets one
//! [`EchoStream`] per character of its message, then `End`; a request without a
//! body is rejected with `Cancel`. Frames are protobuf varint length-delimited, so
//! any protobuf implementation can talk to the server.
//!
//! ```
//! use example_proto::{start_server, EchoClient, Request, ResponseBehavior};
//! use protosocket_rpc::client::{RpcClient, RpcClientConfig};
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let server = start_server("127.0.0.1:0".parse()?)?;
//! let client: EchoClient =
//!     RpcClient::connect(server.local_addr(), protosocket_prost::codec(), &RpcClientConfig::default())
//!         .await?;
//!
//! let response = client.send_unary(Request::echo("hi", 7, ResponseBehavior::Unary)).await?;
//! assert!(matches!(
//!     response.kind,
//!     Some(example_proto::response::Kind::Echo(ref echo)) if echo.message == "hi" && echo.nanotime == 7
//! ));
//!
//! server.shutdown().await;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```
//!
//! Layout:
//! - `schema`: the prost messages ([`Request`], [`Response`], ...) and their
//!   [`protosocket_rpc::Message`] impls.
//! - `service`: [`EchoService`], [`EchoConnection`], [`start_server`].
//! - `load`: [`run_load`], [`LoadConfig`], [`Summary`].
//! - [`soak`]: the mixed-load soak test behind `example-proto-soak`.
//! - `cli`: what the binaries share: [`LoadArgs`], [`init_tracing`],
//!   [`run_and_print`], [`serve_until_stopped`].

mod cli;
mod load;
mod schema;
mod service;
pub mod soak;

pub use cli::{init_tracing, run_and_print, serve_until_stopped, LoadArgs};
pub use load::{
    run_load, run_load_with_progress, EchoClient, LoadConfig, Percentiles, Second, Summary,
};
pub use schema::{
    response, EchoRequest, EchoResponse, EchoStream, Request, Response, ResponseBehavior,
};
pub use service::{
    bind, start_server, start_server_with_config, Characters, EchoConnection, EchoServer,
    EchoService, RunningServer,
};

/// The address the server listens on and clients dial when `HOST` / `ENDPOINT`
/// are not set.
pub const DEFAULT_ADDRESS: &str = "127.0.0.1:9000";
