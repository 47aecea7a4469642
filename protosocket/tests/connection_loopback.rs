//! Real sockets on 127.0.0.1: a 32 MiB message round trip, and 1,000 connections
//! open at once, each exchanging messages.

mod support;

use std::sync::Arc;
use std::time::Duration;

use protosocket::ConnectionConfig;
use support::{numbered, read_frame, within, Client, Server};
use tokio::io::AsyncWriteExt;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn message_of_32_mib_round_trips() {
    const SIZE: usize = 32 * 1024 * 1024;
    let config = ConnectionConfig::default().max_buffer_length(SIZE + 4);
    let mut server = Server::echo(config);
    let client = Client::connect(server.addr()).await;
    let mut side = server.next().await;
    let (mut read, mut write) = client.into_stream().into_split();

    let body = numbered(7, SIZE);
    let request = support::frame(&body);
    let writing = tokio::spawn(async move {
        write.write_all(&request).await.expect("write 32 MiB");
        write
    });
    let limit = Duration::from_secs(30);
    let reply = within(limit, "the 32 MiB echo", read_frame(&mut read))
        .await
        .expect("read 32 MiB");
    let _write = within(limit, "the 32 MiB write", writing).await.unwrap();
    assert_eq!(reply.len(), SIZE);
    assert!(reply == body, "the echo differs");
    assert_eq!(side.stats.messages_received(), 1);
    assert_eq!(side.stats.bytes_received(), (SIZE + 4) as u64);
    assert!(!side.has_ended());
}

/// The soft limit on open files, from `/proc/self/limits` (Linux).
fn open_files_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits
        .lines()
        .find(|line| line.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousand_concurrent_connections_each_exchange_messages() {
    const CONNECTIONS: usize = 1000;
    const MESSAGES: u32 = 10;
    // Both ends live in this process: two descriptors per connection.
    if let Some(limit) = open_files_limit() {
        assert!(
            limit >= 2 * CONNECTIONS as u64 + 100,
            "`ulimit -n` is {limit}: this test needs {} descriptors",
            2 * CONNECTIONS + 100
        );
    }
    let mut server = Server::echo(ConnectionConfig::default());
    let addr = server.addr();
    let all_open = Arc::new(tokio::sync::Barrier::new(CONNECTIONS));

    let mut clients = tokio::task::JoinSet::new();
    for n in 0..CONNECTIONS as u32 {
        let all_open = Arc::clone(&all_open);
        clients.spawn(async move {
            let mut client = Client::connect(addr).await;
            let first = numbered(n, 16);
            assert_eq!(client.round_trip(&first).await, first);
            // Every connection is open and has been served once before any goes on.
            all_open.wait().await;
            for i in 1..MESSAGES {
                let body = numbered(n.wrapping_mul(MESSAGES) + i, 16 + i as usize);
                assert_eq!(client.round_trip(&body).await, body);
            }
            client
        });
    }
    let mut finished = Vec::with_capacity(CONNECTIONS);
    let limit = Duration::from_secs(60);
    within(limit, "1,000 clients", async {
        while let Some(client) = clients.join_next().await {
            finished.push(client.expect("a client failed"));
        }
    })
    .await;
    assert_eq!(finished.len(), CONNECTIONS);

    let mut messages = 0;
    for _ in 0..CONNECTIONS {
        let side = server.next().await;
        messages += side.stats.messages_received();
    }
    // Each connection's counters are published at the end of the poll that
    // wrote its last reply, so a few may lag the client by one message.
    assert!(messages <= (CONNECTIONS as u64) * u64::from(MESSAGES));
    assert!(messages >= (CONNECTIONS as u64) * u64::from(MESSAGES - 1));
}
