//! Mutual TLS end to end: a server that requires client certificates and
//! answers each call with the name the client's certificate proves, an
//! `RpcClient` and an `RpcPool` connecting by host name. The certificates are
//! made here with rcgen; a deployment loads its own PEM files instead (see
//! `rustls::pki_types::pem::PemObject`).
//!
//! ```text
//! cargo run -p protosocket-rpc --example tls
//! ```

use std::future::{ready, Ready};
use std::sync::Arc;

use protosocket::tls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use protosocket::tls::{self, TlsConnector, TlsListener};
use protosocket::{Endpoint, SocketOptions};
use protosocket_prost::ProstCodec;
use protosocket_rpc::client::{PoolConfig, RpcClient, RpcClientConfig, RpcPool};
use protosocket_rpc::server::{
    ConnectionInfo, ConnectionService, Rpc, RpcServer, RpcServerConfig, SocketService, TokioSpawn,
};

/// One message type both ways.
#[derive(Clone, PartialEq, prost::Message, protosocket_rpc::Message)]
struct Text {
    #[prost(uint64, tag = "1")]
    #[rpc(id)]
    id: u64,
    #[prost(uint32, tag = "2")]
    #[rpc(code)]
    code: u32,
    #[prost(string, tag = "3")]
    text: String,
}

/// Answers every call of one connection with its client's verified name, read
/// once when the connection starts.
struct WhoAmI {
    client: String,
}

impl ConnectionService for WhoAmI {
    type Request = Text;
    type Response = Text;
    type Unary = Ready<Text>;
    type Streaming = futures::stream::BoxStream<'static, Text>;

    fn new_rpc(&mut self, request: Text) -> Rpc<Self::Unary, Self::Streaming> {
        let text = format!("{}, you are {}", request.text, self.client);
        Rpc::Unary(ready(Text { text, ..request }))
    }
}

struct WhoAmIService;

impl SocketService for WhoAmIService {
    type Codec = ProstCodec<Text, Text>;
    type ConnectionService = WhoAmI;

    fn codec(&self) -> Self::Codec {
        protosocket_prost::codec()
    }

    fn new_connection_service(&self, connection: &ConnectionInfo<'_>) -> WhoAmI {
        // The listener verified the client's certificate against the client CA.
        let client = connection
            .peer_identity()
            .and_then(|identity| identity.dns_names().first().cloned())
            .unwrap_or_else(|| "anonymous".into());
        WhoAmI { client }
    }
}

/// A certificate for `name` issued by `ca`, with its key.
fn issue(
    ca: &rcgen::CertifiedIssuer<'static, rcgen::KeyPair>,
    name: &str,
) -> (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>) {
    let key = rcgen::KeyPair::generate().expect("key");
    let certificate = rcgen::CertificateParams::new(vec![name.to_owned()])
        .expect("params")
        .signed_by(&key, ca)
        .expect("certificate");
    let chain = vec![certificate.der().clone()];
    (chain, PrivateKeyDer::Pkcs8(key.serialize_der().into()))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new())?;
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca = rcgen::CertifiedIssuer::self_signed(params, rcgen::KeyPair::generate()?)?;
    let ca_root = ca.der().clone();

    // Server: its certificate for `localhost`; clients must present one from `ca`.
    let (chain, key) = issue(&ca, "localhost");
    let server_tls =
        tls::server_config_with_client_auth(chain, key, std::slice::from_ref(&ca_root))?;
    let listener = "127.0.0.1:0"
        .parse::<Endpoint>()?
        .listen(&SocketOptions::with_dead_peer_detection())?;
    let port = listener
        .local_endpoint()?
        .tcp_address()
        .map_or(0, |a| a.port());
    let listener = TlsListener::new(listener, Arc::new(server_tls));
    let server = RpcServer::new(
        listener,
        WhoAmIService,
        RpcServerConfig::default(),
        TokioSpawn,
    );
    let shutdown = server.shutdown_handle();
    tokio::spawn(server);

    // Client: trusts `ca`, proves itself as `billing.internal`; the server's
    // certificate is checked against the endpoint's host name, `localhost`.
    let (chain, key) = issue(&ca, "billing.internal");
    let client_tls = tls::client_config_with_cert(&[ca_root], chain, key)?;
    let connector = TlsConnector::new(Arc::new(client_tls));
    let endpoint: Endpoint = format!("localhost:{port}").parse()?;

    let client: RpcClient<Text, Text> = RpcClient::connect_with(
        &connector,
        endpoint.clone(),
        protosocket_prost::codec(),
        &RpcClientConfig::default(),
    )
    .await?;
    let hello = Text {
        text: "hello".into(),
        ..Default::default()
    };
    let answer = client.send_unary(hello.clone()).await?;
    assert_eq!(answer.text, "hello, you are billing.internal");
    println!("client: {}", answer.text);

    // A pool takes the connector too; each reconnect resolves `localhost` again.
    let pool: RpcPool<Text, Text, _, _> = RpcPool::with_connector(
        [endpoint],
        connector,
        protosocket_prost::codec,
        RpcClientConfig::default(),
        PoolConfig::default().connections(2),
    );
    let answer = pool.send_unary(hello).await?;
    println!("pool: {}", answer.text);

    shutdown.shutdown_and_wait().await;
    Ok(())
}
