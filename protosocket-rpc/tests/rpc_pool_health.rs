//! The pool routes around a dead peer: a server that accepts connections but
//! never answers (a hung process whose kernel still completes handshakes) costs
//! calls only until the liveness timeout; connections known to answer are
//! preferred; and a call never waits past its deadline for a connect.

mod support;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use protosocket::{ConnectionConfig, Liveness};
use protosocket_rpc::client::{PoolConfig, RpcClientConfig, RpcPool};
use protosocket_rpc::server::{ConnectionInfo, RpcServerConfig};
use support::{codec, serve, timed, TestService, Text, TextCodec};
use tokio::io::AsyncReadExt;

/// One case at a time: they time calls against deadlines, and on a 2-core
/// machine one case's load would delay another's calls.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

const PING_AFTER: Duration = Duration::from_millis(100);
const LIVENESS_TIMEOUT: Duration = Duration::from_millis(400);

fn pool(addresses: &[SocketAddr], connections: usize) -> RpcPool<Text, Text, TextCodec> {
    let config = RpcClientConfig::default().connection_config(
        ConnectionConfig::default().liveness(Some(Liveness::new(PING_AFTER, LIVENESS_TIMEOUT))),
    );
    RpcPool::new(
        addresses.iter().copied(),
        codec,
        config,
        PoolConfig::default().connections(connections),
    )
}

/// Accepts every connection and reads what comes, answering nothing.
async fn hung_server() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut sink = vec![0; 4096];
                while matches!(stream.read(&mut sink).await, Ok(n) if n > 0) {}
            });
        }
    });
    address
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_server_of_two_costs_calls_only_until_the_liveness_timeout() {
    let _serial = SERIAL.lock().await;
    const TASKS: usize = 8;
    const MAX_CALLS_EACH: usize = 20_000;
    // Several liveness timeouts, so a pool that went back to the hung server
    // after giving up its first connection would show it.
    const RUN: Duration = Duration::from_millis(2500);
    let deadline = Duration::from_secs(1);
    let hung = hung_server().await;
    let (healthy, shutdown, _server) = serve(TestService::default(), RpcServerConfig::default());
    let pool = pool(&[hung, healthy], 2);
    let started = Instant::now();
    // (when the call ended, how long it took, whether it failed)
    let log = Arc::new(Mutex::new(Vec::new()));
    let tasks: Vec<_> = (0..TASKS)
        .map(|_| {
            let pool = pool.clone();
            let log = Arc::clone(&log);
            tokio::spawn(async move {
                for _ in 0..MAX_CALLS_EACH {
                    if started.elapsed() >= RUN {
                        break;
                    }
                    let call = Instant::now();
                    let outcome = pool
                        .send_unary_with_deadline(Text::new("echo:x"), Some(deadline))
                        .await;
                    let entry = (started.elapsed(), call.elapsed(), outcome.is_err());
                    log.lock().unwrap().push(entry);
                }
            })
        })
        .collect();
    for task in tasks {
        timed(task).await.unwrap();
    }
    let log = std::mem::take(&mut *log.lock().unwrap());
    let failed: Vec<_> = log.iter().filter(|(_, _, failed)| *failed).collect();
    let last_failure = failed.iter().map(|(at, _, _)| *at).max();
    assert!(
        last_failure.is_none_or(|at| at <= LIVENESS_TIMEOUT * 2 + Duration::from_millis(200)),
        "failures went on until {last_failure:?}: {} of {}",
        failed.len(),
        log.len()
    );
    let slowest = log.iter().map(|(_, took, _)| *took).max().unwrap();
    assert!(
        slowest <= deadline + Duration::from_millis(50),
        "a call took {slowest:?}, past its deadline"
    );
    timed(shutdown.shutdown_and_wait()).await;
}

/// An address whose accept queue is full: the kernel drops further SYNs, so a
/// connect hangs as it would into a black hole.
async fn blackhole() -> (
    tokio::net::TcpListener,
    Vec<tokio::net::TcpStream>,
    SocketAddr,
) {
    let listener = protosocket::SocketOptions::default()
        .backlog(0)
        .bind_tcp("127.0.0.1:0".parse::<std::net::SocketAddr>().unwrap())
        .unwrap();
    let address = listener.local_addr().unwrap();
    let mut fillers = Vec::new();
    // Connects complete until the queue is full; then they hang.
    for _ in 0..8 {
        let connect = tokio::net::TcpStream::connect(address);
        match tokio::time::timeout(Duration::from_millis(200), connect).await {
            Ok(Ok(stream)) => fillers.push(stream),
            _ => break,
        }
    }
    assert!(fillers.len() < 8, "the accept queue never filled");
    (listener, fillers, address)
}

