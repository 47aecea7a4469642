//! Peers that break the rules: unknown control codes, cancels for unknown ids,
//! duplicate in-flight ids.
mod support;

use protosocket_rpc::client::RpcClientConfig;
use protosocket_rpc::server::RpcServerConfig;
use protosocket_rpc::ControlCode;
use support::raw::{raw, read_message, send};
use support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

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
        send(&mut stream, request.id, 0, "fine").await;
        let _ = stream.read_u8().await;
    });
    let client = client(address, &RpcClientConfig::default()).await;
    let outcome = timed(client.send_unary(Text::new("anything"))).await;
    assert!(
        matches!(&outcome, Err(error) if error.is_cancelled()),
        "{outcome:?}"
    );
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
    let mut stream = raw(address).await;
    send(&mut stream, 999, ControlCode::Cancel.as_u32(), "").await;
    send(&mut stream, 5, 0, "echo:still here").await;
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
    let mut stream = raw(address).await;
    send(&mut stream, 7, 0, "sleep:100").await;
    send(&mut stream, 7, 0, "echo:dup").await;
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
    let mut stream = raw(address).await;
    send(&mut stream, 3, 0, "hang").await;
    send(&mut stream, 3, 1234, "").await;
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
