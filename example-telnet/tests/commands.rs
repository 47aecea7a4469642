//! Each command over a real socket: echo, upper, empty lines, errors that keep
//! the connection, and stats.

mod support;

use example_telnet::GREETING;
use support::Server;

#[tokio::test]
async fn echo_and_upper_answer_in_order() {
    let server = Server::start();
    let mut client = server.connect().await;
    client.send("echo hello world").await;
    client.send("upper hello world").await;
    client.send("echo").await;
    client.expect("hello world").await;
    client.expect("HELLO WORLD").await;
    client.expect("").await;
    server.stop().await;
}

#[tokio::test]
async fn unknown_commands_and_bad_sleeps_get_an_error_and_keep_the_connection() {
    let server = Server::start();
    let mut client = server.connect().await;
    client
        .ask(
            "shout hi",
            "error: unknown command \"shout\"; try echo, upper, sleep, stats or quit",
        )
        .await;
    client
        .ask(
            "sleep soon hi",
            "error: sleep wants seconds from 0 to 60, got \"soon\"",
        )
        .await;
    // An empty line gets no answer: the next answer is the echo's.
    client.send("").await;
    client.ask("echo still here", "still here").await;
    server.stop().await;
}

#[tokio::test]
async fn stats_counts_this_connection() {
    let server = Server::start();
    let mut other = server.connect().await;
    other
        .ask(
            "echo noise on another connection",
            "noise on another connection",
        )
        .await;

    let mut client = server.connect().await;
    client.ask("echo hi", "hi").await;
    // `stats` counts itself on the way in (the command that asked), and on the
    // way out what was written before its answer: the greeting and `hi`.
    let greeting_out = GREETING.len() as u64 + 1;
    let expected = format!(
        "messages_in=2 bytes_in={} messages_out=2 bytes_out={}",
        "echo hi\n".len() + "stats\n".len(),
        greeting_out + "hi\n".len() as u64
    );
    client.ask("stats", &expected).await;
    server.stop().await;
}
