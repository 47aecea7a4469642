//! A prost envelope with every field an rpc message may carry (id, code, a
//! status, metadata, a timeout), its `Message` impl written by hand, a service
//! over it, and a raw peer that speaks it over TCP without the rpc client.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures::StreamExt;
use protosocket_prost::ProstCodec;
use protosocket_rpc::server::{
    CallContext, CallHook, ConnectionInfo, ConnectionService, RequestStream, Rpc, RpcServerConfig,
    SocketService,
};
use protosocket_rpc::{ControlCode, Message, Metadata, MetadataValue, Status, StatusCode};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::{DropCounter, DropGuard, WAIT};

/// One metadata entry on the wire.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Entry {
    #[prost(string, tag = "1")]
    pub key: String,
    #[prost(string, optional, tag = "2")]
    pub text: Option<String>,
    #[prost(bytes = "vec", optional, tag = "3")]
    pub binary: Option<Vec<u8>>,
}

/// Requests and responses alike.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Envelope {
    #[prost(uint64, tag = "1")]
    pub id: u64,
    #[prost(uint32, tag = "2")]
    pub code: u32,
    #[prost(string, tag = "3")]
    pub text: String,
    #[prost(uint32, tag = "4")]
    pub status_code: u32,
    #[prost(string, tag = "5")]
    pub status_message: String,
    #[prost(message, repeated, tag = "6")]
    pub metadata: Vec<Entry>,
    #[prost(uint64, optional, tag = "7")]
    pub timeout_micros: Option<u64>,
}

impl Envelope {
    pub fn new(text: impl Into<String>) -> Self {
        Envelope {
            text: text.into(),
            ..Default::default()
        }
    }

    /// A request as a raw peer sends it: id, text, and a timeout.
    pub fn raw(id: u64, text: &str, timeout: Option<Duration>) -> Self {
        Envelope {
            id,
            timeout_micros: timeout.map(|timeout| timeout.as_micros() as u64),
            ..Envelope::new(text)
        }
    }

    /// A client's cancel of rpc `id`.
    pub fn cancel(id: u64) -> Self {
        Self::control(id, ControlCode::Cancel)
    }

    /// The status this envelope carries, if its code is `Status`.
    pub fn status(&self) -> Option<Status> {
        (self.control_code() == ControlCode::Status).then(|| {
            Status::new(
                StatusCode::from_u32(self.status_code),
                self.status_message.clone(),
            )
        })
    }
}

impl Message for Envelope {
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
        Self::control(id, ControlCode::Cancel)
    }
    fn ended(id: u64) -> Self {
        Self::control(id, ControlCode::End)
    }
    fn control(id: u64, code: ControlCode) -> Self {
        Envelope {
            id,
            code: code.as_u32(),
            ..Default::default()
        }
    }
    fn with_status(id: u64, status: Status) -> Self {
        Envelope {
            id,
            code: ControlCode::Status.as_u32(),
            status_code: status.code().as_u32(),
            status_message: status.into_message().into_owned(),
            ..Default::default()
        }
    }
    fn take_status(&mut self) -> Option<Status> {
        (self.control_code() == ControlCode::Status).then(|| {
            Status::new(
                StatusCode::from_u32(self.status_code),
                std::mem::take(&mut self.status_message),
            )
        })
    }
    fn take_metadata(&mut self) -> Metadata {
        std::mem::take(&mut self.metadata)
            .into_iter()
            .map(|entry| {
                let value = match (entry.text, entry.binary) {
                    (Some(text), _) => MetadataValue::Text(text),
                    (None, binary) => MetadataValue::Binary(binary.unwrap_or_default().into()),
                };
                (entry.key, value)
            })
            .collect()
    }
    fn set_metadata(&mut self, metadata: Metadata) {
        self.metadata = metadata
            .into_iter()
            .map(|(key, value)| {
                let (text, binary) = match value {
                    MetadataValue::Text(text) => (Some(text), None),
                    MetadataValue::Binary(bytes) => (None, Some(bytes.to_vec())),
                };
                Entry {
                    key: key.into_owned(),
                    text,
                    binary,
                }
            })
            .collect();
    }
    fn timeout(&self) -> Option<Duration> {
        self.timeout_micros.map(Duration::from_micros)
    }
    fn set_timeout(&mut self, timeout: Option<Duration>) {
        self.timeout_micros =
            timeout.map(|timeout| u64::try_from(timeout.as_micros()).unwrap_or(u64::MAX));
    }
}

