//! A line over the limit gets an error message and closes that connection only.

mod support;

use example_telnet::DEFAULT_MAX_LINE_LENGTH;
use support::{bounded, Server};
use tokio::io::AsyncWriteExt;

fn expected_error() -> String {
    format!("error: line longer than {DEFAULT_MAX_LINE_LENGTH} bytes")
}

#[tokio::test]
async fn overlong_line_is_answered_then_closed_and_others_keep_going() {
    let server = Server::start();
    let mut bystander = server.connect().await;
    let mut offender = server.connect().await;

    // Just over the limit, sent whole, so the server reads all of it before it
    // closes (unread bytes at close would turn the FIN into a reset).
    let line = "a".repeat(DEFAULT_MAX_LINE_LENGTH + 1);
    offender.send(&line).await;
    offender.expect(&expected_error()).await;
    offender.expect_eof().await;

    bystander.ask("echo still served", "still served").await;
    let mut newcomer = server.connect().await;
    newcomer.ask("upper welcome", "WELCOME").await;
    server.stop().await;
}

#[tokio::test]
async fn line_without_end_over_the_limit_is_refused_too() {
    let server = Server::start();
    let mut client = server.connect().await;
    let unterminated = "b".repeat(DEFAULT_MAX_LINE_LENGTH + 10);
    bounded(
        "write",
        client.stream.get_mut().write_all(unterminated.as_bytes()),
    )
    .await
    .expect("write");
    client.expect(&expected_error()).await;
    client.expect_eof().await;
    server.stop().await;
}

#[tokio::test]
async fn line_at_the_limit_is_served() {
    let server = Server::start();
    let mut client = server.connect().await;
    let text = "c".repeat(DEFAULT_MAX_LINE_LENGTH - "echo ".len());
    client.ask(&format!("echo {text}"), &text).await;
    server.stop().await;
}
