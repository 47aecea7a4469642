//! The echo service: unary echoes, character streams, rejection of empty requests.

use std::future::{ready, Ready};

use protosocket_messagepack::MessagePackCodec;
use protosocket_rpc::server::ConnectionInfo;
use protosocket_rpc::server::{ConnectionService, Rpc, SocketService};
use protosocket_rpc::{ControlCode, Status};

use crate::messages::{EchoStream, Request, Response, ResponseBehavior, ResponseKind};

/// The codec of the server side: sends [`Response`], receives [`Request`].
pub type ServerCodec = MessagePackCodec<Response, Request>;

/// The echo service, for [`RpcServer`](protosocket_rpc::server::RpcServer).
#[derive(Debug, Clone, Copy, Default)]
pub struct EchoService;

impl SocketService for EchoService {
    type Codec = ServerCodec;
    type ConnectionService = EchoService;

    fn codec(&self) -> ServerCodec {
        protosocket_messagepack::codec()
    }

    fn new_connection_service(&self, _: &ConnectionInfo<'_>) -> EchoService {
        EchoService
    }
}

impl ConnectionService for EchoService {
    type Request = Request;
    type Response = Response;
    type Unary = Ready<Response>;
    type Streaming = futures::stream::Iter<CharStream>;

    fn new_rpc(&mut self, request: Request) -> Rpc<Self::Unary, Self::Streaming> {
        let Some(body) = request.body else {
            return Rpc::Reject(Status::invalid_argument("a request needs a body"));
        };
        match request.response_behavior {
            ResponseBehavior::Unary => Rpc::Unary(ready(Response {
                request_id: request.request_id,
                code: ControlCode::Normal.as_u32(),
                kind: Some(ResponseKind::Echo(crate::messages::EchoResponse {
                    message: body.message,
                    nanotime: body.nanotime,
                })),
            })),
            ResponseBehavior::Stream => Rpc::Streaming(futures::stream::iter(CharStream {
                request_id: request.request_id,
                message: body.message,
                offset: 0,
                sequence: 0,
                nanotime: body.nanotime,
            })),
        }
    }
}

/// The responses of a streaming echo: one [`EchoStream`] per character, made as
/// they are sent rather than all up front.
#[derive(Debug)]
pub struct CharStream {
    request_id: u64,
    message: String,
    /// Byte offset of the next character in `message`.
    offset: usize,
    sequence: u64,
    nanotime: u64,
}

impl Iterator for CharStream {
    type Item = Response;

    fn next(&mut self) -> Option<Response> {
        let character = self.message[self.offset..].chars().next()?;
        self.offset += character.len_utf8();
        let sequence = self.sequence;
        self.sequence += 1;
        Some(Response {
            request_id: self.request_id,
            code: ControlCode::Normal.as_u32(),
            kind: Some(ResponseKind::Stream(EchoStream {
                message: character.to_string(),
                nanotime: self.nanotime,
                sequence,
            })),
        })
    }
}
