//! The connection pool: lazy connections spread over slots and addresses, fast
//! failure on dead connections, reconnection with backoff.
//!
//! Backoff windows are whole seconds and "fast" means under a second, so a loaded
//! CI machine has hundreds of milliseconds of slack on every timing check.
mod support;

use std::net::SocketAddr;
use std::time::Duration;

use futures::StreamExt;
use protosocket_rpc::client::{PoolConfig, RpcClientConfig, RpcPool};
use protosocket_rpc::server::RpcServerConfig;
use protosocket_rpc::Error;
use protosocket_server::ProtosocketServerConfig;
use support::*;

type Pool = RpcPool<Text, Text, TextCodec>;

fn pool(addresses: &[SocketAddr], config: PoolConfig) -> Pool {
    RpcPool::new(
        addresses.iter().copied(),
        codec,
        RpcClientConfig::default(),
        config,
    )
}

async fn echo(pool: &Pool, text: &str) -> Result<String, Error> {
    timed(pool.send_unary(Text::new(format!("echo:{text}"))))
        .await
        .map(|response| response.text)
}

/// An address nothing listens on (for now).
fn unused_address() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap()
}

fn quick_shutdown() -> RpcServerConfig {
    RpcServerConfig::default()
        .server_config(ProtosocketServerConfig::default().grace_period(Duration::from_millis(50)))
}

