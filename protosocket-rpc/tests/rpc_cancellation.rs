//! Dropping an unfinished completion cancels the server's work.
mod support;

use std::time::Duration;

use futures::StreamExt;
use protosocket_rpc::client::RpcClientConfig;
use protosocket_rpc::server::RpcServerConfig;
use support::*;

#[tokio::test]
async fn dropping_a_unary_completion_drops_the_servers_work() {
    let service = TestService::default();
    let drops = service.drops.clone();
    let (address, shutdown, _server) = serve(service, RpcServerConfig::default());
    let client = client(address, &RpcClientConfig::default()).await;

    let call = client.send_unary(Text::new("hang"));
    // Let the request reach the server before giving up on it.
    assert!(tokio::time::timeout(Duration::from_millis(100), call)
        .await
        .is_err());
    drops.wait_for(1).await;

    // The connection is fine afterwards.
    assert_eq!(
        timed(client.send_unary(Text::new("echo:ok")))
            .await
            .unwrap()
            .text,
        "ok"
    );
    timed(shutdown.shutdown_and_wait()).await;
}

#[tokio::test]
async fn dropping_a_stream_drops_the_servers_work() {
    let service = TestService::default();
    let drops = service.drops.clone();
    let (address, shutdown, _server) = serve(service, RpcServerConfig::default());
    let client = client(address, &RpcClientConfig::default()).await;

    let mut ticks = client.send_streaming(Text::new("tick"));
    for _ in 0..3 {
        assert_eq!(timed(ticks.next()).await.unwrap().unwrap().text, "tick");
    }
    drop(ticks);
    drops.wait_for(1).await;
    assert_eq!(
        timed(client.send_unary(Text::new("echo:ok")))
            .await
            .unwrap()
            .text,
        "ok"
    );
    timed(shutdown.shutdown_and_wait()).await;
}
