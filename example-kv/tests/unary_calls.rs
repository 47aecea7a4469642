//! Get, set (with a TTL) and delete through the generated client.

mod support;

use std::time::Duration;

use example_kv::kv::{DeleteRequest, GetRequest, SetRequest};
use example_kv::KvService;
use support::{serve, within};

fn set(key: &str, value: &str, ttl_ms: u64) -> SetRequest {
    SetRequest {
        key: key.into(),
        value: value.into(),
        ttl_ms,
    }
}

fn get(key: &str) -> GetRequest {
    GetRequest { key: key.into() }
}

#[tokio::test]
async fn get_answers_what_set_stored() {
    let (server, client) = serve(KvService::default()).await;
    let first = within("set", client.set(set("a", "1", 0)))
        .await
        .expect("set");
    assert!(!first.replaced);
    let second = within("set", client.set(set("a", "2", 0)))
        .await
        .expect("set");
    assert!(second.replaced, "a second set replaces the first value");
    let got = within("get", client.get(get("a"))).await.expect("get");
    assert_eq!(got.value, b"2");
    assert_eq!(got.ttl_left_ms, 0, "no ttl was given");
    server.shutdown().await;
}

#[tokio::test]
async fn a_value_with_a_ttl_expires() {
    let (server, client) = serve(KvService::default()).await;
    within("set", client.set(set("session", "token", 50)))
        .await
        .expect("set");
    let live = within("get", client.get(get("session")))
        .await
        .expect("get before expiry");
    assert!(
        live.ttl_left_ms > 0 && live.ttl_left_ms <= 50,
        "{}",
        live.ttl_left_ms
    );
    // Expiry is checked against the clock on read, so waiting past it is the test.
    tokio::time::sleep(Duration::from_millis(60)).await;
    let expired = within("get", client.get(get("session"))).await;
    assert!(
        expired.is_err(),
        "an expired value is not read: {expired:?}"
    );
    let again = within("set", client.set(set("session", "new", 0)))
        .await
        .expect("set");
    assert!(
        !again.replaced,
        "an expired value does not count as replaced"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn delete_removes_a_key_and_says_whether_it_had_one() {
    let (server, client) = serve(KvService::default()).await;
    within("set", client.set(set("a", "1", 0)))
        .await
        .expect("set");
    let deleted = within("delete", client.delete(DeleteRequest { key: "a".into() }))
        .await
        .expect("delete");
    assert!(deleted.deleted);
    let again = within("delete", client.delete(DeleteRequest { key: "a".into() }))
        .await
        .expect("delete");
    assert!(!again.deleted);
    assert!(within("get", client.get(get("a"))).await.is_err());
    server.shutdown().await;
}
