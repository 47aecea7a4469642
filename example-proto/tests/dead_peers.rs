//! Dead peers, between network namespaces the test makes itself: a hung server
//! (SIGSTOP) or a cut link among two servers, total loss under calls in flight, a
//! client host that vanishes, and a connect into a black hole. Each case prints
//! the time to notice and the calls lost; the README quotes them.
//!
//! Needs root, iproute2 and nftables (`.ci/run` installs nftables); without them
//! each case prints why it is skipped.

mod netns;

use std::net::SocketAddr;
use std::process::Child;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use example_proto::{start_server_with_config, EchoClient, Request, ResponseBehavior};
use protosocket::{CloseReason, ConnectionConfig, Keepalive, Liveness, SocketOptions};
use protosocket_rpc::client::{PoolConfig, RpcClient, RpcClientConfig, RpcPool};
use protosocket_rpc::server::{ProtosocketServerConfig, RpcServerConfig};
use protosocket_rpc::Error;

const PORT: u16 = 9000;
const LIVENESS: Duration = Duration::from_secs(1);
const DEADLINE: Duration = Duration::from_millis(500);

fn client_config() -> RpcClientConfig {
    RpcClientConfig::default().connection_config(
        ConnectionConfig::default()
            .liveness(Some(Liveness::new(Duration::from_millis(200), LIVENESS))),
    )
}

async fn serial() -> tokio::sync::MutexGuard<'static, ()> {
    netns::SERIAL.lock().await
}

/// The echo server binary inside `namespace`, once it accepts connections.
fn server_in(namespace: &netns::Namespace) -> (Child, SocketAddr) {
    let address = SocketAddr::new(namespace.theirs, PORT);
    let child = namespace.spawn(
        env!("CARGO_BIN_EXE_example-proto-server"),
        &[],
        &[("HOST", address.to_string())],
    );
    let started = Instant::now();
    while std::net::TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the server never listened"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    (child, address)
}

type EchoPool = RpcPool<
    Request,
    example_proto::Response,
    protosocket_prost::ProstCodec<Request, example_proto::Response>,
>;

fn echo() -> Request {
    Request::echo("x", 0, ResponseBehavior::Unary)
}

/// What a run of calls saw: (when it ended, how long it took, whether it failed).
type Log = Vec<(Duration, Duration, bool)>;

/// Eight callers through `pool` for `run`, calling `fault` at `fault_at`.
async fn load(pool: EchoPool, run: Duration, fault_at: Duration, fault: impl FnOnce()) -> Log {
    let started = Instant::now();
    let log = Arc::new(Mutex::new(Log::new()));
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let pool = pool.clone();
            let log = Arc::clone(&log);
            tokio::spawn(async move {
                for _ in 0..1_000_000 {
                    if started.elapsed() >= run {
                        break;
                    }
                    let call = Instant::now();
                    let outcome = pool.send_unary_with_deadline(echo(), Some(DEADLINE)).await;
                    let entry = (started.elapsed(), call.elapsed(), outcome.is_err());
                    log.lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .push(entry);
                }
            })
        })
        .collect();
    tokio::time::sleep(fault_at).await;
    fault();
    for task in tasks {
        tokio::time::timeout(run + Duration::from_secs(10), task)
            .await
            .expect("the callers end")
            .expect("a caller");
    }
    let log = std::mem::take(&mut *log.lock().unwrap_or_else(PoisonError::into_inner));
    log
}

/// The rate of the same load against one server alone, for comparison.
async fn one_server_rate(address: SocketAddr) -> f64 {
    let pool: EchoPool = RpcPool::new(
        [address],
        protosocket_prost::codec,
        client_config(),
        PoolConfig::default().connections(2),
    );
    let run = Duration::from_millis(1500);
    let log = load(pool, run, run, || {}).await;
    let counted = Duration::from_millis(500)..run;
    let calls = log
        .iter()
        .filter(|e| !e.2 && counted.contains(&e.0))
        .count();
    calls as f64 / (counted.end - counted.start).as_secs_f64()
}

