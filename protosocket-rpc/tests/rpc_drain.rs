//! Graceful drain: a server that shuts down tells its clients
//! (`ControlCode::Draining`), answers what they already sent, and the pool
//! moves new calls to other servers: a rolling restart of two servers under
//! load loses no call. An upstream 2.x peer, which reads the notice as a
//! `Cancel` of id 0 and ignores it, still gets every answer, then
//! `Unavailable` once the drain timeout has passed.

mod support;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use protosocket_rpc::client::{PoolConfig, RpcClientConfig, RpcPool};
use protosocket_rpc::server::{ProtosocketServerConfig, RpcServerConfig};
use protosocket_rpc::ControlCode;
use support::raw::{raw, read_message, send};
use support::*;
use tokio::io::AsyncReadExt;

type Pool = RpcPool<Text, Text, TextCodec>;

fn drain_config(drain: Duration) -> RpcServerConfig {
    RpcServerConfig::default()
        .drain_timeout(drain)
        .server_config(ProtosocketServerConfig::default().grace_period(Duration::from_secs(4)))
}

/// What the callers of the rolling restart saw.
#[derive(Default)]
struct Tally {
    made: AtomicU64,
    failed: AtomicU64,
    streams: AtomicU64,
    first_failure: Mutex<Option<String>>,
}

impl Tally {
    fn made(&self) -> u64 {
        self.made.load(Ordering::SeqCst)
    }

    fn fail(&self, what: String) {
        self.failed.fetch_add(1, Ordering::SeqCst);
        self.first_failure.lock().unwrap().get_or_insert(what);
    }
}

/// One caller: unary echoes, and every tenth call a stream of three, until
/// `stop`.
async fn caller(pool: Pool, tally: Arc<Tally>, stop: Arc<AtomicBool>, caller: usize) {
    let mut i = 0u64;
    while !stop.load(Ordering::SeqCst) {
        i += 1;
        tally.made.fetch_add(1, Ordering::SeqCst);
        if i % 10 == 0 {
            match pool.send_streaming(Text::new("stream:3")).await {
                Ok(stream) => {
                    let items: Vec<_> = stream.collect().await;
                    let texts: Result<Vec<String>, _> =
                        items.into_iter().map(|item| item.map(|t| t.text)).collect();
                    match texts {
                        Ok(texts) if texts == ["0", "1", "2"] => {
                            tally.streams.fetch_add(1, Ordering::SeqCst);
                        }
                        other => tally.fail(format!("caller {caller} stream {i}: {other:?}")),
                    }
                }
                Err(error) => tally.fail(format!("caller {caller} stream {i}: {error}")),
            }
            continue;
        }
        let text = format!("{caller}.{i}");
        match pool.send_unary(Text::new(format!("echo:{text}"))).await {
            Ok(response) if response.text == text => {}
            other => tally.fail(format!("caller {caller} call {i}: {other:?}")),
        }
    }
}

