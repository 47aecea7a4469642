//! A line echo server for the tests (protosocket's `LinesCodec`): each
//! `\n`-terminated line comes back as is.
//!
//! The connector reports, through `watch` channels, how many connections it has
//! accepted and how many lines its reactors have received, so a test waits for
//! exactly the state it needs instead of sleeping.

#![allow(dead_code)] // Each test file uses a different part.

use std::future::Future;
use std::time::Duration;

use protosocket::{spillway, Accepted, LinesCodec, MessageReactor, ReactorStatus, Replies};
use protosocket_server::{ServedConnection, ServerConnector};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, BufReader};
use tokio::sync::watch;

/// The bound on every network wait in these tests.
pub(crate) const TIMEOUT: Duration = Duration::from_secs(10);

/// Runs `future`, failing the test if it takes longer than [`TIMEOUT`].
pub(crate) async fn bounded<F: Future>(what: &str, future: F) -> F::Output {
    match tokio::time::timeout(TIMEOUT, future).await {
        Ok(output) => output,
        Err(_) => panic!("timed out: {what}"),
    }
}

/// Echoes each line and counts it.
#[derive(Debug)]
pub(crate) struct Echo {
    /// Kept so the connection stays open: answers go through replies.
    _outbound: spillway::Sender<String>,
    received: watch::Sender<usize>,
}

impl MessageReactor for Echo {
    type Codec = LinesCodec;
    type Inbound = String;
    type Outbound = String;
    type LogicalOutbound = String;

    fn on_inbound_message(&mut self, line: String, replies: &mut Replies<String>) -> ReactorStatus {
        self.received.send_modify(|count| *count += 1);
        replies.push(line);
        ReactorStatus::Continue
    }

    fn on_outbound_message(&mut self, line: String) -> String {
        line
    }
}

/// Builds [`Echo`] reactors over any stream and spawns them with `tokio::spawn`.
#[derive(Debug)]
pub(crate) struct EchoConnector<S> {
    accepted: watch::Sender<usize>,
    received: watch::Sender<usize>,
    stream: std::marker::PhantomData<fn() -> S>,
}

/// What a test watches of an [`EchoConnector`].
#[derive(Debug, Clone)]
pub(crate) struct Counters {
    /// Connections accepted so far.
    pub(crate) accepted: watch::Receiver<usize>,
    /// Lines received so far, over all connections.
    pub(crate) received: watch::Receiver<usize>,
}

impl Counters {
    /// Waits until `accepted` reaches `count`.
    pub(crate) async fn accepted_at_least(&mut self, count: usize) {
        bounded(
            "connections accepted",
            self.accepted.wait_for(|n| *n >= count),
        )
        .await
        .expect("connector alive");
    }

    /// Waits until `received` reaches `count`.
    pub(crate) async fn received_at_least(&mut self, count: usize) {
        bounded("lines received", self.received.wait_for(|n| *n >= count))
            .await
            .expect("connector alive");
    }
}

impl<S> EchoConnector<S> {
    pub(crate) fn new() -> (Self, Counters) {
        let (accepted, accepted_rx) = watch::channel(0);
        let (received, received_rx) = watch::channel(0);
        let connector = Self {
            accepted,
            received,
            stream: std::marker::PhantomData,
        };
        let counters = Counters {
            accepted: accepted_rx,
            received: received_rx,
        };
        (connector, counters)
    }
}

impl<S> ServerConnector for EchoConnector<S>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    type Stream = S;
    type Reactor = Echo;

    fn codec(&self) -> LinesCodec {
        LinesCodec::new()
    }

    fn new_reactor(
        &self,
        outbound: spillway::Sender<String>,
        _: &Accepted<S>,
        _: &std::sync::Arc<protosocket::ConnectionStats>,
    ) -> Echo {
        self.accepted.send_modify(|count| *count += 1);
        Echo {
            _outbound: outbound,
            received: self.received.clone(),
        }
    }

    fn spawn_connection(&self, connection: ServedConnection<S, Echo>) {
        tokio::spawn(connection);
    }
}

/// Reads one line (without its newline), bounded; `None` at EOF.
pub(crate) async fn read_line<R: AsyncRead + Unpin>(reader: &mut BufReader<R>) -> Option<String> {
    let mut line = String::new();
    let read = bounded("reading a line", reader.read_line(&mut line))
        .await
        .expect("read a line");
    if read == 0 {
        return None;
    }
    assert_eq!(line.pop(), Some('\n'), "line {line:?} is not terminated");
    Some(line)
}

/// Reads until EOF (or a reset), bounded; returns what arrived.
pub(crate) async fn read_to_end<R: AsyncRead + Unpin>(reader: &mut R) -> Vec<u8> {
    let mut received = Vec::new();
    let mut chunk = vec![0; 64 * 1024];
    loop {
        match bounded("reading to EOF", reader.read(&mut chunk)).await {
            Ok(0) | Err(_) => return received,
            Ok(n) => received.extend_from_slice(&chunk[..n]),
        }
    }
}
