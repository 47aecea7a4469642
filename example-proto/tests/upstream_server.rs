//! example-proto's client against a server written as an upstream 2.x peer
//! speaks: nothing but a TCP socket and prost, ids and control codes only
//! (`Normal = 0`, `Cancel = 1`, `End = 2`, any other code read as `Cancel`),
//! no status, metadata, deadline or credit fields. Every call still gets its
//! outcome, and a dropped stream still reaches the server as `Cancel`.
//! (`raw_wire.rs` and `bad_input.rs` are the other direction: a hand-rolled
//! client against example-proto's server.)
mod support;

use std::net::SocketAddr;

use example_proto::{
    response, EchoClient, EchoResponse, EchoStream, Request, Response, ResponseBehavior,
};
use futures::StreamExt;
use prost::Message;
use protosocket_rpc::client::{RpcClient, RpcClientConfig};
use protosocket_rpc::StatusCode;
use support::raw::read_message;
use support::timed;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;
use tokio::sync::mpsc;

/// The echo service as a 2.x server answers it: unary echoes, a stream of one
/// item per character then `End`, `Cancel` for a request without a body. It
/// reports every `Cancel` a client sends on `cancels`.
async fn upstream_server(listener: TcpListener, cancels: mpsc::UnboundedSender<u64>) {
    let Ok((mut stream, _)) = listener.accept().await else {
        return;
    };
    let mut buffer = Vec::new();
    while let Some(request) = read_message::<Request>(&mut stream, &mut buffer).await {
        let id = request.request_id;
        let mut wire = Vec::new();
        match request.code {
            0 => match &request.body {
                None => frame(&mut wire, id, 1, None),
                Some(body) if request.response_behavior == ResponseBehavior::Stream as i32 => {
                    for (sequence, character) in body.message.chars().enumerate() {
                        let item = response::Kind::Stream(EchoStream {
                            message: character.to_string(),
                            nanotime: body.nanotime,
                            sequence: sequence as u64,
                        });
                        frame(&mut wire, id, 0, Some(item));
                    }
                    frame(&mut wire, id, 2, None);
                }
                Some(body) => {
                    let echo = response::Kind::Echo(EchoResponse {
                        message: body.message.clone(),
                        nanotime: body.nanotime,
                    });
                    frame(&mut wire, id, 0, Some(echo));
                }
            },
            1 => {
                let _ = cancels.send(id);
            }
            // Codes a 2.x server does not know (a newer client's ping, say) mean
            // nothing for an id it is not running.
            _ => {}
        }
        if stream.write_all(&wire).await.is_err() {
            return;
        }
    }
}

/// Appends one length-delimited `Response` to `wire`.
fn frame(wire: &mut Vec<u8>, id: u64, code: u32, kind: Option<response::Kind>) {
    Response {
        request_id: id,
        code,
        kind,
    }
    .encode_length_delimited(wire)
    .expect("encode");
}

async fn start() -> (SocketAddr, mpsc::UnboundedReceiver<u64>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    let (cancels, cancelled) = mpsc::unbounded_channel();
    tokio::spawn(upstream_server(listener, cancels));
    (address, cancelled)
}

#[tokio::test]
async fn the_client_gets_every_outcome_from_an_upstream_server() {
    let (address, mut cancelled) = start().await;
    let client: EchoClient = timed(RpcClient::connect(
        address,
        protosocket_prost::codec(),
        &RpcClientConfig::default(),
    ))
    .await
    .expect("connect");

    let unary = timed(client.send_unary(Request::echo("hi", 7, ResponseBehavior::Unary)))
        .await
        .expect("an echo");
    assert_eq!(
        unary.kind,
        Some(response::Kind::Echo(EchoResponse {
            message: "hi".into(),
            nanotime: 7,
        }))
    );

    let items: Vec<String> = timed(
        client
            .send_streaming(Request::echo("abc", 1, ResponseBehavior::Stream))
            .map(|item| match item.expect("an item").kind {
                Some(response::Kind::Stream(item)) => item.message,
                other => panic!("not a stream item: {other:?}"),
            })
            .collect(),
    )
    .await;
    assert_eq!(items, ["a", "b", "c"]);

    // No body: the server's `Cancel` is the call's outcome.
    let rejected = timed(client.send_unary(Request::default())).await;
    let error = rejected.expect_err("rejected");
    assert_eq!(error.status_code(), StatusCode::Cancelled, "{error}");

    // A stream dropped before its end is cancelled on the wire with its id.
    let mut stream = client.send_streaming(Request::echo(
        "x".repeat(10_000),
        2,
        ResponseBehavior::Stream,
    ));
    timed(stream.next()).await.expect("an item").expect("ok");
    drop(stream);
    let id = timed(cancelled.recv()).await.expect("a cancel");
    assert!(id > 0);
}
