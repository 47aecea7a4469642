//! Unary echo over loopback: protosocket-rpc against tonic and a bare tokio
//! request/response loop, client and server in one runtime, on two threads, or in
//! two processes.
//!
//! Every server answers the same prost message, `EchoRequest` (a 32-byte string and
//! a sequence number), with an `EchoResponse` carrying both back:
//!
//! - `protosocket`: example-proto's echo server and an `RpcClient` (the request
//!   travels in example-proto's `Request` envelope, which adds the rpc id).
//! - `generated`: the same over the service protosocket-build generates from
//!   `proto/echo.proto` (messages with example-proto's echo fields): the
//!   generated `Bench` trait served by `BenchServer`, called through
//!   `BenchClient` (its envelope adds the id and code, as example-proto's does).
//! - `tonic`: tonic 0.14 over one HTTP/2 connection (a `Channel`), with the unary
//!   service written by hand as a `tower::Service` around `tonic::server::Grpc`
//!   and the client calling `tonic::client::Grpc::unary`, as generated code does.
//! - `protosocket-tls` and `tonic-tls`: the `protosocket` and `tonic` rows over
//!   TLS (rustls with the ring provider on both sides, TLS 1.3), with a CA and a
//!   server certificate made by rcgen when the bench starts; protosocket's
//!   server accepts through `protosocket::tls::TlsListener`, its client connects
//!   with `TlsConnector`, tonic uses its `tls-ring` transport.
//! - `generated-auth`: the `generated` row with authentication once per
//!   connection: the server's `AuthHook` checks a token in the first request's
//!   metadata, the client sends it with `RpcClientConfig::credentials`; every
//!   later call carries nothing extra. Beside `generated` it shows what
//!   authentication costs a call.
//! - `bare`: no framework. Frames are a 4-byte big-endian length, an 8-byte call
//!   id and the prost-encoded message. The server reads what is there, answers
//!   every complete frame into one buffer and writes it at once; the client has a
//!   writer task batching the frames queued on an mpsc and a reader task
//!   completing each call's oneshot by its id. When the runtime's tasks share one
//!   CPU the writer yields once before taking a batch, so the other ready callers
//!   queue theirs first: the same bet protosocket's connection makes under
//!   `WriteCoalescing::Auto` (without it this loop writes one frame per call and
//!   is 4-7x slower pinned).
//!
//! Each concurrency level runs every server in turn (protosocket, generated,
//! tonic, bare, protosocket-tls, tonic-tls, generated-auth);
//! with `--runs N` it does so N times, each round starting one server later, and
//! prints the median of each column. The load is closed-loop: `concurrency` tasks
//! over one connection, each sending one call, awaiting its answer and sending the
//! next. After a warm-up, calls started in the measured window are counted and
//! their latencies recorded, and CPU time over the window is divided by the calls
//! completed in it.
//!
//! Where the two sides run:
//!
//! - One runtime (the default): client and server share one multi-thread runtime
//!   with tokio's default worker count, one per CPU the process may use (2 here;
//!   1 under `taskset -c 0`), unless `--workers N` sets it. CPU is the process's
//!   (`getrusage(RUSAGE_SELF)`, user + system), both sides together.
//! - `--apart threads`: the server on a current-thread runtime on one OS thread,
//!   the client on another on a second thread. `--apart processes`: the server in
//!   a child process (this executable run with `--serve <server>`, so all three
//!   servers start the same way), on a current-thread runtime on its main thread;
//!   the client on a thread of this process as before. `--placement` pins the
//!   threads: `pinned` puts both sides on the first CPU the process may use,
//!   `two-cores` (the default) the server on the first and the client on the
//!   second, `free` leaves them to the kernel. Each side is measured on its own:
//!   CPU time per call from its CPU clock (a thread's `pthread_getcpuclockid`
//!   clock; for the child, its process clock from `clock_getcpuclockid`, every
//!   thread of it), runtime parks per call from tokio's stable
//!   `RuntimeMetrics::worker_park_count` (the child answers a request for it on a
//!   pipe), and sleeps per call from the runtime thread's
//!   `voluntary_ctxt_switches` in `/proc`. `rest` is this process's CPU outside
//!   the two sides' threads, which should stay near zero.
//!
//! Wake-ups, in every mode: `call poll` is how many times a call's future was
//! polled per call (one to send, then one per wake-up until its answer is in, so
//! 2.0 is one wake per answer); `conn poll` is how many times the client's
//! connection task was polled per call (protosocket's `ClientConnection`, spawned
//! here as `RpcClient::connect` would, for both protosocket rows; the bare client's writer and reader tasks
//! together; not counted for tonic, whose tasks are its own). Below 1.0 means the
//! connection task serves several calls per wake-up. Each poll is counted with a
//! relaxed atomic add on a counter only that task writes. Latencies are appended
//! to a plain vector per task and put into a histogram after the window, so that
//! recording them costs the client next to nothing.
//!
//! ```text
//! cargo bench -p benches --bench rpc                  # unpinned
//! taskset -c 0 cargo bench -p benches --bench rpc     # whole process on one core
//! cargo bench -p benches --bench rpc -- --quick       # shorter runs
//! cargo bench -p benches --bench rpc -- tonic bare    # only these servers
//! cargo bench -p benches --bench rpc -- protosocket tonic protosocket-tls tonic-tls --runs 3
//! cargo bench -p benches --bench rpc -- --concurrency 64   # only this level
//! taskset -c 0 cargo bench -p benches --bench rpc -- --workers 2   # 2 workers, 1 core
//! cargo bench -p benches --bench rpc -- --calls 1000  # each task makes 1000 calls
//! cargo bench -p benches --bench rpc -- --apart threads --placement pinned --runs 3
//! cargo bench -p benches --bench rpc -- --apart processes --placement two-cores
//! ```
//!
//! Without `--bench` on the command line (as `cargo test --benches` runs it) the
//! program only checks each server with a few calls, in one runtime, on two
//! threads and in two processes, and exits.

