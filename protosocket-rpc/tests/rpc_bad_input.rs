//! Peers that break the rules: unknown control codes, cancels for unknown ids,
//! duplicate in-flight ids.
mod support;

use protosocket_rpc::{Configuration, ControlCode, Error, RpcServerConfig};
use support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn read_message(stream: &mut tokio::net::TcpStream) -> Text {
    let len = timed(stream.read_u32()).await.unwrap() as usize;
    let mut frame = vec![0; len];
    timed(stream.read_exact(&mut frame)).await.unwrap();
    let mut buffer = (len as u32).to_be_bytes().to_vec();
    buffer.extend_from_slice(&frame);
    protosocket::Decoder::decode(&mut TextSerializer, &buffer)
        .unwrap()
        .1
}

#[tokio::test]
async fn an_unknown_control_code_is_read_as_cancel() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        let request = read_message(&mut stream).await;
        let answer = Text {
            id: request.id,
            code: 77,
            text: String::new(),
        };
        stream.write_all(&encode(answer)).await.unwrap();
        // Then keep the connection open for a second call.
        let request = read_message(&mut stream).await;
        stream
            .write_all(&encode(Text {
                id: request.id,
                code: 0,
                text: "fine".into(),
            }))
            .await
            .unwrap();
        let _ = stream.read_u8().await;
    });
    let client = client(address, &Configuration::default()).await;
    let outcome = timed(client.send_unary(Text::new("anything"))).await;
    assert!(matches!(outcome, Err(Error::Cancelled)), "{outcome:?}");
    assert_eq!(
        timed(client.send_unary(Text::new("again")))
            .await
            .unwrap()
            .text,
        "fine"
    );
    drop(client);
    timed(server).await.unwrap();
}

#[tokio::test]
async fn a_cancel_for_an_unknown_id_is_ignored() {
    let (address, shutdown, _server) = serve(TestService::default(), RpcServerConfig::default());
    let mut stream = timed(tokio::net::TcpStream::connect(address))
        .await
        .unwrap();
    stream
        .write_all(&encode(Text {
            id: 999,
            code: ControlCode::Cancel.as_u32(),
            text: String::new(),
        }))
        .await
        .unwrap();
    stream
        .write_all(&encode(Text {
            id: 5,
            code: 0,
            text: "echo:still here".into(),
        }))
        .await
        .unwrap();
    let answer = read_message(&mut stream).await;
    assert_eq!(
        answer,
        Text {
            id: 5,
            code: 0,
            text: "still here".into()
        }
    );
    timed(shutdown.shutdown_and_wait()).await;
}

#[tokio::test]
async fn a_duplicate_in_flight_id_is_answered_cancel() {
    let (address, shutdown, _server) = serve(TestService::default(), RpcServerConfig::default());
    let mut stream = timed(tokio::net::TcpStream::connect(address))
        .await
        .unwrap();
    stream
        .write_all(&encode(Text {
            id: 7,
            code: 0,
            text: "sleep:100".into(),
        }))
        .await
        .unwrap();
    stream
        .write_all(&encode(Text {
            id: 7,
            code: 0,
            text: "echo:dup".into(),
        }))
        .await
        .unwrap();
    assert_eq!(
        read_message(&mut stream).await,
        Text {
            id: 7,
            code: ControlCode::Cancel.as_u32(),
            text: String::new()
        }
    );
    assert_eq!(
        read_message(&mut stream).await,
        Text {
            id: 7,
            code: 0,
            text: "slept".into()
        }
    );
    timed(shutdown.shutdown_and_wait()).await;
}

#[tokio::test]
async fn an_unknown_control_code_from_a_client_cancels_its_rpc() {
    let (address, shutdown, _server) = serve(TestService::default(), RpcServerConfig::default());
    let mut stream = timed(tokio::net::TcpStream::connect(address))
        .await
        .unwrap();
    stream
        .write_all(&encode(Text {
            id: 3,
            code: 0,
            text: "hang".into(),
        }))
        .await
        .unwrap();
    stream
        .write_all(&encode(Text {
            id: 3,
            code: 1234,
            text: String::new(),
        }))
        .await
        .unwrap();
    assert_eq!(
        read_message(&mut stream).await,
        Text {
            id: 3,
            code: ControlCode::Cancel.as_u32(),
            text: String::new()
        }
    );
    timed(shutdown.shutdown_and_wait()).await;
}
