//! Streaming over loopback, each direction, protosocket against tonic: items per
//! second and CPU per item on each side.
//!
//! Both serve `proto/echo.proto`'s `Bench` service, generated from the same
//! file: `protosocket` by protosocket-build (the generated trait served by
//! `BenchServer`, called through `BenchClient`), `tonic` by tonic-prost-build
//! (its `bench_server::Bench` trait and `BenchServer`, its `BenchClient` over one
//! HTTP/2 `Channel`), each with its framework's default settings. An item is a
//! sequence number and a payload (64 bytes unless `--size` says otherwise).
//!
//! - `download` (server streaming): the client asks for K items, the server
//!   streams them back;
//! - `upload` (client streaming): the client streams K items, the server counts
//!   them and answers with the count;
//! - `exchange` (bidirectional): the client streams K items, the server answers
//!   each with itself.
//!
//! A round is `concurrency` such calls in flight at once over one connection,
//! each moving K items (10,000 unless `--items` says otherwise); the client
//! checks every call moved all of its items. After one warm-up round, rounds
//! run back to back until the window (2 s; 0.4 s with `--quick`) has passed;
//! the items they moved over the time they took is the rate, and each side's
//! CPU time over them, divided by the items, is its CPU per item.
//!
//! The sides run apart, as the rpc bench's `--apart threads`: the server on a
//! current-thread runtime on one OS thread, the client on another on a second
//! thread, each measured by its thread's CPU clock; `rest` is this process's CPU
//! outside those two threads, which should stay near zero. `--placement` pins
//! them: `two-cores` (the default) the server on the first CPU the process may
//! use and the client on the second, `pinned` both on the first, `free` neither.
//! Each level runs every server in turn; with `--runs N` it does so N times,
//! each round starting one server later, and prints the median of each column.
//!
//! ```text
//! cargo bench -p benches --bench streams                        # every direction, 1 and 16 streams
//! cargo bench -p benches --bench streams -- --runs 3            # medians of three
//! cargo bench -p benches --bench streams -- upload --concurrency 16
//! cargo bench -p benches --bench streams -- tonic --items 1000 --size 1024
//! cargo bench -p benches --bench streams -- --placement pinned --quick
//! ```
//!
//! Without `--bench` on the command line (as `cargo test --benches` runs it) the
//! program only checks each server in each direction with a few items, and
//! exits.

#[path = "shared/cpu.rs"]
mod cpu;
#[path = "shared/report.rs"]
mod report;
#[path = "shared/echo.rs"]
mod shared;

use std::net::SocketAddr;
use std::pin::{pin, Pin};
use std::sync::mpsc as std_mpsc;
use std::time::{Duration, Instant};

use futures::{Stream, StreamExt};
use protosocket_rpc::client::RpcClientConfig;
use tokio::sync::oneshot;
use tonic::transport::{Channel, Endpoint};
use tonic::{Request, Response, Status, Streaming};

use cpu::{allowed_cpus, clock_time, cpu_time, current_thread_runtime, pin, Placement};
use report::{median, option};
use shared::tonic_echo::bench_client::BenchClient as TonicClient;
use shared::tonic_echo::bench_server::{Bench as TonicBench, BenchServer as TonicServer};
use shared::{echo, items, tonic_echo, Server};

const CONCURRENCY: [usize; 2] = [1, 16];
const ITEMS: u64 = 10_000;
const SIZE: usize = 64;

// ---------------------------------------------------------------- tonic

/// The service, through tonic's generated trait.
#[derive(Debug, Clone, Copy)]
struct Tonic;

fn tonic_item(sequence: u64, payload: Vec<u8>) -> tonic_echo::Item {
    tonic_echo::Item { sequence, payload }
}

type TonicItems = Pin<Box<dyn Stream<Item = Result<tonic_echo::Item, Status>> + Send>>;

#[tonic::async_trait]
impl TonicBench for Tonic {
    async fn echo(
        &self,
        request: Request<tonic_echo::EchoRequest>,
    ) -> Result<Response<tonic_echo::EchoResponse>, Status> {
        let request = request.into_inner();
        Ok(Response::new(tonic_echo::EchoResponse {
            message: request.message,
            nanotime: request.nanotime,
        }))
    }

    type DownloadStream = TonicItems;