#[path = "rpc/apart.rs"]
mod apart;
#[path = "shared/cpu.rs"]
mod cpu;
#[path = "shared/report.rs"]
mod report;
#[path = "shared/echo.rs"]
mod shared;
#[path = "rpc/tls.rs"]
mod tls;

use std::convert::Infallible;
use std::future::{ready, Future, Ready};
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::{Buf, BufMut, BytesMut};
use example_proto::{response, EchoRequest, EchoResponse, Request, Response, ResponseBehavior};
use hdrhistogram::Histogram;
use http::uri::PathAndQuery;
use prost::Message as _;
use protosocket::{Connect, EndpointConnector};
use protosocket_prost::{DecodeMessage, EncodeMessage, Prost};
use protosocket_rpc::client::{RpcClient, RpcClientConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::runtime::Runtime;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tonic::transport::{Channel, Endpoint};

use cpu::{allowed_cpus, cpu_time, Placement};
use report::{median, option};
use shared::{echo, Server};
const CONCURRENCY: [usize; 4] = [1, 16, 64, 256];
/// Length of the echoed string.
const MESSAGE_LEN: usize = 32;
const TONIC_PATH: &str = "/echo.Echo/Echo";
/// Bare frames: length prefix, then call id.
const PREFIX: usize = 4;
const ID: usize = 8;

/// The runtime everything runs on: tokio's default worker count (one per CPU the
/// process may use, as `#[tokio::main]` gives) unless `workers` says otherwise.
fn runtime(workers: Option<usize>) -> Runtime {
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if let Some(workers) = workers {
        builder.worker_threads(workers);
    }
    builder.enable_all().build().expect("tokio runtime")
}

fn echo_request(sequence: u64) -> EchoRequest {
    EchoRequest {
        message: "x".repeat(MESSAGE_LEN),
        nanotime: sequence,
    }
}

fn check(sequence: u64, response: &EchoResponse) {
    assert_eq!(response.nanotime, sequence, "answer to another call");
    assert_eq!(response.message.len(), MESSAGE_LEN, "message not echoed");
}

/// One task's handle on a client: makes one call and checks its answer.
trait Caller: Send + 'static {
    fn call(&mut self, sequence: u64) -> impl Future<Output = ()> + Send;
}

// ---------------------------------------------------------------- protosocket

fn protosocket_server() -> Server {
    let server = example_proto::start_server(([127, 0, 0, 1], 0).into()).expect("bind");
    Server {
        address: server.local_addr(),
        stop: Box::new(move || Box::pin(server.shutdown())),
    }
}

struct ProtosocketCaller(RpcClient<Request, Response>);

impl Caller for ProtosocketCaller {
    fn call(&mut self, sequence: u64) -> impl Future<Output = ()> + Send {
        let message = "x".repeat(MESSAGE_LEN);
        let completion =
            self.0
                .send_unary(Request::echo(message, sequence, ResponseBehavior::Unary));
        async move {
            let response = completion.await.expect("protosocket call");
            match response.kind {
                Some(response::Kind::Echo(echo)) => check(sequence, &echo),
                other => panic!("unexpected answer {other:?}"),
            }
        }
    }
}

/// An `RpcClient` connected to `address` as `RpcClient::connect` does it, with
/// its connection task's polls counted; `W` writes its requests and reads its
/// responses, as the codec of the client it stands for does (prost's own for
/// example-proto's, the generated `BenchEnvelopes` for `BenchClient`'s).
async fn counted_client<Req, Resp, W>(
    address: SocketAddr,
    config: &RpcClientConfig,
) -> (RpcClient<Req, Resp>, Arc<AtomicU64>)
where
    Req: protosocket_rpc::Message + prost::Message + Default + Send + 'static,
    Resp: protosocket_rpc::Message + prost::Message + Default + Send + 'static,
    W: DecodeMessage<Resp> + EncodeMessage<Req> + 'static,
{
    let options = config.get_socket_options().clone();
    counted_client_with::<Req, Resp, W>(&EndpointConnector::new(options), address, config).await
}

/// [`counted_client`] over the stream `connector` makes (TLS, say), as
/// `RpcClient::connect_with` does it.
async fn counted_client_with<Req, Resp, W>(
    connector: &impl Connect,
    address: SocketAddr,
    config: &RpcClientConfig,
) -> (RpcClient<Req, Resp>, Arc<AtomicU64>)
where
    Req: protosocket_rpc::Message + prost::Message + Default + Send + 'static,
    Resp: protosocket_rpc::Message + prost::Message + Default + Send + 'static,
    W: DecodeMessage<Resp> + EncodeMessage<Req> + 'static,
{
    let stream = connector
        .connect(&protosocket::Endpoint::from(address))
        .await
        .expect("connect");
    let codec = protosocket_prost::codec_with::<Req, Resp, W>();
    let (client, connection) = RpcClient::over_stream(stream, codec, config);
    let polls = Arc::default();
    spawn_counted(connection, &polls);
    (client, polls)
}

