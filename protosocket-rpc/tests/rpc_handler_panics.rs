//! A panic in a handler fails that call alone: the caller gets `Internal`
//! (not a plain cancel), while calls in flight beside it, and later calls on the
//! same connection, go on.

mod support;

use futures::StreamExt;
use protosocket_rpc::client::RpcClientConfig;
use protosocket_rpc::server::RpcServerConfig;
use protosocket_rpc::StatusCode;
use support::{client, serve, timed, TestService, Text};

#[tokio::test]
async fn a_panicking_handler_fails_only_its_own_call() {
    let service = TestService::default();
    let (address, shutdown, _server) = serve(service.clone(), RpcServerConfig::default());
    let client = client(address, &RpcClientConfig::default()).await;

    // A call in flight beside the panics, answered after all of them.
    let bystander = client.send_unary(Text::new("sleep:100"));
    for request in ["panic:new", "panic:now", "panic:later"] {
        let outcome = timed(client.send_unary(Text::new(request))).await;
        assert!(
            matches!(&outcome, Err(error) if error.status_code() == StatusCode::Internal),
            "{request}: {outcome:?}"
        );
    }
    let mut stream = client.send_streaming(Text::new("panic:stream"));
    let first = timed(stream.next())
        .await
        .expect("an item")
        .expect("item 0");
    assert_eq!(first.text, "0");
    let failed = timed(stream.next()).await;
    assert!(
        matches!(&failed, Some(Err(error)) if error.status_code() == StatusCode::Internal),
        "{failed:?}"
    );
    assert!(
        timed(stream.next()).await.is_none(),
        "the stream ends after its error"
    );

    assert_eq!(timed(bystander).await.expect("the bystander").text, "slept");
    let later = timed(client.send_unary(Text::new("echo:after"))).await;
    assert_eq!(later.expect("a later call").text, "after");
    assert!(!client.is_closed());
    // Every panicked rpc's work was dropped (the sleeper's and the echo's too).
    service.drops.wait_for(6).await;
    timed(shutdown.shutdown_and_wait()).await;
}
