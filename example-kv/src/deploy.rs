//! Serving between hosts: a shared token checked once per connection (the
//! server's [`AuthHook`], the client's credentials), and a server whose health
//! a load balancer can ask (`example-kv health`).

use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use protosocket::Endpoint;
use protosocket_rpc::server::{AuthHook, AuthRequest, RpcServer, RpcServerConfig, RunningServer};
use protosocket_rpc::{Metadata, Status};

use crate::kv::{Kv, KvServer};

/// The metadata key a client's token travels under.
pub const TOKEN_KEY: &str = "authorization";

/// The auth context of a connection that showed the right token: handlers
/// find it with `context.auth::<TokenHolder>()`.
#[derive(Debug)]
pub struct TokenHolder;

/// Checks a shared token on each connection's first call, and counts the
/// checks.
#[derive(Debug, Clone)]
pub struct TokenCheck {
    token: Arc<str>,
    checks: Arc<AtomicUsize>,
}

impl TokenCheck {
    /// A check that lets in connections showing `token`.
    #[must_use]
    pub fn new(token: &str) -> Self {
        Self {
            token: token.into(),
            checks: Arc::default(),
        }
    }

    /// The server's hook: [`TokenHolder`] for the right token, `UNAUTHENTICATED`
    /// otherwise.
    #[must_use]
    pub fn hook(&self) -> AuthHook {
        let check = self.clone();
        AuthHook::new(move |request: &AuthRequest<'_>| {
            check.checks.fetch_add(1, Ordering::Relaxed);
            if request.metadata().text(TOKEN_KEY) == Some(&*check.token) {
                Ok(TokenHolder)
            } else {
                Err(Status::unauthenticated("a wrong or missing token"))
            }
        })
    }

    /// How many connections were checked.
    #[must_use]
    pub fn checks(&self) -> usize {
        self.checks.load(Ordering::Relaxed)
    }
}

/// A client's credentials for `token`, for
/// [`RpcClientConfig::credentials`](protosocket_rpc::client::RpcClientConfig::credentials).
#[must_use]
pub fn credentials(token: &str) -> Metadata {
    let mut metadata = Metadata::new();
    metadata.insert(TOKEN_KEY, token.to_string());
    metadata
}

/// As [`start_server`](crate::start_server), with `config` (an auth hook, a
/// health reporter, the drain timeout).
///
/// # Errors
///
/// When binding fails.
///
/// # Panics
///
/// Outside a tokio runtime.
pub fn start_server_with(
    endpoint: Endpoint,
    service: impl Kv,
    config: RpcServerConfig,
) -> io::Result<RunningServer> {
    RpcServer::bind(endpoint, KvServer::new(service), config)?.spawn()
}
