//! A server may reject a request; a message type without status fields hears
//! it as a plain cancel.
mod support;

use futures::StreamExt;
use protosocket_rpc::client::RpcClientConfig;
use protosocket_rpc::server::RpcServerConfig;
use support::*;

#[tokio::test]
async fn a_rejected_request_fails_with_cancelled() {
    let (address, shutdown, _server) = serve(TestService::default(), RpcServerConfig::default());
    let client = client(address, &RpcClientConfig::default()).await;
    let outcome = timed(client.send_unary(Text::new("reject"))).await;
    assert!(
        matches!(&outcome, Err(error) if error.is_cancelled()),
        "{outcome:?}"
    );

    let mut stream = client.send_streaming(Text::new("reject"));
    let first = timed(stream.next()).await;
    assert!(
        matches!(&first, Some(Err(error)) if error.is_cancelled()),
        "{first:?}"
    );
    assert!(stream.next().await.is_none());
    timed(shutdown.shutdown_and_wait()).await;
}