/// Shuts the server at `address` down gracefully, waits for it to finish, and
/// starts a new one on the same port (the listener reuses the address).
async fn restart(
    address: SocketAddr,
    service: &TestService,
    server: (
        protosocket_server::ShutdownHandle,
        tokio::task::JoinHandle<()>,
    ),
) -> (
    protosocket_server::ShutdownHandle,
    tokio::task::JoinHandle<()>,
) {
    let (shutdown, running) = server;
    shutdown.shutdown();
    timed(running).await.expect("the old server finished");
    let (again, shutdown, running) = serve_on(
        address,
        service.clone(),
        drain_config(Duration::from_secs(2)),
    );
    assert_eq!(again, address);
    (shutdown, running)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rolling_restart_of_two_servers_under_load_loses_no_call() {
    const CALLERS: usize = 16;
    const SLOTS: usize = 4;
    let service = TestService::default();
    let (a, shutdown_a, server_a) = serve(service.clone(), drain_config(Duration::from_secs(2)));
    let (b, shutdown_b, server_b) = serve(service.clone(), drain_config(Duration::from_secs(2)));
    let pool: Pool = RpcPool::new(
        [a, b],
        codec,
        RpcClientConfig::default().default_deadline(Some(WAIT)),
        PoolConfig::default()
            .connections(SLOTS)
            .min_backoff(Duration::from_millis(5))
            .max_backoff(Duration::from_millis(50)),
    );
    let tally = Arc::new(Tally::default());
    let stop = Arc::new(AtomicBool::new(false));
    let callers: Vec<_> = (0..CALLERS)
        .map(|i| {
            tokio::spawn(caller(
                pool.clone(),
                Arc::clone(&tally),
                Arc::clone(&stop),
                i,
            ))
        })
        .collect();
    let started = Instant::now();

    wait_until("all slots connected", || pool.connected() == SLOTS).await;
    let before = tally.made();
    wait_until("calls flowing", || tally.made() > before + 2000).await;

    let server_a = restart(a, &service, (shutdown_a, server_a)).await;
    wait_until("all slots connected after A", || pool.connected() == SLOTS).await;
    let before = tally.made();
    wait_until("calls flowing after A", || tally.made() > before + 2000).await;

    let server_b = restart(b, &service, (shutdown_b, server_b)).await;
    wait_until("all slots connected after B", || pool.connected() == SLOTS).await;
    let before = tally.made();
    wait_until("calls flowing after B", || tally.made() > before + 2000).await;

    stop.store(true, Ordering::SeqCst);
    for caller in callers {
        timed(caller).await.expect("a caller");
    }
    let (made, failed) = (tally.made(), tally.failed.load(Ordering::SeqCst));
    println!(
        "rolling restart of 2 servers, {SLOTS} pool connections, {CALLERS} callers: \
         {made} calls made ({} streams), {failed} failed, in {:?}",
        tally.streams.load(Ordering::SeqCst),
        started.elapsed()
    );
    assert_eq!(
        failed,
        0,
        "first failure: {:?}",
        tally.first_failure.lock().unwrap()
    );
    assert!(made > 6000, "{made} calls made");
    for (shutdown, running) in [server_a, server_b] {
        shutdown.shutdown();
        timed(running).await.expect("a server");
    }
}

#[tokio::test]
async fn an_upstream_peer_ignores_the_notice_and_still_gets_its_answers() {
    let drain = Duration::from_millis(300);
    let service = TestService::default();
    let (address, shutdown, server) = serve(service.clone(), drain_config(drain));
    let mut peer = raw(address).await;
    send(&mut peer, 1, 0, "sleep:100").await;
    service.wait_for_started(1).await;
    let began = Instant::now();
    shutdown.shutdown();

    // The notice: id 0, which no call uses, and code 9, which a 2.x peer reads
    // as `Cancel` (any code it does not know) of an rpc it does not have.
    let notice = read_message(&mut peer).await;
    assert_eq!(
        (notice.id, notice.code),
        (0, ControlCode::Draining.as_u32())
    );

    // Ignoring it, the peer goes on sending, and is answered.
    send(&mut peer, 2, 0, "echo:after the notice").await;
    let mut answers = vec![read_message(&mut peer).await, read_message(&mut peer).await];
    answers.sort_by_key(|answer| answer.id);
    assert_eq!(
        answers,
        [
            Text {
                id: 1,
                code: 0,
                text: "slept".into()
            },
            Text {
                id: 2,
                code: 0,
                text: "after the notice".into()
            },
        ]
    );

    // Once the drain timeout has passed, a new request is refused unrun; the
    // call still running finishes, and the connection closes after it.
    send(&mut peer, 3, 0, "sleep:600").await;
    service.wait_for_started(3).await;
    tokio::time::sleep(drain.saturating_sub(began.elapsed()) + Duration::from_millis(50)).await;
    send(&mut peer, 4, 0, "echo:too late").await;
    let refused = read_message(&mut peer).await;
    assert_eq!(
        (refused.id, refused.code),
        (4, ControlCode::Unavailable.as_u32())
    );
    let last = read_message(&mut peer).await;
    assert_eq!((last.id, last.text.as_str()), (3, "slept"));
    assert_eq!(timed(peer.read(&mut [0; 16])).await.expect("eof"), 0);
    assert_eq!(service.started(), 3, "the refused request never ran");
    timed(server).await.expect("the server future");
}

#[tokio::test]
async fn a_draining_connection_hands_back_the_calls_it_refuses() {
    let service = TestService::default();
    let (address, shutdown, server) = serve(service.clone(), drain_config(Duration::from_secs(2)));
    let client = client(address, &RpcClientConfig::default()).await;
    // A call in flight keeps the draining connection open.
    let running = client.send_unary(Text::new("sleep:300"));
    service.wait_for_started(1).await;
    shutdown.shutdown();
    wait_until("the notice read", || client.is_draining()).await;

    let mut unary = client.send_unary(Text::new("echo:elsewhere"));
    let refused = timed(&mut unary).await.expect_err("refused unsent");
    assert_eq!(
        refused.status_code(),
        protosocket_rpc::StatusCode::Unavailable
    );
    let back = unary.take_refused().expect("the request handed back");
    assert_eq!(back.text, "echo:elsewhere");
    assert!(unary.take_refused().is_none(), "handed back once");

    let mut stream = client.send_streaming(Text::new("stream:3"));
    let refused = timed(stream.next()).await.expect("one item");
    assert_eq!(
        refused.expect_err("refused unsent").status_code(),
        protosocket_rpc::StatusCode::Unavailable
    );
    assert_eq!(
        stream.take_refused().expect("the request handed back").text,
        "stream:3"
    );

    assert_eq!(
        timed(running)
            .await
            .expect("the call in flight finishes")
            .text,
        "slept"
    );
    assert_eq!(service.started(), 1, "the refused calls never ran");
    timed(server).await.expect("the server future");
}