async fn protosocket_callers(address: SocketAddr, tasks: usize) -> Callers<ProtosocketCaller> {
    let (client, polls) = counted_client::<_, _, Prost>(address, &RpcClientConfig::default()).await;
    protosocket_callers_on(client, polls, tasks)
}

fn protosocket_callers_on(
    client: RpcClient<Request, Response>,
    polls: Arc<AtomicU64>,
    tasks: usize,
) -> Callers<ProtosocketCaller> {
    Callers {
        callers: (0..tasks)
            .map(|_| ProtosocketCaller(client.clone()))
            .collect(),
        connection_polls: Some(polls),
    }
}

// ---------------------------------------------------------------- protosocket over TLS

/// example-proto's echo service behind a `TlsListener`.
fn protosocket_tls_server() -> Server {
    use protosocket_rpc::server::{RpcServer, RpcServerConfig, TokioSpawn};
    let config = RpcServerConfig::default();
    let listener = protosocket::Endpoint::from(SocketAddr::from(([127, 0, 0, 1], 0)))
        .listen(config.get_server_config().get_socket_options())
        .expect("bind");
    let address = listener
        .local_endpoint()
        .ok()
        .and_then(|endpoint| endpoint.tcp_address())
        .expect("a TCP address");
    let listener = protosocket::tls::TlsListener::new(listener, tls::protosocket_server_config());
    let server = RpcServer::new(listener, example_proto::EchoService, config, TokioSpawn);
    let handle = server.shutdown_handle();
    tokio::spawn(server);
    Server {
        address,
        stop: Box::new(move || Box::pin(async move { handle.shutdown_and_wait().await })),
    }
}

async fn protosocket_tls_callers(address: SocketAddr, tasks: usize) -> Callers<ProtosocketCaller> {
    let options = RpcClientConfig::default().get_socket_options().clone();
    let (client, polls) = counted_client_with::<_, _, Prost>(
        &tls::protosocket_connector(options),
        address,
        &RpcClientConfig::default(),
    )
    .await;
    protosocket_callers_on(client, polls, tasks)
}

// ---------------------------------------------------------------- generated

/// The metadata key and value of the `generated-auth` row's token.
const TOKEN: (&str, &str) = ("authorization", "bench-token");

/// The generated protosocket service on a loopback port, authenticating each
/// connection once: its first request must carry [`TOKEN`].
fn generated_auth_server() -> Server {
    /// Who a connection proved to be.
    struct Caller;
    use protosocket_rpc::server::{AuthHook, AuthRequest, RpcServerConfig};
    let hook = AuthHook::new(|request: &AuthRequest<'_>| {
        if request.metadata().text(TOKEN.0) == Some(TOKEN.1) {
            Ok(Caller)
        } else {
            Err(protosocket_rpc::Status::unauthenticated(
                "a wrong or missing token",
            ))
        }
    });
    shared::generated_server_with(RpcServerConfig::default().auth_hook(Some(hook)))
}

struct GeneratedCaller(echo::BenchClient);

impl Caller for GeneratedCaller {
    async fn call(&mut self, sequence: u64) {
        let request = echo::EchoRequest {
            message: "x".repeat(MESSAGE_LEN),
            nanotime: sequence,
        };
        let response = self.0.echo(request).await.expect("generated call");
        assert_eq!(response.nanotime, sequence, "answer to another call");
        assert_eq!(response.message.len(), MESSAGE_LEN, "message not echoed");
    }
}

async fn generated_callers(
    address: SocketAddr,
    tasks: usize,
    config: &RpcClientConfig,
) -> Callers<GeneratedCaller> {
    let (client, polls) = counted_client::<_, _, echo::BenchEnvelopes>(address, config).await;
    let client = echo::BenchClient::from_client(client);
    Callers {
        callers: (0..tasks)
            .map(|_| GeneratedCaller(client.clone()))
            .collect(),
        connection_polls: Some(polls),
    }
}

// ---------------------------------------------------------------- tonic

/// The echo method, as tonic's `UnaryService`.
#[derive(Clone, Copy)]
struct TonicEchoMethod;

impl tower::Service<tonic::Request<EchoRequest>> for TonicEchoMethod {
    type Response = tonic::Response<EchoResponse>;
    type Error = tonic::Status;
    type Future = Ready<Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: tonic::Request<EchoRequest>) -> Self::Future {
        let request = request.into_inner();
        ready(Ok(tonic::Response::new(EchoResponse {
            message: request.message,
            nanotime: request.nanotime,
        })))
    }
}

/// The service routing HTTP requests to the echo method, as generated code does.
#[derive(Clone, Copy)]
struct TonicEchoServer;

type TonicFuture =
    Pin<Box<dyn Future<Output = Result<http::Response<tonic::body::Body>, Infallible>> + Send>>;

impl tower::Service<http::Request<tonic::body::Body>> for TonicEchoServer {
    type Response = http::Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = TonicFuture;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<tonic::body::Body>) -> TonicFuture {
        Box::pin(async move {
            if request.uri().path() != TONIC_PATH {
                return Ok(tonic::Status::unimplemented("no such method").into_http());
            }
            let codec = tonic_prost::ProstCodec::<EchoResponse, EchoRequest>::default();
            let mut grpc = tonic::server::Grpc::new(codec);
            Ok(grpc.unary(TonicEchoMethod, request).await)
        })
    }
}