#[tokio::test]
async fn connects_lazily_and_spreads_calls_over_n_connections() {
    let service = CountingService::default();
    let (address, shutdown, _server) = serve_counting(
        "127.0.0.1:0".parse::<std::net::SocketAddr>().unwrap(),
        service.clone(),
        RpcServerConfig::default(),
    );
    let pool = pool(&[address], PoolConfig::default().connections(3));
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(service.connections(), 0, "nothing connects before a call");
    assert_eq!(pool.connect_attempts(), 0);

    for i in 0..3 {
        assert_eq!(echo(&pool, &i.to_string()).await.unwrap(), i.to_string());
    }
    service.wait_for_connections(3).await;
    timed(async {
        while pool.connected() < 3 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    for i in 0..30 {
        assert_eq!(echo(&pool, &i.to_string()).await.unwrap(), i.to_string());
    }
    assert_eq!(service.connections(), 3, "no more than N connections");
    assert_eq!(pool.connect_attempts(), 3);
    timed(shutdown.shutdown_and_wait()).await;
}

#[tokio::test]
async fn concurrent_first_callers_share_one_connect_attempt() {
    let service = CountingService::default();
    let (address, shutdown, _server) = serve_counting(
        "127.0.0.1:0".parse::<std::net::SocketAddr>().unwrap(),
        service.clone(),
        RpcServerConfig::default(),
    );
    let pool = pool(&[address], PoolConfig::default());
    let calls: Vec<_> = (0..10)
        .map(|i| {
            let pool = pool.clone();
            tokio::spawn(async move { echo(&pool, &i.to_string()).await })
        })
        .collect();
    for (i, call) in calls.into_iter().enumerate() {
        assert_eq!(timed(call).await.unwrap().unwrap(), i.to_string());
    }
    assert_eq!(pool.connect_attempts(), 1);
    assert_eq!(service.connections(), 1);
    timed(shutdown.shutdown_and_wait()).await;
}

#[tokio::test]
async fn two_addresses_both_get_connections() {
    let first = CountingService::default();
    let second = CountingService::default();
    let any: SocketAddr = "127.0.0.1:0".parse::<std::net::SocketAddr>().unwrap();
    let (a, shutdown_a, _a) = serve_counting(any, first.clone(), RpcServerConfig::default());
    let (b, shutdown_b, _b) = serve_counting(any, second.clone(), RpcServerConfig::default());
    let pool = pool(&[a, b], PoolConfig::default().connections(4));
    for i in 0..20 {
        assert_eq!(echo(&pool, &i.to_string()).await.unwrap(), i.to_string());
    }
    first.wait_for_connections(2).await;
    second.wait_for_connections(2).await;
    assert_eq!(first.connections() + second.connections(), 4);
    timed(shutdown_a.shutdown_and_wait()).await;
    timed(shutdown_b.shutdown_and_wait()).await;
}

#[tokio::test]
async fn streaming_call_through_the_pool() {
    let (address, shutdown, _server) = serve(TestService::default(), RpcServerConfig::default());
    let pool = pool(&[address], PoolConfig::default().connections(2));
    let stream = timed(pool.send_streaming(Text::new("stream:3")))
        .await
        .unwrap();
    let items: Vec<String> = timed(stream.map(|item| item.unwrap().text).collect()).await;
    assert_eq!(items, ["0", "1", "2"]);
    timed(shutdown.shutdown_and_wait()).await;
}

#[tokio::test]
async fn calls_fail_fast_while_the_server_is_gone_and_the_pool_reconnects() {
    let service = CountingService::default();
    let (address, shutdown, server) = serve_counting(
        "127.0.0.1:0".parse::<std::net::SocketAddr>().unwrap(),
        service.clone(),
        quick_shutdown(),
    );
    let backoff = Duration::from_secs(3);
    let pool = pool(
        &[address],
        PoolConfig::default().connections(2).min_backoff(backoff),
    );
    for i in 0..4 {
        assert_eq!(echo(&pool, &i.to_string()).await.unwrap(), i.to_string());
    }
    service.wait_for_connections(2).await;

    timed(shutdown.shutdown_and_wait()).await;
    timed(server).await.unwrap();
    // Both connections notice the close, and their slots start backing off.
    timed(async {
        while pool.connected() > 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    let attempts = pool.connect_attempts();
    for _ in 0..4 {
        let started = std::time::Instant::now();
        let outcome =
            tokio::time::timeout(Duration::from_secs(1), pool.send_unary(Text::new("echo:x")))
                .await
                .expect("a call on a dead connection fails within a second");
        assert!(
            matches!(&outcome, Err(Error::Io(e)) if e.kind() == std::io::ErrorKind::NotConnected),
            "backing off: {outcome:?}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "{:?}",
            started.elapsed()
        );
    }
    assert_eq!(
        pool.connect_attempts(),
        attempts,
        "no reconnect inside the backoff"
    );

    let revived = CountingService::default();
    let (_, shutdown, _server) = serve_counting(address, revived.clone(), quick_shutdown());
    let reconnected = timed(async {
        loop {
            if let Ok(text) = echo(&pool, "back").await {
                break text;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    assert_eq!(reconnected, "back");
    assert!(revived.connections() >= 1);
    timed(shutdown.shutdown_and_wait()).await;
}

#[tokio::test]
async fn a_refused_connect_fails_fast_and_backs_off() {
    let address = unused_address();
    let backoff = Duration::from_secs(2);
    let pool = pool(
        &[address],
        PoolConfig::default()
            .min_backoff(backoff)
            .connect_timeout(Duration::from_secs(1)),
    );
    let started = std::time::Instant::now();
    match echo(&pool, "x").await {
        Err(Error::Io(error)) => assert_eq!(error.kind(), std::io::ErrorKind::ConnectionRefused),
        other => panic!("{other:?}"),
    }
    assert!(
        started.elapsed() < Duration::from_millis(900),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(pool.connect_attempts(), 1);

    // Something listens now, but the slot is backing off: no connect is tried.
    let service = CountingService::default();
    let (_, shutdown, _server) = serve_counting(address, service.clone(), quick_shutdown());
    let started = std::time::Instant::now();
    let outcome = echo(&pool, "x").await;
    assert!(
        matches!(&outcome, Err(Error::Io(e)) if e.kind() == std::io::ErrorKind::NotConnected),
        "backing off: {outcome:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(pool.connect_attempts(), 1);
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(service.connections(), 0);

    tokio::time::sleep(backoff).await;
    assert_eq!(echo(&pool, "again").await.unwrap(), "again");
    assert_eq!(pool.connect_attempts(), 2);
    service.wait_for_connections(1).await;
    timed(shutdown.shutdown_and_wait()).await;
}

#[tokio::test]
async fn failed_connects_double_the_backoff() {
    let address = unused_address();
    let backoff = Duration::from_secs(1);
    let margin = Duration::from_millis(300);
    let pool = pool(&[address], PoolConfig::default().min_backoff(backoff));
    assert!(matches!(echo(&pool, "x").await, Err(Error::Io(_))));
    tokio::time::sleep(backoff + margin).await;
    // The second failure in a row backs off for twice as long.
    assert!(matches!(echo(&pool, "x").await, Err(Error::Io(_))));
    assert_eq!(pool.connect_attempts(), 2);
    tokio::time::sleep(backoff + margin).await;
    let outcome = echo(&pool, "x").await;
    assert!(
        matches!(&outcome, Err(Error::Io(e)) if e.kind() == std::io::ErrorKind::NotConnected),
        "backing off: {outcome:?}"
    );
    assert_eq!(pool.connect_attempts(), 2);
    tokio::time::sleep(backoff).await;
    assert!(matches!(echo(&pool, "x").await, Err(Error::Io(_))));
    assert_eq!(pool.connect_attempts(), 3);
}

#[cfg(unix)]
#[tokio::test]
async fn pool_over_a_unix_socket() {
    let path =
        std::env::temp_dir().join(format!("protosocket-rpc-pool-{}.sock", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let server = protosocket_rpc::server::RpcServer::bind(
        &path,
        TestService::default(),
        RpcServerConfig::default(),
    )
    .unwrap();
    let shutdown = server.shutdown_handle();
    tokio::spawn(server);
    let pool: Pool = RpcPool::new(
        [path.clone()],
        codec,
        RpcClientConfig::default(),
        PoolConfig::default().connections(2),
    );
    for i in 0..4 {
        assert_eq!(echo(&pool, &i.to_string()).await.unwrap(), i.to_string());
    }
    timed(shutdown.shutdown_and_wait()).await;
    let _ = std::fs::remove_file(&path);
}

#[test]
fn pool_is_send_sync_clone_and_its_futures_are_send() {
    fn send_sync_clone<T: Send + Sync + Clone>() {}
    fn send<T: Send>(_: &T) {}
    send_sync_clone::<Pool>();
    let pool = pool(&[unused_address()], PoolConfig::default());
    send(&pool.send_unary(Text::new("x")));
    send(&pool.send_streaming(Text::new("x")));
    send(&pool.client());
}