    async fn download(
        &self,
        request: Request<tonic_echo::DownloadRequest>,
    ) -> Result<Response<TonicItems>, Status> {
        let request = request.into_inner();
        let items = items(request.items, request.size as usize, tonic_item);
        Ok(Response::new(Box::pin(futures::stream::iter(
            items.map(Ok),
        ))))
    }

    async fn upload(
        &self,
        request: Request<Streaming<tonic_echo::Item>>,
    ) -> Result<Response<tonic_echo::Received>, Status> {
        let mut stream = request.into_inner();
        let mut items = 0;
        while stream.message().await?.is_some() {
            items += 1;
        }
        Ok(Response::new(tonic_echo::Received { items }))
    }

    type ExchangeStream = Streaming<tonic_echo::Item>;

    async fn exchange(
        &self,
        request: Request<Streaming<tonic_echo::Item>>,
    ) -> Result<Response<Streaming<tonic_echo::Item>>, Status> {
        Ok(Response::new(request.into_inner()))
    }
}

// ---------------------------------------------------------------- calls

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Protosocket,
    Tonic,
}

impl Kind {
    const ALL: [Kind; 2] = [Kind::Protosocket, Kind::Tonic];

    fn name(self) -> &'static str {
        match self {
            Kind::Protosocket => "protosocket",
            Kind::Tonic => "tonic",
        }
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Direction {
    Download,
    Upload,
    Exchange,
}

impl Direction {
    const ALL: [Direction; 3] = [Direction::Download, Direction::Upload, Direction::Exchange];

    fn name(self) -> &'static str {
        match self {
            Direction::Download => "download",
            Direction::Upload => "upload",
            Direction::Exchange => "exchange",
        }
    }
}

/// How many items a call moves, and of what size.
#[derive(Clone, Copy)]
struct Load {
    items: u64,
    size: usize,
}

async fn serve(kind: Kind) -> Server {
    match kind {
        Kind::Protosocket => shared::generated_server(),
        Kind::Tonic => shared::tonic_server(TonicServer::new(Tonic), None).await,
    }
}

/// A client of one connection; cloned for each call.
#[derive(Clone)]
enum Client {
    Protosocket(echo::BenchClient),
    Tonic(TonicClient<Channel>),
}

impl Client {
    async fn connect(kind: Kind, address: SocketAddr) -> Client {
        match kind {
            Kind::Protosocket => Client::Protosocket(
                echo::BenchClient::connect(address, &RpcClientConfig::default())
                    .await
                    .expect("connect"),
            ),
            Kind::Tonic => {
                let channel = Endpoint::from_shared(format!("http://{address}"))
                    .expect("endpoint")
                    .tcp_nodelay(true)
                    .connect()
                    .await
                    .expect("connect");
                Client::Tonic(TonicClient::new(channel))
            }
        }
    }

    /// One call in `direction`; the items it moved, each checked for order.
    async fn call(self, direction: Direction, load: Load) -> u64 {
        let Load { items: count, size } = load;
        match (self, direction) {
            (Client::Protosocket(client), Direction::Download) => {
                let request = echo::DownloadRequest {
                    items: count,
                    size: size as u32,
                };
                in_order(
                    client
                        .download(request)
                        .map(|item| item.map(|item| item.sequence)),
                )
                .await
            }
            (Client::Protosocket(client), Direction::Upload) => {
                let sent = futures::stream::iter(items(count, size, shared::item));
                client.upload(sent).await.expect("upload").items
            }
            (Client::Protosocket(client), Direction::Exchange) => {
                let sent = futures::stream::iter(items(count, size, shared::item));
                in_order(
                    client
                        .exchange(sent)
                        .map(|item| item.map(|item| item.sequence)),
                )
                .await
            }
            (Client::Tonic(mut client), Direction::Download) => {
                let request = tonic_echo::DownloadRequest {
                    items: count,
                    size: size as u32,
                };
                let stream = client.download(request).await.expect("download");
                in_order(
                    stream
                        .into_inner()
                        .map(|item| item.map(|item| item.sequence)),
                )
                .await
            }
            (Client::Tonic(mut client), Direction::Upload) => {
                let sent = futures::stream::iter(items(count, size, tonic_item));
                client
                    .upload(sent)
                    .await
                    .expect("upload")
                    .into_inner()
                    .items
            }
            (Client::Tonic(mut client), Direction::Exchange) => {
                let sent = futures::stream::iter(items(count, size, tonic_item));
                let stream = client.exchange(sent).await.expect("exchange");
                in_order(
                    stream
                        .into_inner()
                        .map(|item| item.map(|item| item.sequence)),
                )
                .await
            }
        }
    }
}

