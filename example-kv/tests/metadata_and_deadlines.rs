//! What a call carries besides its request: metadata reaches the handler (and
//! the handler's comes back with the response), and a
//! deadline reaches it as time left and ends a call that is not answered.

mod support;

use std::future::pending;
use std::time::Duration;

use example_kv::kv::{
    BulkLoadResponse, DeleteRequest, DeleteResponse, Entry, Event, GetRequest, GetResponse, Kv,
    KvRequest, ScanRequest, SetRequest, SetResponse, WatchRequest,
};
use example_kv::KvService;
use futures::Stream;
use protosocket_rpc::server::CallContext;
use protosocket_rpc::{CallOptions, Requests, Status, StatusCode};
use support::{serve, within};
use tokio::sync::mpsc;

/// A store whose handlers report each call's context, and whose `get` of
/// "stall" never answers.
struct Watched {
    service: KvService,
    contexts: mpsc::UnboundedSender<CallContext>,
}

impl Kv for Watched {
    async fn get(
        &self,
        request: GetRequest,
        context: &mut CallContext,
    ) -> Result<GetResponse, Status> {
        let _ = self.contexts.send(context.clone());
        if request.key == "stall" {
            return pending().await;
        }
        self.service.get(request, context).await
    }

    async fn set(
        &self,
        request: SetRequest,
        context: &mut CallContext,
    ) -> Result<SetResponse, Status> {
        let _ = self.contexts.send(context.clone());
        self.service.set(request, context).await
    }

    async fn delete(
        &self,
        request: DeleteRequest,
        context: &mut CallContext,
    ) -> Result<DeleteResponse, Status> {
        self.service.delete(request, context).await
    }

    fn scan(
        &self,
        request: ScanRequest,
        context: &mut CallContext,
    ) -> impl Stream<Item = Result<Entry, Status>> + Send + 'static {
        self.service.scan(request, context)
    }

    async fn bulk_load(
        &self,
        entries: Requests<Entry, KvRequest>,
        context: &mut CallContext,
    ) -> Result<BulkLoadResponse, Status> {
        self.service.bulk_load(entries, context).await
    }

    fn watch(
        &self,
        requests: Requests<WatchRequest, KvRequest>,
        context: &mut CallContext,
    ) -> impl Stream<Item = Result<Event, Status>> + Send + 'static {
        self.service.watch(requests, context)
    }
}

fn watched() -> (Watched, mpsc::UnboundedReceiver<CallContext>) {
    let (contexts, seen) = mpsc::unbounded_channel();
    (
        Watched {
            service: KvService::default(),
            contexts,
        },
        seen,
    )
}

#[tokio::test]
async fn metadata_reaches_the_handler() {
    let (store, mut seen) = watched();
    let (server, client) = serve(store).await;
    let options = CallOptions::new()
        .metadata("trace-id", "4bf92f35")
        .metadata("token", vec![1u8, 2, 3]);
    let request = SetRequest {
        key: "a".into(),
        value: b"1".to_vec(),
        ttl_ms: 0,
    };
    let reply = within("set", client.set_with(request, options))
        .await
        .expect("set");
    assert!(!reply.get_ref().replaced);
    assert!(
        reply.metadata().is_empty(),
        "the server sent no metadata back"
    );
    let context = within("the handler's context", seen.recv())
        .await
        .expect("a context");
    assert_eq!(context.metadata().text("trace-id"), Some("4bf92f35"));
    assert_eq!(
        context
            .metadata()
            .get("token")
            .map(|value| value.as_bytes()),
        Some(&[1u8, 2, 3][..])
    );
    assert_eq!(context.deadline(), None, "no deadline was given");

    within("set", client.set(SetRequest::default())).await.ok();
    let plain = within("the handler's context", seen.recv())
        .await
        .expect("a context");
    assert!(
        plain.metadata().is_empty(),
        "a call without options sends none"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn a_deadline_reaches_the_handler_and_ends_an_unanswered_call() {
    let (store, mut seen) = watched();
    let (server, client) = serve(store).await;
    let deadline = Duration::from_millis(100);
    let options = CallOptions::new().timeout(deadline);
    let outcome = within(
        "a stalled get",
        client.get_with(
            GetRequest {
                key: "stall".into(),
            },
            options,
        ),
    )
    .await;
    assert_eq!(
        support::status_code(&outcome),
        Some(StatusCode::DeadlineExceeded),
        "{outcome:?}"
    );
    let context = within("the handler's context", seen.recv())
        .await
        .expect("a context");
    let left = context
        .time_left()
        .expect("the handler was told the deadline");
    assert!(left <= deadline, "{left:?}");

    // The connection goes on after the cancelled call.
    let set = SetRequest {
        key: "b".into(),
        value: b"2".to_vec(),
        ttl_ms: 0,
    };
    within("set", client.set(set))
        .await
        .expect("a call after the deadline");
    server.shutdown().await;
}

#[tokio::test]
async fn get_answers_with_the_servers_name_in_its_metadata() {
    let service = KvService::default().served_by("kv-7");
    let (server, client) = serve(service).await;
    let set = SetRequest {
        key: "a".into(),
        value: b"1".to_vec(),
        ttl_ms: 0,
    };
    within("set", client.set(set)).await.expect("set");
    let reply = within(
        "get",
        client.get_with(GetRequest { key: "a".into() }, CallOptions::new()),
    )
    .await
    .expect("get");
    assert_eq!(reply.get_ref().value, b"1");
    assert_eq!(reply.metadata().text("served-by"), Some("kv-7"));

    let (unnamed, plain) = serve(KvService::default()).await;
    let set = SetRequest {
        key: "a".into(),
        value: b"1".to_vec(),
        ttl_ms: 0,
    };
    within("set", plain.set(set)).await.expect("set");
    let reply = within(
        "get",
        plain.get_with(GetRequest { key: "a".into() }, CallOptions::new()),
    )
    .await
    .expect("get");
    assert!(reply.metadata().is_empty(), "an unnamed server sends none");
    unnamed.shutdown().await;
    server.shutdown().await;
}
