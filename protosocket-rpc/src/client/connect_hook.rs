//! [`ConnectHook`]: what a client runs on each connection it makes.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::client::RpcClient;
use crate::error::Error;

type HookFuture = Pin<Box<dyn Future<Output = Result<(), Error>> + Send>>;
type Hook<Req, Resp> = dyn Fn(RpcClient<Req, Resp>) -> HookFuture + Send + Sync;

/// A per-connection client hook: it runs on each connection as it is
/// established, with a client on it, before the connection takes other calls,
/// to send or prepare what the connection needs (a login call, a warm-up).
///
/// [`RpcClient::connect_with_hook`] runs it once;
/// [`RpcPool::connect_hook`](crate::client::RpcPool::connect_hook) on every
/// connect and reconnect of the pool, under the pool's connect timeout. An error
/// fails the connect: `connect_with_hook` returns it, and the pool counts the
/// attempt as failed (it backs off, and calls waiting on it fail with
/// [`Error::Io`]).
///
/// ```
/// use protosocket_rpc::client::ConnectHook;
/// # #[derive(Debug, Default)] struct Text { id: u64, code: u32 }
/// # impl protosocket_rpc::Message for Text {
/// #     fn message_id(&self) -> u64 { self.id }
/// #     fn set_message_id(&mut self, id: u64) { self.id = id }
/// #     fn control_code(&self) -> protosocket_rpc::ControlCode { protosocket_rpc::ControlCode::from_u32(self.code) }
/// #     fn cancelled(id: u64) -> Self { Text { id, code: 1 } }
/// #     fn ended(id: u64) -> Self { Text { id, code: 2 } }
/// # }
///
/// // A first call on every new connection, before it serves anyone else.
/// let hook: ConnectHook<Text, Text> = ConnectHook::new_async(|client| async move {
///     client.send_unary(Text::default()).await.map(|_| ())
/// });
/// ```
pub struct ConnectHook<Req, Resp> {
    hook: Arc<Hook<Req, Resp>>,
}

impl<Req, Resp> ConnectHook<Req, Resp> {
    /// A hook that runs in place on the new connection's client.
    pub fn new<F>(hook: F) -> Self
    where
        F: Fn(&RpcClient<Req, Resp>) -> Result<(), Error> + Send + Sync + 'static,
    {
        Self {
            hook: Arc::new(move |client| {
                let outcome = hook(&client);
                Box::pin(std::future::ready(outcome)) as HookFuture
            }),
        }
    }

    /// A hook whose future runs on the new connection's client; the connection
    /// is handed out once it resolves `Ok`.
    pub fn new_async<F, Fut>(hook: F) -> Self
    where
        F: Fn(RpcClient<Req, Resp>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), Error>> + Send + 'static,
    {
        Self {
            hook: Arc::new(move |client| Box::pin(hook(client)) as HookFuture),
        }
    }

    /// Runs the hook on `client`.
    pub(crate) fn run(&self, client: RpcClient<Req, Resp>) -> HookFuture {
        (self.hook)(client)
    }
}

impl<Req, Resp> Clone for ConnectHook<Req, Resp> {
    fn clone(&self) -> Self {
        Self {
            hook: Arc::clone(&self.hook),
        }
    }
}

impl<Req, Resp> fmt::Debug for ConnectHook<Req, Resp> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ConnectHook")
    }
}