async fn tonic_server() -> Server {
    shared::tonic_server(TonicEchoServer, None).await
}

struct TonicCaller(tonic::client::Grpc<Channel>);

impl Caller for TonicCaller {
    async fn call(&mut self, sequence: u64) {
        self.0.ready().await.expect("channel ready");
        let codec = tonic_prost::ProstCodec::<EchoRequest, EchoResponse>::default();
        let response = self
            .0
            .unary(
                tonic::Request::new(echo_request(sequence)),
                PathAndQuery::from_static(TONIC_PATH),
                codec,
            )
            .await
            .expect("tonic call");
        check(sequence, response.get_ref());
    }
}

async fn tonic_callers(address: SocketAddr, tasks: usize) -> Callers<TonicCaller> {
    let endpoint = Endpoint::from_shared(format!("http://{address}")).expect("endpoint");
    tonic_callers_on(endpoint, tasks).await
}

async fn tonic_tls_callers(address: SocketAddr, tasks: usize) -> Callers<TonicCaller> {
    let endpoint = Endpoint::from_shared(format!("https://{address}"))
        .expect("endpoint")
        .tls_config(tls::tonic_client_config())
        .expect("tonic tls config");
    tonic_callers_on(endpoint, tasks).await
}

async fn tonic_callers_on(endpoint: Endpoint, tasks: usize) -> Callers<TonicCaller> {
    let channel = endpoint.tcp_nodelay(true).connect().await.expect("connect");
    Callers {
        callers: (0..tasks)
            .map(|_| TonicCaller(tonic::client::Grpc::new(channel.clone())))
            .collect(),
        // Its connection's tasks are tonic's own.
        connection_polls: None,
    }
}

// ---------------------------------------------------------------- bare

/// The payload of the frame at the start of `buffer`, with its id, if complete.
fn split_frame(buffer: &mut BytesMut) -> Option<(u64, BytesMut)> {
    let length = u32::from_be_bytes(*buffer.first_chunk::<PREFIX>()?) as usize;
    if buffer.len() < PREFIX + length {
        return None;
    }
    assert!(length >= ID, "short frame");
    buffer.advance(PREFIX);
    let id = buffer.get_u64();
    Some((id, buffer.split_to(length - ID)))
}

fn put_frame(buffer: &mut BytesMut, id: u64, message: &impl prost::Message) {
    buffer.put_u32((ID + message.encoded_len()) as u32);
    buffer.put_u64(id);
    message.encode(buffer).expect("buffer grows");
}

async fn bare_connection(mut stream: TcpStream) {
    let mut inbound = BytesMut::with_capacity(64 * 1024);
    let mut outbound = BytesMut::with_capacity(64 * 1024);
    loop {
        match stream.read_buf(&mut inbound).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        while let Some((id, payload)) = split_frame(&mut inbound) {
            let request = EchoRequest::decode(payload).expect("echo request");
            let response = EchoResponse {
                message: request.message,
                nanotime: request.nanotime,
            };
            put_frame(&mut outbound, id, &response);
        }
        if stream.write_all(&outbound).await.is_err() {
            return;
        }
        outbound.clear();
        if inbound.capacity() - inbound.len() < 4096 {
            inbound.reserve(64 * 1024);
        }
    }
}

async fn bare_server() -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("local address");
    let accept: JoinHandle<()> = tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            stream.set_nodelay(true).expect("nodelay");
            tokio::spawn(bare_connection(stream));
        }
    });
    Server {
        address,
        stop: Box::new(move || {
            Box::pin(async move {
                accept.abort();
                let _ = accept.await;
            })
        }),
    }
}

/// Each call's slot, indexed by call id (the task's index): one call in flight each.
type Pending = Arc<Vec<Mutex<Option<oneshot::Sender<EchoResponse>>>>>;

struct BareCaller {
    id: u64,
    pending: Pending,
    writer: mpsc::UnboundedSender<BytesMut>,
}

impl Caller for BareCaller {
    fn call(&mut self, sequence: u64) -> impl Future<Output = ()> + Send {
        let (tx, rx) = oneshot::channel();
        *self.pending[self.id as usize]
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(tx);
        let mut frame = BytesMut::with_capacity(64);
        put_frame(&mut frame, self.id, &echo_request(sequence));
        self.writer.send(frame).expect("bare writer running");
        async move {
            let response = rx.await.expect("bare reader running");
            check(sequence, &response);
        }
    }
}

