//! Scan: a server stream of the entries under a prefix, in key order.

mod support;

use example_kv::kv::{KvClient, ScanRequest, SetRequest};
use example_kv::KvService;
use futures::StreamExt;
use support::{serve, within};

/// The keys a scan of `prefix` (at most `limit`) streams, in order.
async fn keys(client: &KvClient, prefix: &str, limit: u32) -> Vec<String> {
    let scan = client.scan(ScanRequest {
        prefix: prefix.into(),
        limit,
    });
    within("scan", scan.collect::<Vec<_>>())
        .await
        .into_iter()
        .map(|entry| entry.expect("an entry").key)
        .collect()
}

#[tokio::test]
async fn scan_streams_the_prefix_in_key_order_and_honours_the_limit() {
    let (server, client) = serve(KvService::default()).await;
    for key in ["user:3", "team:1", "user:1", "user:2", "users"] {
        let request = SetRequest {
            key: key.into(),
            value: key.into(),
            ttl_ms: 0,
        };
        within("set", client.set(request)).await.expect("set");
    }
    assert_eq!(
        keys(&client, "user:", 0).await,
        ["user:1", "user:2", "user:3"]
    );
    assert_eq!(keys(&client, "user", 2).await, ["user:1", "user:2"]);
    assert!(keys(&client, "nobody", 0).await.is_empty());
    server.shutdown().await;
}