/// Prints and checks a run with a fault at `fault_at`: failures stop within twice
/// the liveness timeout, and no call outlives its deadline by more than 50 ms.
fn judge(case: &str, log: &Log, fault_at: Duration, run: Duration, one_server: f64) {
    let failed: Vec<_> = log.iter().filter(|entry| entry.2).collect();
    let last_failure = failed.iter().map(|entry| entry.0).max();
    let rate = |from: Duration, to: Duration| {
        let calls = log
            .iter()
            .filter(|e| !e.2 && e.0 >= from && e.0 < to)
            .count();
        calls as f64 / (to - from).as_secs_f64()
    };
    let before = rate(Duration::from_millis(200), fault_at);
    let after = rate(run - Duration::from_secs(2), run);
    let noticed = last_failure.map(|at| at.saturating_sub(fault_at));
    println!(
        "{case}: {} of {} calls failed; failures stopped {noticed:?} after the fault \
         (liveness timeout {LIVENESS:?}); rate {before:.0}/s before, {after:.0}/s in the last 2 s, \
         {:.0}% of the one-server rate ({one_server:.0}/s)",
        failed.len(),
        log.len(),
        100.0 * after / one_server.max(1.0),
    );
    assert!(
        noticed.is_none_or(|noticed| noticed <= LIVENESS * 2),
        "{case}: failures went on {noticed:?} after the fault"
    );
    let slowest = log.iter().map(|entry| entry.1).max().unwrap_or_default();
    assert!(
        slowest <= DEADLINE + Duration::from_millis(50),
        "{case}: a call took {slowest:?}"
    );
}

fn two_server_pool(a: SocketAddr, b: SocketAddr) -> EchoPool {
    RpcPool::new(
        [a, b],
        protosocket_prost::codec,
        client_config(),
        PoolConfig::default()
            .connections(2)
            .connect_timeout(Duration::from_secs(1)),
    )
}

