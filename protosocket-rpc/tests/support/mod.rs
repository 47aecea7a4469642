//! Shared by the rpc tests: a message type, its codec, and a configurable service.
#![allow(dead_code, unreachable_pub)]

pub mod rich;

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures::stream::LocalBoxStream;
use protosocket::{DecodeError, Decoder, PooledEncoder, SerializeInto};
use protosocket_rpc::server::{
    CallContext, ConnectionInfo, ConnectionService, RequestStream, Rpc, RpcConnector, RpcServer,
    RpcServerConfig, SocketService, TokioSpawn,
};
use protosocket_rpc::{ControlCode, Message, Status};
use protosocket_server::ServerConnector;

/// Every network wait in the tests is bounded by this.
pub const WAIT: Duration = Duration::from_secs(5);

/// The test message: an id, a raw control code and a text body.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Text {
    pub id: u64,
    pub code: u32,
    pub text: String,
}

impl Text {
    pub fn new(text: impl Into<String>) -> Self {
        Text {
            text: text.into(),
            ..Default::default()
        }
    }
}

impl Message for Text {
    fn message_id(&self) -> u64 {
        self.id
    }
    fn set_message_id(&mut self, id: u64) {
        self.id = id;
    }
    fn control_code(&self) -> ControlCode {
        ControlCode::from_u32(self.code)
    }
    fn cancelled(id: u64) -> Self {
        Text {
            id,
            code: ControlCode::Cancel.as_u32(),
            text: String::new(),
        }
    }
    fn ended(id: u64) -> Self {
        Text {
            id,
            code: ControlCode::End.as_u32(),
            text: String::new(),
        }
    }
    fn control(id: u64, code: ControlCode) -> Self {
        Text {
            id,
            code: code.as_u32(),
            text: String::new(),
        }
    }
}

/// Frames: a big-endian u32 length of the rest, u64 id, u32 code, UTF-8 text.
#[derive(Debug, Default, Clone, Copy)]
pub struct TextSerializer;

impl SerializeInto for TextSerializer {
    type Message = Text;
    fn serialize_into(&mut self, message: Text, buffer: &mut Vec<u8>) {
        buffer.extend_from_slice(&((12 + message.text.len()) as u32).to_be_bytes());
        buffer.extend_from_slice(&message.id.to_be_bytes());
        buffer.extend_from_slice(&message.code.to_be_bytes());
        buffer.extend_from_slice(message.text.as_bytes());
    }
}

impl Decoder for TextSerializer {
    type Message = Text;
    fn decode(&mut self, buffer: &[u8]) -> Result<(usize, Text), DecodeError> {
        let Some(prefix) = buffer.first_chunk::<4>() else {
            return Err(DecodeError::Incomplete { frame_len: None });
        };
        let len = u32::from_be_bytes(*prefix) as usize;
        if len < 12 {
            return Err(DecodeError::invalid("frame shorter than its header"));
        }
        let Some(frame) = buffer.get(4..4 + len) else {
            return Err(DecodeError::Incomplete {
                frame_len: Some(4 + len),
            });
        };
        let id = u64::from_be_bytes(frame[..8].try_into().expect("8 bytes"));
        let code = u32::from_be_bytes(frame[8..12].try_into().expect("4 bytes"));
        let text = String::from_utf8(frame[12..].to_vec()).map_err(DecodeError::invalid)?;
        Ok((4 + len, Text { id, code, text }))
    }
}

pub type TextCodec = (PooledEncoder<TextSerializer>, TextSerializer);

pub fn codec() -> TextCodec {
    (PooledEncoder::new(TextSerializer), TextSerializer)
}

pub fn encode(message: Text) -> Vec<u8> {
    let mut buffer = Vec::new();
    TextSerializer.serialize_into(message, &mut buffer);
    buffer
}

/// Counts drops: put one in a handler's future to see its work dropped.
#[derive(Debug, Clone, Default)]
pub struct DropCounter(Arc<AtomicUsize>);

