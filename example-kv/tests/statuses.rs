//! Failed calls carry a status on the wire: NOT_FOUND for a missing key,
//! INVALID_ARGUMENT for an empty one, UNIMPLEMENTED (a rejection) for a request
//! naming no method.

mod support;

use example_kv::kv::{kv_request, GetRequest, KvRequest, SetRequest};
use example_kv::KvService;
use protosocket_rpc::{ControlCode, Message as _, Status, StatusCode};
use support::{raw_call, serve, within};

fn get(key: &str) -> KvRequest {
    KvRequest {
        body: Some(kv_request::Body::Get(GetRequest { key: key.into() })),
        ..Default::default()
    }
}

#[tokio::test]
async fn get_of_a_missing_key_is_not_found() {
    let (server, client) = serve(KvService::default()).await;
    let mut response = raw_call(&server, get("nope")).await;
    assert_eq!(response.id, 1);
    assert_eq!(response.control_code(), ControlCode::Status);
    assert_eq!(
        response.take_status(),
        Some(Status::not_found("no value for key \"nope\""))
    );
    assert!(response.body.is_none());
    let typed = within("get", client.get(GetRequest { key: "nope".into() })).await;
    assert_eq!(
        support::status_code(&typed),
        Some(StatusCode::NotFound),
        "{typed:?}"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn an_empty_key_is_an_invalid_argument() {
    let (server, client) = serve(KvService::default()).await;
    let typed = within("get", client.get(GetRequest { key: String::new() })).await;
    assert_eq!(
        support::status_code(&typed),
        Some(StatusCode::InvalidArgument),
        "{typed:?}"
    );
    let mut response = raw_call(&server, get("")).await;
    assert_eq!(response.control_code(), ControlCode::Status);
    let status = response.take_status().expect("a status");
    assert_eq!(status.code(), StatusCode::InvalidArgument);

    let set = KvRequest {
        body: Some(kv_request::Body::Set(SetRequest::default())),
        ..Default::default()
    };
    let mut response = raw_call(&server, set).await;
    assert_eq!(
        response.take_status().map(|s| s.code()),
        Some(StatusCode::InvalidArgument)
    );
    server.shutdown().await;
}

#[tokio::test]
async fn a_request_without_a_method_is_rejected() {
    let (server, _client) = serve(KvService::default()).await;
    let mut response = raw_call(&server, KvRequest::default()).await;
    assert_eq!(response.id, 1);
    assert_eq!(response.control_code(), ControlCode::Status);
    assert_eq!(
        response.take_status().map(|s| s.code()),
        Some(StatusCode::Unimplemented)
    );
    assert!(response.body.is_none());
    server.shutdown().await;
}
