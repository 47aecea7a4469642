//! Authenticate once per connection: a hook that checks the first request's
//! credentials and returns the connection's auth context, which every later
//! call of the connection reads from its [`CallContext`](crate::server::CallContext).

use std::any::Any;
use std::fmt;
use std::sync::Arc;

use protosocket::{PeerAddress, PeerIdentity};

use crate::metadata::Metadata;
use crate::status::Status;

/// What a connection proved about its client: the value an [`AuthHook`]
/// returned, shared by every call of the connection. Read it typed with
/// [`CallContext::auth`](crate::server::CallContext::auth).
pub type AuthContext = Arc<dyn Any + Send + Sync>;

/// What an [`AuthHook`] is shown: who the peer is (its address, and on a
/// mutual-TLS connection its verified identity), and the metadata of the
/// connection's first request (where a client puts its
/// [`credentials`](crate::client::RpcClientConfig::credentials)).
#[derive(Debug)]
pub struct AuthRequest<'a> {
    peer: &'a PeerAddress,
    identity: Option<&'a Arc<PeerIdentity>>,
    metadata: &'a Metadata,
}

impl<'a> AuthRequest<'a> {
    /// What a hook sees of a connection from `peer` (with `identity`, a
    /// mutual-TLS client's) whose first request carries `metadata` (for
    /// driving a hook by hand, in a test say).
    #[must_use]
    pub fn new(
        peer: &'a PeerAddress,
        identity: Option<&'a Arc<PeerIdentity>>,
        metadata: &'a Metadata,
    ) -> Self {
        Self {
            peer,
            identity,
            metadata,
        }
    }

    /// The peer's verified identity: on a mutual-TLS connection, the client
    /// certificate's chain and names; `None` otherwise.
    #[must_use]
    pub fn peer_identity(&self) -> Option<&'a Arc<PeerIdentity>> {
        self.identity
    }

    /// The peer's address.
    #[must_use]
    pub fn peer(&self) -> &'a PeerAddress {
        self.peer
    }

    /// The first request's metadata: the client's credentials.
    #[must_use]
    pub fn metadata(&self) -> &'a Metadata {
        self.metadata
    }
}

type Check = dyn Fn(&AuthRequest<'_>) -> Result<AuthContext, Status> + Send + Sync;

/// The server's per-connection authentication (set with
/// [`RpcServerConfig::auth_hook`](crate::server::RpcServerConfig::auth_hook)).
///
/// It runs once per connection, on its first request, before any call runs.
/// `Ok(context)` authenticates the connection: the request and every later
/// one run with `context` in their [`CallContext`](crate::server::CallContext).
/// `Err(status)` answers the first request with that status (use
/// [`Status::unauthenticated`]), runs nothing, and closes the connection once
/// the answer is sent. Health checks ([`health`](crate::health)) are answered
/// without it, so a load balancer needs no credentials.
///
/// ```
/// use protosocket_rpc::server::{AuthHook, AuthRequest};
/// use protosocket_rpc::{Metadata, Status};
///
/// /// Who the client is.
/// struct User(String);
///
/// let hook = AuthHook::new(|request: &AuthRequest<'_>| {
///     match request.metadata().text("token") {
///         Some("secret") => Ok(User("alice".into())),
///         _ => Err(Status::unauthenticated("bad token")),
///     }
/// });
/// # let peer = protosocket::PeerAddress::Unix(None);
/// let mut credentials = Metadata::new();
/// credentials.insert("token", "secret");
/// let context = hook.check(&AuthRequest::new(&peer, None, &credentials)).unwrap();
/// assert_eq!(context.downcast_ref::<User>().unwrap().0, "alice");
/// ```
#[derive(Clone)]
pub struct AuthHook {
    check: Arc<Check>,
}

impl AuthHook {
    /// A hook that decides in place: `Ok(value)` makes `value` the
    /// connection's auth context.
    pub fn new<T, F>(check: F) -> Self
    where
        T: Any + Send + Sync,
        F: Fn(&AuthRequest<'_>) -> Result<T, Status> + Send + Sync + 'static,
    {
        Self {
            check: Arc::new(move |request| {
                check(request).map(|value| Arc::new(value) as AuthContext)
            }),
        }
    }

    /// Runs the hook.
    ///
    /// # Errors
    ///
    /// The hook's refusal.
    pub fn check(&self, request: &AuthRequest<'_>) -> Result<AuthContext, Status> {
        (self.check)(request)
    }
}

impl fmt::Debug for AuthHook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AuthHook")
    }
}
