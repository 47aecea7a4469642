//! The echo server: a [`SocketService`] answering each [`Request`] on its own
//! connection, and [`start_server`] to run one in the background.

use std::fmt;
use std::future::{ready, Future, Ready};
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures::Stream;
use protosocket_prost::ProstCodec;
use protosocket_rpc::server::ConnectionInfo;
use protosocket_rpc::server::{
    ConnectionService, Rpc, RpcServer, RpcServerConfig, SocketService, TokioSpawn,
};
use protosocket_rpc::{ControlCode, Status};

use crate::schema::{response, EchoResponse, EchoStream, Request, Response, ResponseBehavior};

/// The echo service of DESIGN.md: unary requests get their message and nanotime
/// back; streaming requests get one [`EchoStream`] per character, then `End`.
/// A request without a body, or with an unknown response behavior, is rejected
/// with `Cancel`.
#[derive(Debug, Clone, Copy, Default)]
pub struct EchoService;

impl SocketService for EchoService {
    type Codec = ProstCodec<Response, Request>;
    type ConnectionService = EchoConnection;

    fn codec(&self) -> Self::Codec {
        protosocket_prost::codec()
    }

    fn new_connection_service(&self, connection: &ConnectionInfo<'_>) -> EchoConnection {
        tracing::debug!(peer = %connection.peer(), "echo connection");
        EchoConnection
    }
}

/// The rpcs of one echo connection. It keeps no state: every answer depends on
/// its request alone.
#[derive(Debug, Clone, Copy, Default)]
pub struct EchoConnection;

impl ConnectionService for EchoConnection {
    type Request = Request;
    type Response = Response;
    type Unary = Ready<Response>;
    type Streaming = Characters;

    fn new_rpc(&mut self, request: Request) -> Rpc<Ready<Response>, Characters> {
        let Some(body) = request.body else {
            return Rpc::Reject(Status::invalid_argument("a request needs a body"));
        };
        match ResponseBehavior::try_from(request.response_behavior) {
            Ok(ResponseBehavior::Unary) => Rpc::Unary(ready(Response {
                request_id: request.request_id,
                code: ControlCode::Normal.as_u32(),
                kind: Some(response::Kind::Echo(EchoResponse {
                    message: body.message,
                    nanotime: body.nanotime,
                })),
            })),
            Ok(ResponseBehavior::Stream) => Rpc::Streaming(Characters {
                request_id: request.request_id,
                message: body.message,
                offset: 0,
                sequence: 0,
                nanotime: body.nanotime,
            }),
            Err(_) => Rpc::Reject(Status::invalid_argument("unknown response behavior")),
        }
    }
}

/// The answer to a streaming request: one [`EchoStream`] per character of its
/// message, produced as the connection has room to send them.
#[derive(Debug)]
pub struct Characters {
    request_id: u64,
    message: String,
    /// Byte offset of the next character in `message`.
    offset: usize,
    sequence: u64,
    nanotime: u64,
}

impl Stream for Characters {
    type Item = Response;

    fn poll_next(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Response>> {
        let this = self.get_mut();
        let Some(character) = this.message[this.offset..].chars().next() else {
            return Poll::Ready(None);
        };
        this.offset += character.len_utf8();
        let sequence = this.sequence;
        this.sequence += 1;
        Poll::Ready(Some(Response {
            request_id: this.request_id,
            code: ControlCode::Normal.as_u32(),
            kind: Some(response::Kind::Stream(EchoStream {
                message: character.to_string(),
                nanotime: this.nanotime,
                sequence,
            })),
        }))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let rest = self.message.len() - self.offset;
        (rest.div_ceil(4), Some(rest))
    }
}

/// The echo server bound to a TCP address; spawn it, or poll it yourself.
pub type EchoServer = RpcServer<protosocket::EndpointListener, EchoService, TokioSpawn>;

/// Binds the echo server to `address` with the default configuration. Must be
/// called inside a tokio runtime.
///
/// # Errors
///
/// Binding failed.
pub fn bind(address: SocketAddr) -> io::Result<EchoServer> {
    RpcServer::bind(address, EchoService, RpcServerConfig::default())
}

type Shutdown = Box<dyn FnOnce() -> Pin<Box<dyn Future<Output = ()> + Send>> + Send>;

/// An echo server running on a spawned task, from [`start_server`].
///
/// Dropping it leaves the server running; call [`shutdown`](Self::shutdown) to
/// stop it.
pub struct RunningServer {
    address: SocketAddr,
    shutdown: Shutdown,
}

impl RunningServer {
    /// The address the server listens on (the real port when bound to port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.address
    }

    /// Stops accepting, lets every connection send what it has queued, and waits
    /// until the server has finished.
    pub async fn shutdown(self) {
        (self.shutdown)().await;
    }
}

impl fmt::Debug for RunningServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RunningServer")
            .field("address", &self.address)
            .finish_non_exhaustive()
    }
}

/// Binds the echo server to `address` and spawns it on the current tokio runtime.
///
/// # Errors
///
/// Binding failed.
pub fn start_server(address: SocketAddr) -> io::Result<RunningServer> {
    start_server_with_config(address, RpcServerConfig::default())
}

/// As [`start_server`], with `config` instead of the default configuration (for
/// instance a shorter write stall timeout).
///
/// # Errors
///
/// Binding failed.
pub fn start_server_with_config(
    address: SocketAddr,
    config: RpcServerConfig,
) -> io::Result<RunningServer> {
    let server = RpcServer::bind(address, EchoService, config)?;
    let address = server
        .local_endpoint()?
        .tcp_address()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "not a TCP endpoint"))?;
    // protosocket-rpc does not re-export the handle's type, so it is kept inside
    // the closure that uses it.
    let handle = server.shutdown_handle();
    tokio::spawn(server);
    Ok(RunningServer {
        address,
        shutdown: Box::new(move || Box::pin(async move { handle.shutdown_and_wait().await })),
    })
}
