//! The same connector serves over TCP and over a Unix socket.

mod support;

use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use protosocket_server::{ProtosocketServer, ProtosocketServerConfig};
use support::{bounded, read_line, EchoConnector};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};

async fn converse<S: AsyncRead + AsyncWrite + Unpin>(stream: S) {
    let mut reader = BufReader::new(stream);
    for text in ["hello", "", "world"] {
        bounded(
            "write",
            reader.get_mut().write_all(format!("{text}\n").as_bytes()),
        )
        .await
        .expect("write");
        assert_eq!(read_line(&mut reader).await.as_deref(), Some(text));
    }
}

#[tokio::test]
async fn serves_over_tcp() {
    let (connector, _counters) = EchoConnector::new();
    let server = ProtosocketServer::bind_tcp(
        "127.0.0.1:0".parse().unwrap(),
        connector,
        ProtosocketServerConfig::default(),
    )
    .expect("bind");
    let address = server.local_addr().expect("address");
    let handle = server.shutdown_handle();
    let running = tokio::spawn(server);

    let stream = bounded("connect", tokio::net::TcpStream::connect(address))
        .await
        .expect("connect");
    converse(stream).await;

    bounded("shutdown", handle.shutdown_and_wait()).await;
    bounded("server future", running)
        .await
        .expect("server task");
}

/// A directory of its own under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("clock after 1970")
            .as_nanos();
        let path = std::env::temp_dir().join(format!(
            "protosocket-server-test-{}-{nanos}",
            std::process::id()
        ));
        std::fs::create_dir(&path).expect("create temp dir");
        Self(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[tokio::test]
async fn serves_over_unix_socket() {
    let dir = TempDir::new();
    let path = dir.0.join("server.sock");
    let (connector, _counters) = EchoConnector::new();
    let server = ProtosocketServer::bind_unix(&path, connector, ProtosocketServerConfig::default())
        .expect("bind");
    let handle = server.shutdown_handle();
    let running = tokio::spawn(server);

    let stream = bounded("connect", tokio::net::UnixStream::connect(&path))
        .await
        .expect("connect");
    converse(stream).await;

    bounded("shutdown", handle.shutdown_and_wait()).await;
    bounded("server future", running)
        .await
        .expect("server task");
    drop(dir);
    assert!(!path.exists(), "temp dir removed");
}
