//! Liveness: a quiet client pings its server; a server that goes silent while
//! calls wait on it (hung, or cut off, while its kernel may still acknowledge
//! every byte) is given up after the liveness timeout with its own close reason,
//! and a slow but alive server is not.

mod support;

use std::time::{Duration, Instant};

use protosocket::{CloseReason, ConnectionConfig, Liveness};
use protosocket_rpc::client::RpcClientConfig;
use protosocket_rpc::server::RpcServerConfig;
use protosocket_rpc::Error;
use support::{client, codec, serve, timed, TestService, Text};
use tokio::io::AsyncReadExt;

const PING_AFTER: Duration = Duration::from_millis(100);
const TIMEOUT: Duration = Duration::from_millis(400);

fn quick_liveness() -> RpcClientConfig {
    RpcClientConfig::default().connection_config(
        ConnectionConfig::default().liveness(Some(Liveness::new(PING_AFTER, TIMEOUT))),
    )
}

/// Accepts and reads whatever comes, answering nothing: a hung process whose
/// kernel still takes the bytes.
async fn silent_server() -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        let mut sink = vec![0; 4096];
        while matches!(stream.read(&mut sink).await, Ok(n) if n > 0) {}
    });
    address
}

#[tokio::test]
async fn a_silent_server_is_given_up_after_the_liveness_timeout() {
    let address = silent_server().await;
    let client = client(address, &quick_liveness()).await;
    let started = Instant::now();
    let outcome = timed(client.send_unary(Text::new("echo:x"))).await;
    let took = started.elapsed();
    assert!(
        matches!(outcome, Err(Error::ConnectionClosed(CloseReason::PeerUnresponsive(t))) if t == TIMEOUT),
        "{outcome:?}"
    );
    assert!(took >= TIMEOUT, "given up early: {took:?}");
    assert!(took < TIMEOUT * 3, "given up late: {took:?}");
}

#[tokio::test]
async fn a_slow_but_alive_server_answers_pings_and_its_call_completes() {
    let (address, shutdown, _server) = serve(TestService::default(), RpcServerConfig::default());
    let client = client(address, &quick_liveness()).await;
    // The answer takes three liveness timeouts; pongs keep the connection alive.
    let outcome = timed(client.send_unary(Text::new("sleep:1200"))).await;
    assert_eq!(outcome.expect("the slow answer").text, "slept");
    assert!(!client.is_closed());
    timed(shutdown.shutdown_and_wait()).await;
}

/// A server that never answers pings (an upstream 2.x peer reads them as a
/// cancel for an unknown id) is not given up while no call waits on it.
#[tokio::test]
async fn an_idle_connection_to_a_server_that_ignores_pings_stays_open() {
    let address = silent_server().await;
    let client = client(address, &quick_liveness()).await;
    tokio::time::sleep(TIMEOUT * 3).await;
    assert!(!client.is_closed(), "{:?}", client.close_reason());
}

/// The other direction: a server with liveness pings a quiet client, which answers
/// `Pong`; the connection stays up, and calls still work, long after the timeout.
#[tokio::test]
async fn a_server_pings_a_quiet_client_which_answers() {
    let liveness = ConnectionConfig::default().liveness(Some(Liveness::new(PING_AFTER, TIMEOUT)));
    let config = RpcServerConfig::default().server_config(
        protosocket_rpc::server::ProtosocketServerConfig::default().connection_config(liveness),
    );
    let (address, shutdown, _server) = serve(TestService::default(), config);
    // The client sends no pings of its own: what keeps the server content is its
    // answers to the server's.
    let quiet = RpcClientConfig::default().connection_config(ConnectionConfig::default());
    let stream = timed(tokio::net::TcpStream::connect(address))
        .await
        .unwrap();
    let (client, connection) =
        protosocket_rpc::client::RpcClient::over_stream(stream, codec(), &quiet);
    let stats = connection.connection().expect("running").stats();
    tokio::spawn(connection);
    tokio::time::sleep(TIMEOUT * 3).await;
    assert!(!client.is_closed(), "{:?}", client.close_reason());
    // Pings came in and pongs went out, with no call made.
    assert!(
        stats.messages_received() >= 2,
        "{} pings",
        stats.messages_received()
    );
    assert!(
        stats.messages_sent() >= 2,
        "{} pongs",
        stats.messages_sent()
    );
    let outcome = timed(client.send_unary(Text::new("echo:still"))).await;
    assert_eq!(outcome.expect("a call after the quiet").text, "still");
    timed(shutdown.shutdown_and_wait()).await;
}