/// Reads a stream of sequence numbers to its end, checking they count from 0;
/// how many there were.
async fn in_order<E: std::fmt::Debug>(sequences: impl Stream<Item = Result<u64, E>>) -> u64 {
    let mut sequences = pin!(sequences);
    let mut next = 0;
    while let Some(sequence) = sequences.next().await {
        assert_eq!(sequence.expect("an item"), next, "items out of order");
        next += 1;
    }
    next
}

/// `concurrency` calls at once on the current runtime; the items they moved.
async fn round(client: &Client, direction: Direction, concurrency: usize, load: Load) -> u64 {
    let calls: Vec<_> = (0..concurrency)
        .map(|_| tokio::spawn(client.clone().call(direction, load)))
        .collect();
    let mut moved = 0;
    for call in calls {
        let items = call.await.expect("call task");
        assert_eq!(items, load.items, "a call moved only part of its items");
        moved += items;
    }
    moved
}

// ---------------------------------------------------------------- runs

/// What one run measured.
#[derive(Clone, Copy)]
struct Figures {
    /// Items per second.
    rate: f64,
    /// CPU time per item on each side, and outside both, in nanoseconds.
    server_cpu: f64,
    client_cpu: f64,
    rest_cpu: f64,
}

impl Figures {
    /// The median of each column on its own.
    fn median(runs: &[Figures]) -> Figures {
        let median = |column: fn(&Figures) -> f64| median(runs, column);
        Figures {
            rate: median(|f| f.rate),
            server_cpu: median(|f| f.server_cpu),
            client_cpu: median(|f| f.client_cpu),
            rest_cpu: median(|f| f.rest_cpu),
        }
    }
}

/// Everything one run needs to know.
#[derive(Clone, Copy)]
struct Setup {
    kind: Kind,
    direction: Direction,
    concurrency: usize,
    load: Load,
    /// How long the measured rounds last at least; zero for one round.
    window: Duration,
    placement: Placement,
}

/// One run: the server on a thread of its own, the client on another.
fn run(setup: Setup) -> Figures {
    let (ready_tx, ready_rx) = std_mpsc::channel();
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let server = std::thread::Builder::new()
        .name(format!("{} server", setup.kind.name()))
        .spawn(move || {
            pin(setup.placement.server);
            current_thread_runtime().block_on(async move {
                let server = serve(setup.kind).await;
                ready_tx
                    .send((server.address, cpu::this_thread_clock()))
                    .expect("bench waits for its server");
                let _ = stop_rx.await;
                (server.stop)().await;
            });
        })
        .expect("spawn server thread");
    let (address, server_clock) = ready_rx.recv().expect("server thread started");
    let client = std::thread::Builder::new()
        .name(format!("{} client", setup.kind.name()))
        .spawn(move || {
            pin(setup.placement.client);
            current_thread_runtime().block_on(drive(setup, address, server_clock))
        })
        .expect("spawn client thread");
    let figures = client.join().expect("client thread");
    let _ = stop_tx.send(());
    server.join().expect("server thread");
    figures
}

/// The client's side of a run: connects, warms up, and measures rounds.
async fn drive(setup: Setup, address: SocketAddr, server_clock: libc::clockid_t) -> Figures {
    let client = Client::connect(setup.kind, address).await;
    let client_clock = cpu::this_thread_clock();
    let read = || {
        let client = clock_time(client_clock);
        let server = clock_time(server_clock);
        // Read last, so it covers the threads' times read before it.
        (client, server, cpu_time())
    };
    round(&client, setup.direction, setup.concurrency, setup.load).await;
    let (client_start, server_start, process_start) = read();
    let start = Instant::now();
    let mut moved = 0;
    loop {
        moved += round(&client, setup.direction, setup.concurrency, setup.load).await;
        if start.elapsed() >= setup.window {
            break;
        }
    }
    let elapsed = start.elapsed();
    let (client_end, server_end, process_end) = read();
    let client_cpu = client_end - client_start;
    let server_cpu = server_end - server_start;
    let rest = (process_end - process_start).saturating_sub(client_cpu + server_cpu);
    let per_item = |time: Duration| time.as_secs_f64() * 1e9 / moved as f64;
    Figures {
        rate: moved as f64 / elapsed.as_secs_f64(),
        server_cpu: per_item(server_cpu),
        client_cpu: per_item(client_cpu),
        rest_cpu: per_item(rest),
    }
}

