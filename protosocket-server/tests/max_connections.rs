//! At the connection limit the server stops accepting; the next peer is served
//! once a connection ends.

mod support;

use std::time::Duration;

use protosocket_server::{ProtosocketServer, ProtosocketServerConfig};
use support::{bounded, read_line, EchoConnector};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

async fn connect_and_echo(address: std::net::SocketAddr, text: &str) -> BufReader<TcpStream> {
    let mut stream = bounded("connect", TcpStream::connect(address))
        .await
        .expect("connect");
    bounded("write", stream.write_all(format!("{text}\n").as_bytes()))
        .await
        .expect("write");
    let mut reader = BufReader::new(stream);
    assert_eq!(read_line(&mut reader).await.as_deref(), Some(text));
    reader
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn third_client_waits_until_one_of_two_leaves() {
    let (connector, mut counters) = EchoConnector::new();
    let config = ProtosocketServerConfig::default().max_connections(2);
    let server = ProtosocketServer::bind_tcp("127.0.0.1:0".parse().unwrap(), connector, config)
        .expect("bind");
    let address = server.local_addr().expect("address");
    let handle = server.shutdown_handle();
    let running = tokio::spawn(server);

    let first = connect_and_echo(address, "a").await;
    let _second = connect_and_echo(address, "b").await;

    // The kernel completes the third handshake from its backlog; the server must
    // not accept it.
    let mut third = bounded("connect", TcpStream::connect(address))
        .await
        .expect("connect");
    bounded("write", third.write_all(b"c\n"))
        .await
        .expect("write");
    let mut third = BufReader::new(third);
    let mut early = String::new();
    // Absence can only be observed by waiting a while.
    let waited =
        tokio::time::timeout(Duration::from_millis(300), third.read_line(&mut early)).await;
    assert!(waited.is_err(), "third client was served early: {early:?}");
    assert_eq!(*counters.accepted.borrow(), 2);

    drop(first);
    counters.accepted_at_least(3).await;
    assert_eq!(read_line(&mut third).await.as_deref(), Some("c"));

    handle.shutdown();
    bounded("server future", running)
        .await
        .expect("server task");
}
