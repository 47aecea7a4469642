//! Authenticate once per connection: a hook that checks the first request's
//! credentials and returns the connection's auth context, which every later
//! call of the connection reads from its [`CallContext`](crate::server::CallContext).

use std::any::Any;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
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

type SyncCheck = dyn Fn(&AuthRequest<'_>) -> Result<AuthContext, Status> + Send + Sync;
type AsyncCheck = dyn Fn(&AuthRequest<'_>) -> AuthFuture + Send + Sync;

/// The decision of an async [`AuthHook`], on its way.
pub(crate) type AuthFuture = Pin<Box<dyn Future<Output = Result<AuthContext, Status>> + Send>>;

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
/// A sync hook ([`AuthHook::new`]) decides in place. An async one
/// ([`AuthHook::new_async`], for a token looked up in another service, say)
/// returns a future that the connection polls in its own task: while it runs
/// the connection reads nothing more (the client's later requests wait in the
/// socket, so TCP holds it back) and keeps the first request, which runs once
/// the hook says yes. A client that closes its side meanwhile still gets that
/// request's answer. Either way the
/// hook runs once per connection, and the calls after it pay nothing for it.
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
/// let check = hook.check(&AuthRequest::new(&peer, None, &credentials));
/// let context = futures::executor::block_on(check).unwrap();
/// assert_eq!(context.downcast_ref::<User>().unwrap().0, "alice");
/// ```
#[derive(Clone)]
pub struct AuthHook {
    check: Check,
}

#[derive(Clone)]
enum Check {
    Sync(Arc<SyncCheck>),
    Async(Arc<AsyncCheck>),
}

/// What a hook made of a connection's first request.
pub(crate) enum Checked {
    /// Decided in place.
    Now(Result<AuthContext, Status>),
    /// Decided once this resolves.
    Later(AuthFuture),
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
            check: Check::Sync(Arc::new(move |request| {
                check(request).map(|value| Arc::new(value) as AuthContext)
            })),
        }
    }

    /// A hook whose future decides: `check` is shown the request and returns
    /// a future (which owns what it needs of it: clone the credentials in),
    /// whose `Ok(value)` makes `value` the connection's auth context.
    ///
    /// ```
    /// use protosocket_rpc::server::{AuthHook, AuthRequest};
    /// use protosocket_rpc::Status;
    ///
    /// struct User(String);
    ///
    /// let hook = AuthHook::new_async(|request: &AuthRequest<'_>| {
    ///     let token = request.metadata().text("token").map(str::to_owned);
    ///     async move {
    ///         // Ask a token service here.
    ///         match token.as_deref() {
    ///             Some("secret") => Ok(User("alice".into())),
    ///             _ => Err(Status::unauthenticated("bad token")),
    ///         }
    ///     }
    /// });
    /// # drop(hook);
    /// ```
    pub fn new_async<T, F, Fut>(check: F) -> Self
    where
        T: Any + Send + Sync,
        F: Fn(&AuthRequest<'_>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<T, Status>> + Send + 'static,
    {
        Self {
            check: Check::Async(Arc::new(move |request| {
                let decision = check(request);
                Box::pin(async move { decision.await.map(|value| Arc::new(value) as AuthContext) })
                    as AuthFuture
            })),
        }
    }

    /// Runs the hook (for driving one by hand, in a test say): a sync hook's
    /// future is ready at once.
    ///
    /// # Errors
    ///
    /// The hook's refusal.
    pub fn check(
        &self,
        request: &AuthRequest<'_>,
    ) -> impl Future<Output = Result<AuthContext, Status>> + Send + 'static {
        let checked = self.start(request);
        async move {
            match checked {
                Checked::Now(decision) => decision,
                Checked::Later(decision) => decision.await,
            }
        }
    }

    /// Starts the hook on `request`.
    pub(crate) fn start(&self, request: &AuthRequest<'_>) -> Checked {
        match &self.check {
            Check::Sync(check) => Checked::Now(check(request)),
            Check::Async(check) => Checked::Later(check(request)),
        }
    }
}

impl fmt::Debug for AuthHook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.check {
            Check::Sync(_) => "AuthHook(sync)",
            Check::Async(_) => "AuthHook(async)",
        })
    }
}