#[tokio::test]
async fn a_call_never_waits_past_its_deadline_for_a_connect() {
    let _serial = SERIAL.lock().await;
    let (_listener, _fillers, address) = blackhole().await;
    let pool = pool(&[address], 1);
    for deadline in [Duration::from_millis(200), Duration::from_millis(300)] {
        let started = Instant::now();
        let outcome =
            timed(pool.send_unary_with_deadline(Text::new("echo:x"), Some(deadline))).await;
        let took = started.elapsed();
        assert!(
            matches!(&outcome, Err(error) if error.is_deadline_exceeded()),
            "{outcome:?}"
        );
        assert!(
            took <= deadline + Duration::from_millis(50),
            "ended {took:?} after a {deadline:?} deadline"
        );
    }
}

/// Answers echoes until `hung` is set, then never answers again: a server that
/// worked, then stopped.
#[derive(Clone, Default)]
struct Switch {
    hung: Arc<std::sync::atomic::AtomicBool>,
    /// Calls that reached it while hung.
    stuck: Arc<std::sync::atomic::AtomicUsize>,
}

impl protosocket_rpc::server::ConnectionService for Switch {
    type Request = Text;
    type Response = Text;
    type Unary = std::pin::Pin<Box<dyn std::future::Future<Output = Text> + Send>>;
    type Streaming = futures::stream::BoxStream<'static, Text>;

    fn new_rpc(
        &mut self,
        request: Text,
    ) -> protosocket_rpc::server::Rpc<Self::Unary, Self::Streaming> {
        if self.hung.load(std::sync::atomic::Ordering::SeqCst) {
            self.stuck.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            return protosocket_rpc::server::Rpc::Unary(Box::pin(std::future::pending()));
        }
        protosocket_rpc::server::Rpc::Unary(Box::pin(std::future::ready(request)))
    }
}

impl protosocket_rpc::server::SocketService for Switch {
    type Codec = TextCodec;
    type ConnectionService = Switch;
    fn codec(&self) -> TextCodec {
        codec()
    }
    fn new_connection_service(&self, _: &ConnectionInfo<'_>) -> Switch {
        self.clone()
    }
}

/// A connection that answered before and then stopped answering calls (its
/// handlers stuck; its loop still acknowledges cancels and answers pings) is given
/// up after three deadlines in a row with no answer, its slot waits out a
/// backoff before connecting again, and calls go to the other server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deadlines_in_a_row_with_no_answer_move_calls_elsewhere() {
    let _serial = SERIAL.lock().await;
    let deadline = Duration::from_millis(100);
    let switch = Switch::default();
    let server = protosocket_rpc::server::RpcServer::bind(
        "127.0.0.1:0".parse::<std::net::SocketAddr>().unwrap(),
        switch.clone(),
        RpcServerConfig::default(),
    )
    .unwrap();
    let switching = server.local_endpoint().unwrap();
    tokio::spawn(server);
    let (healthy, shutdown, _server) = serve(TestService::default(), RpcServerConfig::default());
    // Pings verify both connections at once; their timeout is far beyond the
    // test, so only the deadline streak can give the stuck connection up (the
    // stuck server's connection loop still pongs).
    let liveness = Liveness::new(Duration::from_millis(50), Duration::from_secs(30));
    let config = RpcClientConfig::default()
        .connection_config(ConnectionConfig::default().liveness(Some(liveness)));
    // A long backoff: the replacement connection waits past the end of the test.
    let pool_config = PoolConfig::default()
        .connections(2)
        .min_backoff(Duration::from_secs(5));
    let pool: RpcPool<Text, Text, TextCodec> =
        RpcPool::new([switching, healthy.into()], codec, config, pool_config);
    // Both connections answer at first.
    for _ in 0..20 {
        timed(pool.send_unary_with_deadline(Text::new("echo:x"), Some(deadline)))
            .await
            .expect("both servers answer");
    }
    switch.hung.store(true, std::sync::atomic::Ordering::SeqCst);
    for _ in 0..200 {
        let outcome =
            timed(pool.send_unary_with_deadline(Text::new("echo:x"), Some(deadline))).await;
        if let Err(error) = outcome {
            assert!(error.is_deadline_exceeded(), "{error:?}");
        }
    }
    // Calls to the healthy server may miss a deadline on a loaded machine too, so
    // count what reached the stuck one: the three that made it suspect, give or
    // take one that was picked as the third expired.
    let stuck = switch.stuck.load(std::sync::atomic::Ordering::SeqCst);
    assert!(stuck >= 1, "the switched server was never picked");
    assert!(
        stuck <= 4,
        "{stuck} calls reached the stuck server: its connection kept getting calls"
    );
    timed(shutdown.shutdown_and_wait()).await;
}
