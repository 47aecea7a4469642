//! Mutual TLS: a server that requires client certificates refuses a client
//! without one or with one from another CA, and its service sees the verified
//! identity of each client; a plain TCP connection has none.

mod support;

use std::sync::{Arc, Mutex};

use protosocket::tls::TlsListenerConfig;
use protosocket::PeerIdentity;
use protosocket_rpc::client::{RpcClient, RpcClientConfig};
use protosocket_rpc::server::{ConnectionInfo, RpcServerConfig, SocketService};
use support::tls::{connector, serve_tls, server_config, Ca, Identity, Validity};
use support::{codec, timed, TestService, Text, TextCodec};

/// Records the peer identity of every connection it is given.
#[derive(Clone, Default)]
struct IdentityService {
    seen: Arc<Mutex<Vec<Option<Arc<PeerIdentity>>>>>,
}

impl IdentityService {
    fn seen(&self) -> Vec<Option<Arc<PeerIdentity>>> {
        self.seen.lock().expect("lock").clone()
    }
}

impl SocketService for IdentityService {
    type Codec = TextCodec;
    type ConnectionService = TestService;

    fn codec(&self) -> TextCodec {
        codec()
    }

    fn new_connection_service(&self, connection: &ConnectionInfo<'_>) -> TestService {
        self.seen
            .lock()
            .expect("lock")
            .push(connection.peer_identity().cloned());
        TestService::default()
    }
}

/// A server requiring client certificates from `client_ca`.
fn serve(
    ca: &Ca,
    client_ca: &Ca,
) -> (
    IdentityService,
    std::net::SocketAddr,
    protosocket_server::ShutdownHandle,
) {
    let service = IdentityService::default();
    let (address, shutdown) = serve_tls(
        service.clone(),
        server_config(ca.server(), Some(client_ca)),
        TlsListenerConfig::default(),
        RpcServerConfig::default(),
    );
    (service, address, shutdown)
}

/// Connects with `client` (or no certificate) and makes a call: the error, if
/// the handshake or the call failed. With TLS 1.3 the client may finish its
/// side of the handshake before the server refuses it; the refusal then ends
/// the connection and the call.
async fn call_with(
    ca: &Ca,
    client: Option<Identity>,
    address: std::net::SocketAddr,
) -> Result<Text, protosocket_rpc::Error> {
    let client: RpcClient<Text, Text> = timed(RpcClient::connect_with(
        &connector(ca, client),
        address,
        codec(),
        &RpcClientConfig::default(),
    ))
    .await?;
    timed(client.send_unary(Text::new("echo:who am i"))).await
}

/// A server requiring certificates from its CA refuses the client that
/// `client` makes from that CA: no call is served, and the service never sees
/// the connection.
async fn assert_refused(client: impl FnOnce(&Ca) -> Option<Identity>) {
    let ca = Ca::new("test ca");
    let (service, address, shutdown) = serve(&ca, &ca);
    let outcome = call_with(&ca, client(&ca), address).await;
    assert!(outcome.is_err(), "served: {outcome:?}");
    assert!(
        service.seen().is_empty(),
        "the service never saw the client"
    );
    timed(shutdown.shutdown_and_wait()).await;
}

#[tokio::test]
async fn a_client_without_a_certificate_is_refused() {
    assert_refused(|_| None).await;
}

#[tokio::test]
async fn a_client_certificate_from_another_ca_is_refused() {
    assert_refused(|_| {
        let stranger = Ca::new("another ca");
        Some(stranger.issue(&["client.internal"], true, Validity::Current))
    })
    .await;
}

#[tokio::test]
async fn an_expired_client_certificate_is_refused() {
    assert_refused(|ca| Some(ca.issue(&["client.internal"], true, Validity::Expired))).await;
}

#[tokio::test]
async fn the_verified_client_identity_reaches_the_service() {
    let ca = Ca::new("test ca");
    let client_ca = Ca::new("client ca");
    let (service, address, shutdown) = serve(&ca, &client_ca);
    let client = client_ca.issue(&["client.internal"], true, Validity::Current);
    let response = call_with(&ca, Some(client.clone()), address).await;
    assert_eq!(response.expect("served").text, "who am i");

    let seen = service.seen();
    assert_eq!(seen.len(), 1, "one connection");
    let identity = seen[0].as_ref().expect("a verified identity");
    assert_eq!(identity.dns_names(), ["client.internal".to_string()]);
    assert!(identity.has_dns_name("CLIENT.internal"));
    assert_eq!(identity.end_entity(), Some(client.chain[0].as_ref()));
    assert_eq!(identity.certificates().len(), client.chain.len());
    timed(shutdown.shutdown_and_wait()).await;
}

#[tokio::test]
async fn tls_without_client_certificates_and_plain_tcp_have_no_identity() {
    let ca = Ca::new("test ca");
    let service = IdentityService::default();
    let (tls_address, tls_shutdown) = serve_tls(
        service.clone(),
        server_config(ca.server(), None),
        TlsListenerConfig::default(),
        RpcServerConfig::default(),
    );
    let response = call_with(&ca, None, tls_address).await;
    assert_eq!(response.expect("served").text, "who am i");

    let (tcp_address, tcp_shutdown, _) = support::serve_on(
        support::any_port(),
        service.clone(),
        RpcServerConfig::default(),
    );
    let client = support::client(tcp_address, &RpcClientConfig::default()).await;
    let response = timed(client.send_unary(Text::new("echo:plain"))).await;
    assert_eq!(response.expect("served").text, "plain");

    let seen = service.seen();
    assert_eq!(seen.len(), 2);
    assert!(seen.iter().all(Option::is_none), "{seen:?}");
    timed(tls_shutdown.shutdown_and_wait()).await;
    timed(tcp_shutdown.shutdown_and_wait()).await;
}
