//! Deadlines fail the call with DeadlineExceeded and cancel it upstream.
mod support;

use std::time::{Duration, Instant};

use futures::StreamExt;
use protosocket_rpc::client::RpcClientConfig;
use protosocket_rpc::server::RpcServerConfig;
use support::*;

#[tokio::test]
async fn a_passed_deadline_fails_the_call_and_cancels_it_upstream() {
    let service = TestService::default();
    let drops = service.drops.clone();
    let (address, shutdown, _server) = serve(service, RpcServerConfig::default());
    let client = client(address, &RpcClientConfig::default()).await;

    let start = Instant::now();
    let outcome =
        timed(client.send_unary_with_deadline(Text::new("hang"), Some(Duration::from_millis(100))))
            .await;
    assert!(
        matches!(&outcome, Err(error) if error.is_deadline_exceeded()),
        "{outcome:?}"
    );
    assert!(start.elapsed() >= Duration::from_millis(100));
    drops.wait_for(1).await;

    let mut ticks =
        client.send_streaming_with_deadline(Text::new("tick"), Some(Duration::from_millis(100)));
    let mut last = None;
    while let Some(item) = timed(ticks.next()).await {
        last = Some(item);
    }
    assert!(
        matches!(&last, Some(Err(error)) if error.is_deadline_exceeded()),
        "{last:?}"
    );
    drops.wait_for(2).await;
    timed(shutdown.shutdown_and_wait()).await;
}

#[tokio::test]
async fn the_default_deadline_applies_to_calls_without_one() {
    let (address, shutdown, _server) = serve(TestService::default(), RpcServerConfig::default());
    let config = RpcClientConfig::default().default_deadline(Some(Duration::from_millis(50)));
    let client = client(address, &config).await;
    let outcome = timed(client.send_unary(Text::new("hang"))).await;
    assert!(
        matches!(&outcome, Err(error) if error.is_deadline_exceeded()),
        "{outcome:?}"
    );
    // A call that answers in time is unaffected.
    assert_eq!(
        timed(client.send_unary(Text::new("echo:fast")))
            .await
            .unwrap()
            .text,
        "fast"
    );
    timed(shutdown.shutdown_and_wait()).await;
}
