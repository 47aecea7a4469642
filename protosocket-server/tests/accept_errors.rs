//! Failed accepts (EMFILE, ECONNABORTED) are retried with a growing backoff and
//! never end the server.

mod support;

use std::collections::VecDeque;
use std::io;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use protosocket::{Accepted, Listener, SocketOptions, TcpListener};
use protosocket_server::{ProtosocketServer, ProtosocketServerConfig};
use support::{bounded, read_line, EchoConnector};
use tokio::io::{AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// One scripted answer to `poll_accept`.
#[derive(Debug)]
enum Step {
    Fail(i32),
    Accept,
}

/// A real TCP listener that first follows a script of failures and accepts.
#[derive(Debug)]
struct ScriptedListener {
    inner: TcpListener,
    script: VecDeque<Step>,
    /// When each scripted failure was returned.
    failures: Arc<Mutex<Vec<Instant>>>,
}

impl Listener for ScriptedListener {
    type Stream = TcpStream;

    fn poll_accept(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<Accepted<TcpStream>>> {
        match self.script.front() {
            Some(Step::Fail(code)) => {
                let error = io::Error::from_raw_os_error(*code);
                self.script.pop_front();
                self.failures.lock().unwrap().push(Instant::now());
                Poll::Ready(Err(error))
            }
            Some(Step::Accept) => {
                let accepted = std::task::ready!(self.inner.poll_accept(cx));
                self.script.pop_front();
                Poll::Ready(accepted)
            }
            None => self.inner.poll_accept(cx),
        }
    }
}

async fn echo_once(address: std::net::SocketAddr, text: &str) {
    let mut stream = bounded("connect", TcpStream::connect(address))
        .await
        .expect("connect");
    bounded("write", stream.write_all(format!("{text}\n").as_bytes()))
        .await
        .expect("write");
    let mut reader = BufReader::new(stream);
    assert_eq!(read_line(&mut reader).await.as_deref(), Some(text));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accept_errors_are_retried_with_backoff_and_the_server_keeps_serving() {
    const MIN: Duration = Duration::from_millis(10);

    let inner =
        TcpListener::bind("127.0.0.1:0".parse().unwrap(), SocketOptions::default()).expect("bind");
    let address = inner.local_addr().expect("address");
    let failures = Arc::new(Mutex::new(Vec::new()));
    let listener = ScriptedListener {
        inner,
        script: VecDeque::from([
            Step::Fail(libc::EMFILE),
            Step::Fail(libc::ECONNABORTED),
            Step::Fail(libc::EMFILE),
            Step::Accept,
            Step::Fail(libc::ECONNABORTED),
            Step::Accept,
        ]),
        failures: Arc::clone(&failures),
    };
    let (connector, _counters) = EchoConnector::new();
    let config = ProtosocketServerConfig::default().accept_backoff(MIN, Duration::from_secs(1));
    let server = ProtosocketServer::new(listener, connector, config);
    let handle = server.shutdown_handle();
    let running = tokio::spawn(server);

    // Served after three failures in a row, then after one more, then with the
    // script used up.
    echo_once(address, "first").await;
    echo_once(address, "second").await;
    echo_once(address, "third").await;

    let failures = failures.lock().unwrap().clone();
    assert_eq!(failures.len(), 4, "every scripted failure was met");
    // Failures in a row wait MIN, then 2 * MIN before the next attempt.
    assert!(
        failures[1] - failures[0] >= MIN,
        "{:?}",
        failures[1] - failures[0]
    );
    assert!(
        failures[2] - failures[1] >= 2 * MIN,
        "{:?}",
        failures[2] - failures[1]
    );
    assert!(
        !running.is_finished(),
        "accept errors did not end the server"
    );

    handle.shutdown();
    bounded("server future", running)
        .await
        .expect("server task");
}
