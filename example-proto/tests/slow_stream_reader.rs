//! A slow reader of a long stream holds back only its own stream: the server
//! produces items as the socket takes them, serves other clients meanwhile, and
//! the reader finally gets every item in order, then End.
//!
//! example-proto's service keeps no connection stats, so here boundedness is
//! asserted through what it implies: other clients are answered promptly while
//! the reader is stalled, and the stream is complete and ordered once it reads.
//! protosocket-rpc's `rpc_slow_reader` test reads the server's send queue depth
//! directly (through `SocketService::connection_started`).
mod support;

use std::time::Duration;

use example_proto::{response, Request, ResponseBehavior};
use support::raw::{connect_with_small_window, frames, read_response, send};
use support::*;
use tokio::io::AsyncWriteExt;

const ITEMS: usize = 200_000;

#[tokio::test]
async fn stalled_reader_of_a_long_stream_gets_everything_and_others_are_served() {
    let server = server();
    let client = client(&server).await;
    // About 2.4 MB of answers; a small receive window keeps the kernel from
    // holding them all, so the server's own queue is what fills up.
    let mut reader = connect_with_small_window(server.local_addr(), 16 * 1024).await;
    let mut buffer = Vec::new();

    let message: String = (b'a'..=b'z').cycle().take(ITEMS).map(char::from).collect();
    let request = Request {
        request_id: 1,
        ..Request::echo(message.clone(), 3, ResponseBehavior::Stream)
    };
    send(&mut reader, &frames(&[request])).await;
    // The stream has started; from here the reader stops reading.
    let first = read_response(&mut reader, &mut buffer).await;

    // While the reader is stalled, another client is answered promptly, call
    // after call.
    for i in 0..50 {
        let call = client.send_unary(Request::echo(
            format!("during {i}"),
            0,
            ResponseBehavior::Unary,
        ));
        let answer = tokio::time::timeout(Duration::from_secs(1), call)
            .await
            .expect("answered within 1 s while a reader is stalled");
        assert!(answer.is_ok(), "{answer:?}");
    }

    let mut expected = message.chars().enumerate();
    let mut next = Some(first);
    let mut ended = false;
    while !ended {
        let answer = match next.take() {
            Some(answer) => answer,
            None => read_response(&mut reader, &mut buffer).await,
        };
        assert_eq!(answer.request_id, 1, "{answer:?}");
        match (answer.code, answer.kind) {
            (0, Some(response::Kind::Stream(item))) => {
                let (sequence, character) = expected.next().expect("no more items than characters");
                assert_eq!(item.sequence, sequence as u64);
                assert_eq!(item.message, character.to_string());
                assert_eq!(item.nanotime, 3);
            }
            (2, None) => ended = true,
            (code, kind) => panic!("unexpected answer: code {code}, {kind:?}"),
        }
    }
    assert!(expected.next().is_none(), "stream ended early");
    assert!(buffer.is_empty(), "bytes after End: {buffer:?}");

    assert_echoes(&client, "after").await;
    timed(reader.shutdown()).await.expect("shutdown");
    timed(server.shutdown()).await;
}
