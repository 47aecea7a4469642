//! Certificates made at test time with rcgen: a CA, and the server and client
//! certificates it issues, valid or expired.

use std::sync::Arc;

use protosocket::tls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use protosocket::tls::rustls::{ClientConfig, ServerConfig};
use protosocket::tls::{self, TlsConnector};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};

/// A certificate chain (the holder's certificate, then its CA's) and its key.
pub struct Identity {
    pub chain: Vec<CertificateDer<'static>>,
    pub key: PrivateKeyDer<'static>,
}

impl Clone for Identity {
    fn clone(&self) -> Self {
        Identity {
            chain: self.chain.clone(),
            key: self.key.clone_key(),
        }
    }
}

/// A certificate authority.
pub struct Ca {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

/// How long an issued certificate is valid.
pub enum Validity {
    Current,
    Expired,
}

impl Ca {
    pub fn new(name: &str) -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("ca params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        params.distinguished_name.push(DnType::CommonName, name);
        let key = KeyPair::generate().expect("ca key");
        Ca {
            issuer: CertifiedIssuer::self_signed(params, key).expect("ca certificate"),
        }
    }

    /// The CA's own certificate, to trust.
    pub fn root(&self) -> CertificateDer<'static> {
        self.issuer.der().clone()
    }

    /// A certificate for `names` (DNS names or IP addresses), for a server
    /// (`client` false) or a client.
    pub fn issue(&self, names: &[&str], client: bool, validity: Validity) -> Identity {
        let names: Vec<String> = names.iter().map(|name| name.to_string()).collect();
        let mut params = CertificateParams::new(names.clone()).expect("params");
        params
            .distinguished_name
            .push(DnType::CommonName, &names[0]);
        params.extended_key_usages = vec![if client {
            ExtendedKeyUsagePurpose::ClientAuth
        } else {
            ExtendedKeyUsagePurpose::ServerAuth
        }];
        if let Validity::Expired = validity {
            params.not_before = rcgen::date_time_ymd(2001, 1, 1);
            params.not_after = rcgen::date_time_ymd(2002, 1, 1);
        }
        let key = KeyPair::generate().expect("key");
        let certificate = params.signed_by(&key, &self.issuer).expect("certificate");
        Identity {
            chain: vec![certificate.der().clone(), self.root()],
            key: PrivateKeyDer::Pkcs8(key.serialize_der().into()),
        }
    }

    /// A server certificate for `localhost` and 127.0.0.1.
    pub fn server(&self) -> Identity {
        self.issue(&["localhost", "127.0.0.1"], false, Validity::Current)
    }
}

/// A server config presenting `server`, requiring client certificates from
/// `client_ca` when given.
pub fn server_config(server: Identity, client_ca: Option<&Ca>) -> Arc<ServerConfig> {
    let config = match client_ca {
        Some(ca) => tls::server_config_with_client_auth(server.chain, server.key, &[ca.root()]),
        None => tls::server_config(server.chain, server.key),
    };
    Arc::new(config.expect("server config"))
}

/// A client config trusting `ca`, presenting `client` when given.
pub fn client_config(ca: &Ca, client: Option<Identity>) -> Arc<ClientConfig> {
    let config = match client {
        Some(client) => tls::client_config_with_cert(&[ca.root()], client.chain, client.key),
        None => tls::client_config(&[ca.root()]),
    };
    Arc::new(config.expect("client config"))
}

/// A connector trusting `ca`, presenting `client` when given.
pub fn connector(ca: &Ca, client: Option<Identity>) -> TlsConnector {
    TlsConnector::new(client_config(ca, client))
}

/// Starts an rpc server for `service` over TLS with `server_config` on
/// 127.0.0.1:0.
pub fn serve_tls<S>(
    service: S,
    server_config: Arc<ServerConfig>,
    listener_config: tls::TlsListenerConfig,
    config: protosocket_rpc::server::RpcServerConfig,
) -> (std::net::SocketAddr, protosocket_server::ShutdownHandle)
where
    protosocket_rpc::server::RpcConnector<
        S,
        tls::ServerTlsStream<protosocket::EndpointStream>,
        protosocket_rpc::server::TokioSpawn,
    >: protosocket_server::ServerConnector<
        Stream = tls::ServerTlsStream<protosocket::EndpointStream>,
    >,
    protosocket_rpc::server::RpcServer<
        tls::TlsListener<protosocket::EndpointListener>,
        S,
        protosocket_rpc::server::TokioSpawn,
    >: std::future::Future<Output = ()> + Send + 'static,
{
    let endpoint = protosocket::Endpoint::Tcp(super::any_port());
    let listener = endpoint
        .listen(config.get_server_config().get_socket_options())
        .expect("bind");
    let address = listener
        .local_endpoint()
        .expect("local endpoint")
        .tcp_address()
        .expect("tcp");
    let listener = tls::TlsListener::with_config(listener, server_config, listener_config);
    let server = protosocket_rpc::server::RpcServer::new(
        listener,
        service,
        config,
        protosocket_rpc::server::TokioSpawn,
    );
    let shutdown = server.shutdown_handle();
    tokio::spawn(server);
    (address, shutdown)
}
