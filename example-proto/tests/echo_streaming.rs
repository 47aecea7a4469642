//! A streaming request gets one item per character, in sequence order, then End.
mod support;

use example_proto::{response, EchoStream, Request, ResponseBehavior};
use futures::StreamExt;
use support::*;

#[tokio::test]
async fn stream_has_one_item_per_character_in_order_then_ends() {
    let server = server();
    let client = client(&server).await;
    let message = "héllo, wörld";
    let stream = client.send_streaming(Request::echo(message, 42, ResponseBehavior::Stream));
    let items: Vec<_> = timed(stream.collect::<Vec<_>>()).await;
    let expected: Vec<_> = message
        .chars()
        .enumerate()
        .map(|(sequence, character)| {
            Some(response::Kind::Stream(EchoStream {
                message: character.to_string(),
                nanotime: 42,
                sequence: sequence as u64,
            }))
        })
        .collect();
    let kinds: Vec<_> = items
        .into_iter()
        .map(|item| item.expect("an item, not an error").kind)
        .collect();
    assert_eq!(kinds, expected);
    timed(server.shutdown()).await;
}

#[tokio::test]
async fn empty_message_streams_nothing_and_ends() {
    let server = server();
    let client = client(&server).await;
    let mut stream = client.send_streaming(Request::echo("", 0, ResponseBehavior::Stream));
    assert!(timed(stream.next()).await.is_none(), "ends at once");
    timed(server.shutdown()).await;
}
