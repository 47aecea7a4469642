//! The alternating client checks 200 calls against the real server and finds no
//! mismatch.
mod support;

use std::time::Duration;

use example_messagepack::{message_for, run_alternating, Limit};
use support::{timed, Harness};

#[tokio::test]
async fn alternating_client_runs_200_iterations_clean() {
    let harness = Harness::start().await;
    let summary = timed(run_alternating(
        &harness.client,
        Limit::Iterations(200),
        Duration::from_secs(5),
    ))
    .await;
    assert!(summary.is_clean(), "{summary}");
    assert_eq!(summary.iterations, 200);
    assert_eq!(summary.unary_ok, 100);
    assert_eq!(summary.streaming_ok, 100);
    let expected_items: u64 = (0..200)
        .filter(|iteration| iteration % 2 == 1)
        .map(|iteration| message_for(iteration).chars().count() as u64)
        .sum();
    assert_eq!(summary.streamed_items, expected_items);
    harness.stop().await;
}
