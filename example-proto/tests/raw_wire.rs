//! The server speaks the wire format of DESIGN.md: a client with nothing but a TCP
//! socket and prost can call it.
mod support;

use example_proto::{response, EchoResponse, EchoStream, Request, Response, ResponseBehavior};
use prost::Message;
use support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Reads one varint length-delimited `Response`, keeping any bytes after it in
/// `buffer`.
async fn read_response(stream: &mut TcpStream, buffer: &mut Vec<u8>) -> Response {
    loop {
        let mut view = &buffer[..];
        if let Ok(len) = prost::decode_length_delimiter(&mut view) {
            let prefix = buffer.len() - view.len();
            if buffer.len() >= prefix + len {
                let response = Response::decode(&buffer[prefix..prefix + len]).expect("a Response");
                buffer.drain(..prefix + len);
                return response;
            }
        }
        let mut chunk = [0u8; 4096];
        let read = timed(stream.read(&mut chunk)).await.expect("read");
        assert!(read > 0, "the server closed the connection");
        buffer.extend_from_slice(&chunk[..read]);
    }
}

#[tokio::test]
async fn plain_prost_client_gets_unary_and_streaming_answers() {
    let server = server();
    let mut stream = timed(TcpStream::connect(server.local_addr()))
        .await
        .expect("connect");

    let mut wire = Vec::new();
    let mut unary = Request::echo("raw", 99, ResponseBehavior::Unary);
    unary.request_id = 5;
    unary.encode_length_delimited(&mut wire).expect("encode");
    let mut streaming = Request::echo("ab", 3, ResponseBehavior::Stream);
    streaming.request_id = 6;
    streaming
        .encode_length_delimited(&mut wire)
        .expect("encode");
    timed(stream.write_all(&wire)).await.expect("write");

    let mut buffer = Vec::new();
    let mut responses = Vec::new();
    for _ in 0..4 {
        responses.push(read_response(&mut stream, &mut buffer).await);
    }
    // Rpcs run side by side, so only each rpc's own order is fixed.
    let of =
        |id: u64| -> Vec<&Response> { responses.iter().filter(|r| r.request_id == id).collect() };
    assert_eq!(
        of(5),
        [&Response {
            request_id: 5,
            code: 0,
            kind: Some(response::Kind::Echo(EchoResponse {
                message: "raw".into(),
                nanotime: 99,
            })),
        }]
    );
    let item = |sequence: u64, message: &str| Response {
        request_id: 6,
        code: 0,
        kind: Some(response::Kind::Stream(EchoStream {
            message: message.into(),
            nanotime: 3,
            sequence,
        })),
    };
    let end = Response {
        request_id: 6,
        code: 2,
        kind: None,
    };
    assert_eq!(of(6), [&item(0, "a"), &item(1, "b"), &end]);

    // A request without a body: Cancel on the wire.
    let mut wire = Vec::new();
    Request {
        request_id: 7,
        ..Default::default()
    }
    .encode_length_delimited(&mut wire)
    .expect("encode");
    timed(stream.write_all(&wire)).await.expect("write");
    let rejected = read_response(&mut stream, &mut buffer).await;
    assert_eq!(
        rejected,
        Response {
            request_id: 7,
            code: 1,
            kind: None,
        }
    );
    timed(server.shutdown()).await;
}
