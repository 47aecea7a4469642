//! Metadata travels both ways: a request's reaches the handler (through its
//! `CallContext`), a response's reaches the caller; text and bytes alike.

mod support;

use protosocket_rpc::client::RpcClientConfig;
use protosocket_rpc::server::RpcServerConfig;
use protosocket_rpc::{Message, Metadata, MetadataValue};
use support::rich::{rich_client, serve_rich, Envelope, RichService};
use support::timed;

#[tokio::test]
async fn request_metadata_reaches_the_handler() {
    let (address, shutdown, _server) =
        serve_rich(RichService::default(), RpcServerConfig::default());
    let client = rich_client(address, &RpcClientConfig::default()).await;
    let mut request = Envelope::new("metadata:trace-id");
    request.set_metadata([("trace-id", "4bf92f35")].into_iter().collect());
    let answer = timed(client.send_unary(request)).await.expect("an answer");
    assert_eq!(answer.text, "4bf92f35");

    let bare = timed(client.send_unary(Envelope::new("metadata:trace-id")))
        .await
        .expect("an answer");
    assert_eq!(bare.text, "(none)");
    timed(shutdown.shutdown_and_wait()).await;
}

#[tokio::test]
async fn response_metadata_reaches_the_caller() {
    let (address, shutdown, _server) =
        serve_rich(RichService::default(), RpcServerConfig::default());
    let client = rich_client(address, &RpcClientConfig::default()).await;
    let mut request = Envelope::new("echo:hi");
    let mut metadata = Metadata::new();
    metadata.insert("trace-id", "t-1");
    metadata.insert("blob", vec![0u8, 255, 7]);
    request.set_metadata(metadata);
    let mut answer = timed(client.send_unary(request)).await.expect("an answer");
    assert_eq!(answer.text, "hi");
    let metadata = answer.take_metadata();
    assert_eq!(metadata.text("served"), Some("yes"));
    assert_eq!(metadata.text("trace-id"), Some("t-1"));
    assert_eq!(
        metadata.get("blob"),
        Some(&MetadataValue::Binary(vec![0u8, 255, 7].into()))
    );

    let mut plain = timed(client.send_unary(Envelope::new("echo:plain")))
        .await
        .expect("an answer");
    let metadata = plain.take_metadata();
    assert_eq!(metadata.len(), 1, "only the handler's own: {metadata:?}");
    timed(shutdown.shutdown_and_wait()).await;
}
