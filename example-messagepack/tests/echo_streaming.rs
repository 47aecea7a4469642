//! A streaming request is answered with one item per character, in order, then End.
mod support;

use example_messagepack::{EchoStream, Request, ResponseBehavior, ResponseKind};
use futures::StreamExt;
use protosocket_rpc::{ControlCode, Message};
use support::{timed, Harness};

#[tokio::test]
async fn stream_sends_each_character_in_order_then_ends() {
    let harness = Harness::start().await;
    let message = "héllo ✓";
    let request = Request::echo(message, 7, ResponseBehavior::Stream);
    // `collect` finishes only when the stream ends, that is on `End`.
    let items: Vec<_> = timed(harness.client.send_streaming(request).collect()).await;
    let expected: Vec<ResponseKind> = message
        .chars()
        .enumerate()
        .map(|(sequence, character)| {
            ResponseKind::Stream(EchoStream {
                message: character.to_string(),
                nanotime: 7,
                sequence: sequence as u64,
            })
        })
        .collect();
    let received: Vec<ResponseKind> = items
        .into_iter()
        .map(|item| {
            let response = item.expect("a stream item");
            assert_eq!(response.control_code(), ControlCode::Normal);
            response.kind.expect("an item has a kind")
        })
        .collect();
    assert_eq!(received, expected);
    harness.stop().await;
}

#[tokio::test]
async fn stream_of_empty_message_ends_at_once() {
    let harness = Harness::start().await;
    let request = Request::echo("", 1, ResponseBehavior::Stream);
    let mut stream = harness.client.send_streaming(request);
    assert!(timed(stream.next()).await.is_none(), "End with no items");
    harness.stop().await;
}
