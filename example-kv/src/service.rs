//! The `Kv` service over the domain [`Store`]: checks keys, maps the store's
//! answers to the generated messages, and runs the server.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use futures::Stream;
use protosocket::Endpoint;
use protosocket_rpc::server::{CallContext, RpcServer, RpcServerConfig, ShutdownHandle};
use protosocket_rpc::Status;

use crate::kv::{
    DeleteRequest, DeleteResponse, Entry, GetRequest, GetResponse, Kv, KvServer, ScanRequest,
    SetRequest, SetResponse,
};
use crate::store::Store;

/// The `Kv` implementation: a [`Store`], shared with whoever else holds it.
#[derive(Debug, Default, Clone)]
pub struct KvService {
    store: Arc<Store>,
}

impl KvService {
    /// Serves `store`.
    #[must_use]
    pub fn new(store: Arc<Store>) -> Self {
        Self { store }
    }

    /// The store served.
    #[must_use]
    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }
}

fn checked(key: String) -> Result<String, Status> {
    if key.is_empty() {
        return Err(Status::invalid_argument("the key is empty"));
    }
    Ok(key)
}

/// Milliseconds of `ttl` for the wire: at least 1 for a value that still lives.
fn millis(ttl: Duration) -> u64 {
    u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1)
}

impl Kv for KvService {
    async fn get(&self, request: GetRequest, _: CallContext) -> Result<GetResponse, Status> {
        let key = checked(request.key)?;
        match self.store.get(&key) {
            Some((value, ttl)) => Ok(GetResponse {
                value,
                ttl_left_ms: ttl.map_or(0, millis),
            }),
            None => Err(Status::not_found(format!("no value for key {key:?}"))),
        }
    }

    async fn set(&self, request: SetRequest, _: CallContext) -> Result<SetResponse, Status> {
        let key = checked(request.key)?;
        let ttl = (request.ttl_ms > 0).then(|| Duration::from_millis(request.ttl_ms));
        Ok(SetResponse {
            replaced: self.store.set(key, request.value, ttl),
        })
    }

    async fn delete(
        &self,
        request: DeleteRequest,
        _: CallContext,
    ) -> Result<DeleteResponse, Status> {
        let key = checked(request.key)?;
        Ok(DeleteResponse {
            deleted: self.store.delete(&key),
        })
    }

    fn scan(
        &self,
        request: ScanRequest,
        _: CallContext,
    ) -> impl Stream<Item = Result<Entry, Status>> + Send + 'static {
        let found = self.store.scan(&request.prefix, request.limit as usize);
        futures::stream::iter(
            found
                .into_iter()
                .map(|(key, value)| Ok(Entry { key, value })),
        )
    }
}

/// A kv server running on a spawned task, from [`start_server`]; dropping it
/// leaves the server running.
#[derive(Debug)]
pub struct RunningServer {
    endpoint: Endpoint,
    shutdown: ShutdownHandle,
}

impl RunningServer {
    /// Where the server listens (the real port when bound to port 0).
    #[must_use]
    pub fn local_endpoint(&self) -> Endpoint {
        self.endpoint.clone()
    }

    /// Stops accepting, lets every connection send what it has queued, and waits
    /// until the server has finished.
    pub async fn shutdown(self) {
        self.shutdown.shutdown_and_wait().await;
    }
}

/// Binds a server for `service` to `endpoint` (`ip:port`, port 0 for any) and
/// spawns it.
///
/// # Errors
///
/// When binding fails.
///
/// # Panics
///
/// Outside a tokio runtime.
pub fn start_server(endpoint: Endpoint, service: impl Kv) -> io::Result<RunningServer> {
    let server = RpcServer::bind(endpoint, KvServer::new(service), RpcServerConfig::default())?;
    let running = RunningServer {
        endpoint: server.local_endpoint()?,
        shutdown: server.shutdown_handle(),
    };
    tokio::spawn(server);
    Ok(running)
}
