//! Server streaming: responses in order, then a clean end after End.
mod support;

use futures::StreamExt;
use protosocket_rpc::client::RpcClientConfig;
use protosocket_rpc::server::RpcServerConfig;
use support::*;

#[tokio::test]
async fn stream_arrives_in_order_and_ends_after_end() {
    let (address, shutdown, _server) = serve(TestService::default(), RpcServerConfig::default());
    let client = client(address, &RpcClientConfig::default()).await;
    let stream = client.send_streaming(Text::new("stream:100"));
    let items: Vec<_> = timed(stream.collect::<Vec<_>>()).await;
    let texts: Vec<String> = items.into_iter().map(|item| item.unwrap().text).collect();
    let expected: Vec<String> = (0..100).map(|i| i.to_string()).collect();
    assert_eq!(texts, expected);

    let mut empty = client.send_streaming(Text::new("stream:0"));
    assert!(
        timed(empty.next()).await.is_none(),
        "an empty stream ends at once"
    );
    assert!(empty.next().await.is_none(), "and stays ended");
    timed(shutdown.shutdown_and_wait()).await;
}
