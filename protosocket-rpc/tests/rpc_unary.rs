//! Unary calls: one request, one response (TCP and Unix).
mod support;

use protosocket_rpc::{Configuration, RpcClient, RpcServer, RpcServerConfig};
use support::*;

#[tokio::test]
async fn unary_call_gets_its_response() {
    let (address, shutdown, _server) = serve(TestService::default(), RpcServerConfig::default());
    let client = client(address, &Configuration::default()).await;
    for i in 0..10 {
        let response = timed(client.send_unary(Text::new(format!("echo:{i}"))))
            .await
            .unwrap();
        assert_eq!(response.text, i.to_string());
        assert_ne!(response.id, 0, "ids are assigned by the client");
    }
    timed(shutdown.shutdown_and_wait()).await;
}

#[cfg(unix)]
#[tokio::test]
async fn unary_call_over_a_unix_socket() {
    let path = std::env::temp_dir().join(format!("protosocket-rpc-{}.sock", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let server =
        RpcServer::bind_unix(&path, TestService::default(), RpcServerConfig::default()).unwrap();
    let shutdown = server.shutdown_handle();
    tokio::spawn(server);
    let (client, connection) = timed(RpcClient::connect_unix(
        &path,
        codec(),
        &Configuration::default(),
    ))
    .await
    .unwrap();
    tokio::spawn(connection);
    let response = timed(client.send_unary(Text::new("echo:unix")))
        .await
        .unwrap();
    assert_eq!(response.text, "unix");
    timed(shutdown.shutdown_and_wait()).await;
    let _ = std::fs::remove_file(&path);
}

#[test]
fn client_is_send_sync_clone_and_completions_are_send() {
    fn send_sync_clone<T: Send + Sync + Clone>() {}
    fn send<T: Send>() {}
    send_sync_clone::<RpcClient<Text, Text>>();
    send::<protosocket_rpc::UnaryCompletion<Text, Text>>();
    send::<protosocket_rpc::StreamingCompletion<Text, Text>>();
}
