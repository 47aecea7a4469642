//! Watch (a bidirectional stream) through the tonic twin: events for the
//! watched prefixes in the store's order, deletes as events, stopping a prefix,
//! stopping one never watched, the call ending with its input when nothing is
//! watched, and a watcher too far behind ended with RESOURCE_EXHAUSTED.

mod support;

use std::sync::Arc;
use std::time::Duration;

use example_kv::{Store, CHANGE_BUFFER};
use example_kv_tonic::kv::{Event, WatchRequest};
use support::{serve, within};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tokio_stream::StreamExt;
use tonic::{Code, Status, Streaming};

fn watch(prefix: &str) -> WatchRequest {
    WatchRequest {
        prefix: prefix.into(),
        stop: false,
    }
}

fn stop(prefix: &str) -> WatchRequest {
    WatchRequest {
        prefix: prefix.into(),
        stop: true,
    }
}

/// A watch call on `store`'s server: where to send its requests, and its events.
struct Watcher {
    requests: mpsc::Sender<WatchRequest>,
    events: Streaming<Event>,
}

impl Watcher {
    async fn next(&mut self) -> Result<Event, Status> {
        within("an event", self.events.next())
            .await
            .expect("the watch goes on")
    }

    async fn send(&self, request: WatchRequest) {
        self.requests.send(request).await.expect("the call is open");
    }

    /// Waits until the server watches `key`'s prefix: sets `key` until one of
    /// the sets comes back as an event, then reads up to the last set's.
    async fn until_watching(&mut self, store: &Store, key: &str) {
        for attempt in 0u64.. {
            let value = attempt.to_be_bytes().to_vec();
            store.set(key.into(), value.clone(), None);
            let Ok(event) =
                tokio::time::timeout(Duration::from_millis(50), self.events.next()).await
            else {
                assert!(attempt < 200, "{key} is not watched after {attempt} sets");
                continue;
            };
            let mut event = event.expect("the watch goes on").expect("an event");
            while event.value != value {
                event = self.next().await.expect("an event");
            }
            return;
        }
    }
}

async fn watcher(
    client: &mut example_kv_tonic::kv::kv_client::KvClient<tonic::transport::Channel>,
) -> Watcher {
    let (requests, receiver) = mpsc::channel(16);
    let call = client.watch(ReceiverStream::new(receiver));
    let events = within("watch", call).await.expect("watch").into_inner();
    Watcher { requests, events }
}

#[tokio::test]
async fn sets_and_deletes_of_watched_keys_arrive_in_order() {
    let store = Arc::new(Store::default());
    let (server, mut client) = serve(Arc::clone(&store)).await;
    let mut watcher = watcher(&mut client).await;
    watcher.send(watch("user:")).await;
    watcher.until_watching(&store, "user:ready").await;

    store.set("team:1".into(), b"ignored".to_vec(), None);
    store.set("user:1".into(), b"ada".to_vec(), None);
    store.set(
        "user:2".into(),
        b"grace".to_vec(),
        Some(Duration::from_secs(60)),
    );
    store.delete("user:1");
    let expected = [
        ("user:1", &b"ada"[..], false),
        ("user:2", b"grace", false),
        ("user:1", b"", true),
    ];
    for (key, value, deleted) in expected {
        let event = watcher.next().await.expect("an event");
        assert_eq!(
            (event.key.as_str(), &event.value[..], event.deleted),
            (key, value, deleted)
        );
    }
    drop(watcher);
    server.shutdown().await;
}

#[tokio::test]
async fn a_stopped_prefix_sends_nothing_more() {
    let store = Arc::new(Store::default());
    let (server, mut client) = serve(Arc::clone(&store)).await;
    let mut watcher = watcher(&mut client).await;
    watcher.send(watch("a:")).await;
    watcher.send(watch("b:")).await;
    watcher.until_watching(&store, "b:ready").await;
    watcher.send(stop("b:")).await;
    // Requests are handled in order: once "c:" is watched, "b:" is stopped.
    watcher.send(watch("c:")).await;
    watcher.until_watching(&store, "c:ready").await;

    store.set("b:1".into(), b"1".to_vec(), None);
    store.set("a:1".into(), b"1".to_vec(), None);
    assert_eq!(watcher.next().await.expect("an event").key, "a:1");
    drop(watcher);
    server.shutdown().await;
}

#[tokio::test]
async fn stopping_a_prefix_never_watched_is_a_failed_precondition() {
    let (server, mut client) = serve(Default::default()).await;
    let mut watcher = watcher(&mut client).await;
    watcher.send(stop("nobody:")).await;
    let status = watcher.next().await.expect_err("not watched");
    assert_eq!(status.code(), Code::FailedPrecondition);
    drop(watcher);
    server.shutdown().await;
}

#[tokio::test]
async fn a_watch_ends_when_its_input_ends_with_nothing_watched() {
    let store = Arc::new(Store::default());
    let (server, mut client) = serve(Arc::clone(&store)).await;
    let mut watcher = watcher(&mut client).await;
    watcher.send(watch("a:")).await;
    watcher.until_watching(&store, "a:ready").await;
    watcher.send(stop("a:")).await;
    drop(watcher.requests);
    let end = within("the end of the watch", watcher.events.next()).await;
    assert!(end.is_none(), "the watch ended without an error: {end:?}");
    server.shutdown().await;
}

#[tokio::test]
async fn a_watcher_that_falls_behind_is_ended_with_resource_exhausted() {
    let store = Arc::new(Store::default());
    let (server, mut client) = serve(Arc::clone(&store)).await;
    let mut watcher = watcher(&mut client).await;
    watcher.send(watch("")).await;
    watcher.until_watching(&store, "ready").await;

    // Far more than the connection's windows and buffers hold while the client
    // reads nothing, so the server's watcher falls CHANGE_BUFFER changes behind.
    let value = vec![0; 1024];
    for _ in 0..50 * CHANGE_BUFFER {
        store.set("key".into(), value.clone(), None);
    }
    let status = loop {
        match watcher.next().await {
            Ok(event) => assert_eq!(event.key, "key"),
            Err(status) => break status,
        }
    };
    assert_eq!(status.code(), Code::ResourceExhausted);
    drop(watcher);
    server.shutdown().await;
}
