//! Starts the telnet server in-process on 127.0.0.1:0 and talks to it as a client.

#![allow(dead_code)] // Each test file uses a different part.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use example_telnet::{TelnetConnector, GREETING};
use protosocket_server::ShutdownHandle;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
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
    pub(crate) fn start() -> Self {
        let server = TelnetConnector::default()
            .bind("127.0.0.1:0".parse().unwrap())
            .expect("bind");
        let address = server.local_addr().expect("address");
        let shutdown = server.shutdown_handle();
        let running = tokio::spawn(server);
        Self {
            address,
            shutdown,
            running,
        }
    }

    /// A client past the greeting.
    pub(crate) async fn connect(&self) -> Client {
        let stream = bounded("connect", TcpStream::connect(self.address))
            .await
            .expect("connect");
        let mut client = Client {
            stream: BufReader::new(stream),
        };
        client.expect(GREETING).await;
        client
    }

    /// Shuts down and waits for the server future.
    pub(crate) async fn stop(self) {
        self.shutdown.shutdown();
        bounded("server future", self.running)
            .await
            .expect("server task");
    }
}

/// One connection to the server.
pub(crate) struct Client {
    pub(crate) stream: BufReader<TcpStream>,
}

impl Client {
    pub(crate) async fn send(&mut self, line: &str) {
        bounded(
            "write",
            self.stream
                .get_mut()
                .write_all(format!("{line}\n").as_bytes()),
        )
        .await
        .expect("write");
    }

    /// The next line, without its newline; `None` at EOF.
    pub(crate) async fn line(&mut self) -> Option<String> {
        let mut line = String::new();
        let read = bounded("read a line", self.stream.read_line(&mut line))
            .await
            .expect("read");
        if read == 0 {
            return None;
        }
        assert_eq!(line.pop(), Some('\n'), "line {line:?} is not terminated");
        Some(line)
    }

    pub(crate) async fn expect(&mut self, expected: &str) {
        assert_eq!(self.line().await.as_deref(), Some(expected));
    }

    pub(crate) async fn expect_eof(&mut self) {
        assert_eq!(self.line().await, None, "expected EOF");
    }

    /// Sends `line` and expects `answer`.
    pub(crate) async fn ask(&mut self, line: &str, answer: &str) {
        self.send(line).await;
        self.expect(answer).await;
    }
}
