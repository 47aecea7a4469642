//! Watch: a watcher sees the sets and deletes of the keys under its prefixes,
//! in the store's order, and nothing once it stops; a watcher that falls more
//! than 1024 changes behind ends with RESOURCE_EXHAUSTED.
//!
//! A watch subscribes to the store when it starts watching its first prefix
//! and unsubscribes when it stops its last, so [`Store::watchers`] tells the
//! tests when the server has handled those requests.

mod support;

use std::sync::Arc;

use example_kv::kv::{DeleteRequest, Event, KvClient, SetRequest, WatchRequest};
use example_kv::{KvService, Store, CHANGE_BUFFER};
use futures::stream::{self, StreamExt};
use protosocket_rpc::{Error, StatusCode};
use support::{serve, within};
use tokio::sync::mpsc;

/// A watch driven by a task of its own: requests go in through a channel,
/// events come out through another. Dropping it cancels the watch.
struct Watching {
    requests: mpsc::UnboundedSender<WatchRequest>,
    events: mpsc::UnboundedReceiver<Result<Event, Error>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Watching {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Watching {
    fn start(client: &KvClient) -> Self {
        let (requests, input) = mpsc::unbounded_channel();
        let input = stream::unfold(input, |mut input| async move {
            input.recv().await.map(|request| (request, input))
        });
        let mut watch = Box::pin(client.watch(input));
        let (events, output) = mpsc::unbounded_channel();
        let task = tokio::spawn(async move {
            while let Some(event) = watch.next().await {
                if events.send(event).is_err() {
                    return;
                }
            }
        });
        Self {
            requests,
            events: output,
            task,
        }
    }

    fn send(&self, prefix: &str, stop: bool) {
        let request = WatchRequest {
            prefix: prefix.into(),
            stop,
        };
        self.requests.send(request).expect("the watch runs");
    }

    async fn next(&mut self) -> Option<Result<Event, Error>> {
        within("a watch event", self.events.recv()).await
    }
}

/// Waits (yielding to the server) until `store` has `count` watchers.
async fn watchers(store: &Store, count: usize) {
    within("the watch to (un)subscribe", async {
        while store.watchers() != count {
            tokio::task::yield_now().await;
        }
    })
    .await;
}

fn set(key: &str, value: &str) -> SetRequest {
    SetRequest {
        key: key.into(),
        value: value.as_bytes().to_vec(),
        ttl_ms: 0,
    }
}

fn event(key: &str, value: Option<&str>) -> Event {
    Event {
        key: key.into(),
        value: value
            .map(|value| value.as_bytes().to_vec())
            .unwrap_or_default(),
        deleted: value.is_none(),
    }
}

#[tokio::test]
async fn a_watcher_sees_the_changes_of_its_prefixes_in_order() {
    let store = Arc::new(Store::default());
    let (server, client) = serve(KvService::new(Arc::clone(&store))).await;
    let mut watching = Watching::start(&client);
    watching.send("user:", false);
    watchers(&store, 1).await;

    within("set", client.set(set("user:1", "ada")))
        .await
        .expect("set");
    within("set", client.set(set("team:1", "kernel")))
        .await
        .expect("set");
    let delete = DeleteRequest {
        key: "user:1".into(),
    };
    within("delete", client.delete(delete))
        .await
        .expect("delete");
    within("set", client.set(set("user:2", "grace")))
        .await
        .expect("set");
    for expected in [
        event("user:1", Some("ada")),
        event("user:1", None),
        event("user:2", Some("grace")),
    ] {
        let seen = watching
            .next()
            .await
            .expect("an event")
            .expect("not an error");
        assert_eq!(seen, expected);
    }

    // Stopped, it sees nothing of "user:" any more.
    watching.send("user:", true);
    watchers(&store, 0).await;
    within("set", client.set(set("user:3", "linus")))
        .await
        .expect("set");
    watching.send("team:", false);
    watchers(&store, 1).await;
    within("set", client.set(set("team:2", "rust")))
        .await
        .expect("set");
    let seen = watching
        .next()
        .await
        .expect("an event")
        .expect("not an error");
    assert_eq!(seen, event("team:2", Some("rust")), "not user:3");
    drop(watching);
    watchers(&store, 0).await;
    server.shutdown().await;
}

#[tokio::test]
async fn a_lagging_watcher_ends_with_resource_exhausted() {
    let store = Arc::new(Store::default());
    let (server, client) = serve(KvService::new(Arc::clone(&store))).await;
    let mut watching = Watching::start(&client);
    watching.send("k:", false);
    watchers(&store, 1).await;
    // Made without yielding: on this one-thread runtime the watcher cannot
    // read any of them before they are all made.
    for n in 0..=CHANGE_BUFFER {
        store.set(format!("k:{n}"), Vec::new(), None);
    }
    let outcome = watching.next().await.expect("the watch's end");
    assert_eq!(
        support::status_code(&outcome),
        Some(StatusCode::ResourceExhausted),
        "{outcome:?}"
    );
    assert!(watching.next().await.is_none(), "the watch is over");
    watchers(&store, 0).await;
    server.shutdown().await;
}

#[tokio::test]
async fn stopping_a_prefix_not_watched_is_a_failed_precondition() {
    let (server, client) = serve(KvService::default()).await;
    let requests = [WatchRequest {
        prefix: "a".into(),
        stop: true,
    }];
    let events: Vec<_> = within(
        "watch",
        client.watch(stream::iter(requests)).collect::<Vec<_>>(),
    )
    .await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(
        support::status_code(&events[0]),
        Some(StatusCode::FailedPrecondition)
    );
    server.shutdown().await;
}

#[tokio::test]
async fn a_watch_ends_when_its_input_ends_with_nothing_watched() {
    let (server, client) = serve(KvService::default()).await;
    let requests = [
        WatchRequest {
            prefix: "a".into(),
            stop: false,
        },
        WatchRequest {
            prefix: "a".into(),
            stop: true,
        },
    ];
    let events: Vec<_> = within(
        "watch",
        client.watch(stream::iter(requests)).collect::<Vec<_>>(),
    )
    .await;
    assert!(events.is_empty(), "{events:?}");
    server.shutdown().await;
}