/// Two servers in namespaces of their own behind a pool of two, under load;
/// `fault` strikes server B (its process, its namespace) a second in, `heal`
/// undoes it after the run.
async fn one_of_two_fails(
    case: &str,
    fault: impl FnOnce(&Child, &netns::Namespace) + Send + 'static,
    heal: impl FnOnce(&Child),
) {
    let _serial = serial().await;
    let a = namespace_or_skip!();
    let b = Arc::new(namespace_or_skip!());
    let (mut server_a, address_a) = server_in(&a);
    let (server_b, address_b) = server_in(&b);
    let server_b = Arc::new(Mutex::new(server_b));
    let one_server = one_server_rate(address_a).await;
    let pool = two_server_pool(address_a, address_b);
    let run = Duration::from_secs(5);
    let fault_at = Duration::from_secs(1);
    let (struck, namespace) = (Arc::clone(&server_b), Arc::clone(&b));
    let log = load(pool, run, fault_at, move || {
        fault(
            &struck.lock().unwrap_or_else(PoisonError::into_inner),
            &namespace,
        )
    })
    .await;
    let mut server_b = server_b.lock().unwrap_or_else(PoisonError::into_inner);
    heal(&server_b);
    judge(case, &log, fault_at, run, one_server);
    let _ = server_a.kill();
    let _ = server_b.kill();
    let _ = (server_a.wait(), server_b.wait());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_server_of_two_is_routed_around() {
    one_of_two_fails(
        "hung server (SIGSTOP) of two",
        |server, _| netns::signal(server, "STOP"),
        |server| netns::signal(server, "CONT"),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partitioned_link_of_two_is_routed_around() {
    one_of_two_fails(
        "partition (nftables drop) of one link of two",
        |_, namespace| namespace.cut_off(),
        |_| {},
    )
    .await;
}

#[tokio::test]
async fn total_loss_with_calls_in_flight_is_noticed_by_the_liveness_timeout() {
    let _serial = serial().await;
    let namespace = namespace_or_skip!();
    let (mut server, address) = server_in(&namespace);
    let client: EchoClient =
        RpcClient::connect(address, protosocket_prost::codec(), &client_config())
            .await
            .expect("connect");
    client
        .send_unary(echo())
        .await
        .expect("a call before the loss");
    namespace.cut_off();
    let cut_at = Instant::now();
    let calls: Vec<_> = (0..4).map(|_| client.send_unary(echo())).collect();
    let mut lost = 0;
    for call in calls {
        let outcome = tokio::time::timeout(Duration::from_secs(10), call)
            .await
            .expect("the call ends");
        assert!(
            matches!(
                outcome,
                Err(Error::ConnectionClosed(CloseReason::PeerUnresponsive(_)))
            ),
            "{outcome:?}"
        );
        lost += 1;
    }
    let noticed = cut_at.elapsed();
    println!("100% loss with calls in flight: noticed after {noticed:?} (liveness timeout {LIVENESS:?}), {lost} calls lost");
    assert!(noticed <= LIVENESS * 2, "noticed after {noticed:?}");
    let _ = server.kill();
    let _ = server.wait();
}

/// Established connections to `port` in this namespace, from `ss`.
fn established(port: u16) -> usize {
    let output = std::process::Command::new("ss")
        .args([
            "-Htn",
            "state",
            "established",
            &format!("( sport = :{port} )"),
        ])
        .output()
        .expect("run ss");
    String::from_utf8_lossy(&output.stdout).lines().count()
}

#[tokio::test]
async fn a_vanished_client_is_dropped_by_keepalive() {
    let _serial = serial().await;
    let namespace = namespace_or_skip!();
    let keepalive = Keepalive {
        idle: Duration::from_secs(1),
        interval: Duration::from_secs(1),
        retries: 2,
    };
    let options = SocketOptions::default()
        .keepalive(Some(keepalive))
        .user_timeout(Some(Duration::from_secs(3)));
    let config = RpcServerConfig::default()
        .server_config(ProtosocketServerConfig::default().socket_options(options));
    let server = start_server_with_config(SocketAddr::new(namespace.ours, 0), config)
        .expect("bind on our end of the link");
    let port = server.local_addr().port();
    // An idle client: it connects, then says nothing.
    let script = format!("exec 3<>/dev/tcp/{}/{port}; sleep 30", namespace.ours);
    let mut client = namespace.spawn("bash", &["-c", &script], &[]);
    let started = Instant::now();
    while established(port) == 0 {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the client never connected"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The client's host vanishes: nothing it sent or would send gets through.
    namespace.cut_off();
    let cut_at = Instant::now();
    while established(port) > 0 {
        assert!(
            cut_at.elapsed() < Duration::from_secs(15),
            "the server kept the connection"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let noticed = cut_at.elapsed();
    println!(
        "vanished client: its connection closed after {noticed:?} (keepalive detection time {:?})",
        keepalive.detection_time()
    );
    assert!(noticed <= keepalive.detection_time() + Duration::from_secs(2));
    let _ = client.kill();
    let _ = client.wait();
    server.shutdown().await;
}

#[tokio::test]
async fn a_connect_into_a_black_hole_ends_by_the_calls_deadline() {
    let _serial = serial().await;
    let namespace = namespace_or_skip!();
    namespace.cut_off();
    let pool: EchoPool = RpcPool::new(
        [SocketAddr::new(namespace.theirs, PORT)],
        protosocket_prost::codec,
        client_config(),
        PoolConfig::default(),
    );
    let started = Instant::now();
    let outcome = pool
        .send_unary_with_deadline(echo(), Some(Duration::from_millis(300)))
        .await;
    let took = started.elapsed();
    println!("connect into a black hole: the call ended after {took:?} (deadline 300 ms)");
    assert!(
        matches!(&outcome, Err(error) if error.is_deadline_exceeded()),
        "{outcome:?}"
    );
    assert!(took <= Duration::from_millis(350), "took {took:?}");
}
