//! The store behind the service: one ordered map shared by every connection.

use std::collections::BTreeMap;
use std::io;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use futures::Stream;
use protosocket::Endpoint;
use protosocket_rpc::server::{CallContext, RpcServer, RpcServerConfig, ShutdownHandle};
use protosocket_rpc::Status;

use crate::kv::{
    DeleteRequest, DeleteResponse, Entry, GetRequest, GetResponse, Kv, KvServer, ScanRequest,
    SetRequest, SetResponse,
};

/// The key-value store: values with an optional expiry, kept in key order.
/// Expired values are never read; they are dropped when a call meets them.
#[derive(Debug, Default)]
pub struct KvStore {
    entries: Mutex<BTreeMap<String, Stored>>,
}

#[derive(Debug)]
struct Stored {
    value: Vec<u8>,
    expires: Option<Instant>,
}

impl Stored {
    fn live(&self, now: Instant) -> bool {
        self.expires.is_none_or(|at| at > now)
    }
}

impl KvStore {
    fn entries(&self) -> MutexGuard<'_, BTreeMap<String, Stored>> {
        // A panic elsewhere never leaves the map half-written: every change is
        // one insert or remove.
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Removes `key`'s value and says whether it was live.
    fn take(&self, key: &str, now: Instant) -> bool {
        self.entries()
            .remove(key)
            .is_some_and(|stored| stored.live(now))
    }
}

fn checked(key: String) -> Result<String, Status> {
    if key.is_empty() {
        return Err(Status::invalid_argument("the key is empty"));
    }
    Ok(key)
}

impl Kv for KvStore {
    async fn get(&self, request: GetRequest, _: CallContext) -> Result<GetResponse, Status> {
        let key = checked(request.key)?;
        let now = Instant::now();
        let mut entries = self.entries();
        match entries.get(&key) {
            Some(stored) if stored.live(now) => Ok(GetResponse {
                value: stored.value.clone(),
                ttl_left_ms: stored.expires.map_or(0, |at| {
                    u64::try_from((at - now).as_millis())
                        .unwrap_or(u64::MAX)
                        .max(1)
                }),
            }),
            expired => {
                if expired.is_some() {
                    entries.remove(&key);
                }
                Err(Status::not_found(format!("no value for key {key:?}")))
            }
        }
    }

    async fn set(&self, request: SetRequest, _: CallContext) -> Result<SetResponse, Status> {
        let key = checked(request.key)?;
        let now = Instant::now();
        let expires = (request.ttl_ms > 0).then(|| now + Duration::from_millis(request.ttl_ms));
        let stored = Stored {
            value: request.value,
            expires,
        };
        let old = self.entries().insert(key, stored);
        Ok(SetResponse {
            replaced: old.is_some_and(|old| old.live(now)),
        })
    }

    async fn delete(
        &self,
        request: DeleteRequest,
        _: CallContext,
    ) -> Result<DeleteResponse, Status> {
        let key = checked(request.key)?;
        Ok(DeleteResponse {
            deleted: self.take(&key, Instant::now()),
        })
    }

    fn scan(
        &self,
        request: ScanRequest,
        _: CallContext,
    ) -> impl Stream<Item = Result<Entry, Status>> + Send + 'static {
        let now = Instant::now();
        let limit = match request.limit {
            0 => usize::MAX,
            limit => limit as usize,
        };
        // Copied out under the lock, so a slow reader of the stream never holds
        // it.
        let found: Vec<Result<Entry, Status>> = self
            .entries()
            .range(request.prefix.clone()..)
            .take_while(|(key, _)| key.starts_with(&request.prefix))
            .filter(|(_, stored)| stored.live(now))
            .take(limit)
            .map(|(key, stored)| {
                Ok(Entry {
                    key: key.clone(),
                    value: stored.value.clone(),
                })
            })
            .collect();
        futures::stream::iter(found)
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

/// Binds a server for `store` to `endpoint` (`ip:port`, port 0 for any) and
/// spawns it.
///
/// # Errors
///
/// When binding fails.
///
/// # Panics
///
/// Outside a tokio runtime.
pub fn start_server(endpoint: Endpoint, store: impl Kv) -> io::Result<RunningServer> {
    let server = RpcServer::bind(endpoint, KvServer::new(store), RpcServerConfig::default())?;
    let running = RunningServer {
        endpoint: server.local_endpoint()?,
        shutdown: server.shutdown_handle(),
    };
    tokio::spawn(server);
    Ok(running)
}
