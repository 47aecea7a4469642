//! A protosocket `Connection` against tokio-util's `Framed` and a hand-written tokio
//! loop, as the server of a small-message echo over loopback.
//!
//! All three servers speak the same wire format, `LengthDelimitedCodec`'s default: a
//! 4-byte big-endian length, then the payload (`PAYLOAD` bytes here). Each echoes
//! every frame back. They differ only in how:
//!
//! - `protosocket`: a `Connection` whose reactor queues each inbound message as its
//!   reply and hands the replies out through `poll_outbound` (no channel: the
//!   replies are made in the connection's own task); its codec, protosocket's own
//!   `LengthDelimitedCodec`, splits a frame off as `Bytes` without copying and
//!   encodes a small one straight into the connection's write buffer.
//! - `framed`: `Framed<TcpStream, LengthDelimitedCodec>`, split, its stream forwarded
//!   into its sink (`StreamExt::forward` feeds every ready frame and flushes when
//!   the stream has nothing more).
//! - `bare`: one read buffer, one write buffer, no framework: read what is there,
//!   copy every complete frame to the write buffer, write it all.
//!
//! The load generator is the same hand-written client for all three, so only the
//! server differs. `pipelined`: each connection keeps `WINDOW` requests in flight,
//! writing and reading in batches. `one_at_a_time`: send one, wait for its reply.
//! Client and server tasks share one 2-worker multi-thread runtime, over 127.0.0.1
//! with `TCP_NODELAY` on both ends; servers and connections are set up once per
//! benchmark and closed (and awaited) after it. Throughput is in messages
//! (round trips) per second.
//!
//! `cargo bench -p benches --bench connection`

use std::future::Future;
use std::time::{Duration, Instant};

use bytes::{Buf, BufMut, Bytes, BytesMut};
use criterion::{
    criterion_group, criterion_main, BenchmarkId, Criterion, SamplingMode, Throughput,
};
use futures::{StreamExt, TryStreamExt};
use protosocket::{Connection, ConnectionConfig, MessageReactor, ReactorStatus, Replies};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::runtime::Runtime;
use tokio::task::JoinHandle;
use tokio_util::codec::{Framed, LengthDelimitedCodec};

/// Payload bytes per message: an 8-byte sequence number and filler.
const PAYLOAD: usize = 32;
/// Length prefix bytes.
const PREFIX: usize = 4;
const FRAME: usize = PREFIX + PAYLOAD;
/// The largest frame the servers accept (`LengthDelimitedCodec`'s default).
const MAX_FRAME: usize = 8 * 1024 * 1024;
/// Requests each pipelined connection keeps in flight. At most the connection's
/// `max_queued_outbound_messages` (256), so the echo reactor's bounded outbound lane
/// can never be full.
const WINDOW: u64 = 128;
/// Round trips per iteration, split across the connections.
const PIPELINED_TOTAL: u64 = 1 << 18;
const ONE_AT_A_TIME_TOTAL: u64 = 1 << 12;
const CONNECTIONS: [usize; 2] = [1, 8];

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime")
}

// ---------------------------------------------------------------- protosocket server

/// Echoes every inbound message from the connection's own task: replies wait in a
/// local queue that the connection drains through `poll_outbound` while it has room
/// to send, so no channel (and no lock) is involved. The outbound sender is only
/// held so the connection stays open; nothing is sent through it.
#[derive(Debug)]
struct Echo;

impl MessageReactor for Echo {
    type Codec = protosocket::LengthDelimitedCodec;
    type Inbound = Bytes;
    type Outbound = Bytes;
    type LogicalOutbound = Bytes;

    #[inline]
    fn on_inbound_message(
        &mut self,
        message: Bytes,
        replies: &mut Replies<Bytes>,
    ) -> ReactorStatus {
        replies.push(message);
        ReactorStatus::Continue
    }

    #[inline]
    fn on_outbound_message(&mut self, message: Bytes) -> Bytes {
        message
    }
}

async fn serve_protosocket(stream: TcpStream) {
    let codec = protosocket::LengthDelimitedCodec::new();
    let config = ConnectionConfig::default().max_buffer_length(MAX_FRAME);
    Connection::new(stream, codec, Echo, None, config).await;
}

