//! A call ended by its connection closing says why: the typed close reason of the
//! connection reaches every call it ends, and every call made after.

mod support;

use protosocket::{CloseReason, ConnectionConfig};
use protosocket_rpc::client::RpcClientConfig;
use protosocket_rpc::server::RpcServerConfig;
use protosocket_rpc::Error;
use support::{client, encode, serve, timed, TestService, Text};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::test]
async fn a_response_over_the_limit_ends_the_calls_with_frame_too_large() {
    let (address, shutdown, _server) = serve(TestService::default(), RpcServerConfig::default());
    let config = RpcClientConfig::default()
        .connection_config(ConnectionConfig::default().max_buffer_length(1024));
    let client = client(address, &config).await;
    let waiting = client.send_unary(Text::new("sleep:200"));
    let big = timed(client.send_unary(Text::new(format!("echo:{}", "x".repeat(4096))))).await;
    for outcome in [big, timed(waiting).await] {
        match outcome {
            Err(Error::ConnectionClosed(CloseReason::FrameTooLarge { max: 1024, .. })) => {}
            other => panic!("{other:?}"),
        }
    }
    assert!(matches!(
        client.close_reason(),
        Some(CloseReason::FrameTooLarge { .. })
    ));
    let later = timed(client.send_unary(Text::new("echo:x"))).await;
    assert!(
        matches!(
            later,
            Err(Error::ConnectionClosed(CloseReason::FrameTooLarge { .. }))
        ),
        "{later:?}"
    );
    timed(shutdown.shutdown_and_wait()).await;
}

#[tokio::test]
async fn a_peer_that_sends_garbage_ends_the_calls_with_invalid_frame() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let fake = tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        let mut request = [0; 64];
        let _ = stream.read(&mut request).await;
        // A frame too short for its own header.
        stream.write_all(&[0, 0, 0, 1, 0xff]).await.unwrap();
        let _ = stream.read(&mut request).await;
    });
    let client = client(address, &RpcClientConfig::default()).await;
    let outcome = timed(client.send_unary(Text::new("echo:x"))).await;
    match outcome {
        Err(Error::ConnectionClosed(CloseReason::InvalidFrame(invalid))) => {
            assert_eq!(invalid.reason(), "frame shorter than its header")
        }
        other => panic!("{other:?}"),
    }
    timed(fake).await.unwrap();
}

#[tokio::test]
async fn a_server_that_closes_ends_the_calls_with_peer_closed() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let fake = tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        let mut request = vec![0; encode(Text::new("hang")).len()];
        stream.read_exact(&mut request).await.unwrap();
        stream.shutdown().await.unwrap();
        // Reads until the client closes too, so its close is not a reset.
        let _ = stream.read_to_end(&mut request).await;
    });
    let client = client(address, &RpcClientConfig::default()).await;
    let outcome = timed(client.send_unary(Text::new("hang"))).await;
    assert!(
        matches!(
            outcome,
            Err(Error::ConnectionClosed(CloseReason::PeerClosed))
        ),
        "{outcome:?}"
    );
    let error = outcome.unwrap_err();
    assert_eq!(
        error.to_string(),
        "the connection closed: the peer closed its side"
    );
    timed(fake).await.unwrap();
}
