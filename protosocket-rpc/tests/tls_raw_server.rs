//! A raw `protosocket-server` reactor over TLS: the server accepts from a
//! `TlsListener`, its connector sees each client's verified identity in
//! `Accepted`, and shutdown closes the TLS connections.

mod support;

use std::sync::Arc;

use protosocket::tls::{ServerTlsStream, TlsListener};
use protosocket::{
    spillway, Accepted, Connect, ConnectionStats, Endpoint, LinesCodec, MessageReactor,
    ReactorStatus, Replies, SocketOptions, TcpListener,
};
use protosocket_server::{
    ProtosocketServer, ProtosocketServerConfig, ServedConnection, ServerConnector,
};
use support::timed;
use support::tls::{connector, server_config, Ca, Validity};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

/// Answers each line with the client's name and the line in upper case.
struct Greeter {
    name: String,
    _outbound: spillway::Sender<String>,
}

impl MessageReactor for Greeter {
    type Codec = LinesCodec;
    type Inbound = String;
    type Outbound = String;
    type LogicalOutbound = String;

    fn on_inbound_message(&mut self, line: String, replies: &mut Replies<String>) -> ReactorStatus {
        replies.push(format!("{}: {}", self.name, line.to_uppercase()));
        ReactorStatus::Continue
    }

    fn on_outbound_message(&mut self, line: String) -> String {
        line
    }
}

struct GreeterConnector;

impl ServerConnector for GreeterConnector {
    type Stream = ServerTlsStream<tokio::net::TcpStream>;
    type Reactor = Greeter;

    fn codec(&self) -> LinesCodec {
        LinesCodec::new()
    }

    fn new_reactor(
        &self,
        outbound: spillway::Sender<String>,
        accepted: &Accepted<Self::Stream>,
        _: &Arc<ConnectionStats>,
    ) -> Greeter {
        let name = accepted
            .identity
            .as_ref()
            .and_then(|identity| identity.dns_names().first().cloned())
            .unwrap_or_else(|| "anonymous".into());
        Greeter {
            name,
            _outbound: outbound,
        }
    }

    fn spawn_connection(&self, connection: ServedConnection<Self::Stream, Greeter>) {
        tokio::spawn(connection);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_raw_reactor_serves_over_mutual_tls_and_sees_the_client() {
    let ca = Ca::new("test ca");
    let tcp = TcpListener::bind(support::any_port(), SocketOptions::default()).expect("bind");
    let address = tcp.local_addr().expect("address");
    let listener = TlsListener::new(tcp, server_config(ca.server(), Some(&ca)));
    let server = ProtosocketServer::new(
        listener,
        GreeterConnector,
        ProtosocketServerConfig::default(),
    );
    let shutdown = server.shutdown_handle();
    let running = tokio::spawn(server);

    let client = ca.issue(&["alice.internal"], true, Validity::Current);
    let stream = timed(connector(&ca, Some(client)).connect(&Endpoint::Tcp(address)))
        .await
        .expect("tls connect");
    let mut stream = BufReader::new(stream);
    stream.write_all(b"hello\nagain\n").await.expect("write");
    stream.flush().await.expect("flush");
    let mut answer = String::new();
    timed(stream.read_line(&mut answer)).await.expect("read");
    assert_eq!(answer, "alice.internal: HELLO\n");
    answer.clear();
    timed(stream.read_line(&mut answer)).await.expect("read");
    assert_eq!(answer, "alice.internal: AGAIN\n");

    timed(shutdown.shutdown_and_wait()).await;
    let mut rest = Vec::new();
    let read = timed(stream.read_to_end(&mut rest)).await;
    assert!(
        matches!(read, Ok(0)),
        "closed with close_notify after the shutdown, got {read:?}"
    );
    timed(running).await.expect("server task");
}
