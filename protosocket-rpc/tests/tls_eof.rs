//! EOF over TLS: a peer that sends its requests and closes (close_notify, then
//! FIN) ends the connection with `PeerClosed`, and every answer queued for it is
//! delivered first.

mod support;

use bytes::Bytes;
use protosocket::tls::TlsListener;
use protosocket::{
    CloseReason, Connect, Connection, ConnectionConfig, Endpoint, LengthDelimitedCodec, Listener,
    MessageReactor, ReactorStatus, Replies, SocketOptions, TcpListener,
};
use support::timed;
use support::tls::{connector, server_config, Ca};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Echoes every frame.
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

/// Frames of `LengthDelimitedCodec`: a 4-byte big-endian length, then the bytes.
fn frames(count: usize) -> Vec<u8> {
    let mut bytes = Vec::new();
    for i in 0..count {
        let body = format!("request {i} {:100}", "");
        bytes.extend_from_slice(&(body.len() as u32).to_be_bytes());
        bytes.extend_from_slice(body.as_bytes());
    }
    bytes
}

/// A TLS listener on 127.0.0.1:0 with a certificate from `ca`, and its address.
fn tls_listener(ca: &Ca) -> (TlsListener<TcpListener>, std::net::SocketAddr) {
    let tcp = TcpListener::bind(support::any_port(), SocketOptions::default()).expect("bind");
    let address = tcp.local_addr().expect("address");
    (
        TlsListener::new(tcp, server_config(ca.server(), None)),
        address,
    )
}

/// Accepts one TLS connection and runs an echo connection on it to its end.
async fn echo_one(
    mut listener: TlsListener<TcpListener>,
    config: ConnectionConfig,
) -> Option<CloseReason> {
    let accepted = timed(std::future::poll_fn(|cx| listener.poll_accept(cx)))
        .await
        .expect("accept");
    let mut connection = Connection::new(
        accepted.stream,
        LengthDelimitedCodec::new(),
        Echo,
        None,
        config,
    );
    timed(&mut connection).await;
    connection.close_reason().cloned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_that_closes_gets_every_answer_then_the_connection_ends_peer_closed() {
    let ca = Ca::new("test ca");
    let (listener, address) = tls_listener(&ca);

    let requests = frames(2_000);
    let client = {
        let requests = requests.clone();
        tokio::spawn(async move {
            let mut stream = connector(&ca, None)
                .connect(&Endpoint::Tcp(address))
                .await
                .expect("tls connect");
            stream.write_all(&requests).await.expect("write");
            // close_notify, then FIN: the server reads EOF after the requests.
            stream.shutdown().await.expect("shutdown");
            let mut answers = Vec::new();
            stream
                .read_to_end(&mut answers)
                .await
                .expect("read to the end");
            answers
        })
    };

    // Little room, so answers wait for room while the EOF is already read.
    let config = ConnectionConfig::default().max_queued_outbound_messages(4);
    let reason = echo_one(listener, config).await;
    assert!(
        matches!(reason, Some(CloseReason::PeerClosed)),
        "closed by {reason:?}"
    );
    let answers = timed(client).await.expect("client task");
    assert_eq!(answers.len(), requests.len(), "every answer delivered");
    assert!(answers == requests, "every answer, in order");
}

/// A peer whose process dies closes TCP without TLS's `close_notify`: the
/// connection ends with the i/o error rustls reports (`UnexpectedEof`), which
/// is not counted as an error worth logging, as a reset is not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_that_vanishes_without_close_notify_ends_the_connection_quietly() {
    let ca = Ca::new("test ca");
    let (listener, address) = tls_listener(&ca);

    let client = tokio::spawn(async move {
        let mut stream = connector(&ca, None)
            .connect(&Endpoint::Tcp(address))
            .await
            .expect("tls connect");
        stream.write_all(&frames(1)).await.expect("write");
        stream.flush().await.expect("flush");
        let mut answer = vec![0; frames(1).len()];
        stream.read_exact(&mut answer).await.expect("the answer");
        // Shut the TCP stream down under TLS: no close_notify.
        let (mut tcp, _) = stream.into_inner();
        tcp.shutdown().await.expect("tcp shutdown");
        answer
    });

    let reason = echo_one(listener, ConnectionConfig::default()).await;
    assert_eq!(timed(client).await.expect("client task"), frames(1));
    match &reason {
        Some(reason @ CloseReason::Io(error)) => {
            assert_eq!(error.kind(), std::io::ErrorKind::UnexpectedEof);
            assert!(!reason.is_error(), "{reason}");
        }
        other => panic!("closed by {other:?}"),
    }
}
