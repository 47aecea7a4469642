//! `sleep` answers later without holding up the connection: later lines overtake
//! it, and a peer that closes its side still gets what it is owed.

mod support;

use support::{bounded, Server};
use tokio::io::AsyncWriteExt;

#[tokio::test]
async fn later_answers_overtake_a_sleep() {
    let server = Server::start();
    let mut client = server.connect().await;
    client.send("sleep 0.3 a").await;
    client.send("echo b").await;
    client.expect("b").await;
    client.expect("a").await;
    server.stop().await;
}

#[tokio::test]
async fn shorter_sleep_answers_first() {
    let server = Server::start();
    let mut client = server.connect().await;
    client.send("sleep 0.4 slow").await;
    client.send("sleep 0.1 quick").await;
    client.expect("quick").await;
    client.expect("slow").await;
    server.stop().await;
}

#[tokio::test]
async fn half_closed_peer_still_gets_its_sleep_answer() {
    let server = Server::start();
    let mut client = server.connect().await;
    client.send("sleep 0.2 late").await;
    bounded("shutdown write", client.stream.get_mut().shutdown())
        .await
        .expect("shutdown");
    client.expect("late").await;
    client.expect_eof().await;
    server.stop().await;
}
