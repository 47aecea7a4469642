//! BulkLoad: every entry streamed is set, in order, and counted; an empty key
//! fails the call with INVALID_ARGUMENT and keeps the entries before it.

mod support;

use example_kv::kv::{Entry, GetRequest, SetRequest};
use example_kv::KvService;
use futures::stream::{self, StreamExt};
use protosocket_rpc::StatusCode;
use support::{serve, within};

fn entries(pairs: &[(&str, &str)]) -> impl futures::Stream<Item = Entry> + Send + 'static {
    let entries: Vec<Entry> = pairs
        .iter()
        .map(|(key, value)| Entry {
            key: (*key).into(),
            value: value.as_bytes().to_vec(),
        })
        .collect();
    stream::iter(entries)
}

#[tokio::test]
async fn every_entry_is_set_and_counted() {
    let (server, client) = serve(KvService::default()).await;
    let old = SetRequest {
        key: "b".into(),
        value: b"old".to_vec(),
        ttl_ms: 0,
    };
    within("set", client.set(old)).await.expect("set");
    let loaded = within(
        "bulk load",
        client.bulk_load(entries(&[("a", "1"), ("b", "2"), ("c", "3"), ("a", "4")])),
    )
    .await
    .expect("bulk load");
    assert_eq!(loaded.loaded, 4);
    assert_eq!(loaded.replaced, 2, "b's old value and a's first one");
    for (key, value) in [("a", "4"), ("b", "2"), ("c", "3")] {
        let got = within("get", client.get(GetRequest { key: key.into() }))
            .await
            .expect("get");
        assert_eq!(got.value, value.as_bytes(), "{key}");
        assert_eq!(got.ttl_left_ms, 0, "bulk-loaded values do not expire");
    }
    let nothing = within("bulk load", client.bulk_load(stream::empty()))
        .await
        .expect("an empty load");
    assert_eq!((nothing.loaded, nothing.replaced), (0, 0));
    server.shutdown().await;
}

#[tokio::test]
async fn an_empty_key_fails_the_load_and_keeps_the_entries_before_it() {
    let (server, client) = serve(KvService::default()).await;
    // The client would go on sending for ever: the status ends the call.
    let input =
        entries(&[("x:1", "a"), ("x:2", "b"), ("", "c"), ("x:3", "d")]).chain(stream::pending());
    let outcome = within("bulk load", client.bulk_load(input)).await;
    assert_eq!(
        support::status_code(&outcome),
        Some(StatusCode::InvalidArgument),
        "{outcome:?}"
    );
    for key in ["x:1", "x:2"] {
        within("get", client.get(GetRequest { key: key.into() }))
            .await
            .expect("an entry before the empty key stays set");
    }
    let after = within("get", client.get(GetRequest { key: "x:3".into() })).await;
    assert_eq!(support::status_code(&after), Some(StatusCode::NotFound));
    server.shutdown().await;
}
