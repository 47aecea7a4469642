//! Heavy pipelining cannot deadlock a connection: a client with far more large
//! requests in flight than the send queues and the kernel's socket buffers hold
//! keeps reading its responses, so the server's answers drain and the server
//! reads on. Before, both ends stopped reading while their own send queue was
//! full, and the connection stalled for good after about a second.

mod support;

use std::time::Duration;

use protosocket_rpc::client::RpcClientConfig;
use protosocket_rpc::server::RpcServerConfig;
use support::{client, serve, TestService, Text};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipelining_more_than_the_queues_and_buffers_hold_keeps_flowing() {
    const TASKS: usize = 1024;
    const CALLS_EACH: usize = 12;
    const PAYLOAD: usize = 64 * 1024;
    let server_config = RpcServerConfig::default().max_rpcs_in_flight(TASKS);
    let (address, shutdown, _server) = serve(TestService::default(), server_config);
    let client = client(address, &RpcClientConfig::default()).await;

    // Closed loop, as a load generator runs: each task calls again as soon as its
    // call returns, so 1024 calls of 64 KiB stay in flight each way.
    let body = "x".repeat(PAYLOAD);
    let tasks: Vec<_> = (0..TASKS)
        .map(|task| {
            let client = client.clone();
            let body = body.clone();
            tokio::spawn(async move {
                for call in 0..CALLS_EACH {
                    let text = format!("{task}.{call} {body}");
                    let response = client
                        .send_unary(Text::new(format!("echo:{text}")))
                        .await
                        .expect("a response");
                    assert_eq!(response.text, text);
                }
            })
        })
        .collect();
    tokio::time::timeout(Duration::from_secs(20), async {
        for task in tasks {
            task.await.expect("a caller");
        }
    })
    .await
    .expect("every call completes: the connection did not stall");
    shutdown.shutdown_and_wait().await;
}
