//! Pipelines of any depth are answered in request order and the client stays
//! connected: 10,000 commands through the `redis` crate in one pipeline, and
//! 10,000 written raw before any reply is read.

mod support;

use support::{bounded, encode, Server};
use tokio::io::AsyncReadExt;

const COMMANDS: usize = 10_000;

#[tokio::test]
async fn a_pipeline_of_ten_thousand_commands_through_the_redis_crate() {
    let server = Server::start();
    let mut c = server.client().await;
    let mut pipe = redis::pipe();
    for i in 0..COMMANDS {
        pipe.cmd("SET").arg(format!("k{i}")).arg(i).ignore();
        pipe.cmd("INCR").arg(format!("k{i}"));
    }
    let counts: Vec<i64> = bounded("pipeline", pipe.query_async(&mut c)).await.unwrap();
    assert_eq!(counts, (1..=COMMANDS as i64).collect::<Vec<_>>());
    let size: i64 = support::query(&mut c, &["DBSIZE"]).await.unwrap();
    assert_eq!(size, COMMANDS as i64);
    server.stop().await;
}

#[tokio::test]
async fn ten_thousand_raw_commands_written_before_any_reply_is_read() {
    let server = Server::start();
    let mut raw = server.raw().await;
    let mut batch = Vec::new();
    let mut expected = String::new();
    for i in 0..COMMANDS {
        let text = i.to_string();
        batch.extend_from_slice(&encode(&["ECHO", &text]));
        expected.push_str(&format!("${}\r\n{text}\r\n", text.len()));
    }
    // A writer of its own: the server holds back decoding while replies wait,
    // so writing everything first could wait on TCP flow control.
    let (mut read, mut write) = raw.stream.into_inner().into_split();
    let writer = tokio::spawn(async move {
        use tokio::io::AsyncWriteExt;
        write.write_all(&batch).await.expect("write");
        write
    });
    let mut replies = vec![0; expected.len()];
    bounded("every reply", read.read_exact(&mut replies))
        .await
        .expect("read");
    assert_eq!(String::from_utf8(replies).unwrap(), expected);
    let write = bounded("writer", writer).await.expect("writer task");
    raw = support::Raw {
        stream: tokio::io::BufReader::new(read.reunite(write).expect("same stream")),
    };
    assert_eq!(raw.ask(&["PING"]).await, "+PONG\r\n", "still connected");
    server.stop().await;
}
