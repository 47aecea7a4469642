//! TLS settings from PEM files, for `serve`, `load` and `health`: certificate
//! chains and private keys read with rustls-pki-types' `PemObject`, and the
//! client flags every subcommand that connects shares.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use protosocket::tls::rustls::pki_types::pem::{self, PemObject};
use protosocket::tls::rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use protosocket::tls::{self, TlsConnector};

/// A PEM file that could not be used, and the file.
#[derive(Debug)]
pub(crate) struct PemError {
    path: PathBuf,
    error: pem::Error,
}

impl fmt::Display for PemError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.error)
    }
}

impl std::error::Error for PemError {}

fn named(path: &Path) -> impl FnOnce(pem::Error) -> PemError + '_ {
    move |error| PemError {
        path: path.to_owned(),
        error,
    }
}

/// Every certificate in the PEM file at `path`, in order (a chain: the
/// holder's own certificate first). A file without one is an error.
pub(crate) fn certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, PemError> {
    let chain = CertificateDer::pem_file_iter(path)
        .map_err(named(path))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(named(path))?;
    if chain.is_empty() {
        return Err(named(path)(pem::Error::NoItemsFound));
    }
    Ok(chain)
}

/// The first private key (PKCS#8, PKCS#1 or SEC1) in the PEM file at `path`.
pub(crate) fn private_key(path: &Path) -> Result<PrivateKeyDer<'static>, PemError> {
    PrivateKeyDer::from_pem_file(path).map_err(named(path))
}

/// How a client connects: plain TCP, or TLS trusting `--ca` (with a client
/// certificate when the server asks for one).
#[derive(Debug, clap::Args)]
pub(crate) struct ClientTls {
    /// PEM file of the CA that issued the servers' certificates: connect over
    /// TLS, checking each server's certificate against the endpoint's host name.
    #[arg(long)]
    ca: Option<PathBuf>,
    /// PEM file of this client's certificate chain, for servers that require
    /// client certificates (mutual TLS).
    #[arg(long, requires_all = ["ca", "key"])]
    cert: Option<PathBuf>,
    /// PEM file of the client certificate's private key.
    #[arg(long, requires = "cert")]
    key: Option<PathBuf>,
    /// The name to check every server's certificate against, instead of each
    /// endpoint's host name.
    #[arg(long, requires = "ca")]
    server_name: Option<String>,
}

impl ClientTls {
    /// The TLS connector these flags ask for; `None` for plain TCP.
    pub(crate) fn connector(&self) -> Result<Option<TlsConnector>, Box<dyn std::error::Error>> {
        let Some(ca) = &self.ca else {
            return Ok(None);
        };
        let roots = certificates(ca)?;
        let config = match (&self.cert, &self.key) {
            (Some(cert), Some(key)) => {
                tls::client_config_with_cert(&roots, certificates(cert)?, private_key(key)?)?
            }
            _ => tls::client_config(&roots)?,
        };
        let mut connector = TlsConnector::new(Arc::new(config));
        if let Some(name) = &self.server_name {
            let name = ServerName::try_from(name.clone())
                .map_err(|error| format!("--server-name {name}: {error}"))?;
            connector = connector.server_name(name);
        }
        Ok(Some(connector))
    }
}