pub type EnvelopeCodec = ProstCodec<Envelope, Envelope>;

pub type RichUnary = Pin<Box<dyn Future<Output = Envelope> + Send>>;
pub type RichStream = futures::stream::BoxStream<'static, Envelope>;

/// A service over [`Envelope`] whose behaviour is chosen by the request text:
/// - `echo:<s>`: answers `<s>`, with the request's metadata and `served: yes`
///   as its own;
/// - `fail:<n>`: answers status code `n` ("handler says no");
/// - `stream-fail`: streams `0`, `1`, then status `NotFound`, then (never
///   reached) `more` forever;
/// - `stream:<n>`: streams `0` .. `n-1`, counting its polls in `polls`;
/// - `reject`: rejected with `PermissionDenied`;
/// - `panic`: panics in `new_rpc`;
/// - `hang`: never answers;
/// - `sleep:<ms>`: answers `slept` after that long;
/// - `time-left`: answers the time its context has left, in whole
///   milliseconds, or `none`;
/// - `metadata:<key>`: answers the text of that request metadata key, or
///   `(none)`;
/// - `in:count` (takes a request stream): client streaming; reads every
///   request, then answers how many came, with the request's metadata as its
///   own;
/// - `in:tick` (takes a request stream): bidi; streams `tick` every 10 ms
///   forever, reading nothing.
///
/// Every rpc's work holds a guard of `drops`; `started` counts rpcs started.
#[derive(Debug, Clone, Default)]
pub struct RichService {
    pub drops: DropCounter,
    pub started: Arc<AtomicUsize>,
    pub polls: Arc<AtomicUsize>,
}

impl RichService {
    pub fn started(&self) -> usize {
        self.started.load(Ordering::SeqCst)
    }
}

/// A stream that counts its polls.
struct Counted {
    inner: RichStream,
    polls: Arc<AtomicUsize>,
}

impl futures::Stream for Counted {
    type Item = Envelope;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Envelope>> {
        self.polls.fetch_add(1, Ordering::SeqCst);
        self.inner.as_mut().poll_next(cx)
    }
}

/// A tick every `period`, forever.
fn ticks(period: Duration) -> impl futures::Stream<Item = ()> + Send {
    futures::stream::unfold((), move |()| async move {
        tokio::time::sleep(period).await;
        Some(((), ()))
    })
}

/// A unary rpc answering `answer` at once, holding `guard` until then.
fn unary(guard: DropGuard, answer: Envelope) -> Rpc<RichUnary, RichStream> {
    Rpc::Unary(Box::pin(async move {
        let _guard = guard;
        answer
    }))
}

impl ConnectionService for RichService {
    type Request = Envelope;
    type Response = Envelope;
    type Unary = RichUnary;
    type Streaming = RichStream;

    fn new_rpc(&mut self, mut request: Envelope) -> Rpc<RichUnary, RichStream> {
        let context = CallContext::from_request(&mut request);
        self.new_rpc_with_context(request, context)
    }

    fn takes_request_stream(&self, request: &Envelope) -> bool {
        request.text.starts_with("in:")
    }

    fn new_rpc_with_requests(
        &mut self,
        request: Envelope,
        context: CallContext,
        mut requests: RequestStream<Envelope>,
    ) -> Rpc<RichUnary, RichStream> {
        self.started.fetch_add(1, Ordering::SeqCst);
        let guard = self.drops.guard();
        match request.text.as_str() {
            "in:count" => Rpc::Unary(Box::pin(async move {
                let _guard = guard;
                let mut count = 0usize;
                while requests.next().await.is_some() {
                    count += 1;
                }
                let mut answer = Envelope::new(count.to_string());
                answer.set_metadata(context.into_metadata());
                answer
            })),
            "in:tick" => {
                let ticks = ticks(Duration::from_millis(10));
                Rpc::Streaming(
                    ticks
                        .map(move |()| {
                            let _ = (&guard, &requests);
                            Envelope::new("tick")
                        })
                        .boxed(),
                )
            }
            _ => Rpc::Reject(Status::invalid_argument("no such test behaviour")),
        }
    }

