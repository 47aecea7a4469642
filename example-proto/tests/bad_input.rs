//! Bad input from one peer gets that peer's connection closed promptly and costs
//! nobody else anything (DESIGN.md, "Bad input gets"): each case sends its bytes on
//! a raw socket while a well-behaved client shares the server, then checks the
//! offender is closed within a second and the other client is still answered.
mod support;

use std::time::Duration;

use example_proto::{response, EchoRequest, EchoResponse, Request, Response, ResponseBehavior};
use prost::Message;
use support::raw::{closed_by_server, connect, frames, read_response, send};
use support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Sends `bytes` from a fresh raw connection and checks the server closes it
/// without answering, while a client connected beforehand is still served.
async fn offender_is_closed(bytes: &[u8]) {
    let server = server();
    let client = client(&server).await;
    assert_echoes(&client, "before").await;

    let mut offender = connect(server.local_addr()).await;
    send(&mut offender, bytes).await;
    let received = closed_by_server(&mut offender).await;
    assert!(received.is_empty(), "answered bad input with {received:?}");

    assert_echoes(&client, "after").await;
    timed(server.shutdown()).await;
}

#[tokio::test]
async fn garbage_bytes_close_the_connection() {
    // A well-formed length prefix around a body that is not a Request: 0x0f is
    // field 1 with wire type 7, which does not exist.
    let body = [0x0f, 0x0f, 0x0f, 0x0f];
    assert!(Request::decode(&body[..]).is_err());
    let mut wire = vec![body.len() as u8];
    wire.extend_from_slice(&body);
    offender_is_closed(&wire).await;
}

#[tokio::test]
async fn length_prefix_of_two_to_the_63_closes_the_connection() {
    let mut wire = vec![0x80; 9];
    wire.push(0x01);
    assert_eq!(
        prost::decode_length_delimiter(&wire[..])
            .ok()
            .map(|len| len as u64),
        Some(1 << 63)
    );
    offender_is_closed(&wire).await;
}

#[tokio::test]
async fn frame_over_max_buffer_length_closes_the_connection() {
    // Twice the default 32 MiB; only the prefix is sent, so the server must
    // refuse on the announcement instead of waiting for the body.
    let mut wire = Vec::new();
    prost::encode_length_delimiter(64 * 1024 * 1024, &mut wire).expect("encode");
    offender_is_closed(&wire).await;
}

#[tokio::test]
async fn frame_cut_off_then_eof_closes_the_connection() {
    let server = server();
    let client = client(&server).await;
    assert_echoes(&client, "before").await;

    let mut whole = frames(&[Request {
        request_id: 1,
        ..Request::echo("cut off here", 0, ResponseBehavior::Unary)
    }]);
    whole.truncate(whole.len() / 2);
    let mut offender = connect(server.local_addr()).await;
    send(&mut offender, &whole).await;
    timed(offender.shutdown())
        .await
        .expect("shutdown write half");
    let received = closed_by_server(&mut offender).await;
    assert!(
        received.is_empty(),
        "answered a partial frame: {received:?}"
    );

    assert_echoes(&client, "after").await;
    timed(server.shutdown()).await;
}

#[tokio::test]
async fn idle_peer_is_left_open_and_costs_others_nothing() {
    let server = server();
    let client = client(&server).await;
    let mut idle = connect(server.local_addr()).await;

    for i in 0..10 {
        assert_echoes(&client, &format!("while idle {i}")).await;
    }
    // The window the idle peer must survive: nothing may arrive, not even EOF.
    let mut byte = [0u8; 1];
    let read = tokio::time::timeout(Duration::from_millis(500), idle.read(&mut byte)).await;
    assert!(read.is_err(), "idle peer got {read:?}");

    // Still a working connection.
    send(
        &mut idle,
        &frames(&[Request {
            request_id: 2,
            ..Request::echo("awake", 5, ResponseBehavior::Unary)
        }]),
    )
    .await;
    let mut buffer = Vec::new();
    let answer = read_response(&mut idle, &mut buffer).await;
    assert_eq!(answer.request_id, 2);
    assert_echoes(&client, "after").await;
    timed(server.shutdown()).await;
}

#[tokio::test]
async fn unknown_control_code_is_treated_as_cancel() {
    let server = server();
    let client = client(&server).await;
    let mut raw = connect(server.local_addr()).await;
    let mut buffer = Vec::new();

    // Code 99 (unknown) on a request with a body starts nothing: as a Cancel for an id not
    // in flight it is ignored, so the first answer is the following request's.
    let unknown = Request {
        request_id: 3,
        code: 99,
        ..Request::echo("not echoed", 0, ResponseBehavior::Unary)
    };
    let valid = Request {
        request_id: 4,
        ..Request::echo("echoed", 8, ResponseBehavior::Unary)
    };
    send(&mut raw, &frames(&[unknown, valid])).await;
    assert_eq!(
        read_response(&mut raw, &mut buffer).await,
        Response {
            request_id: 4,
            code: 0,
            kind: Some(response::Kind::Echo(EchoResponse {
                message: "echoed".into(),
                nanotime: 8,
            })),
        }
    );

    // Code 99 for a stream in flight cancels it: the server answers Cancel and
    // never ends the stream. The stream is longer than the socket buffers hold,
    // and it is not read until the cancel is sent, so it cannot finish first.
    let long = Request {
        request_id: 5,
        ..Request::echo("x".repeat(2_000_000), 0, ResponseBehavior::Stream)
    };
    send(&mut raw, &frames(&[long])).await;
    let unknown_for_stream = Request {
        request_id: 5,
        code: 99,
        body: Some(EchoRequest::default()),
        response_behavior: ResponseBehavior::Stream as i32,
    };
    send(&mut raw, &frames(&[unknown_for_stream])).await;
    let mut items = 0u64;
    let cancelled = loop {
        let answer = read_response(&mut raw, &mut buffer).await;
        assert_eq!(answer.request_id, 5, "{answer:?}");
        match answer.code {
            0 => items += 1,
            code => break code,
        }
    };
    assert_eq!(
        cancelled, 1,
        "stream ended instead of being cancelled after {items} items"
    );
    assert!(items < 2_000_000);

    // The connection still answers.
    send(
        &mut raw,
        &frames(&[Request {
            request_id: 6,
            ..Request::echo("later", 9, ResponseBehavior::Unary)
        }]),
    )
    .await;
    let answer = read_response(&mut raw, &mut buffer).await;
    assert_eq!((answer.request_id, answer.code), (6, 0));
    assert_echoes(&client, "after").await;
    raw.shutdown().await.expect("shutdown");
    timed(server.shutdown()).await;
}
