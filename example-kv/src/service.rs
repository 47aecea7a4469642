//! The `Kv` service over the domain [`Store`]: checks keys, maps the store's
//! answers to the generated messages, and runs the server.

use std::future::pending;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use futures::Stream;
use protosocket::Endpoint;
use protosocket_rpc::server::{CallContext, RpcServer, RpcServerConfig, ShutdownHandle};
use protosocket_rpc::{Requests, Status};
use tokio::sync::broadcast::{self, error::RecvError};

use crate::kv::{
    BulkLoadResponse, DeleteRequest, DeleteResponse, Entry, Event, GetRequest, GetResponse, Kv,
    KvRequest, KvServer, ScanRequest, SetRequest, SetResponse, WatchRequest,
};
use crate::store::{Change, Store};

/// The `Kv` implementation: a [`Store`], shared with whoever else holds it.
///
/// Get answers with the response metadata `served-by` when the service has a
/// [name](Self::served_by).
#[derive(Debug, Default, Clone)]
pub struct KvService {
    store: Arc<Store>,
    name: Option<String>,
}

impl KvService {
    /// Serves `store`.
    #[must_use]
    pub fn new(store: Arc<Store>) -> Self {
        Self { store, name: None }
    }

    /// Names the server in Get's response metadata (`served-by`).
    #[must_use]
    pub fn served_by(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
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
    async fn get(
        &self,
        request: GetRequest,
        context: &mut CallContext,
    ) -> Result<GetResponse, Status> {
        if let Some(name) = &self.name {
            context
                .response_metadata_mut()
                .insert("served-by", name.clone());
        }
        let key = checked(request.key)?;
        match self.store.get(&key) {
            Some((value, ttl)) => Ok(GetResponse {
                value,
                ttl_left_ms: ttl.map_or(0, millis),
            }),
            None => Err(Status::not_found(format!("no value for key {key:?}"))),
        }
    }

    async fn set(&self, request: SetRequest, _: &mut CallContext) -> Result<SetResponse, Status> {
        let key = checked(request.key)?;
        let ttl = (request.ttl_ms > 0).then(|| Duration::from_millis(request.ttl_ms));
        Ok(SetResponse {
            replaced: self.store.set(key, request.value, ttl),
        })
    }

    async fn delete(
        &self,
        request: DeleteRequest,
        _: &mut CallContext,
    ) -> Result<DeleteResponse, Status> {
        let key = checked(request.key)?;
        Ok(DeleteResponse {
            deleted: self.store.delete(&key),
        })
    }

    fn scan(
        &self,
        request: ScanRequest,
        _: &mut CallContext,
    ) -> impl Stream<Item = Result<Entry, Status>> + Send + 'static {
        let found = self.store.scan(&request.prefix, request.limit as usize);
        futures::stream::iter(
            found
                .into_iter()
                .map(|(key, value)| Ok(Entry { key, value })),
        )
    }

    async fn bulk_load(
        &self,
        mut entries: Requests<Entry, KvRequest>,
        _: &mut CallContext,
    ) -> Result<BulkLoadResponse, Status> {
        let mut loaded = BulkLoadResponse::default();
        while let Some(entry) = entries.next().await {
            let entry = entry?;
            let key = checked(entry.key)?;
            loaded.loaded += 1;
            if self.store.set(key, entry.value, None) {
                loaded.replaced += 1;
            }
        }
        Ok(loaded)
    }

    fn watch(
        &self,
        requests: Requests<WatchRequest, KvRequest>,
        _: &mut CallContext,
    ) -> impl Stream<Item = Result<Event, Status>> + Send + 'static {
        let watcher = Watcher {
            store: Arc::clone(&self.store),
            requests: Some(requests),
            prefixes: Vec::new(),
            changes: None,
        };
        futures::stream::unfold(watcher, |mut watcher| async move {
            let event = watcher.next().await?;
            Some((event, watcher))
        })
    }
}

/// One Watch call: the prefixes it watches and, while there are some, its
/// subscription to the store's changes.
///
/// It subscribes when its first prefix is watched and unsubscribes when its
/// last one stops, so changes made while it watches nothing are not seen (and
/// cost it nothing). Requests already received are handled before changes.
/// Stopping a prefix that is not watched fails the call with
/// FAILED_PRECONDITION. The call ends when its input has ended and nothing is
/// watched; else it lasts until the client cancels it.
struct Watcher {
    store: Arc<Store>,
    /// `None` once the client ended its input.
    requests: Option<Requests<WatchRequest, KvRequest>>,
    prefixes: Vec<String>,
    changes: Option<broadcast::Receiver<Change>>,
}

/// What a watcher handles next.
enum Step {
    Request(Option<Result<WatchRequest, Status>>),
    Change(Result<Change, RecvError>),
}

impl Watcher {
    /// The next event, or the status that ends the call; `None` when it is
    /// over.
    async fn next(&mut self) -> Option<Result<Event, Status>> {
        loop {
            if self.requests.is_none() && self.changes.is_none() {
                return None;
            }
            let step = tokio::select! {
                biased;
                request = next_request(&mut self.requests) => Step::Request(request),
                change = next_change(&mut self.changes) => Step::Change(change),
            };
            match step {
                Step::Request(None) => self.requests = None,
                Step::Request(Some(Err(status))) => return Some(Err(status)),
                Step::Request(Some(Ok(request))) => {
                    if let Err(status) = self.apply(request) {
                        return Some(Err(status));
                    }
                }
                Step::Change(Ok(change)) => {
                    if self.watches(&change.key) {
                        return Some(Ok(Event {
                            deleted: change.value.is_none(),
                            value: change.value.unwrap_or_default(),
                            key: change.key,
                        }));
                    }
                }
                Step::Change(Err(RecvError::Lagged(missed))) => {
                    return Some(Err(Status::resource_exhausted(format!(
                        "the watcher fell behind and missed {missed} changes"
                    ))));
                }
                Step::Change(Err(RecvError::Closed)) => return None,
            }
        }
    }

    /// Starts or stops watching `request.prefix`.
    fn apply(&mut self, request: WatchRequest) -> Result<(), Status> {
        if request.stop {
            let Some(at) = self.prefixes.iter().position(|p| *p == request.prefix) else {
                return Err(Status::failed_precondition(format!(
                    "prefix {:?} is not watched",
                    request.prefix
                )));
            };
            self.prefixes.swap_remove(at);
            if self.prefixes.is_empty() {
                self.changes = None;
            }
        } else if !self.prefixes.contains(&request.prefix) {
            if self.changes.is_none() {
                self.changes = Some(self.store.subscribe());
            }
            self.prefixes.push(request.prefix);
        }
        Ok(())
    }

    fn watches(&self, key: &str) -> bool {
        self.prefixes.iter().any(|prefix| key.starts_with(prefix))
    }
}

/// The next request; never, once the input ended.
async fn next_request(
    requests: &mut Option<Requests<WatchRequest, KvRequest>>,
) -> Option<Result<WatchRequest, Status>> {
    match requests {
        Some(requests) => requests.next().await,
        None => pending().await,
    }
}

/// The next change; never, while nothing is watched.
async fn next_change(
    changes: &mut Option<broadcast::Receiver<Change>>,
) -> Result<Change, RecvError> {
    match changes {
        Some(changes) => changes.recv().await,
        None => pending().await,
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
