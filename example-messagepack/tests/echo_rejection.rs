//! A request without a body is rejected; with no status fields in the schema, the client hears a Cancel, unary or streaming, and the
//! connection keeps working.
mod support;

use example_messagepack::{Request, ResponseBehavior};
use futures::StreamExt;
use support::{timed, Harness};

fn bodiless(behavior: ResponseBehavior) -> Request {
    Request {
        body: None,
        response_behavior: behavior,
        ..Default::default()
    }
}

#[tokio::test]
async fn request_without_body_is_cancelled() {
    let harness = Harness::start().await;
    let unary = timed(harness.client.send_unary(bodiless(ResponseBehavior::Unary))).await;
    assert!(
        matches!(&unary, Err(error) if error.is_cancelled()),
        "unary got {unary:?}"
    );

    let mut stream = harness
        .client
        .send_streaming(bodiless(ResponseBehavior::Stream));
    let first = timed(stream.next()).await;
    assert!(
        matches!(&first, Some(Err(error)) if error.is_cancelled()),
        "stream got {first:?}"
    );

    let after = timed(harness.client.send_unary(Request::echo(
        "still here",
        3,
        ResponseBehavior::Unary,
    )))
    .await;
    assert!(
        after.is_ok(),
        "the connection survives a rejection: {after:?}"
    );
    harness.stop().await;
}
