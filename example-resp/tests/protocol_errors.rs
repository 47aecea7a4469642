//! Bytes that break the protocol get `-ERR Protocol error: ...` and a close,
//! after the replies to what came before; another connection is not affected.

mod support;

use example_resp::{Limits, RespConfig, StoreKind};
use support::{Raw, Server};

/// Sends `bytes` after a PING on a fresh connection, expects the PONG, the
/// protocol error `reason` and EOF; then checks `bystander` still works.
async fn refused(server: &Server, bystander: &mut Raw, bytes: &[u8], reason: &str) {
    let mut offender = server.raw().await;
    let mut request = b"PING\r\n".to_vec();
    request.extend_from_slice(bytes);
    offender.send_bytes(&request).await;
    assert_eq!(offender.reply().await, "+PONG\r\n");
    assert_eq!(
        offender.reply().await,
        format!("-ERR Protocol error: {reason}\r\n"),
        "{:?}",
        String::from_utf8_lossy(bytes)
    );
    offender.expect_eof().await;
    assert_eq!(bystander.ask(&["INCR", "served"]).await.as_bytes()[0], b':');
}

#[tokio::test]
async fn each_protocol_error_closes_only_its_connection() {
    let limits = Limits::with_max_bulk_len(1024).max_inline_len(4096);
    let server = Server::start_with(RespConfig::default().limits(limits), StoreKind::Sharded);
    let mut bystander = server.raw().await;
    assert_eq!(bystander.ask(&["INCR", "served"]).await, ":1\r\n");

    refused(
        &server,
        &mut bystander,
        b"*1\r\n$1025\r\n",
        "invalid bulk length",
    )
    .await;
    refused(
        &server,
        &mut bystander,
        b"*1\r\n$abc\r\n",
        "invalid bulk length",
    )
    .await;
    refused(
        &server,
        &mut bystander,
        b"*x\r\n",
        "invalid multibulk length",
    )
    .await;
    refused(
        &server,
        &mut bystander,
        b"*1\r\n:1\r\n",
        "expected '$', got ':'",
    )
    .await;
    refused(
        &server,
        &mut bystander,
        b"set a \"b\r\n",
        "unbalanced quotes in request",
    )
    .await;
    let unterminated = vec![b'a'; 4097];
    refused(
        &server,
        &mut bystander,
        &unterminated,
        "too big inline request",
    )
    .await;
    let mut count = b"*".to_vec();
    count.extend(vec![b'1'; 4097]);
    refused(
        &server,
        &mut bystander,
        &count,
        "too big mbulk count string",
    )
    .await;

    // At the limit is fine.
    let value = "v".repeat(1024);
    assert_eq!(bystander.ask(&["SET", "big", &value]).await, "+OK\r\n");
    assert_eq!(bystander.ask(&["INCR", "served"]).await, ":9\r\n");
    server.stop().await;
}

#[tokio::test]
async fn the_default_bulk_limit_is_64_mib() {
    let server = Server::start();
    let mut bystander = server.raw().await;
    let mut offender = server.raw().await;
    offender
        .send_bytes(format!("*2\r\n$3\r\nGET\r\n${}\r\n", 64 * 1024 * 1024 + 1).as_bytes())
        .await;
    assert_eq!(
        offender.reply().await,
        "-ERR Protocol error: invalid bulk length\r\n"
    );
    offender.expect_eof().await;
    assert_eq!(bystander.ask(&["PING"]).await, "+PONG\r\n");
    server.stop().await;
}

#[tokio::test]
async fn a_large_value_arrives_in_pieces_and_is_stored() {
    let server = Server::start();
    let mut raw = server.raw().await;
    let value = "x".repeat(3 * 1024 * 1024);
    assert_eq!(raw.ask(&["SET", "large", &value]).await, "+OK\r\n");
    let reply = raw.ask(&["GET", "large"]).await;
    assert_eq!(reply, format!("${}\r\n{value}\r\n", value.len()));
    server.stop().await;
}
