//! Scan (a server stream) and BulkLoad (a client stream) through the tonic
//! twin: key order, prefix and limit; counts of loaded and replaced entries, and
//! an empty key failing the load after the entries before it were set.

mod support;

use std::sync::Arc;

use example_kv::Store;
use example_kv_tonic::kv::kv_client::KvClient;
use example_kv_tonic::kv::{Entry, ScanRequest};
use support::{serve, within};
use tokio_stream::StreamExt;
use tonic::transport::Channel;
use tonic::Code;

fn entry(key: &str, value: &str) -> Entry {
    Entry {
        key: key.into(),
        value: value.into(),
    }
}

/// The keys a scan of `prefix` streams, in order.
async fn scan(client: &mut KvClient<Channel>, prefix: &str, limit: u32) -> Vec<String> {
    let request = ScanRequest {
        prefix: prefix.into(),
        limit,
    };
    let stream = within("scan", client.scan(request)).await.expect("scan");
    let entries = within("scan items", stream.into_inner().collect::<Vec<_>>()).await;
    entries
        .into_iter()
        .map(|entry| entry.expect("an entry").key)
        .collect()
}

#[tokio::test]
async fn scan_streams_the_prefix_in_key_order_up_to_the_limit() {
    let store = Arc::new(Store::default());
    for key in ["user:2", "team:1", "user:1", "user:3", "zone:1"] {
        store.set(key.into(), key.as_bytes().to_vec(), None);
    }
    let (server, mut client) = serve(store).await;
    assert_eq!(
        scan(&mut client, "user:", 0).await,
        ["user:1", "user:2", "user:3"]
    );
    assert_eq!(scan(&mut client, "user:", 2).await, ["user:1", "user:2"]);
    assert_eq!(scan(&mut client, "", 0).await.len(), 5);
    assert!(scan(&mut client, "nobody:", 0).await.is_empty());
    server.shutdown().await;
}

#[tokio::test]
async fn bulk_load_sets_every_entry_and_counts_them() {
    let store = Arc::new(Store::default());
    store.set("a".into(), b"old".to_vec(), None);
    let (server, mut client) = serve(Arc::clone(&store)).await;

    let entries = tokio_stream::iter(vec![entry("a", "1"), entry("b", "2"), entry("c", "3")]);
    let loaded = within("bulk load", client.bulk_load(entries))
        .await
        .expect("bulk load");
    let loaded = loaded.into_inner();
    assert_eq!((loaded.loaded, loaded.replaced), (3, 1));
    for (key, value) in [("a", b"1"), ("b", b"2"), ("c", b"3")] {
        assert_eq!(store.get(key).map(|(value, _)| value), Some(value.to_vec()));
    }
    server.shutdown().await;
}

#[tokio::test]
async fn an_empty_key_fails_the_load_and_keeps_the_entries_before_it() {
    let store = Arc::new(Store::default());
    let (server, mut client) = serve(Arc::clone(&store)).await;

    let entries = tokio_stream::iter(vec![entry("a", "1"), entry("", "2"), entry("c", "3")]);
    let failed = within("bulk load", client.bulk_load(entries))
        .await
        .expect_err("empty key");
    assert_eq!(failed.code(), Code::InvalidArgument);
    assert_eq!(store.get("a").map(|(value, _)| value), Some(b"1".to_vec()));
    assert_eq!(store.get("c"), None, "nothing after the empty key is set");
    server.shutdown().await;
}