    fn new_rpc_with_context(
        &mut self,
        request: Envelope,
        context: CallContext,
    ) -> Rpc<RichUnary, RichStream> {
        self.started.fetch_add(1, Ordering::SeqCst);
        let guard = self.drops.guard();
        let text = request.text;
        if let Some(echo) = text.strip_prefix("echo:") {
            let mut answer = Envelope::new(echo);
            let mut metadata = context.into_metadata();
            metadata.insert("served", "yes");
            answer.set_metadata(metadata);
            return unary(guard, answer);
        }
        if let Some(code) = text.strip_prefix("fail:") {
            let code = StatusCode::from_u32(code.parse().expect("a status code"));
            return unary(
                guard,
                Envelope::with_status(0, Status::new(code, "handler says no")),
            );
        }
        if let Some(key) = text.strip_prefix("metadata:") {
            let value = context.metadata().text(key).unwrap_or("(none)");
            return unary(guard, Envelope::new(value));
        }
        if let Some(count) = text.strip_prefix("stream:") {
            let count: usize = count.parse().expect("a count");
            let items = futures::stream::iter(0..count).map(move |i| {
                let _ = &guard;
                Envelope::new(i.to_string())
            });
            return Rpc::Streaming(
                Counted {
                    inner: items.boxed(),
                    polls: Arc::clone(&self.polls),
                }
                .boxed(),
            );
        }
        if let Some(ms) = text.strip_prefix("sleep:") {
            let ms: u64 = ms.parse().expect("milliseconds");
            return Rpc::Unary(Box::pin(async move {
                let _guard = guard;
                tokio::time::sleep(Duration::from_millis(ms)).await;
                Envelope::new("slept")
            }));
        }
        match text.as_str() {
            "time-left" => unary(
                guard,
                Envelope::new(match context.time_left() {
                    Some(left) => left.as_millis().to_string(),
                    None => "none".to_string(),
                }),
            ),
            "stream-fail" => {
                let head = futures::stream::iter([Envelope::new("0"), Envelope::new("1")]);
                let failure = futures::stream::once(async {
                    Envelope::with_status(0, Status::not_found("no more"))
                });
                let tail = futures::stream::repeat_with(move || {
                    let _ = &guard;
                    Envelope::new("more")
                });
                Rpc::Streaming(head.chain(failure).chain(tail).boxed())
            }
            "reject" => Rpc::Reject(Status::permission_denied("go away")),
            "panic" => panic!("test panic in new_rpc"),
            "hang" => Rpc::Unary(super::never(guard)),
            _ => Rpc::Reject(Status::invalid_argument("no such test behaviour")),
        }
    }
}

impl SocketService for RichService {
    type Codec = EnvelopeCodec;
    type ConnectionService = RichService;

    fn codec(&self) -> EnvelopeCodec {
        protosocket_prost::codec()
    }

    fn new_connection_service(&self, _: &ConnectionInfo<'_>) -> RichService {
        self.clone()
    }
}

/// A server call hook that holds every request and never lets it through,
/// holding a guard of `held` for each until it is dropped.
pub fn stuck_hook(held: &DropCounter) -> CallHook {
    let held = held.clone();
    CallHook::new_async(move |_: CallContext| super::never(held.guard()))
}

/// Starts a TCP server for a [`RichService`] on 127.0.0.1:0.
pub fn serve_rich(
    service: RichService,
    config: RpcServerConfig,
) -> (
    std::net::SocketAddr,
    protosocket_server::ShutdownHandle,
    tokio::task::JoinHandle<()>,
) {
    super::serve_on(super::any_port(), service, config)
}

