//! A client may pipeline any number of commands: its first write holds 500 lines
//! (more than the connection's queue bound of 256) behind the greeting, and every
//! one is answered, in order, on the same connection.

mod support;

use example_telnet::GREETING;
use support::{bounded, Server};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

#[tokio::test]
async fn a_pipelining_client_gets_every_answer_and_stays_connected() {
    const LINES: usize = 500;
    let server = Server::start();
    let stream = bounded("connect", TcpStream::connect(server.address))
        .await
        .expect("connect");
    let mut stream = BufReader::new(stream);
    let batch: String = (0..LINES).map(|i| format!("echo {i}\n")).collect();
    // Written before the greeting is read: all of it waits at the server at once.
    bounded("write", stream.get_mut().write_all(batch.as_bytes()))
        .await
        .expect("write");

    let mut lines = stream.lines();
    let first = bounded("greeting", lines.next_line()).await.expect("read");
    assert_eq!(first.as_deref(), Some(GREETING));
    for i in 0..LINES {
        let line = bounded("an answer", lines.next_line()).await.expect("read");
        assert_eq!(line, Some(i.to_string()), "answer {i}");
    }
    let mut stream = lines.into_inner();
    bounded("write", stream.get_mut().write_all(b"echo still here\n"))
        .await
        .expect("still connected");
    let mut line = String::new();
    bounded("read", stream.read_line(&mut line))
        .await
        .expect("read");
    assert_eq!(line, "still here\n");
    server.stop().await;
}
