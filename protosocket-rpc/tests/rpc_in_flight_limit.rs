//! The per-connection limit of rpcs in flight.
mod support;

use std::time::Duration;

use protosocket_rpc::client::RpcClientConfig;
use protosocket_rpc::server::RpcServerConfig;
use protosocket_rpc::StatusCode;
use support::*;

#[tokio::test]
async fn requests_over_the_in_flight_limit_are_cancelled() {
    let config = RpcServerConfig::default().max_rpcs_in_flight(2);
    let (address, shutdown, _server) = serve(TestService::default(), config);
    let client = client(address, &RpcClientConfig::default()).await;

    // One client handle queues in order: the two slow calls are in flight first.
    let first = client.send_unary(Text::new("sleep:300"));
    let second = client.send_unary(Text::new("sleep:300"));
    let third = client.send_unary(Text::new("echo:too many"));
    let (first, second, third) = timed(async { tokio::join!(first, second, third) }).await;
    assert_eq!(first.unwrap().text, "slept");
    assert_eq!(second.unwrap().text, "slept");
    // Text carries no status: ResourceExhausted reaches it as a plain Cancel.
    assert!(
        matches!(&third, Err(error) if error.status_code() == StatusCode::Cancelled),
        "{third:?}"
    );

    // Room again once they are done.
    tokio::time::sleep(Duration::from_millis(10)).await;
    assert_eq!(
        timed(client.send_unary(Text::new("echo:ok")))
            .await
            .unwrap()
            .text,
        "ok"
    );
    timed(shutdown.shutdown_and_wait()).await;
}