async fn bare_callers(address: SocketAddr, tasks: usize) -> Callers<BareCaller> {
    let stream = TcpStream::connect(address).await.expect("connect");
    stream.set_nodelay(true).expect("nodelay");
    let (mut read, mut write) = stream.into_split();
    let (writer, mut frames) = mpsc::unbounded_channel::<BytesMut>();
    let coalesce = one_cpu_or_worker();
    // The writer's and the reader's polls together: the connection's wake-ups.
    let polls = Arc::default();
    spawn_counted(
        async move {
            let mut batch = BytesMut::with_capacity(64 * 1024);
            while let Some(frame) = frames.recv().await {
                batch.extend_from_slice(&frame);
                if coalesce {
                    // Let the other ready callers queue theirs first, as protosocket's
                    // connection does under the same condition (WriteCoalescing::Auto).
                    tokio::task::yield_now().await;
                }
                while let Ok(frame) = frames.try_recv() {
                    batch.extend_from_slice(&frame);
                }
                if write.write_all(&batch).await.is_err() {
                    return;
                }
                batch.clear();
            }
        },
        &polls,
    );
    let pending: Pending = Arc::new((0..tasks).map(|_| Mutex::new(None)).collect());
    let slots = Arc::clone(&pending);
    spawn_counted(
        async move {
            let mut inbound = BytesMut::with_capacity(64 * 1024);
            loop {
                match read.read_buf(&mut inbound).await {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {}
                }
                while let Some((id, payload)) = split_frame(&mut inbound) {
                    let response = EchoResponse::decode(payload).expect("echo response");
                    let slot = slots[id as usize]
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .take();
                    if let Some(slot) = slot {
                        let _ = slot.send(response);
                    }
                }
                if inbound.capacity() - inbound.len() < 4096 {
                    inbound.reserve(64 * 1024);
                }
            }
        },
        &polls,
    );
    Callers {
        callers: (0..tasks)
            .map(|id| BareCaller {
                id: id as u64,
                pending: Arc::clone(&pending),
                writer: writer.clone(),
            })
            .collect(),
        connection_polls: Some(polls),
    }
}

// ---------------------------------------------------------------- load

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Protosocket,
    Generated,
    Tonic,
    Bare,
    ProtosocketTls,
    TonicTls,
    GeneratedAuth,
}

impl Kind {
    const ALL: [Kind; 7] = [
        Kind::Protosocket,
        Kind::Generated,
        Kind::Tonic,
        Kind::Bare,
        Kind::ProtosocketTls,
        Kind::TonicTls,
        Kind::GeneratedAuth,
    ];

    fn name(self) -> &'static str {
        match self {
            Kind::Protosocket => "protosocket",
            Kind::Generated => "generated",
            Kind::Tonic => "tonic",
            Kind::Bare => "bare",
            Kind::ProtosocketTls => "protosocket-tls",
            Kind::TonicTls => "tonic-tls",
            Kind::GeneratedAuth => "generated-auth",
        }
    }

    fn named(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|kind| kind.name() == name)
    }
}

/// One side's counters, as read at an edge of the window.
#[derive(Clone, Copy, Default)]
struct Usage {
    /// CPU time, user + system.
    cpu: Duration,
    /// Times the side's runtime parked: ran out of ready tasks and waited on its
    /// driver (epoll), whether or not the thread then slept.
    parks: u64,
    /// Times the side's runtime thread went to sleep in the kernel (voluntary
    /// context switches).
    sleeps: u64,
}

impl Usage {
    fn since(self, start: Usage) -> Usage {
        Usage {
            cpu: self.cpu.saturating_sub(start.cpu),
            parks: self.parks.saturating_sub(start.parks),
            sleeps: self.sleeps.saturating_sub(start.sleeps),
        }
    }
}

/// The counters a run reads at each edge of its window.
#[derive(Clone, Copy, Default)]
struct Reading {
    /// The client's own, when it runs apart.
    client: Usage,
    /// The server's own, when it runs apart.
    server: Usage,
    /// This process's CPU time outside the two sides' threads (all of it when
    /// client and server share one runtime).
    rest: Duration,
}

impl Reading {
    fn since(self, start: Reading) -> Reading {
        Reading {
            client: self.client.since(start.client),
            server: self.server.since(start.server),
            rest: self.rest.saturating_sub(start.rest),
        }
    }
}

/// What one run measured.
struct Row {
    calls: u64,
    seconds: f64,
    latency: Histogram<u64>,
    /// The counters over the window.
    used: Reading,
    /// Polls of the measured calls' futures, all tasks together.
    caller_polls: u64,
    /// Polls of the client's connection task(s) over the window, where the bench
    /// spawned them (not tonic's).
    connection_polls: Option<u64>,
}

/// Whether the runtime's tasks share one CPU: one worker, or one allowed CPU.
fn one_cpu_or_worker() -> bool {
    tokio::runtime::Handle::current().metrics().num_workers() == 1
        || std::thread::available_parallelism().is_ok_and(|n| n.get() == 1)
}

/// How long each run lasts.
#[derive(Clone, Copy)]
enum Span {
    /// Calls started in `window`, after `warmup`, are measured.
    Timed { warmup: Duration, window: Duration },
    /// Each task makes this many calls, all measured (`--calls N`: a fixed amount
    /// of work, for counting instructions under callgrind).
    Calls(u64),
}

/// Counts the polls of the future it wraps into `polls`.
struct Polled<'a, F> {
    future: F,
    polls: &'a mut u64,
}

impl<F: Future + Unpin> Future for Polled<'_, F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.get_mut();
        *this.polls += 1;
        Pin::new(&mut this.future).poll(cx)
    }
}

/// A task's future whose polls a shared counter counts (read at the window's edges).
struct CountedTask<F> {
    future: Pin<Box<F>>,
    polls: Arc<AtomicU64>,
}

impl<F: Future> Future for CountedTask<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        self.polls.fetch_add(1, Ordering::Relaxed);
        self.future.as_mut().poll(cx)
    }
}

/// Spawns `future`, counting its polls into `polls`.
fn spawn_counted<F>(future: F, polls: &Arc<AtomicU64>) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send,
{
    tokio::spawn(CountedTask {
        future: Box::pin(future),
        polls: Arc::clone(polls),
    })
}