/// A connected client of [`Envelope`]s, its connection spawned.
pub async fn rich_client(
    address: std::net::SocketAddr,
    config: &protosocket_rpc::client::RpcClientConfig,
) -> protosocket_rpc::client::RpcClient<Envelope, Envelope> {
    tokio::time::timeout(
        WAIT,
        protosocket_rpc::client::RpcClient::connect(address, protosocket_prost::codec(), config),
    )
    .await
    .expect("connect in time")
    .expect("connect")
}

/// A peer that speaks [`Envelope`] frames over TCP by hand: it sends what it is
/// told (no cancel on a deadline, no ids of its own) and reads what comes back.
pub struct RawPeer {
    stream: TcpStream,
    buffer: Vec<u8>,
}

impl RawPeer {
    pub async fn connect(address: std::net::SocketAddr) -> Self {
        let stream = tokio::time::timeout(WAIT, TcpStream::connect(address))
            .await
            .expect("connect in time")
            .expect("connect");
        Self {
            stream,
            buffer: Vec::new(),
        }
    }

    pub async fn send(&mut self, envelope: &Envelope) {
        let bytes = prost::Message::encode_length_delimited_to_vec(envelope);
        self.stream.write_all(&bytes).await.expect("send");
    }

    /// Closes the peer's sending side (EOF for the server); reading goes on.
    pub async fn close_write(&mut self) {
        self.stream.shutdown().await.expect("shutdown");
    }

    /// Whether the server closed the connection, within [`WAIT`], with
    /// nothing more sent.
    pub async fn closed(&mut self) -> bool {
        let mut chunk = [0u8; 64];
        let read = tokio::time::timeout(WAIT, self.stream.read(&mut chunk))
            .await
            .expect("the server closed in time");
        matches!(read, Ok(0) | Err(_))
    }

    /// The next envelope from the server, within [`WAIT`].
    pub async fn recv(&mut self) -> Envelope {
        tokio::time::timeout(WAIT, async {
            loop {
                if let Some(envelope) = self.frame() {
                    return envelope;
                }
                let mut chunk = [0u8; 4096];
                let read = self.stream.read(&mut chunk).await.expect("read");
                assert!(read > 0, "the server closed the connection");
                self.buffer.extend_from_slice(&chunk[..read]);
            }
        })
        .await
        .expect("an answer in time")
    }

    /// A complete frame from the buffer, taken out of it.
    fn frame(&mut self) -> Option<Envelope> {
        let mut view = &self.buffer[..];
        let length = prost::decode_length_delimiter(&mut view).ok()?;
        let prefix = self.buffer.len() - view.len();
        if view.len() < length {
            return None;
        }
        let envelope =
            <Envelope as prost::Message>::decode(&view[..length]).expect("a valid envelope");
        self.buffer.drain(..prefix + length);
        Some(envelope)
    }
}

/// A [`RichService`] reactor driven by hand (no connection), so that it never
/// has room to send unless the test asks for its next answer.
pub type HandReactor = protosocket_rpc::server::RpcServerReactor<RichService, EnvelopeCodec>;

/// A reactor by hand for `service`, with room for 16 rpcs.
pub fn hand_reactor(service: &RichService) -> HandReactor {
    let (outbound, _receiver) = spillway::channel();
    HandReactor::new(service.clone(), outbound, 16)
}

/// Polls `reactor` only with `poll` (never `poll_outbound`: no room to send)
/// until `service` has dropped the work of `dropped` rpcs.
pub async fn poll_until_dropped(reactor: &mut HandReactor, service: &RichService, dropped: usize) {
    use protosocket::MessageReactor;
    super::timed(std::future::poll_fn(|cx| {
        reactor.poll(cx);
        if service.drops.dropped() == dropped {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }))
    .await;
}

/// The reactor's next answer, given room to send.
pub async fn next_answer(reactor: &mut HandReactor) -> Envelope {
    use protosocket::MessageReactor;
    super::timed(std::future::poll_fn(|cx| reactor.poll_outbound(cx)))
        .await
        .expect("an answer")
}