// --------------------------------------------------------------------- Framed server

async fn serve_framed(stream: TcpStream) {
    let (sink, frames) = Framed::new(stream, LengthDelimitedCodec::new()).split();
    frames
        .map_ok(BytesMut::freeze)
        .forward(sink)
        .await
        .expect("framed echo");
}

// ----------------------------------------------------------------------- bare server

async fn serve_bare(mut stream: TcpStream) {
    let mut read = BytesMut::with_capacity(64 * 1024);
    let mut write = Vec::with_capacity(64 * 1024);
    loop {
        read.reserve(16 * 1024);
        match stream.read_buf(&mut read).await {
            Ok(0) => break,
            Ok(_) => {}
            Err(error) => panic!("bare echo read: {error}"),
        }
        let mut at = 0;
        while let Some(prefix) = read[at..].first_chunk::<PREFIX>() {
            let len = u32::from_be_bytes(*prefix) as usize;
            assert!(len <= MAX_FRAME, "frame of {len} bytes");
            let end = at + PREFIX + len;
            if end > read.len() {
                break;
            }
            write.extend_from_slice(&read[at..end]);
            at = end;
        }
        read.advance(at);
        if !write.is_empty() {
            stream.write_all(&write).await.expect("bare echo write");
            write.clear();
        }
    }
    stream.shutdown().await.ok();
}

// ---------------------------------------------------------------------------- client

/// The load generator: one connection, its buffers and its sequence counter.
struct Client {
    stream: TcpStream,
    read: BytesMut,
    write: Vec<u8>,
    /// Sequence number of the next request.
    sent: u64,
    /// Sequence number of the next expected reply.
    received: u64,
}

impl Client {
    async fn connect(address: std::net::SocketAddr) -> Self {
        let stream = TcpStream::connect(address).await.expect("connect");
        stream.set_nodelay(true).expect("nodelay");
        Self {
            stream,
            read: BytesMut::with_capacity(64 * 1024),
            write: Vec::with_capacity(WINDOW as usize * FRAME),
            sent: 0,
            received: 0,
        }
    }

    fn push_request(&mut self) {
        self.write.put_u32(PAYLOAD as u32);
        self.write.put_u64_le(self.sent);
        self.write.put_bytes(0xa5, PAYLOAD - 8);
        self.sent += 1;
    }

    /// Reads at least once, then consumes every complete reply, checking that replies
    /// come back whole and in order. Returns how many it consumed.
    async fn read_replies(&mut self) -> u64 {
        self.read.reserve(32 * 1024);
        let n = self
            .stream
            .read_buf(&mut self.read)
            .await
            .expect("client read");
        assert!(n > 0, "server closed the connection");
        let mut count = 0;
        while self.read.len() >= FRAME {
            assert_eq!(self.read.get_u32() as usize, PAYLOAD, "reply length");
            assert_eq!(self.read.get_u64_le(), self.received, "reply order");
            self.read.advance(PAYLOAD - 8);
            self.received += 1;
            count += 1;
        }
        count
    }

    /// `count` round trips, keeping up to `WINDOW` requests in flight.
    async fn pipelined(&mut self, count: u64) {
        let end = self.sent + count;
        while self.received < end {
            let target = end.min(self.received + WINDOW);
            while self.sent < target {
                self.push_request();
            }
            if !self.write.is_empty() {
                self.stream
                    .write_all(&self.write)
                    .await
                    .expect("client write");
                self.write.clear();
            }
            self.read_replies().await;
        }
    }

    /// `count` round trips, one request in flight at a time.
    async fn one_at_a_time(&mut self, count: u64) {
        for _ in 0..count {
            self.push_request();
            self.stream
                .write_all(&self.write)
                .await
                .expect("client write");
            self.write.clear();
            while self.read_replies().await == 0 {}
        }
    }
}

// ------------------------------------------------------------------------- harness

#[derive(Clone, Copy)]
enum Server {
    Protosocket,
    Framed,
    Bare,
}

