//! TLS for the `protosocket-tls` and `tonic-tls` rows: a CA and a server
//! certificate for `localhost` and 127.0.0.1, made with rcgen when the bench
//! starts. A server in a child process gets the same certificate (and the
//! client's CA) through the environment.

use std::process::Command;
use std::sync::{Arc, OnceLock};

use protosocket::tls::rustls::pki_types::pem::PemObject;
use protosocket::tls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use protosocket::tls::{self, TlsConnector};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};

const CA_VAR: &str = "PROTOSOCKET_BENCH_TLS_CA";
const CERT_VAR: &str = "PROTOSOCKET_BENCH_TLS_CERT";
const KEY_VAR: &str = "PROTOSOCKET_BENCH_TLS_KEY";

/// The name the clients check the server's certificate against.
const SERVER_NAME: &str = "localhost";

/// The bench's certificates, PEM-encoded.
pub(crate) struct Pki {
    ca: String,
    cert: String,
    key: String,
}

/// This process's certificates: from the environment in a child server, made
/// now otherwise.
pub(crate) fn pki() -> &'static Pki {
    static PKI: OnceLock<Pki> = OnceLock::new();
    PKI.get_or_init(|| from_env().unwrap_or_else(generate))
}

fn from_env() -> Option<Pki> {
    Some(Pki {
        ca: std::env::var(CA_VAR).ok()?,
        cert: std::env::var(CERT_VAR).ok()?,
        key: std::env::var(KEY_VAR).ok()?,
    })
}

fn generate() -> Pki {
    let mut ca = CertificateParams::new(Vec::<String>::new()).expect("ca params");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate().expect("ca key"))
        .expect("ca certificate");
    let key = KeyPair::generate().expect("server key");
    let cert = CertificateParams::new(vec![SERVER_NAME.to_owned(), "127.0.0.1".to_owned()])
        .expect("server params")
        .signed_by(&key, &ca)
        .expect("server certificate");
    Pki {
        ca: ca.pem(),
        cert: cert.pem(),
        key: key.serialize_pem(),
    }
}

/// Hands this process's certificates to a child server.
pub(crate) fn export(command: &mut Command) {
    let pki = pki();
    command
        .env(CA_VAR, &pki.ca)
        .env(CERT_VAR, &pki.cert)
        .env(KEY_VAR, &pki.key);
}

fn ca_der() -> CertificateDer<'static> {
    CertificateDer::from_pem_slice(pki().ca.as_bytes()).expect("ca pem")
}

/// The protosocket server's rustls config.
pub(crate) fn protosocket_server_config() -> Arc<tls::rustls::ServerConfig> {
    let pki = pki();
    let chain = vec![CertificateDer::from_pem_slice(pki.cert.as_bytes()).expect("cert pem")];
    let key = PrivateKeyDer::from_pem_slice(pki.key.as_bytes()).expect("key pem");
    Arc::new(tls::server_config(chain, key).expect("server config"))
}

/// The protosocket client's connector, trusting the bench's CA.
pub(crate) fn protosocket_connector(
    options: protosocket::SocketOptions,
) -> TlsConnector<protosocket::EndpointConnector> {
    let config = tls::client_config(&[ca_der()]).expect("client config");
    TlsConnector::over(
        protosocket::EndpointConnector::new(options),
        Arc::new(config),
    )
    .server_name(SERVER_NAME.try_into().expect("a dns name"))
}

/// tonic's server TLS settings.
pub(crate) fn tonic_server_config() -> tonic::transport::ServerTlsConfig {
    let pki = pki();
    tonic::transport::ServerTlsConfig::new()
        .identity(tonic::transport::Identity::from_pem(&pki.cert, &pki.key))
}

/// tonic's client TLS settings, trusting the bench's CA.
pub(crate) fn tonic_client_config() -> tonic::transport::ClientTlsConfig {
    tonic::transport::ClientTlsConfig::new()
        .ca_certificate(tonic::transport::Certificate::from_pem(&pki().ca))
        .domain_name(SERVER_NAME)
}
