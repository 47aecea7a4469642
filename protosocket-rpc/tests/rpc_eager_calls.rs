//! Calls are eager: a call is sent when it is made, before its future is polled,
//! and calls made one after another reach the server in that order.

mod support;

use protosocket_rpc::client::RpcClientConfig;
use protosocket_rpc::server::RpcServerConfig;
use support::{client, serve, timed, TestService, Text};

#[tokio::test]
async fn a_call_is_sent_before_its_future_is_polled() {
    let service = TestService::default();
    let (address, shutdown, _server) = serve(service.clone(), RpcServerConfig::default());
    let client = client(address, &RpcClientConfig::default()).await;

    let unpolled = client.send_unary(Text::new("echo:eager"));
    let stream = client.send_streaming(Text::new("stream:1"));
    // Neither has been polled; the server runs both anyway.
    service.wait_for_started(2).await;
    assert_eq!(timed(unpolled).await.expect("the response").text, "eager");
    drop(stream);
    timed(shutdown.shutdown_and_wait()).await;
}
