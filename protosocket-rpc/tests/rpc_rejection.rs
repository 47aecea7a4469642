//! A server may reject a request by answering Cancel.
mod support;

use futures::StreamExt;
use protosocket_rpc::client::RpcClientConfig;
use protosocket_rpc::server::RpcServerConfig;
use protosocket_rpc::Error;
use support::*;

#[tokio::test]
async fn a_rejected_request_fails_with_cancelled() {
    let (address, shutdown, _server) = serve(TestService::default(), RpcServerConfig::default());
    let client = client(address, &RpcClientConfig::default()).await;
    let outcome = timed(client.send_unary(Text::new("reject"))).await;
    assert!(matches!(outcome, Err(Error::Cancelled)), "{outcome:?}");

    let mut stream = client.send_streaming(Text::new("reject"));
    assert!(matches!(
        timed(stream.next()).await,
        Some(Err(Error::Cancelled))
    ));
    assert!(stream.next().await.is_none());
    timed(shutdown.shutdown_and_wait()).await;
}
