//! A zero-length frame (a single 0x00 byte) is an empty Request, not a closed
//! socket: it is answered per the rpc contract and the connection stays usable.
mod support;

use example_proto::{response, EchoResponse, Request, Response, ResponseBehavior};
use support::raw::{connect, frames, read_response, send};
use support::*;
use tokio::io::AsyncWriteExt;

#[tokio::test]
async fn zero_length_frame_is_an_empty_request_rejected_with_cancel() {
    let server = server();
    let client = client(&server).await;
    let mut raw = connect(server.local_addr()).await;
    let mut buffer = Vec::new();

    // Request id 0, code Normal, no body: rejected with Cancel(0).
    send(&mut raw, &[0x00]).await;
    assert_eq!(
        read_response(&mut raw, &mut buffer).await,
        Response {
            request_id: 0,
            code: 1,
            kind: None,
        }
    );

    let valid = Request {
        request_id: 1,
        ..Request::echo("after empty", 4, ResponseBehavior::Unary)
    };
    send(&mut raw, &frames(&[valid])).await;
    assert_eq!(
        read_response(&mut raw, &mut buffer).await,
        Response {
            request_id: 1,
            code: 0,
            kind: Some(response::Kind::Echo(EchoResponse {
                message: "after empty".into(),
                nanotime: 4,
            })),
        }
    );
    assert!(buffer.is_empty(), "unexpected bytes: {buffer:?}");

    assert_echoes(&client, "other client").await;
    timed(raw.shutdown()).await.expect("shutdown");
    timed(server.shutdown()).await;
}
