//! The `Kv` service over the domain [`Store`]: checks keys, maps the store's
//! answers to the generated messages, and runs the server.

use std::collections::BTreeSet;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use futures::Stream;
use protosocket::Endpoint;
use protosocket_rpc::server::{CallContext, RpcServer, RpcServerConfig, RunningServer};
use protosocket_rpc::{Requests, Status};
use tokio::sync::broadcast;

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
}

/// What a unary handler answers.
type Answer<T> = Result<T, Status>;

fn checked(key: String) -> Result<String, Status> {
    if key.is_empty() {
        return Err(Status::invalid_argument("the key is empty"));
    }
    Ok(key)
}

impl Kv for KvService {
    async fn get(&self, request: GetRequest, context: &mut CallContext) -> Answer<GetResponse> {
        if let Some(name) = &self.name {
            context
                .response_metadata_mut()
                .insert("served-by", name.clone());
        }
        let key = checked(request.key)?;
        let (value, ttl) = (self.store.get(&key))
            .ok_or_else(|| Status::not_found(format!("no value for key {key:?}")))?;
        // A value that still lives has at least 1 ms left on the wire.
        let ttl_left_ms = ttl.map_or(0, |ttl| (ttl.as_millis() as u64).max(1));
        Ok(GetResponse { value, ttl_left_ms })
    }

    async fn set(&self, request: SetRequest, _: &mut CallContext) -> Answer<SetResponse> {
        let ttl = (request.ttl_ms > 0).then(|| Duration::from_millis(request.ttl_ms));
        let replaced = self.store.set(checked(request.key)?, request.value, ttl);
        Ok(SetResponse { replaced })
    }

    async fn delete(&self, request: DeleteRequest, _: &mut CallContext) -> Answer<DeleteResponse> {
        let deleted = self.store.delete(&checked(request.key)?);
        Ok(DeleteResponse { deleted })
    }

    fn scan(
        &self,
        request: ScanRequest,
        _: &mut CallContext,
    ) -> impl Stream<Item = Result<Entry, Status>> + Send + 'static {
        let found = self.store.scan(&request.prefix, request.limit as usize);
        let entries = found
            .into_iter()
            .map(|(key, value)| Ok(Entry { key, value }));
        futures::stream::iter(entries)
    }

    async fn bulk_load(
        &self,
        mut entries: Requests<Entry, KvRequest>,
        _: &mut CallContext,
    ) -> Answer<BulkLoadResponse> {
        let mut done = BulkLoadResponse::default();
        while let Some(entry) = entries.next().await.transpose()? {
            done.replaced += u64::from(self.store.set(checked(entry.key)?, entry.value, None));
            done.loaded += 1;
        }
        Ok(done)
    }

    fn watch(
        &self,
        requests: Requests<WatchRequest, KvRequest>,
        _: &mut CallContext,
    ) -> impl Stream<Item = Result<Event, Status>> + Send + 'static {
        let watch = Watch {
            store: Arc::clone(&self.store),
            requests,
            asking: true,
            prefixes: BTreeSet::new(),
            changes: None,
        };
        futures::stream::unfold(watch, |mut watch| async move {
            let event = watch.next().await?;
            Some((event, watch))
        })
    }
}

/// One Watch call. It subscribes to the store's changes when it starts
/// watching its first prefix and drops the subscription after its last, so
/// changes made while it watches nothing cost it nothing. Stopping a prefix
/// that is not watched fails the call with FAILED_PRECONDITION; the call ends
/// when the client has ended its input and nothing is watched.
struct Watch {
    store: Arc<Store>,
    requests: Requests<WatchRequest, KvRequest>,
    /// False once the client ended its input.
    asking: bool,
    prefixes: BTreeSet<String>,
    changes: Option<broadcast::Receiver<Change>>,
}

impl Watch {
    /// The next event, or the status that ends the call; `None` when it is over.
    async fn next(&mut self) -> Option<Result<Event, Status>> {
        loop {
            tokio::select! {
                // Requests already received are handled before changes.
                biased;
                request = self.requests.next(), if self.asking => match request {
                    Some(Ok(WatchRequest { prefix, stop: false })) => {
                        self.changes.get_or_insert_with(|| self.store.subscribe());
                        self.prefixes.insert(prefix);
                    }
                    Some(Ok(WatchRequest { prefix, stop: true }))
                        if !self.prefixes.remove(&prefix) =>
                    {
                        let message = format!("{prefix:?} is not watched");
                        return Some(Err(Status::failed_precondition(message)));
                    }
                    Some(Ok(_)) if self.prefixes.is_empty() => self.changes = None,
                    Some(Ok(_)) => {}
                    Some(Err(status)) => return Some(Err(status)),
                    None => self.asking = false,
                },
                // The async block is lazy: polled only while watching.
                change = async { self.changes.as_mut()?.recv().await.ok() },
                    if self.changes.is_some() => match change
                {
                    Some(change) if self.prefixes.iter().any(|p| change.key.starts_with(p)) => {
                        let deleted = change.value.is_none();
                        let value = change.value.unwrap_or_default();
                        return Some(Ok(Event { key: change.key, value, deleted }));
                    }
                    Some(_) => {}
                    // Lagged: the store, which holds the sender, outlives the call.
                    None => return Some(Err(Status::resource_exhausted("the watcher fell behind"))),
                },
                // Input ended and nothing watched (`changes` is `None` exactly then).
                else => return None,
            }
        }
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
    RpcServer::bind(endpoint, KvServer::new(service), RpcServerConfig::default())?.spawn()
}
