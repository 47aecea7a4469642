//! [`Hook`]: what runs on each call before it goes further, on either end.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::status::Status;

/// The future of an async [`Hook`] on `T`.
pub(crate) type HookFuture<T> = Pin<Box<dyn Future<Output = Result<T, Status>> + Send>>;

type SyncHook<T> = dyn Fn(&mut T) -> Result<(), Status> + Send + Sync;
type AsyncHook<T> = dyn Fn(T) -> HookFuture<T> + Send + Sync;

/// A per-call hook (an interceptor) on what a call carries (`T`): it may edit
/// it, or fail the call with a [`Status`].
///
/// - On a server, [`server::CallHook`](crate::server::CallHook) (`Hook<CallContext>`)
///   sees each request's [`CallContext`](crate::server::CallContext) (id,
///   deadline, metadata) before the service does: `Err(status)` is the client's
///   answer and the service never sees the request. Set it with
///   [`RpcServerConfig::call_hook`](crate::server::RpcServerConfig::call_hook).
/// - On a client, [`client::CallHook`](crate::client::CallHook) (`Hook<Metadata>`)
///   sees each request's [`Metadata`](crate::Metadata) before the request is
///   queued: it may add to it (an auth token), or fail the call locally, which
///   then resolves to [`Error::Status`](crate::Error::Status) unsent. Set it with
///   [`RpcClientConfig::call_hook`](crate::client::RpcClientConfig::call_hook).
///
/// Without a hook, neither end pays anything for hooks per call.
///
/// A sync hook ([`Hook::new`]) runs in place. An async hook ([`Hook::new_async`])
/// takes the value and gives it back from its future (which must be `Send`),
/// and the call waits for it: a server holds the request in the rpc's slot,
/// polled in the connection's task like other rpc work (it counts toward the rpcs
/// in flight; a client cancel or the call's deadline drops it); a client calls it
/// as the call is made, polls its future with the call's, and sends the request
/// once it is done (the call's deadline counts the wait; dropping the call drops
/// the hook's future).
///
/// Calls with an input side (client streaming, bidi) run the hooks too: on the
/// server, an rpc that takes a request stream is held (its later requests
/// buffered, within the rpc's bounded request stream) while an async hook runs,
/// and a refusal ends it; on the client, the hook runs on the call's first
/// request before it is sent. While an async client hook decides, the call's
/// [`RequestSender`](crate::client::RequestSender) queues nothing (its `send`
/// waits, and drives the hook as the completion does); a refusal fails the call
/// with the hook's status, unsent, and the sender's sends fail.
///
/// ```
/// use protosocket_rpc::server::{CallContext, CallHook, RpcServerConfig};
/// use protosocket_rpc::Status;
///
/// let hook = CallHook::new(|call: &mut CallContext| {
///     match call.metadata().text("authorization") {
///         Some("secret") => Ok(()),
///         _ => Err(Status::unauthenticated("a valid authorization is required")),
///     }
/// });
/// let config = RpcServerConfig::default().call_hook(Some(hook));
/// assert!(config.get_call_hook().is_some());
/// ```
pub struct Hook<T> {
    kind: Kind<T>,
}

enum Kind<T> {
    Sync(Arc<SyncHook<T>>),
    Async(Arc<AsyncHook<T>>),
}

/// What a hook made of a call.
pub(crate) enum Hooked<T> {
    /// Go on now, with this.
    Ready(T),
    /// Go on once this resolves.
    Later(HookFuture<T>),
}

impl<T> Hook<T> {
    /// A hook run in place: `Ok` lets the call go on with the value as the hook
    /// left it, `Err` fails the call with that status.
    pub fn new<F>(hook: F) -> Self
    where
        F: Fn(&mut T) -> Result<(), Status> + Send + Sync + 'static,
    {
        Self {
            kind: Kind::Sync(Arc::new(hook)),
        }
    }

    /// A hook whose future decides: `Ok(value)` lets the call go on with that
    /// value, `Err` fails it with that status.
    pub fn new_async<F, Fut>(hook: F) -> Self
    where
        F: Fn(T) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<T, Status>> + Send + 'static,
        T: 'static,
    {
        Self {
            kind: Kind::Async(Arc::new(move |value| {
                Box::pin(hook(value)) as HookFuture<T>
            })),
        }
    }

    /// Runs the hook on `value`.
    pub(crate) fn run(&self, mut value: T) -> Result<Hooked<T>, Status> {
        match &self.kind {
            Kind::Sync(hook) => hook(&mut value).map(|()| Hooked::Ready(value)),
            Kind::Async(hook) => Ok(Hooked::Later(hook(value))),
        }
    }
}

impl<T> Clone for Hook<T> {
    fn clone(&self) -> Self {
        let kind = match &self.kind {
            Kind::Sync(hook) => Kind::Sync(Arc::clone(hook)),
            Kind::Async(hook) => Kind::Async(Arc::clone(hook)),
        };
        Self { kind }
    }
}

impl<T> fmt::Debug for Hook<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.kind {
            Kind::Sync(_) => "Hook(sync)",
            Kind::Async(_) => "Hook(async)",
        })
    }
}