impl Server {
    const ALL: [Server; 3] = [Server::Protosocket, Server::Framed, Server::Bare];

    fn name(self) -> &'static str {
        match self {
            Server::Protosocket => "protosocket",
            Server::Framed => "framed",
            Server::Bare => "bare",
        }
    }

    fn serve(self, stream: TcpStream) -> JoinHandle<()> {
        match self {
            Server::Protosocket => tokio::spawn(serve_protosocket(stream)),
            Server::Framed => tokio::spawn(serve_framed(stream)),
            Server::Bare => tokio::spawn(serve_bare(stream)),
        }
    }
}

/// `connections` connected clients, and the server tasks answering them.
struct Setup {
    clients: Vec<Client>,
    servers: Vec<JoinHandle<()>>,
}

impl Setup {
    /// Listens on an ephemeral port, connects `connections` clients and spawns one
    /// `server` task per accepted connection.
    async fn start(server: Server, connections: usize) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("address");
        let acceptor = tokio::spawn(async move {
            let mut servers = Vec::with_capacity(connections);
            for _ in 0..connections {
                let (stream, _) = listener.accept().await.expect("accept");
                stream.set_nodelay(true).expect("nodelay");
                servers.push(server.serve(stream));
            }
            servers
        });
        let mut clients = Vec::with_capacity(connections);
        for _ in 0..connections {
            clients.push(Client::connect(address).await);
        }
        let servers = acceptor.await.expect("acceptor");
        Self { clients, servers }
    }

    /// Runs `round` on every client at once, each doing `per_client` round trips, and
    /// returns how long they took together.
    async fn run<F, Fut>(&mut self, per_client: u64, round: F) -> Duration
    where
        F: Fn(Client, u64) -> Fut,
        Fut: Future<Output = Client> + Send + 'static,
    {
        let start = Instant::now();
        let tasks: Vec<_> = self
            .clients
            .drain(..)
            .map(|client| tokio::spawn(round(client, per_client)))
            .collect();
        for task in tasks {
            self.clients.push(task.await.expect("client"));
        }
        start.elapsed()
    }

    /// Closes the clients and waits for every server task to see it and finish.
    async fn stop(self) {
        drop(self.clients);
        for server in self.servers {
            tokio::time::timeout(Duration::from_secs(5), server)
                .await
                .expect("server task ends after its client closes")
                .expect("server task");
        }
    }
}

async fn pipelined_round(mut client: Client, count: u64) -> Client {
    client.pipelined(count).await;
    client
}

async fn one_at_a_time_round(mut client: Client, count: u64) -> Client {
    client.one_at_a_time(count).await;
    client
}

fn scenario<F, Fut>(c: &mut Criterion, runtime: &Runtime, name: &str, total: u64, round: F)
where
    F: Fn(Client, u64) -> Fut + Copy,
    Fut: Future<Output = Client> + Send + 'static,
{
    let mut group = c.benchmark_group(format!("connection/{name}"));
    group.throughput(Throughput::Elements(total));
    group.sample_size(10);
    group.sampling_mode(SamplingMode::Flat);
    group.warm_up_time(Duration::from_millis(500));
    group.measurement_time(Duration::from_secs(2));
    for connections in CONNECTIONS {
        for server in Server::ALL {
            let mut setup = runtime.block_on(Setup::start(server, connections));
            let per_client = total / connections as u64;
            group.bench_function(BenchmarkId::new(server.name(), connections), |b| {
                b.iter_custom(|iterations| {
                    runtime.block_on(async {
                        let mut elapsed = Duration::ZERO;
                        for _ in 0..iterations {
                            elapsed += setup.run(per_client, round).await;
                        }
                        elapsed
                    })
                })
            });
            runtime.block_on(setup.stop());
        }
    }
    group.finish();
}

fn connection(c: &mut Criterion) {
    let runtime = runtime();
    scenario(c, &runtime, "pipelined", PIPELINED_TOTAL, pipelined_round);
    scenario(
        c,
        &runtime,
        "one_at_a_time",
        ONE_AT_A_TIME_TOTAL,
        one_at_a_time_round,
    );
}

criterion_group!(benches, connection);
criterion_main!(benches);