/// What one closed loop measured.
#[derive(Default)]
struct Measured {
    /// Latency of each measured call, in nanoseconds: a plain append, so that
    /// recording costs the client's thread next to nothing (a histogram per task
    /// spreads its counts over hundreds of kilobytes of cache).
    latencies: Vec<u64>,
    /// Times the measured calls' futures were polled: one to send, then one per
    /// wake-up until the answer is in.
    polls: u64,
}

/// A closed loop: call, await, record, repeat until `end` or `limit` calls; only
/// calls started at or after `measure` are recorded.
async fn closed_loop<C: Caller>(
    mut caller: C,
    first: u64,
    measure: Instant,
    end: Option<Instant>,
    limit: u64,
) -> Measured {
    let mut measured = Measured::default();
    let mut sequence = first << 32;
    while (measured.latencies.len() as u64) < limit {
        let start = Instant::now();
        if end.is_some_and(|end| start >= end) {
            break;
        }
        let mut polls = 0;
        Polled {
            future: std::pin::pin!(caller.call(sequence)),
            polls: &mut polls,
        }
        .await;
        sequence += 1;
        if start >= measure {
            measured.latencies.push(start.elapsed().as_nanos() as u64);
            measured.polls += polls;
        }
    }
    measured
}

/// A client's callers, one per task, and the polls of its connection's task(s),
/// where the bench spawns them.
struct Callers<C> {
    callers: Vec<C>,
    connection_polls: Option<Arc<AtomicU64>>,
}

/// Runs the callers' closed loops on the current runtime; `probe` reads the
/// counters at the window's edges.
async fn load<C: Caller>(client: Callers<C>, span: Span, probe: &impl Fn() -> Reading) -> Row {
    let (warmup, length, limit) = match span {
        Span::Timed { warmup, window } => (warmup, Some(warmup + window), u64::MAX),
        Span::Calls(calls) => (Duration::ZERO, None, calls),
    };
    let start = Instant::now();
    let measure = start + warmup;
    let end = length.map(|length| start + length);
    let tasks: Vec<_> = client
        .callers
        .into_iter()
        .enumerate()
        .map(|(index, caller)| tokio::spawn(closed_loop(caller, index as u64, measure, end, limit)))
        .collect();
    tokio::time::sleep_until(measure.into()).await;
    let connection_polls = || {
        client
            .connection_polls
            .as_ref()
            .map(|polls| polls.load(Ordering::Relaxed))
    };
    let opened = (probe(), connection_polls());
    let measured_from = Instant::now();
    let window_end = || (probe(), connection_polls(), measured_from.elapsed());
    // Timed: the window closes at `end`; calls still in flight finish unmeasured.
    // Fixed calls: it closes when the last task is done.
    let mut closed = None;
    if let Some(end) = end {
        tokio::time::sleep_until(end.into()).await;
        closed = Some(window_end());
    }
    let mut measured = Vec::with_capacity(tasks.len());
    for task in tasks {
        measured.push(task.await.expect("load task"));
    }
    let (reading, polls, elapsed) = closed.unwrap_or_else(window_end);
    // After the window: building the histogram is not the client's cost per call.
    let mut latency = Histogram::<u64>::new_with_bounds(1, 60_000_000_000, 3).expect("bounds");
    let mut calls = 0;
    let mut caller_polls = 0;
    for task in &measured {
        calls += task.latencies.len() as u64;
        caller_polls += task.polls;
        for &nanos in &task.latencies {
            latency.saturating_record(nanos);
        }
    }
    Row {
        calls,
        seconds: elapsed.as_secs_f64(),
        latency,
        used: reading.since(opened.0),
        caller_polls,
        connection_polls: polls.zip(opened.1).map(|(end, start)| end - start),
    }
}

/// Starts `kind`'s server on the current runtime.
async fn serve(kind: Kind) -> Server {
    match kind {
        Kind::Protosocket => protosocket_server(),
        Kind::Generated => shared::generated_server(),
        Kind::GeneratedAuth => generated_auth_server(),
        Kind::Tonic => tonic_server().await,
        Kind::Bare => bare_server().await,
        Kind::ProtosocketTls => protosocket_tls_server(),
        Kind::TonicTls => {
            shared::tonic_server(TonicEchoServer, Some(tls::tonic_server_config())).await
        }
    }
}

/// Connects `kind`'s client to `address` and runs the load on the current runtime.
async fn drive(
    kind: Kind,
    address: SocketAddr,
    concurrency: usize,
    span: Span,
    probe: &impl Fn() -> Reading,
) -> Row {
    match kind {
        Kind::Protosocket => {
            load(protosocket_callers(address, concurrency).await, span, probe).await
        }
        Kind::Generated => {
            let config = RpcClientConfig::default();
            load(
                generated_callers(address, concurrency, &config).await,
                span,
                probe,
            )
            .await
        }
        Kind::GeneratedAuth => {
            let mut token = protosocket_rpc::Metadata::new();
            token.insert(TOKEN.0, TOKEN.1);
            let config = RpcClientConfig::default().credentials(Some(token));
            load(
                generated_callers(address, concurrency, &config).await,
                span,
                probe,
            )
            .await
        }
        Kind::Tonic => load(tonic_callers(address, concurrency).await, span, probe).await,
        Kind::Bare => load(bare_callers(address, concurrency).await, span, probe).await,
        Kind::ProtosocketTls => {
            load(
                protosocket_tls_callers(address, concurrency).await,
                span,
                probe,
            )
            .await
        }
        Kind::TonicTls => load(tonic_tls_callers(address, concurrency).await, span, probe).await,
    }
}

