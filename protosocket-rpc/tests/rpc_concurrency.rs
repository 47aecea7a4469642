//! Many concurrent calls on one connection, each completing exactly once.
mod support;

use protosocket_rpc::client::RpcClientConfig;
use protosocket_rpc::server::RpcServerConfig;
use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_concurrent_calls_each_complete_once() {
    let config = RpcServerConfig::default().max_rpcs_in_flight(20_000);
    let (address, shutdown, _server) = serve(TestService::default(), config);
    let client = client(address, &RpcClientConfig::default()).await;

    let calls: Vec<_> = (0..10_000)
        .map(|i| {
            let client = client.clone();
            tokio::spawn(async move {
                let response = client.send_unary(Text::new(format!("echo:{i}"))).await;
                (i, response)
            })
        })
        .collect();
    let mut seen = vec![false; 10_000];
    for call in calls {
        let (i, response) = timed(call).await.unwrap();
        assert_eq!(response.unwrap().text, i.to_string());
        assert!(!seen[i], "call {i} completed twice");
        seen[i] = true;
    }
    assert!(seen.iter().all(|&s| s));
    timed(shutdown.shutdown_and_wait()).await;
}
