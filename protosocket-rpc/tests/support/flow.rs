//! [`Flow`]: the test message with a field for stream credit, its codec, and
//! [`FlowService`], the [`TestService`] speaking it. Streams of this type flow by
//! credit; those of [`Text`] (ids and codes only, as an upstream peer's) by
//! pausing.

use futures::StreamExt;
use protosocket::{DecodeError, Decoder, PooledEncoder, SerializeInto};
use protosocket_rpc::server::{
    CallContext, ConnectionInfo, ConnectionService, RequestStream, Rpc, RpcServer, RpcServerConfig,
    SocketService, TokioSpawn,
};
use protosocket_rpc::{ControlCode, Message};

use super::streams::{self, Body, BoxUnary};
use super::{TestService, Text, TextSerializer};

/// A [`Text`] and the credit it carries.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Flow {
    pub text: Text,
    pub credit: u32,
}

impl Flow {
    pub fn new(text: impl Into<String>) -> Self {
        Flow {
            text: Text::new(text),
            credit: 0,
        }
    }
}

impl Body for Flow {
    fn body(&self) -> &str {
        &self.text.text
    }
    fn from_body(text: String) -> Self {
        Flow::new(text)
    }
}

impl Message for Flow {
    fn message_id(&self) -> u64 {
        self.text.id
    }
    fn set_message_id(&mut self, id: u64) {
        self.text.id = id;
    }
    fn control_code(&self) -> ControlCode {
        self.text.control_code()
    }
    fn cancelled(id: u64) -> Self {
        Self::control(id, ControlCode::Cancel)
    }
    fn ended(id: u64) -> Self {
        Self::control(id, ControlCode::End)
    }
    fn control(id: u64, code: ControlCode) -> Self {
        Flow {
            text: Text::control(id, code),
            credit: 0,
        }
    }
    fn credit(&self) -> u32 {
        self.credit
    }
    fn set_credit(&mut self, credit: u32) {
        self.credit = credit;
    }
}

/// Frames: a big-endian u32 credit, then a [`Text`] frame.
#[derive(Debug, Default, Clone, Copy)]
pub struct FlowSerializer;

impl SerializeInto for FlowSerializer {
    type Message = Flow;
    fn serialize_into(&mut self, message: Flow, buffer: &mut Vec<u8>) {
        buffer.extend_from_slice(&message.credit.to_be_bytes());
        TextSerializer.serialize_into(message.text, buffer);
    }
}

impl Decoder for FlowSerializer {
    type Message = Flow;
    fn decode(&mut self, buffer: &[u8]) -> Result<(usize, Flow), DecodeError> {
        let Some(credit) = buffer.first_chunk::<4>() else {
            return Err(DecodeError::Incomplete { frame_len: None });
        };
        let credit = u32::from_be_bytes(*credit);
        match TextSerializer.decode(&buffer[4..]) {
            Ok((len, text)) => Ok((4 + len, Flow { text, credit })),
            Err(DecodeError::Incomplete { frame_len }) => Err(DecodeError::Incomplete {
                frame_len: frame_len.map(|len| len + 4),
            }),
            Err(error) => Err(error),
        }
    }
}

pub type FlowCodec = (PooledEncoder<FlowSerializer>, FlowSerializer);

pub fn codec() -> FlowCodec {
    (PooledEncoder::new(FlowSerializer), FlowSerializer)
}

/// [`TestService`]'s rpcs over [`Flow`] messages.
#[derive(Debug, Clone, Default)]
pub struct FlowService(pub TestService);

impl ConnectionService for FlowService {
    type Request = Flow;
    type Response = Flow;
    type Unary = BoxUnary<Flow>;
    type Streaming = futures::stream::BoxStream<'static, Flow>;

    fn new_rpc(&mut self, request: Flow) -> Rpc<Self::Unary, Self::Streaming> {
        match self.0.new_rpc(request.text) {
            Rpc::Unary(future) => Rpc::Unary(Box::pin(async move {
                Flow {
                    text: future.await,
                    credit: 0,
                }
            })),
            Rpc::Streaming(stream) => {
                Rpc::Streaming(stream.map(|text| Flow { text, credit: 0 }).boxed())
            }
            Rpc::Reject(status) => Rpc::Reject(status),
        }
    }

    fn takes_request_stream(&self, request: &Flow) -> bool {
        self.0.takes_request_stream(&request.text)
    }

    fn new_rpc_with_requests(
        &mut self,
        request: Flow,
        _context: CallContext,
        requests: RequestStream<Flow>,
    ) -> Rpc<Self::Unary, Self::Streaming> {
        self.0
            .started
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        streams::new_rpc(&self.0, &request.text.text["in:".len()..], requests)
    }
}

impl SocketService for FlowService {
    type Codec = FlowCodec;
    type ConnectionService = FlowService;

    fn codec(&self) -> FlowCodec {
        codec()
    }

    fn new_connection_service(&self, _: &ConnectionInfo<'_>) -> FlowService {
        self.clone()
    }
}

/// Starts a TCP server for `service` on 127.0.0.1:0.
pub fn serve(
    service: FlowService,
    config: RpcServerConfig,
) -> (
    std::net::SocketAddr,
    protosocket_server::ShutdownHandle,
    tokio::task::JoinHandle<()>,
) {
    let server: RpcServer<protosocket::EndpointListener, FlowService, TokioSpawn> =
        RpcServer::bind(
            "127.0.0.1:0".parse::<std::net::SocketAddr>().unwrap(),
            service,
            config,
        )
        .expect("bind");
    let address = super::tcp_address(server.local_endpoint());
    let shutdown = server.shutdown_handle();
    (address, shutdown, tokio::spawn(server))
}

/// A connected client of [`Flow`] messages, its connection spawned.
pub async fn client(
    address: std::net::SocketAddr,
    config: &protosocket_rpc::client::RpcClientConfig,
) -> protosocket_rpc::client::RpcClient<Flow, Flow> {
    super::timed(protosocket_rpc::client::RpcClient::connect(
        address,
        codec(),
        config,
    ))
    .await
    .expect("connect")
}
