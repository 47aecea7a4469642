//! Starts the RESP server in-process on 127.0.0.1:0 and talks to it with the
//! `redis` crate, or with a raw socket where the exact bytes matter.

#![allow(dead_code)] // Each test file uses a different part.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use example_resp::{KlockStore, RespConfig, ShardedStore, StoreKind};
use protosocket_server::ShutdownHandle;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::task::JoinHandle;

/// The bound on every network wait in these tests.
pub(crate) const TIMEOUT: Duration = Duration::from_secs(10);

/// Runs `future`, failing the test if it takes longer than [`TIMEOUT`].
pub(crate) async fn bounded<F: Future>(what: &str, future: F) -> F::Output {
    match tokio::time::timeout(TIMEOUT, future).await {
        Ok(output) => output,
        Err(_) => panic!("timed out: {what}"),
    }
}

/// A running server.
pub(crate) struct Server {
    pub(crate) address: SocketAddr,
    shutdown: ShutdownHandle,
    running: JoinHandle<()>,
}

impl Server {
    /// A server with the default config and the sharded store.
    pub(crate) fn start() -> Self {
        Self::start_with(RespConfig::default(), StoreKind::Sharded)
    }

    pub(crate) fn start_with(config: RespConfig, kind: StoreKind) -> Self {
        let address = "127.0.0.1:0".parse().unwrap();
        let (address, shutdown, running) = match kind {
            StoreKind::Klock => {
                let server = config
                    .bind(address, Arc::new(KlockStore::default()))
                    .expect("bind");
                (
                    server.local_addr().unwrap(),
                    server.shutdown_handle(),
                    tokio::spawn(server),
                )
            }
            StoreKind::Sharded => {
                let server = config
                    .bind(address, Arc::new(ShardedStore::new(8)))
                    .expect("bind");
                (
                    server.local_addr().unwrap(),
                    server.shutdown_handle(),
                    tokio::spawn(server),
                )
            }
        };
        Self {
            address,
            shutdown,
            running,
        }
    }

    /// The `redis://` URL of the server, with `extra` after the host (a user
    /// part goes in `userinfo`, e.g. `default:pw@`).
    pub(crate) fn url(&self, userinfo: &str, query: &str) -> String {
        format!("redis://{userinfo}{}/{query}", self.address)
    }

    /// A `redis` crate connection (RESP2, no password).
    pub(crate) async fn client(&self) -> redis::aio::MultiplexedConnection {
        self.client_at(&self.url("", "")).await.expect("connect")
    }

    /// A `redis` crate connection to `url`.
    pub(crate) async fn client_at(
        &self,
        url: &str,
    ) -> redis::RedisResult<redis::aio::MultiplexedConnection> {
        let client = redis::Client::open(url).expect("url");
        bounded("connect", client.get_multiplexed_async_connection()).await
    }

    /// A raw socket.
    pub(crate) async fn raw(&self) -> Raw {
        let stream = bounded("connect", TcpStream::connect(self.address))
            .await
            .expect("connect");
        Raw {
            stream: BufReader::new(stream),
        }
    }

    /// Shuts down and waits for the server future.
    pub(crate) async fn stop(self) {
        self.shutdown.shutdown();
        bounded("server future", self.running)
            .await
            .expect("server task");
    }
}

/// Runs `command` on `connection`, returning the server's answer.
pub(crate) async fn query<T: redis::FromRedisValue>(
    connection: &mut redis::aio::MultiplexedConnection,
    command: &[&str],
) -> redis::RedisResult<T> {
    let mut cmd = redis::cmd(command[0]);
    for arg in &command[1..] {
        cmd.arg(*arg);
    }
    bounded("query", cmd.query_async(connection)).await
}

/// A connection that sends and reads bytes as they are on the wire.
pub(crate) struct Raw {
    pub(crate) stream: BufReader<TcpStream>,
}

impl Raw {
    /// Sends bytes as they are.
    pub(crate) async fn send_bytes(&mut self, bytes: &[u8]) {
        bounded("write", self.stream.get_mut().write_all(bytes))
            .await
            .expect("write");
    }

    /// Sends `args` as an array of bulk strings.
    pub(crate) async fn send(&mut self, args: &[&str]) {
        self.send_bytes(&encode(args)).await;
    }

    /// Reads one whole reply and returns its bytes as text.
    pub(crate) async fn reply(&mut self) -> String {
        let mut out = Vec::new();
        bounded("read a reply", read_reply(&mut self.stream, &mut out)).await;
        String::from_utf8(out).expect("utf-8 reply")
    }

    /// Sends `args` and returns the reply.
    pub(crate) async fn ask(&mut self, args: &[&str]) -> String {
        self.send(args).await;
        self.reply().await
    }

    /// Reads until the server closes; fails on anything else.
    pub(crate) async fn expect_eof(&mut self) {
        let mut rest = Vec::new();
        bounded("EOF", self.stream.read_to_end(&mut rest))
            .await
            .expect("read to EOF");
        assert!(
            rest.is_empty(),
            "more bytes before EOF: {:?}",
            String::from_utf8_lossy(&rest)
        );
    }
}

/// `args` as a RESP array of bulk strings.
pub(crate) fn encode(args: &[&str]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for arg in args {
        out.extend_from_slice(format!("${}\r\n{arg}\r\n", arg.len()).as_bytes());
    }
    out
}

/// Reads one RESP2/RESP3 reply into `out`, byte for byte.
fn read_reply<'a>(
    stream: &'a mut BufReader<TcpStream>,
    out: &'a mut Vec<u8>,
) -> std::pin::Pin<Box<dyn Future<Output = ()> + 'a>> {
    Box::pin(async move {
        let start = out.len();
        let read = stream.read_until(b'\n', out).await.expect("read");
        assert!(read > 0, "EOF in place of a reply");
        let line = String::from_utf8_lossy(&out[start..out.len() - 2]).into_owned();
        let count = |text: &str| text.parse::<i64>().expect("a length");
        match line.as_bytes()[0] {
            b'$' | b'=' => {
                let len = count(&line[1..]);
                if len >= 0 {
                    let mut body = vec![0; len as usize + 2];
                    stream.read_exact(&mut body).await.expect("read");
                    out.extend_from_slice(&body);
                }
            }
            b'*' | b'~' | b'>' => {
                for _ in 0..count(&line[1..]).max(0) {
                    read_reply(stream, out).await;
                }
            }
            b'%' => {
                for _ in 0..count(&line[1..]) * 2 {
                    read_reply(stream, out).await;
                }
            }
            _ => {}
        }
    })
}