/// Client and server on the current runtime.
async fn run(kind: Kind, concurrency: usize, span: Span) -> Row {
    let server = serve(kind).await;
    let probe = || Reading {
        rest: cpu_time(),
        ..Reading::default()
    };
    let row = drive(kind, server.address, concurrency, span, &probe).await;
    (server.stop)().await;
    row
}

// ---------------------------------------------------------------- report

/// Where the two sides run.
enum Mode {
    /// Client and server share this runtime.
    OneRuntime(Runtime),
    /// On two threads of this process.
    Threads(Placement),
    /// The server in a child process.
    Processes(Placement),
}

impl Mode {
    fn run(&self, kind: Kind, concurrency: usize, span: Span) -> Row {
        match self {
            Mode::OneRuntime(runtime) => runtime.block_on(run(kind, concurrency, span)),
            Mode::Threads(placement) => apart::threads(kind, concurrency, span, *placement),
            Mode::Processes(placement) => apart::processes(kind, concurrency, span, *placement),
        }
    }

    fn apart(&self) -> bool {
        !matches!(self, Mode::OneRuntime(_))
    }
}

/// A run's figures: rate, latencies in microseconds, costs per call.
#[derive(Clone, Copy)]
struct Figures {
    rate: f64,
    p50: f64,
    p99: f64,
    p999: f64,
    server_cpu: f64,
    client_cpu: f64,
    rest_cpu: f64,
    server_parks: f64,
    client_parks: f64,
    server_sleeps: f64,
    client_sleeps: f64,
    /// Polls of a caller's call future per call: 2 is one wake-up per answer.
    caller_polls: f64,
    /// Polls of the client's connection task(s) per call, NaN where not counted.
    connection_polls: f64,
}

impl Figures {
    fn of(row: &Row) -> Figures {
        let calls = row.calls.max(1) as f64;
        let micros = |nanos: u64| nanos as f64 / 1000.0;
        let per_call = |time: Duration| time.as_secs_f64() * 1e6 / calls;
        let used = &row.used;
        Figures {
            rate: row.calls as f64 / row.seconds,
            p50: micros(row.latency.value_at_quantile(0.5)),
            p99: micros(row.latency.value_at_quantile(0.99)),
            p999: micros(row.latency.value_at_quantile(0.999)),
            server_cpu: per_call(used.server.cpu),
            client_cpu: per_call(used.client.cpu),
            rest_cpu: per_call(used.rest),
            server_parks: used.server.parks as f64 / calls,
            client_parks: used.client.parks as f64 / calls,
            server_sleeps: used.server.sleeps as f64 / calls,
            client_sleeps: used.client.sleeps as f64 / calls,
            caller_polls: row.caller_polls as f64 / calls,
            connection_polls: row
                .connection_polls
                .map_or(f64::NAN, |polls| polls as f64 / calls),
        }
    }

    /// The median of each column on its own.
    fn median(runs: &[Figures]) -> Figures {
        let median = |column: fn(&Figures) -> f64| median(runs, column);
        Figures {
            rate: median(|f| f.rate),
            p50: median(|f| f.p50),
            p99: median(|f| f.p99),
            p999: median(|f| f.p999),
            server_cpu: median(|f| f.server_cpu),
            client_cpu: median(|f| f.client_cpu),
            rest_cpu: median(|f| f.rest_cpu),
            server_parks: median(|f| f.server_parks),
            client_parks: median(|f| f.client_parks),
            server_sleeps: median(|f| f.server_sleeps),
            client_sleeps: median(|f| f.client_sleeps),
            caller_polls: median(|f| f.caller_polls),
            connection_polls: median(|f| f.connection_polls),
        }
    }
}

fn print_header(apart: bool) {
    print!(
        "{:<15} {:>5} {:>10} {:>9} {:>9} {:>9}",
        "server", "conc", "req/s", "p50 us", "p99 us", "p99.9 us"
    );
    if apart {
        print!(
            " {:>8} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8}",
            "srv cpu", "cli cpu", "rest cpu", "srv park", "cli park", "srv slp", "cli slp"
        );
    } else {
        print!(" {:>9}", "cpu us/req");
    }
    println!(" {:>9} {:>9}", "call poll", "conn poll");
}

fn print_row(kind: Kind, concurrency: usize, figures: &Figures, apart: bool) {
    print!(
        "{:<15} {:>5} {:>10.0} {:>9.1} {:>9.1} {:>9.1}",
        kind.name(),
        concurrency,
        figures.rate,
        figures.p50,
        figures.p99,
        figures.p999,
    );
    if apart {
        print!(
            " {:>8.2} {:>8.2} {:>8.2} {:>8.3} {:>8.3} {:>8.3} {:>8.3}",
            figures.server_cpu,
            figures.client_cpu,
            figures.rest_cpu,
            figures.server_parks,
            figures.client_parks,
            figures.server_sleeps,
            figures.client_sleeps,
        );
    } else {
        print!(" {:>9.2}", figures.rest_cpu);
    }
    let connection_polls = if figures.connection_polls.is_nan() {
        "-".to_owned()
    } else {
        format!("{:.3}", figures.connection_polls)
    };
    println!(" {:>9.3} {connection_polls:>9}", figures.caller_polls);
}

