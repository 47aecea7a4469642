//! Unary calls: one request, one response (TCP and Unix).
mod support;

use protosocket::{Endpoint, EndpointStream};
use protosocket_rpc::client::{RpcClient, RpcClientConfig};
use protosocket_rpc::server::{RpcServer, RpcServerConfig};
use support::*;

#[tokio::test]
async fn unary_call_gets_its_response() {
    let (address, shutdown, _server) = serve(TestService::default(), RpcServerConfig::default());
    let client = client(address, &RpcClientConfig::default()).await;
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
        RpcServer::bind(&path, TestService::default(), RpcServerConfig::default()).unwrap();
    let shutdown = server.shutdown_handle();
    tokio::spawn(server);
    let client = timed(RpcClient::connect(
        &path,
        codec(),
        &RpcClientConfig::default(),
    ))
    .await
    .unwrap();
    let response = timed(client.send_unary(Text::new("echo:unix")))
        .await
        .unwrap();
    assert_eq!(response.text, "unix");
    timed(shutdown.shutdown_and_wait()).await;
    let _ = std::fs::remove_file(&path);
}

/// `connect` takes either kind of endpoint, here parsed from text as a user's
/// command line would give it.
#[tokio::test]
async fn connect_takes_tcp_and_unix_endpoints_from_text() {
    let (address, shutdown, _server) = serve(TestService::default(), RpcServerConfig::default());
    let mut endpoints = vec![address.to_string()];
    #[cfg(unix)]
    let path = std::env::temp_dir().join(format!(
        "protosocket-rpc-connect-{}.sock",
        std::process::id()
    ));
    #[cfg(unix)]
    let unix_shutdown = {
        let _ = std::fs::remove_file(&path);
        let server =
            RpcServer::bind(&path, TestService::default(), RpcServerConfig::default()).unwrap();
        let shutdown = server.shutdown_handle();
        tokio::spawn(server);
        endpoints.push(format!("unix:{}", path.display()));
        shutdown
    };
    for text in endpoints {
        let endpoint: Endpoint = text.parse().unwrap();
        assert_eq!(endpoint.to_string(), text, "display round-trips");
        let config = RpcClientConfig::default();
        let stream = timed(endpoint.connect(config.get_socket_options()))
            .await
            .unwrap();
        let (client, connection) = RpcClient::over_stream(stream, codec(), &config);
        let stream = connection.connection().map(|c| c.stream());
        match (&endpoint, stream) {
            (Endpoint::Tcp(_), Some(EndpointStream::Tcp(_))) => {}
            #[cfg(unix)]
            (Endpoint::Unix(_), Some(EndpointStream::Unix(_))) => {}
            (endpoint, stream) => panic!("{endpoint} connected as {stream:?}"),
        }
        tokio::spawn(connection);
        let response = timed(client.send_unary(Text::new("echo:either")))
            .await
            .unwrap();
        assert_eq!(response.text, "either", "over {text}");
    }
    timed(shutdown.shutdown_and_wait()).await;
    #[cfg(unix)]
    {
        timed(unix_shutdown.shutdown_and_wait()).await;
        let _ = std::fs::remove_file(&path);
    }
}

#[tokio::test]
async fn connect_reports_a_refused_endpoint_as_io() {
    // A port that was free a moment ago: bind, note it, close.
    let address = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let outcome = timed(RpcClient::<Text, Text>::connect(
        address,
        codec(),
        &RpcClientConfig::default(),
    ))
    .await;
    assert!(
        matches!(outcome, Err(protosocket_rpc::Error::Io(_))),
        "{outcome:?}"
    );
}

#[test]
fn client_is_send_sync_clone_and_completions_are_send() {
    fn send_sync_clone<T: Send + Sync + Clone>() {}
    fn send<T: Send>() {}
    send_sync_clone::<RpcClient<Text, Text>>();
    send::<protosocket_rpc::client::UnaryCompletion<Text, Text>>();
    send::<protosocket_rpc::client::StreamingCompletion<Text, Text>>();
}
