//! Get, set (with a TTL) and delete through the tonic twin, with the statuses
//! the proto promises: NOT_FOUND for a missing or expired key, INVALID_ARGUMENT
//! for an empty one.

mod support;

use std::time::Duration;

use example_kv_tonic::kv::{DeleteRequest, GetRequest, SetRequest};
use example_kv_tonic::KvService;
use support::{serve, serve_service, within};
use tonic::Code;

fn set(key: &str, value: &[u8], ttl_ms: u64) -> SetRequest {
    SetRequest {
        key: key.into(),
        value: value.to_vec(),
        ttl_ms,
    }
}

fn get(key: &str) -> GetRequest {
    GetRequest { key: key.into() }
}

#[tokio::test]
async fn set_get_and_delete_a_key() {
    let (server, mut client) = serve(Default::default()).await;

    let first = within("set", client.set(set("a", b"1", 0)))
        .await
        .expect("set");
    assert!(!first.into_inner().replaced, "nothing to replace");
    let second = within("set", client.set(set("a", b"2", 0)))
        .await
        .expect("set");
    assert!(second.into_inner().replaced);

    let got = within("get", client.get(get("a")))
        .await
        .expect("get")
        .into_inner();
    assert_eq!(got.value, b"2");
    assert_eq!(got.ttl_left_ms, 0, "no expiry");

    let delete = DeleteRequest { key: "a".into() };
    let deleted = within("delete", client.delete(delete.clone()))
        .await
        .expect("delete");
    assert!(deleted.into_inner().deleted);
    let again = within("delete", client.delete(delete))
        .await
        .expect("delete");
    assert!(!again.into_inner().deleted, "already gone");

    let missing = within("get", client.get(get("a")))
        .await
        .expect_err("deleted");
    assert_eq!(missing.code(), Code::NotFound);
    server.shutdown().await;
}

#[tokio::test]
async fn a_value_with_a_ttl_reports_its_time_left_and_expires() {
    let (server, mut client) = serve(Default::default()).await;

    within("set", client.set(set("long", b"x", 60_000)))
        .await
        .expect("set");
    let long = within("get", client.get(get("long")))
        .await
        .expect("get")
        .into_inner();
    assert!(
        (1..=60_000).contains(&long.ttl_left_ms),
        "{} ms left",
        long.ttl_left_ms
    );

    within("set", client.set(set("short", b"x", 1)))
        .await
        .expect("set");
    // The store reads its expiry against the clock: a wait past it is the test.
    tokio::time::sleep(Duration::from_millis(20)).await;
    let expired = within("get", client.get(get("short")))
        .await
        .expect_err("expired");
    assert_eq!(expired.code(), Code::NotFound);
    server.shutdown().await;
}

#[tokio::test]
async fn an_empty_key_is_an_invalid_argument() {
    let (server, mut client) = serve(Default::default()).await;

    let got = within("get", client.get(get("")))
        .await
        .expect_err("empty key");
    assert_eq!(got.code(), Code::InvalidArgument);
    let set = within("set", client.set(set("", b"1", 0)))
        .await
        .expect_err("empty key");
    assert_eq!(set.code(), Code::InvalidArgument);
    let delete = client.delete(DeleteRequest { key: String::new() });
    let deleted = within("delete", delete).await.expect_err("empty key");
    assert_eq!(deleted.code(), Code::InvalidArgument);
    server.shutdown().await;
}

#[tokio::test]
async fn get_answers_served_by_metadata_when_the_service_is_named() {
    let (server, mut client) = serve_service(KvService::default().served_by("kv-1")).await;
    within("set", client.set(set("a", b"1", 0)))
        .await
        .expect("set");
    let got = within("get", client.get(get("a"))).await.expect("get");
    let served_by = got
        .metadata()
        .get("served-by")
        .and_then(|name| name.to_str().ok());
    assert_eq!(served_by, Some("kv-1"));
    server.shutdown().await;
}
