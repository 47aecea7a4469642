//! Credit on the wire, against hand-written peers: `Credit` (code 8, which an
//! upstream 2.x peer reads as `Cancel`) goes only to a peer that has shown it
//! speaks credit, and a server that speaks it sends no more than granted.

mod support;

use std::time::Duration;

use futures::StreamExt;
use protosocket::{Decoder, SerializeInto};
use protosocket_rpc::client::RpcClientConfig;
use protosocket_rpc::server::RpcServerConfig;
use protosocket_rpc::ControlCode;
use support::flow::{self, Flow, FlowSerializer, FlowService};
use support::{timed, TestService, Text};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn frame(id: u64, code: ControlCode, credit: u32, text: &str) -> Vec<u8> {
    let mut buffer = Vec::new();
    let message = Flow {
        text: Text {
            id,
            code: code.as_u32(),
            text: text.to_string(),
        },
        credit,
    };
    FlowSerializer.serialize_into(message, &mut buffer);
    buffer
}

/// Reads frames from `stream` into `buffer`, returning the next one.
async fn next_frame(stream: &mut TcpStream, buffer: &mut Vec<u8>) -> Option<Flow> {
    loop {
        if let Ok((len, message)) = FlowSerializer.decode(buffer) {
            buffer.drain(..len);
            return Some(message);
        }
        let mut chunk = [0u8; 4096];
        let read = stream.read(&mut chunk).await.ok()?;
        if read == 0 {
            return None;
        }
        buffer.extend_from_slice(&chunk[..read]);
    }
}

#[tokio::test]
async fn a_client_never_sends_credit_to_a_server_that_did_not_grant_any() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    // An upstream-style server: answers a stream of 200 items, never `Credit`,
    // and records every code the client sends.
    let server = tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        let mut buffer = Vec::new();
        let request = next_frame(&mut stream, &mut buffer)
            .await
            .expect("a request");
        assert!(request.credit > 0, "the client offers its window");
        let id = request.text.id;
        for i in 0..200 {
            let item = frame(id, ControlCode::Normal, 0, &i.to_string());
            stream.write_all(&item).await.unwrap();
        }
        stream
            .write_all(&frame(id, ControlCode::End, 0, ""))
            .await
            .unwrap();
        let mut codes = Vec::new();
        while let Some(message) = next_frame(&mut stream, &mut buffer).await {
            codes.push(message.text.code);
        }
        codes
    });
    let config = RpcClientConfig::default().stream_buffer(4);
    let client = flow::client(address, &config).await;
    let mut responses = client.send_streaming(Flow::new("stream"));
    for i in 0..200 {
        let item = timed(responses.next()).await.unwrap().unwrap();
        assert_eq!(item.text.text, i.to_string());
        assert!(responses.unread() <= 4, "bounded by pausing instead");
    }
    assert!(timed(responses.next()).await.is_none());
    drop(responses);
    drop(client);
    let codes = timed(server).await.unwrap();
    assert!(
        !codes.contains(&ControlCode::Credit.as_u32()),
        "the client sent Credit to a server that never spoke it: {codes:?}"
    );
}

#[tokio::test]
async fn a_server_sends_an_upstream_client_no_credit_and_a_credit_client_its_window_only() {
    let service = TestService::default();
    let (address, shutdown, _server) =
        flow::serve(FlowService(service.clone()), RpcServerConfig::default());

    // Without a window (an upstream client): the plain stream, no Credit.
    let mut stream = TcpStream::connect(address).await.unwrap();
    let mut buffer = Vec::new();
    stream
        .write_all(&frame(1, ControlCode::Normal, 0, "stream:50"))
        .await
        .unwrap();
    let mut codes = Vec::new();
    loop {
        let message = timed(next_frame(&mut stream, &mut buffer)).await.unwrap();
        codes.push(message.text.code);
        if message.text.code == ControlCode::End.as_u32() {
            break;
        }
    }
    assert_eq!(codes.len(), 51);
    assert!(codes[..50].iter().all(|&code| code == 0));

    // With a window of 4: Credit first (granting no requests), then 4 items,
    // then nothing until the client grants more.
    stream
        .write_all(&frame(2, ControlCode::Normal, 4, "stream:50"))
        .await
        .unwrap();
    let ack = timed(next_frame(&mut stream, &mut buffer)).await.unwrap();
    assert_eq!(
        (ack.text.id, ack.text.code),
        (2, ControlCode::Credit.as_u32())
    );
    for i in 0..4 {
        let item = timed(next_frame(&mut stream, &mut buffer)).await.unwrap();
        assert_eq!(item.text.text, i.to_string());
    }
    let more = tokio::time::timeout(
        Duration::from_millis(200),
        next_frame(&mut stream, &mut buffer),
    )
    .await;
    assert!(more.is_err(), "sent past the window: {more:?}");
    // 46 items left, and one more poll to learn the stream is over: the server
    // polls a stream only with credit left (a poll may yield an item).
    stream
        .write_all(&frame(2, ControlCode::Credit, 47, ""))
        .await
        .unwrap();
    for i in 4..50 {
        eprintln!("waiting for {i}");
        let item = timed(next_frame(&mut stream, &mut buffer)).await.unwrap();
        assert_eq!(item.text.text, i.to_string());
    }
    let end = timed(next_frame(&mut stream, &mut buffer)).await.unwrap();
    assert_eq!(end.text.code, ControlCode::End.as_u32());
    drop(stream);
    shutdown.shutdown_and_wait().await;
}
