//! The load generator completes requests without errors. It asserts no rate or
//! latency: performance is measured, never tested.
mod support;

use std::time::Duration;

use example_proto::{run_load_with_progress, LoadConfig};
use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn short_run_completes_requests_without_errors() {
    let server = server();
    let config = LoadConfig {
        connections: 2,
        concurrency: 4,
        duration: Duration::from_secs(1),
        payload: 16,
        stream_percent: 25,
        stream_payload: 5,
        ..LoadConfig::default()
    };
    let mut seconds = Vec::new();
    let summary = timed(run_load_with_progress(
        server.local_addr(),
        &config,
        |second| seconds.push(*second),
    ))
    .await
    .expect("connect");
    assert!(summary.requests > 0, "{summary}");
    assert!(summary.streams > 0, "{summary}");
    assert_eq!(summary.errors, 0, "{summary}");
    assert!(summary.latency.p50 > 0 && summary.latency.max >= summary.latency.p999);
    assert!(
        seconds.iter().all(|second| second.errors == 0),
        "{seconds:?}"
    );
    timed(server.shutdown()).await;
}

#[tokio::test]
async fn unreachable_endpoint_is_an_error() {
    // Bind and drop a listener to get a port nothing listens on.
    let address = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port");
    let outcome = timed(example_proto::run_load(address, &LoadConfig::default())).await;
    assert!(
        matches!(outcome, Err(protosocket_rpc::Error::Io(_))),
        "{outcome:?}"
    );
}
