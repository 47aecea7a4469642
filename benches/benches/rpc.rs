//! Unary echo over loopback: protosocket-rpc against tonic and a bare tokio
//! request/response loop, client and server in one process.
//!
//! Every server answers the same prost message, `EchoRequest` (a 32-byte string and
//! a sequence number), with an `EchoResponse` carrying both back:
//!
//! - `protosocket`: example-proto's echo server and an `RpcClient` (the request
//!   travels in example-proto's `Request` envelope, which adds the rpc id).
//! - `tonic`: tonic 0.14 over one HTTP/2 connection (a `Channel`), with the unary
//!   service written by hand as a `tower::Service` around `tonic::server::Grpc`
//!   and the client calling `tonic::client::Grpc::unary`, as generated code does.
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
//! Each concurrency level runs every server in turn (protosocket, tonic, bare).
//! The load is closed-loop: `concurrency` tasks over one connection, each sending
//! one call, awaiting its answer and sending the next. After a warm-up, calls
//! started in the measured window are counted and their latencies recorded; the
//! process's CPU time (`getrusage(RUSAGE_SELF)`, user + system, client and server
//! together) over the window is divided by the calls completed in it. Client and
//! server share one multi-thread runtime with tokio's default worker count, one
//! per CPU the process may use (2 here; 1 under `taskset -c 0`), unless
//! `--workers N` sets it.
//!
//! ```text
//! cargo bench -p benches --bench rpc                  # unpinned
//! taskset -c 0 cargo bench -p benches --bench rpc     # whole process on one core
//! cargo bench -p benches --bench rpc -- --quick       # shorter runs
//! cargo bench -p benches --bench rpc -- tonic bare    # only these servers
//! cargo bench -p benches --bench rpc -- --concurrency 64   # only this level
//! taskset -c 0 cargo bench -p benches --bench rpc -- --workers 2   # 2 workers, 1 core
//! cargo bench -p benches --bench rpc -- --calls 1000  # each task makes 1000 calls
//! ```
//!
//! Without `--bench` on the command line (as `cargo test --benches` runs it) the
//! program only checks each server with a few calls and exits.

use std::convert::Infallible;
use std::future::{ready, Future, Ready};
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::{Buf, BufMut, BytesMut};
use example_proto::{response, EchoRequest, EchoResponse, Request, Response, ResponseBehavior};
use hdrhistogram::Histogram;
use http::uri::PathAndQuery;
use prost::Message as _;
use protosocket_rpc::client::{RpcClient, RpcClientConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::runtime::Runtime;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use tonic::transport::{Channel, Endpoint};

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

/// A server running on the runtime, and how to stop it.
struct Server {
    address: SocketAddr,
    stop: Box<dyn FnOnce() -> Pin<Box<dyn Future<Output = ()> + Send>> + Send>,
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

async fn protosocket_callers(address: SocketAddr, tasks: usize) -> Vec<ProtosocketCaller> {
    let client = RpcClient::connect(
        address,
        protosocket_prost::codec(),
        &RpcClientConfig::default(),
    )
    .await
    .expect("connect");
    (0..tasks)
        .map(|_| ProtosocketCaller(client.clone()))
        .collect()
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
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("local address");
    let incoming = tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true));
    let (stop_tx, mut stop_rx) = watch::channel(false);
    let task = tokio::spawn(async move {
        tonic::transport::Server::builder()
            .serve_with_incoming_shutdown(TonicEchoServer, incoming, async move {
                let _ = stop_rx.wait_for(|stop| *stop).await;
            })
            .await
            .expect("tonic server");
    });
    Server {
        address,
        stop: Box::new(move || {
            Box::pin(async move {
                let _ = stop_tx.send(true);
                let _ = task.await;
            })
        }),
    }
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

async fn tonic_callers(address: SocketAddr, tasks: usize) -> Vec<TonicCaller> {
    let channel = Endpoint::from_shared(format!("http://{address}"))
        .expect("endpoint")
        .tcp_nodelay(true)
        .connect()
        .await
        .expect("connect");
    (0..tasks)
        .map(|_| TonicCaller(tonic::client::Grpc::new(channel.clone())))
        .collect()
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

async fn bare_callers(address: SocketAddr, tasks: usize) -> Vec<BareCaller> {
    let stream = TcpStream::connect(address).await.expect("connect");
    stream.set_nodelay(true).expect("nodelay");
    let (mut read, mut write) = stream.into_split();
    let (writer, mut frames) = mpsc::unbounded_channel::<BytesMut>();
    let coalesce = one_cpu_or_worker();
    tokio::spawn(async move {
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
    });
    let pending: Pending = Arc::new((0..tasks).map(|_| Mutex::new(None)).collect());
    let slots = Arc::clone(&pending);
    tokio::spawn(async move {
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
    });
    (0..tasks)
        .map(|id| BareCaller {
            id: id as u64,
            pending: Arc::clone(&pending),
            writer: writer.clone(),
        })
        .collect()
}

// ---------------------------------------------------------------- load

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Protosocket,
    Tonic,
    Bare,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Protosocket => "protosocket",
            Kind::Tonic => "tonic",
            Kind::Bare => "bare",
        }
    }
}

