//! TLS handshakes: a call over TLS by address, by host name and through a pool;
//! a server certificate from an unknown CA, for another name, or expired, is
//! refused; a peer that never finishes its handshake holds up nobody.

mod support;

use std::time::Duration;

use protosocket::tls::TlsListenerConfig;
use protosocket::Endpoint;
use protosocket_rpc::client::{PoolConfig, RpcClient, RpcClientConfig, RpcPool};
use protosocket_rpc::server::RpcServerConfig;
use protosocket_rpc::Error;
use support::tls::{connector, serve_tls, server_config, Ca, Validity};
use support::{codec, timed, TestService, Text};
use tokio::io::AsyncReadExt;

fn serve(ca: &Ca) -> (std::net::SocketAddr, protosocket_server::ShutdownHandle) {
    serve_tls(
        TestService::default(),
        server_config(ca.server(), None),
        TlsListenerConfig::default(),
        RpcServerConfig::default(),
    )
}

#[tokio::test]
async fn a_call_over_tls_by_address_by_host_name_and_through_a_pool() {
    let ca = Ca::new("test ca");
    let (address, shutdown) = serve(&ca);
    let connector = connector(&ca, None);
    let config = RpcClientConfig::default();

    let named: Endpoint = format!("localhost:{}", address.port()).parse().unwrap();
    for endpoint in [Endpoint::Tcp(address), named.clone()] {
        let client: RpcClient<Text, Text> = timed(RpcClient::connect_with(
            &connector,
            endpoint.clone(),
            codec(),
            &config,
        ))
        .await
        .unwrap_or_else(|error| panic!("tls connect to {endpoint}: {error}"));
        let response = timed(client.send_unary(Text::new(format!("echo:{endpoint}")))).await;
        assert_eq!(response.expect("answered").text, endpoint.to_string());
    }

    let pool = RpcPool::with_connector(
        [named],
        connector.clone(),
        codec,
        config,
        PoolConfig::default().connections(2),
    );
    for i in 0..4 {
        let response = timed(pool.send_unary(Text::new(format!("echo:pool {i}")))).await;
        assert_eq!(response.expect("answered").text, format!("pool {i}"));
    }
    timed(shutdown.shutdown_and_wait()).await;
}

/// What connecting with `connector` to `address` does: the handshake's error.
async fn refused(
    connector: &protosocket::tls::TlsConnector,
    address: impl Into<Endpoint>,
) -> String {
    let outcome: Result<RpcClient<Text, Text>, Error> = timed(RpcClient::connect_with(
        connector,
        address,
        codec(),
        &RpcClientConfig::default(),
    ))
    .await;
    match outcome {
        Err(Error::Io(error)) => error.to_string(),
        other => panic!("expected a refused handshake, got {other:?}"),
    }
}

#[tokio::test]
async fn a_server_certificate_from_another_ca_is_refused() {
    let (address, shutdown) = serve(&Ca::new("server's ca"));
    let error = refused(&connector(&Ca::new("another ca"), None), address).await;
    assert!(error.contains("UnknownIssuer"), "{error}");
    timed(shutdown.shutdown_and_wait()).await;
}

#[tokio::test]
async fn a_server_certificate_for_another_name_is_refused() {
    let ca = Ca::new("test ca");
    let (address, shutdown) = serve(&ca);
    let connector =
        connector(&ca, None).server_name("elsewhere.example".try_into().expect("a dns name"));
    let error = refused(&connector, address).await;
    assert!(error.contains("not valid for name"), "{error}");
    timed(shutdown.shutdown_and_wait()).await;
}

#[tokio::test]
async fn an_expired_server_certificate_is_refused() {
    let ca = Ca::new("test ca");
    let expired = ca.issue(&["localhost", "127.0.0.1"], false, Validity::Expired);
    let (address, shutdown) = serve_tls(
        TestService::default(),
        server_config(expired, None),
        TlsListenerConfig::default(),
        RpcServerConfig::default(),
    );
    let error = refused(&connector(&ca, None), address).await;
    assert!(error.contains("certificate expired"), "{error}");
    timed(shutdown.shutdown_and_wait()).await;
}

#[tokio::test]
async fn a_silent_peer_holds_up_no_other_handshake_and_is_dropped_after_the_timeout() {
    let ca = Ca::new("test ca");
    let (address, shutdown) = serve_tls(
        TestService::default(),
        server_config(ca.server(), None),
        TlsListenerConfig::default().handshake_timeout(Duration::from_millis(300)),
        RpcServerConfig::default(),
    );
    // Connects and never says a word: its handshake waits for a ClientHello.
    let mut silent = timed(tokio::net::TcpStream::connect(address))
        .await
        .expect("tcp connect");

    let client: RpcClient<Text, Text> = timed(RpcClient::connect_with(
        &connector(&ca, None),
        address,
        codec(),
        &RpcClientConfig::default(),
    ))
    .await
    .expect("a handshake beside the silent one");
    let response = timed(client.send_unary(Text::new("echo:not held up"))).await;
    assert_eq!(response.expect("answered").text, "not held up");

    // Past the handshake timeout the server drops the silent peer.
    let read = timed(silent.read(&mut [0; 16])).await;
    assert!(
        matches!(read, Ok(0) | Err(_)),
        "the silent peer's connection is closed, got {read:?}"
    );
    // A failed handshake is not an accept error: the server still serves.
    let response = timed(client.send_unary(Text::new("echo:still serving"))).await;
    assert_eq!(response.expect("answered").text, "still serving");
    timed(shutdown.shutdown_and_wait()).await;
}
