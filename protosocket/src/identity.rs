//! [`PeerIdentity`]: who a peer proved to be, when its stream can tell.

use std::fmt;

/// The verified identity of a peer: the certificate chain it presented (and
/// that the listener verified) on a mutual-TLS connection, and the DNS names its
/// certificate is issued for.
///
/// A listener that authenticates peers puts it in [`Accepted`](crate::Accepted);
/// plain TCP and Unix listeners leave it out, at no cost.
///
/// ```
/// use protosocket::PeerIdentity;
///
/// let identity = PeerIdentity::new(vec![vec![0x30, 0x00]], vec!["client.internal".into()]);
/// assert!(identity.has_dns_name("client.internal"));
/// assert_eq!(identity.end_entity(), Some(&[0x30, 0x00][..]));
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct PeerIdentity {
    certificates: Vec<Vec<u8>>,
    dns_names: Vec<String>,
}

impl PeerIdentity {
    /// An identity from a verified chain of DER certificates (the peer's own
    /// first) and the DNS names of the peer's certificate, for listeners that
    /// verify peers themselves.
    #[must_use]
    pub fn new(certificates: Vec<Vec<u8>>, dns_names: Vec<String>) -> Self {
        Self {
            certificates,
            dns_names,
        }
    }

    /// The identity a verified chain of certificates proves (the peer's own
    /// first): the chain, and the DNS names of the subject alternative names of
    /// the peer's certificate.
    #[cfg(feature = "tls")]
    #[must_use]
    pub fn from_certificates(chain: &[crate::tls::rustls::pki_types::CertificateDer<'_>]) -> Self {
        let dns_names = chain
            .first()
            .and_then(|leaf| webpki::EndEntityCert::try_from(leaf).ok())
            .map(|leaf| leaf.valid_dns_names().map(str::to_owned).collect())
            .unwrap_or_default();
        Self {
            certificates: chain.iter().map(|cert| cert.as_ref().to_vec()).collect(),
            dns_names,
        }
    }

    /// The peer's certificate chain, DER-encoded, the peer's own first.
    #[must_use]
    pub fn certificates(&self) -> &[Vec<u8>] {
        &self.certificates
    }

    /// The peer's own certificate, DER-encoded.
    #[must_use]
    pub fn end_entity(&self) -> Option<&[u8]> {
        self.certificates.first().map(Vec::as_slice)
    }

    /// The DNS names (subject alternative names) of the peer's certificate.
    #[must_use]
    pub fn dns_names(&self) -> &[String] {
        &self.dns_names
    }

    /// Whether the peer's certificate names `name` (compared ignoring ASCII
    /// case; a wildcard name matches only itself).
    #[must_use]
    pub fn has_dns_name(&self, name: &str) -> bool {
        self.dns_names
            .iter()
            .any(|dns_name| dns_name.eq_ignore_ascii_case(name))
    }
}

impl fmt::Debug for PeerIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PeerIdentity")
            .field("certificates", &self.certificates.len())
            .field("dns_names", &self.dns_names)
            .finish()
    }
}