// ---------------------------------------------------------------- report

/// The values of `all` named on the command line; all of them when none is.
fn picked<T: Copy>(args: &[String], all: &[T], name: fn(T) -> &'static str) -> Vec<T> {
    let picked: Vec<T> = all
        .iter()
        .copied()
        .filter(|&value| args.iter().any(|arg| arg == name(value)))
        .collect();
    if picked.is_empty() {
        all.to_vec()
    } else {
        picked
    }
}

/// A few items through every server in every direction, checking each side's
/// CPU was measured.
fn self_check(kinds: &[Kind], directions: &[Direction]) {
    for &direction in directions {
        for &kind in kinds {
            let figures = run(Setup {
                kind,
                direction,
                concurrency: 2,
                load: Load {
                    items: 100,
                    size: SIZE,
                },
                window: Duration::ZERO,
                placement: Placement::parse("free"),
            });
            let what = format!("{} {}", kind.name(), direction.name());
            assert!(figures.rate > 0.0, "{what}: no items moved");
            assert!(figures.server_cpu > 0.0, "{what}: server CPU not measured");
            assert!(figures.client_cpu > 0.0, "{what}: client CPU not measured");
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let kinds = picked(&args, &Kind::ALL, Kind::name);
    let directions = picked(&args, &Direction::ALL, Direction::name);
    if !args.iter().any(|arg| arg == "--bench") {
        self_check(&kinds, &directions);
        println!("streams: self-check passed (run with `cargo bench` to measure)");
        return;
    }
    let levels: Vec<usize> = match option(&args, "--concurrency", "a number") {
        Some(level) => vec![level],
        None => CONCURRENCY.to_vec(),
    };
    let load = Load {
        items: option(&args, "--items", "a number").unwrap_or(ITEMS),
        size: option(&args, "--size", "a number of bytes").unwrap_or(SIZE),
    };
    let runs: usize = option(&args, "--runs", "a number").unwrap_or(1);
    assert!(runs > 0, "--runs takes a positive number");
    let window = if args.iter().any(|arg| arg == "--quick") {
        Duration::from_millis(400)
    } else {
        Duration::from_secs(2)
    };
    let placement = Placement::parse(
        &option::<String>(&args, "--placement", "pinned, two-cores or free")
            .unwrap_or_else(|| "two-cores".to_owned()),
    );
    let median_text = if runs > 1 {
        format!(", median of {runs} runs per column")
    } else {
        String::new()
    };
    println!(
        "streams over loopback: {} allowed CPUs, apart on two threads, {placement}, \
         {} items of {} bytes per call, one warm-up round, window {window:?}{median_text}",
        allowed_cpus().len(),
        load.items,
        load.size,
    );
    println!(
        "{:<12} {:<9} {:>5} {:>11} {:>12} {:>12} {:>12}",
        "server", "direction", "conc", "items/s", "srv ns/item", "cli ns/item", "rest ns/item"
    );
    // Levels outside, servers inside, as the rpc bench does: the servers
    // compared at one level run seconds apart, and each round starts one server
    // later.
    for &direction in &directions {
        for &concurrency in &levels {
            let mut figures: Vec<Vec<Figures>> = vec![Vec::new(); kinds.len()];
            for round in 0..runs {
                for turn in 0..kinds.len() {
                    let index = (round + turn) % kinds.len();
                    let setup = Setup {
                        kind: kinds[index],
                        direction,
                        concurrency,
                        load,
                        window,
                        placement,
                    };
                    figures[index].push(run(setup));
                }
            }
            for (kind, runs) in kinds.iter().zip(&figures) {
                let median = Figures::median(runs);
                println!(
                    "{:<12} {:<9} {:>5} {:>11.0} {:>12.1} {:>12.1} {:>12.1}",
                    kind.name(),
                    direction.name(),
                    concurrency,
                    median.rate,
                    median.server_cpu,
                    median.client_cpu,
                    median.rest_cpu,
                );
            }
        }
    }
}