/// What one run measured.
struct Row {
    calls: u64,
    seconds: f64,
    latency: Histogram<u64>,
    cpu: Duration,
}

/// Process CPU time so far, user + system.
fn cpu_time() -> Duration {
    // SAFETY: an all-zero `rusage` is a valid value of this plain C struct.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `usage` is a valid, writable `rusage` for the call to fill.
    let status = unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    assert_eq!(status, 0, "getrusage");
    let micros = |time: libc::timeval| time.tv_sec as u64 * 1_000_000 + time.tv_usec as u64;
    Duration::from_micros(micros(usage.ru_utime) + micros(usage.ru_stime))
}

/// Whether the runtime's tasks share one CPU: one worker, or one allowed CPU.
fn one_cpu_or_worker() -> bool {
    tokio::runtime::Handle::current().metrics().num_workers() == 1
        || std::thread::available_parallelism().is_ok_and(|n| n.get() == 1)
}

/// The CPUs this process may run on.
fn allowed_cpus() -> usize {
    // SAFETY: an all-zero `cpu_set_t` is an empty set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: `set` is a valid, writable `cpu_set_t` of the size passed.
    let status = unsafe { libc::sched_getaffinity(0, std::mem::size_of_val(&set), &mut set) };
    if status != 0 {
        return 0;
    }
    // SAFETY: `set` was filled by `sched_getaffinity`.
    unsafe { libc::CPU_COUNT(&set) as usize }
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

/// A closed loop: call, await, record, repeat until `end` or `limit` calls; only
/// calls started at or after `measure` are recorded.
async fn closed_loop<C: Caller>(
    mut caller: C,
    first: u64,
    measure: Instant,
    end: Option<Instant>,
    limit: u64,
) -> (u64, Histogram<u64>) {
    let mut latency = Histogram::<u64>::new_with_bounds(1, 60_000_000_000, 3).expect("bounds");
    let mut calls = 0;
    let mut sequence = first << 32;
    while calls < limit {
        let start = Instant::now();
        if end.is_some_and(|end| start >= end) {
            break;
        }
        caller.call(sequence).await;
        sequence += 1;
        if start >= measure {
            calls += 1;
            latency.saturating_record(start.elapsed().as_nanos() as u64);
        }
    }
    (calls, latency)
}

async fn load<C: Caller>(callers: Vec<C>, span: Span) -> Row {
    let (warmup, length, limit) = match span {
        Span::Timed { warmup, window } => (warmup, Some(warmup + window), u64::MAX),
        Span::Calls(calls) => (Duration::ZERO, None, calls),
    };
    let start = Instant::now();
    let measure = start + warmup;
    let end = length.map(|length| start + length);
    let tasks: Vec<_> = callers
        .into_iter()
        .enumerate()
        .map(|(index, caller)| tokio::spawn(closed_loop(caller, index as u64, measure, end, limit)))
        .collect();
    tokio::time::sleep_until(measure.into()).await;
    let cpu_start = cpu_time();
    let measured_from = Instant::now();
    let mut latency = Histogram::<u64>::new_with_bounds(1, 60_000_000_000, 3).expect("bounds");
    let mut calls = 0;
    let window_end = || (cpu_time(), measured_from.elapsed());
    // Timed: the window closes at `end`; calls still in flight finish unmeasured.
    // Fixed calls: it closes when the last task is done.
    let mut closed = None;
    if let Some(end) = end {
        tokio::time::sleep_until(end.into()).await;
        closed = Some(window_end());
    }
    for task in tasks {
        let (task_calls, task_latency) = task.await.expect("load task");
        calls += task_calls;
        latency.add(task_latency).expect("same bounds");
    }
    let (cpu_end, elapsed) = closed.unwrap_or_else(window_end);
    let cpu = cpu_end - cpu_start;
    let seconds = elapsed.as_secs_f64();
    Row {
        calls,
        seconds,
        latency,
        cpu,
    }
}

async fn run(kind: Kind, concurrency: usize, span: Span) -> Row {
    let server = match kind {
        Kind::Protosocket => protosocket_server(),
        Kind::Tonic => tonic_server().await,
        Kind::Bare => bare_server().await,
    };
    let row = match kind {
        Kind::Protosocket => {
            load(protosocket_callers(server.address, concurrency).await, span).await
        }
        Kind::Tonic => load(tonic_callers(server.address, concurrency).await, span).await,
        Kind::Bare => load(bare_callers(server.address, concurrency).await, span).await,
    };
    (server.stop)().await;
    row
}

fn micros(nanos: u64) -> f64 {
    nanos as f64 / 1000.0
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let benching = args.iter().any(|arg| arg == "--bench");
    let quick = args.iter().any(|arg| arg == "--quick");
    let all = [Kind::Protosocket, Kind::Tonic, Kind::Bare];
    // Server names on the command line pick a subset; none means all.
    let picked: Vec<Kind> = all
        .into_iter()
        .filter(|kind| args.iter().any(|arg| arg == kind.name()))
        .collect();
    let kinds = if picked.is_empty() {
        all.to_vec()
    } else {
        picked
    };
    let levels: Vec<usize> = match args.iter().position(|arg| arg == "--concurrency") {
        Some(at) => vec![args
            .get(at + 1)
            .and_then(|level| level.parse().ok())
            .expect("--concurrency takes a number")],
        None => CONCURRENCY.to_vec(),
    };
    let workers = args.iter().position(|arg| arg == "--workers").map(|at| {
        args.get(at + 1)
            .and_then(|count| count.parse().ok())
            .expect("--workers takes a number")
    });
    let runtime = runtime(workers);
    if !benching {
        // A smoke test: each server answers a few calls.
        for &kind in &kinds {
            let span = Span::Timed {
                warmup: Duration::ZERO,
                window: Duration::from_millis(20),
            };
            runtime.block_on(run(kind, 4, span));
        }
        println!("rpc: smoke test passed (run with `cargo bench` to measure)");
        return;
    }
    let calls = args.iter().position(|arg| arg == "--calls").map(|at| {
        args.get(at + 1)
            .and_then(|count| count.parse().ok())
            .expect("--calls takes a number")
    });
    let span = match calls {
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
    println!(
        "rpc unary echo over loopback: {} allowed CPUs (available_parallelism {}), \
         {} runtime workers, {MESSAGE_LEN}-byte message, {span_text}",
        allowed_cpus(),
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        runtime.metrics().num_workers(),
    );
    println!(
        "{:<12} {:>5} {:>10} {:>9} {:>9} {:>9} {:>9}",
        "server", "conc", "req/s", "p50 us", "p99 us", "p99.9 us", "cpu us/req"
    );
    // Levels outside, servers inside: the servers compared at one level run
    // seconds apart, so drift in the machine's speed over the whole run (it is
    // shared) does not land on one server's rows.
    for &concurrency in &levels {
        for &kind in &kinds {
            let row = runtime.block_on(run(kind, concurrency, span));
            let calls = row.calls.max(1);
            println!(
                "{:<12} {:>5} {:>10.0} {:>9.1} {:>9.1} {:>9.1} {:>9.2}",
                kind.name(),
                concurrency,
                row.calls as f64 / row.seconds,
                micros(row.latency.value_at_quantile(0.5)),
                micros(row.latency.value_at_quantile(0.99)),
                micros(row.latency.value_at_quantile(0.999)),
                row.cpu.as_secs_f64() * 1e6 / calls as f64,
            );
        }
    }
}
