//! Graceful shutdown: queued answers reach their peers before EOF, the listener
//! closes, a peer that does not read is dropped after the grace period, and the
//! server future completes.

mod support;

use std::time::{Duration, Instant};

use protosocket::SocketOptions;
use protosocket_server::{ProtosocketServer, ProtosocketServerConfig};
use support::{bounded, read_line, read_to_end, EchoConnector};
use tokio::io::{AsyncWriteExt, BufReader};
use tokio::net::{TcpSocket, TcpStream};

const LINES_PER_CLIENT: usize = 200;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_mid_conversation_get_everything_queued_then_eof() {
    let (connector, mut counters) = EchoConnector::new();
    let config = ProtosocketServerConfig::default().grace_period(Duration::from_secs(10));
    let server = ProtosocketServer::bind_tcp("127.0.0.1:0".parse().unwrap(), connector, config)
        .expect("bind");
    let address = server.local_addr().expect("address");
    let handle = server.shutdown_handle();
    let running = tokio::spawn(server);

    // Three clients send a burst of requests and do not read yet, so their answers
    // sit in the connections' queues and socket buffers when the shutdown comes.
    let mut clients = Vec::new();
    for client in 0..3 {
        let mut stream = bounded("connect", TcpStream::connect(address))
            .await
            .expect("connect");
        let mut burst = String::new();
        for line in 0..LINES_PER_CLIENT {
            burst.push_str(&format!(
                "client {client} line {line} {}\n",
                "x".repeat(200)
            ));
        }
        bounded("write burst", stream.write_all(burst.as_bytes()))
            .await
            .expect("write");
        clients.push(stream);
    }
    // A fourth client says nothing at all.
    let mut idle = bounded("connect", TcpStream::connect(address))
        .await
        .expect("connect");
    counters.accepted_at_least(4).await;
    counters.received_at_least(3 * LINES_PER_CLIENT).await;

    handle.shutdown();

    for (client, stream) in clients.into_iter().enumerate() {
        let mut reader = BufReader::new(stream);
        for line in 0..LINES_PER_CLIENT {
            let expected = format!("client {client} line {line} {}", "x".repeat(200));
            assert_eq!(read_line(&mut reader).await, Some(expected));
        }
        assert_eq!(read_line(&mut reader).await, None, "EOF after the answers");
    }
    assert!(
        read_to_end(&mut idle).await.is_empty(),
        "idle client sees EOF"
    );

    bounded("server future", running)
        .await
        .expect("server task");
    assert!(handle.is_finished());
    assert!(
        TcpStream::connect(address).await.is_err(),
        "the listener is closed after shutdown"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn peer_that_does_not_read_is_dropped_after_grace_period() {
    const GRACE: Duration = Duration::from_millis(300);
    const LINES: usize = 64;
    const LINE_LEN: usize = 32 * 1024;

    let (connector, mut counters) = EchoConnector::new();
    // Small socket buffers on both sides, so the echoes cannot all leave the
    // server's queue while the peer is not reading.
    let config = ProtosocketServerConfig::default()
        .grace_period(GRACE)
        .socket_options(SocketOptions::default().send_buffer_size(Some(4096)));
    let server = ProtosocketServer::bind_tcp("127.0.0.1:0".parse().unwrap(), connector, config)
        .expect("bind");
    let address = server.local_addr().expect("address");
    let handle = server.shutdown_handle();
    let running = tokio::spawn(server);

    let socket = TcpSocket::new_v4().expect("socket");
    socket.set_recv_buffer_size(4096).expect("receive buffer");
    let stream = bounded("connect", socket.connect(address))
        .await
        .expect("connect");
    let (mut reader, mut writer) = stream.into_split();
    let line = format!("{}\n", "y".repeat(LINE_LEN - 1));
    for _ in 0..LINES {
        bounded("write", writer.write_all(line.as_bytes()))
            .await
            .expect("write");
    }
    counters.received_at_least(LINES).await;

    let started = Instant::now();
    handle.shutdown();
    bounded("server future", running)
        .await
        .expect("server task");
    assert!(
        started.elapsed() >= GRACE,
        "the connection got its grace period, took {:?}",
        started.elapsed()
    );

    let received = read_to_end(&mut reader).await;
    assert!(
        received.len() < LINES * LINE_LEN,
        "the unread remainder was dropped, got {} bytes",
        received.len()
    );
}

#[tokio::test]
async fn shutdown_without_connections_completes_and_handles_are_idempotent() {
    let (connector, _counters) = EchoConnector::<TcpStream>::new();
    let server = ProtosocketServer::bind_tcp(
        "127.0.0.1:0".parse().unwrap(),
        connector,
        ProtosocketServerConfig::default(),
    )
    .expect("bind");
    let handle = server.shutdown_handle();
    drop(server.shutdown_handle());
    let running = tokio::spawn(server);

    // A dropped handle did not stop it.
    assert!(!handle.is_shutdown());
    assert!(!handle.is_finished());

    handle.shutdown();
    handle.shutdown();
    bounded("shutdown_and_wait", handle.shutdown_and_wait()).await;
    bounded("server future", running)
        .await
        .expect("server task");
}