/// A few calls through every server in every mode, checking that each side's
/// counters moved.
fn self_check(kinds: &[Kind], runtime: Runtime) {
    let span = Span::Timed {
        warmup: Duration::ZERO,
        window: Duration::from_millis(20),
    };
    let free = Placement::parse("free");
    let modes = [
        Mode::OneRuntime(runtime),
        Mode::Threads(free),
        Mode::Processes(free),
    ];
    for mode in &modes {
        for &kind in kinds {
            let row = mode.run(kind, 4, span);
            assert!(row.calls > 0, "{}: no call completed", kind.name());
            assert!(
                row.caller_polls >= row.calls,
                "call futures' polls not counted"
            );
            assert!(
                row.connection_polls.is_none_or(|polls| polls > 0),
                "connection task's polls not counted"
            );
            if mode.apart() {
                let used = row.used;
                assert!(used.server.cpu > Duration::ZERO, "server CPU not measured");
                assert!(used.client.cpu > Duration::ZERO, "client CPU not measured");
                assert!(used.client.parks > 0, "client parks not counted");
            }
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(name) = option::<String>(&args, "--serve", "a server name") {
        let kind = Kind::named(&name).unwrap_or_else(|| panic!("no server named {name}"));
        apart::serve_child(kind, option(&args, "--cpu", "a CPU number"));
        return;
    }
    let benching = args.iter().any(|arg| arg == "--bench");
    let quick = args.iter().any(|arg| arg == "--quick");
    // Server names on the command line pick a subset; none means all.
    let picked: Vec<Kind> = Kind::ALL
        .into_iter()
        .filter(|kind| args.iter().any(|arg| arg == kind.name()))
        .collect();
    let kinds = if picked.is_empty() {
        Kind::ALL.to_vec()
    } else {
        picked
    };
    let levels: Vec<usize> = match option(&args, "--concurrency", "a number") {
        Some(level) => vec![level],
        None => CONCURRENCY.to_vec(),
    };
    let workers = option(&args, "--workers", "a number");
    if !benching {
        self_check(&kinds, runtime(workers));
        println!("rpc: self-check passed (run with `cargo bench` to measure)");
        return;
    }
    // Read only when the sides run apart: one runtime has no placement, and under
    // `taskset -c 0` the default (two cores) could not be had.
    let placement = || {
        Placement::parse(
            &option::<String>(&args, "--placement", "pinned, two-cores or free")
                .unwrap_or_else(|| "two-cores".to_owned()),
        )
    };
    let mode = match option::<String>(&args, "--apart", "threads or processes").as_deref() {
        None => Mode::OneRuntime(runtime(workers)),
        Some("threads") => Mode::Threads(placement()),
        Some("processes") => Mode::Processes(placement()),
        Some(other) => panic!("--apart takes threads or processes, not {other}"),
    };
    let runs: usize = option(&args, "--runs", "a number").unwrap_or(1);
    assert!(runs > 0, "--runs takes a positive number");
    let span = match option(&args, "--calls", "a number") {
        Some(calls) => Span::Calls(calls),
        None if quick => Span::Timed {
            warmup: Duration::from_millis(100),
            window: Duration::from_millis(400),
        },
        None => Span::Timed {
            warmup: Duration::from_millis(500),
            window: Duration::from_secs(2),
        },
    };
    let span_text = match span {
        Span::Timed { warmup, window } => format!("warm-up {warmup:?}, window {window:?}"),
        Span::Calls(calls) => format!("{calls} calls per task, no warm-up"),
    };
    let setting = match &mode {
        Mode::OneRuntime(runtime) => format!("{} runtime workers", runtime.metrics().num_workers()),
        Mode::Threads(placement) => format!("apart on two threads, {placement}"),
        Mode::Processes(placement) => format!("apart in two processes, {placement}"),
    };
    let median_text = if runs > 1 {
        format!(", median of {runs} runs per column")
    } else {
        String::new()
    };
    println!(
        "rpc unary echo over loopback: {} allowed CPUs (available_parallelism {}), \
         {setting}, {MESSAGE_LEN}-byte message, {span_text}{median_text}",
        allowed_cpus().len(),
        std::thread::available_parallelism().map_or(0, |n| n.get()),
    );
    print_header(mode.apart());
    // Levels outside, servers inside: the servers compared at one level run
    // seconds apart, so drift in the machine's speed over the whole run (it is
    // shared) does not land on one server's rows. Each round starts one server
    // later, so none is always first.
    for &concurrency in &levels {
        let mut figures: Vec<Vec<Figures>> = vec![Vec::new(); kinds.len()];
        for round in 0..runs {
            for turn in 0..kinds.len() {
                let index = (round + turn) % kinds.len();
                let run = Figures::of(&mode.run(kinds[index], concurrency, span));
                if runs > 1 {
                    eprintln!(
                        "  run {}: {} {concurrency}: {:.0} req/s, cpu us/req: server {:.2}, \
                         client {:.2}, rest {:.2}",
                        round + 1,
                        kinds[index].name(),
                        run.rate,
                        run.server_cpu,
                        run.client_cpu,
                        run.rest_cpu,
                    );
                }
                figures[index].push(run);
            }
        }
        for (kind, runs) in kinds.iter().zip(&figures) {
            print_row(*kind, concurrency, &Figures::median(runs), mode.apart());
        }
    }
}
