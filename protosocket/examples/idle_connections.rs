//! What mostly idle connections cost: opens N connections to an in-process echo
//! server, has each exchange one message, then reports the process's resident
//! memory per connection (both ends are in this process, so the figure covers a
//! server connection plus its client socket).
//!
//! `cargo run --release -p protosocket --example idle_connections [N]` (default 5,000;
//! each connection takes two file descriptors here).

use std::time::Duration;

use bytes::Bytes;
use protosocket::{
    Connection, ConnectionConfig, LengthDelimitedCodec, MessageReactor, ReactorStatus, Replies,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// One frame: a 4-byte big-endian length, then "ping".
const PING: &[u8] = b"\0\0\0\x04ping";

struct Echo;

impl MessageReactor for Echo {
    type Codec = LengthDelimitedCodec;
    type Inbound = Bytes;
    type Outbound = Bytes;
    type LogicalOutbound = Bytes;

    fn on_inbound_message(
        &mut self,
        message: Bytes,
        replies: &mut Replies<Bytes>,
    ) -> ReactorStatus {
        replies.push(message);
        ReactorStatus::Continue
    }

    fn on_outbound_message(&mut self, message: Bytes) -> Bytes {
        message
    }
}

/// Resident set size in bytes, from /proc (Linux).
fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let count: usize = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(5_000);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address");
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(Connection::new(
                stream,
                LengthDelimitedCodec::new(),
                Echo,
                None,
                ConnectionConfig::default(),
            ));
        }
    });

    // Warm up the runtime and allocator with a few connections first.
    let mut clients = Vec::with_capacity(count + 10);
    for _ in 0..10 {
        clients.push(round_trip(address).await);
    }
    let before = resident_bytes().unwrap_or(0);
    for _ in 0..count {
        clients.push(round_trip(address).await);
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let after = resident_bytes().unwrap_or(0);
    let per_connection = after.saturating_sub(before) / count as u64;
    println!(
        "{count} idle connections (after one round trip each): {:.1} MiB more resident, \
         {per_connection} bytes per connection (server connection + client socket)",
        after.saturating_sub(before) as f64 / (1024.0 * 1024.0),
    );
}

async fn round_trip(address: std::net::SocketAddr) -> tokio::net::TcpStream {
    let mut stream = tokio::net::TcpStream::connect(address)
        .await
        .expect("connect");
    stream.write_all(PING).await.expect("write");
    let mut reply = [0; PING.len()];
    tokio::time::timeout(Duration::from_secs(10), stream.read_exact(&mut reply))
        .await
        .expect("reply in time")
        .expect("read");
    assert_eq!(&reply, PING);
    stream
}
