//! A request the service cannot answer is rejected; with no status fields in the schema, the client hears a Cancel.
mod support;

use example_proto::{EchoRequest, Request, ResponseBehavior};
use futures::StreamExt;
use support::*;

#[tokio::test]
async fn request_without_body_is_cancelled() {
    let server = server();
    let client = client(&server).await;
    let request = Request {
        body: None,
        ..Request::echo("", 0, ResponseBehavior::Unary)
    };
    let outcome = timed(client.send_unary(request.clone())).await;
    assert!(
        matches!(&outcome, Err(error) if error.is_cancelled()),
        "unary: {outcome:?}"
    );

    let mut stream = client.send_streaming(Request {
        response_behavior: ResponseBehavior::Stream as i32,
        ..request
    });
    let outcome = timed(stream.next()).await;
    assert!(
        matches!(&outcome, Some(Err(error)) if error.is_cancelled()),
        "stream: {outcome:?}"
    );
    assert!(stream.next().await.is_none());

    // The connection still serves good requests.
    let answer = timed(client.send_unary(Request::echo("ok", 1, ResponseBehavior::Unary))).await;
    assert!(answer.is_ok(), "{answer:?}");
    timed(server.shutdown()).await;
}

#[tokio::test]
async fn unknown_response_behavior_is_cancelled() {
    let server = server();
    let client = client(&server).await;
    let request = Request {
        request_id: 0,
        code: 0,
        body: Some(EchoRequest {
            message: "x".into(),
            nanotime: 0,
        }),
        response_behavior: 9,
    };
    let outcome = timed(client.send_unary(request)).await;
    assert!(
        matches!(&outcome, Err(error) if error.is_cancelled()),
        "{outcome:?}"
    );
    timed(server.shutdown()).await;
}