impl DropCounter {
    pub fn guard(&self) -> DropGuard {
        DropGuard(Arc::clone(&self.0))
    }
    pub fn dropped(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
    pub async fn wait_for(&self, count: usize) {
        tokio::time::timeout(WAIT, async {
            while self.dropped() < count {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
        .await
        .unwrap_or_else(|_| panic!("{} of {count} drops after {WAIT:?}", self.dropped()));
    }
}

#[derive(Debug)]
pub struct DropGuard(Arc<AtomicUsize>);

impl Drop for DropGuard {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// A service whose behaviour is chosen by the request text:
/// - `echo:<s>`: unary, answers `<s>`;
/// - `stream:<n>`: answers `0`, `1`, ... `n-1`, then End;
/// - `big:<n>`: the same with 4 KiB of padding after each number (`<i> ...`),
///   counting each response it produces in `produced`;
/// - `tick`: streams `tick` every 10 ms forever;
/// - `hang`: never answers;
/// - `sleep:<ms>`: answers `slept` after that long;
/// - `reject`: rejected;
/// - `status:<n>`: answers `Message::with_status` with status code `n`, which
///   `Text` (no status fields) carries as the code's control code alone;
/// - `panic:new`: panics in `new_rpc`; `panic:now`: a unary future that panics on
///   its first poll; `panic:later`: one that panics after 20 ms; `panic:stream`: a
///   stream that yields `0` then panics.
///
/// Requests starting with `in:` take a request stream (see `streams.rs`).
///
/// Every rpc's work holds a guard of `drops`; `started` counts `new_rpc` calls.
#[derive(Debug, Clone, Default)]
pub struct TestService {
    pub drops: DropCounter,
    pub started: Arc<AtomicUsize>,
    /// Request streams (of `Text` or `Flow`) that `in:park` rpcs left for the
    /// test to read.
    pub parked: Arc<std::sync::Mutex<Vec<Box<dyn std::any::Any + Send>>>>,
    /// Responses `big:<n>` streams have produced.
    pub produced: Arc<AtomicUsize>,
}

impl TestService {
    pub fn started(&self) -> usize {
        self.started.load(Ordering::SeqCst)
    }

    /// Responses `big:<n>` streams have produced.
    pub fn produced(&self) -> usize {
        self.produced.load(Ordering::SeqCst)
    }

    /// Leaves a request stream for the test.
    pub fn park(&self, requests: Box<dyn std::any::Any + Send>) {
        self.parked.lock().expect("parked lock").push(requests);
    }

    /// Takes a request stream an `in:park` rpc left, waiting for one.
    pub async fn parked<M: 'static>(&self) -> RequestStream<M> {
        tokio::time::timeout(WAIT, async {
            loop {
                if let Some(stream) = self.parked.lock().expect("parked lock").pop() {
                    return *stream.downcast().expect("a request stream of this type");
                }
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        })
        .await
        .expect("an rpc parked its request stream")
    }

    /// Waits until `count` rpcs have reached the service.
    pub async fn wait_for_started(&self, count: usize) {
        tokio::time::timeout(WAIT, async {
            while self.started() < count {
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        })
        .await
        .unwrap_or_else(|_| panic!("{} of {count} rpcs started after {WAIT:?}", self.started()));
    }
}

pub type TestUnary = Pin<Box<dyn Future<Output = Text> + Send>>;
pub type TestStream = futures::stream::BoxStream<'static, Text>;

impl ConnectionService for TestService {
    type Request = Text;
    type Response = Text;
    type Unary = TestUnary;
    type Streaming = TestStream;

    fn takes_request_stream(&self, request: &Text) -> bool {
        request.text.starts_with("in:")
    }

    fn new_rpc_with_requests(
        &mut self,
        request: Text,
        _context: CallContext,
        requests: RequestStream<Text>,
    ) -> Rpc<TestUnary, TestStream> {
        self.started.fetch_add(1, Ordering::SeqCst);
        streams::new_rpc(self, &request.text["in:".len()..], requests)
    }

    fn new_rpc(&mut self, request: Text) -> Rpc<TestUnary, TestStream> {
        use futures::StreamExt;
        self.started.fetch_add(1, Ordering::SeqCst);
        let guard = self.drops.guard();
        let text = request.text;
        match text.as_str() {
            "panic:new" => panic!("test panic in new_rpc"),
            "panic:now" => {
                return Rpc::Unary(Box::pin(async move {
                    let _guard = guard;
                    panic!("test panic on the first poll")
                }))
            }
            "panic:later" => {
                return Rpc::Unary(Box::pin(async move {
                    let _guard = guard;
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    panic!("test panic on a later poll")
                }))
            }
            "panic:stream" => {
                return Rpc::Streaming(
                    futures::stream::iter(0..2)
                        .map(move |i| {
                            let _ = &guard;
                            assert_eq!(i, 0, "test panic in a response stream");
                            Text::new(i.to_string())
                        })
                        .boxed(),
                )
            }
            _ => {}
        }
        if let Some(echo) = text.strip_prefix("echo:") {
            let echo = echo.to_string();
            return Rpc::Unary(Box::pin(async move {
                let _guard = guard;
                Text::new(echo)
            }));
        }
        if let Some(count) = text.strip_prefix("stream:") {
            let count: usize = count.parse().expect("a count");
            return Rpc::Streaming(
                futures::stream::iter(0..count)
                    .map(move |i| {
                        let _ = &guard;
                        Text::new(i.to_string())
                    })
                    .boxed(),
            );
        }
        if let Some(code) = text.strip_prefix("status:") {
            let code = protosocket_rpc::StatusCode::from_u32(code.parse().expect("a status code"));
            return Rpc::Unary(Box::pin(async move {
                let _guard = guard;
                Text::with_status(0, Status::new(code, "handler says no"))
            }));
        }
        if let Some(count) = text.strip_prefix("big:") {
            let count: usize = count.parse().expect("a count");
            let produced = Arc::clone(&self.produced);
            return Rpc::Streaming(
                futures::stream::iter(0..count)
                    .map(move |i| {
                        let _ = &guard;
                        produced.fetch_add(1, Ordering::SeqCst);
                        Text::new(format!("{i} {:4096}", ""))
                    })
                    .boxed(),
            );
        }
        if let Some(ms) = text.strip_prefix("sleep:") {
            let ms: u64 = ms.parse().expect("milliseconds");
            return Rpc::Unary(Box::pin(async move {
                let _guard = guard;
                tokio::time::sleep(Duration::from_millis(ms)).await;
                Text::new("slept")
            }));
        }
        match text.as_str() {
            "tick" => Rpc::Streaming(
                futures::stream::unfold(guard, |guard| async move {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    Some((Text::new("tick"), guard))
                })
                .boxed(),
            ),
            "hang" => Rpc::Unary(never(guard)),
            _ => Rpc::Reject(Status::permission_denied("no such test behaviour")),
        }
    }
}

impl SocketService for TestService {
    type Codec = TextCodec;
    type ConnectionService = TestService;

    fn codec(&self) -> TextCodec {
        codec()
    }

    fn new_connection_service(&self, _: &ConnectionInfo<'_>) -> TestService {
        self.clone()
    }
}

pub mod flow;
pub mod raw;
pub mod streams;
pub mod tls;

/// Local streams, for !Send services.
pub type LocalStream = LocalBoxStream<'static, Text>;

/// Starts a TCP server for `service` on 127.0.0.1:0.
pub fn serve(
    service: TestService,
    config: RpcServerConfig,
) -> (
    std::net::SocketAddr,
    protosocket_server::ShutdownHandle,
    tokio::task::JoinHandle<()>,
) {
    serve_on(any_port(), service, config)
}

/// Starts a TCP server for any `service` on `address` (port 0 for any).
pub fn serve_on<S>(
    address: std::net::SocketAddr,
    service: S,
    config: RpcServerConfig,
) -> (
    std::net::SocketAddr,
    protosocket_server::ShutdownHandle,
    tokio::task::JoinHandle<()>,
)
where
    RpcConnector<S, protosocket::EndpointStream, TokioSpawn>:
        ServerConnector<Stream = protosocket::EndpointStream>,
    RpcServer<protosocket::EndpointListener, S, TokioSpawn>: Future<Output = ()> + Send + 'static,
{
    let server: RpcServer<protosocket::EndpointListener, S, TokioSpawn> =
        RpcServer::bind(address, service, config).expect("bind");
    let address = tcp_address(server.local_endpoint());
    let shutdown = server.shutdown_handle();
    (address, shutdown, tokio::spawn(server))
}

/// 127.0.0.1, any port.
pub fn any_port() -> std::net::SocketAddr {
    "127.0.0.1:0".parse().expect("an address")
}

/// The status of a call that failed with one; panics on anything else.
pub fn status_of<T: std::fmt::Debug>(
    outcome: Result<T, protosocket_rpc::Error>,
) -> protosocket_rpc::Status {
    match outcome {
        Err(protosocket_rpc::Error::Status(status)) => status,
        other => panic!("expected a status, got {other:?}"),
    }
}

/// Work that never finishes, holding `guard` until it is dropped.
pub fn never<T: Send + 'static>(guard: DropGuard) -> Pin<Box<dyn Future<Output = T> + Send>> {
    Box::pin(async move {
        let _guard = guard;
        futures::future::pending::<T>().await
    })
}

/// A connected client, its connection spawned.
pub async fn client(
    address: impl Into<protosocket::Endpoint>,
    config: &protosocket_rpc::client::RpcClientConfig,
) -> protosocket_rpc::client::RpcClient<Text, Text> {
    let client = tokio::time::timeout(
        WAIT,
        protosocket_rpc::client::RpcClient::connect(address, codec(), config),
    )
    .await
    .expect("connect in time")
    .expect("connect");
    client
}

pub async fn timed<F: Future>(future: F) -> F::Output {
    tokio::time::timeout(WAIT, future).await.expect("in time")
}

/// Waits (bounded by [`WAIT`]) until `condition` holds, looking every 2 ms;
/// panics naming `what` when it does not.
pub async fn wait_until(what: &str, condition: impl Fn() -> bool) {
    tokio::time::timeout(WAIT, async {
        while !condition() {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("not {what} after {WAIT:?}"));
}

/// Waits (bounded by [`WAIT`]) until `value` reads the same three times in a
/// row, 20 ms apart: the producer behind it has stopped. Returns that value.
pub async fn settled(value: impl Fn() -> usize) -> usize {
    timed(async {
        let mut last = value();
        let mut same = 0;
        while same < 3 {
            tokio::time::sleep(Duration::from_millis(20)).await;
            let now = value();
            same = if now == last { same + 1 } else { 0 };
            last = now;
        }
        last
    })
    .await
}

/// Sends on `sender` until a send fails (bounded by [`WAIT`]): the call's input
/// side is over.
pub async fn until_closed<Req: Message, Resp>(
    sender: &mut protosocket_rpc::client::RequestSender<Req, Resp>,
    request: impl Fn() -> Req,
) {
    timed(async {
        while sender.send(request()).await.is_ok() {
            tokio::task::yield_now().await;
        }
    })
    .await;
    assert!(sender.is_closed());
}

/// A [`TestService`] that counts the connections it was given.
#[derive(Debug, Clone, Default)]
pub struct CountingService {
    pub inner: TestService,
    pub connections: Arc<AtomicUsize>,
}

impl CountingService {
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }

    /// Waits (bounded by [`WAIT`]) until `count` connections were accepted.
    pub async fn wait_for_connections(&self, count: usize) {
        tokio::time::timeout(WAIT, async {
            while self.connections() < count {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
        .await
        .unwrap_or_else(|_| {
            panic!(
                "{} of {count} connections after {WAIT:?}",
                self.connections()
            )
        });
    }
}

impl SocketService for CountingService {
    type Codec = TextCodec;
    type ConnectionService = TestService;

    fn codec(&self) -> TextCodec {
        codec()
    }

    fn new_connection_service(&self, _: &ConnectionInfo<'_>) -> TestService {
        self.connections.fetch_add(1, Ordering::SeqCst);
        self.inner.clone()
    }
}

/// Starts a TCP server for a [`CountingService`] on `address` (port 0 for any).
pub fn serve_counting(
    address: std::net::SocketAddr,
    service: CountingService,
    config: RpcServerConfig,
) -> (
    std::net::SocketAddr,
    protosocket_server::ShutdownHandle,
    tokio::task::JoinHandle<()>,
) {
    serve_on(address, service, config)
}

/// The TCP address of a server's `local_endpoint()`.
pub fn tcp_address(endpoint: std::io::Result<protosocket::Endpoint>) -> std::net::SocketAddr {
    endpoint
        .expect("address")
        .tcp_address()
        .expect("a TCP endpoint")
}
