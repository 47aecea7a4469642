//! A graceful shutdown drains each connection: the server tells the client
//! (`ControlCode::Draining`), the calls already running finish, the client
//! refuses new calls unsent with `StatusCode::Unavailable` (the caller knows
//! they did not run) and closes its side once none is in flight, and the server
//! closes then, well before the grace period.

mod support;

use std::time::{Duration, Instant};

use protosocket_rpc::client::RpcClientConfig;
use protosocket_rpc::server::{ProtosocketServerConfig, RpcServerConfig};
use protosocket_rpc::StatusCode;
use support::{client, serve, timed, wait_until, TestService, Text};

#[tokio::test]
async fn shutdown_finishes_running_calls_and_refuses_new_ones() {
    const RUNNING: usize = 20;
    let grace = Duration::from_secs(5);
    let config = RpcServerConfig::default()
        .server_config(ProtosocketServerConfig::default().grace_period(grace));
    let service = TestService::default();
    let (address, shutdown, server) = serve(service.clone(), config);
    let client = client(address, &RpcClientConfig::default()).await;

    let running: Vec<_> = (0..RUNNING)
        .map(|_| client.send_unary(Text::new("sleep:300")))
        .collect();
    service.wait_for_started(RUNNING).await;
    let started = Instant::now();
    shutdown.shutdown();

    wait_until("told of the drain", || client.is_draining()).await;
    // A call made now is refused at once, unsent.
    let refused = timed(client.send_unary(Text::new("echo:late"))).await;
    assert!(
        matches!(&refused, Err(error) if error.status_code() == StatusCode::Unavailable),
        "{refused:?}"
    );
    assert_eq!(service.started(), RUNNING, "the refused call never ran");

    for call in running {
        assert_eq!(
            timed(call).await.expect("a running call finishes").text,
            "slept"
        );
    }
    timed(server).await.expect("the server future");
    assert!(
        started.elapsed() < grace,
        "closed once idle ({:?}), not at the end of the grace period",
        started.elapsed()
    );
    wait_until("closed", || client.is_closed()).await;
    let after = timed(client.send_unary(Text::new("echo:after"))).await;
    assert!(
        matches!(&after, Err(error) if error.status_code() == StatusCode::Unavailable),
        "{after:?}"
    );
    assert_eq!(service.started(), RUNNING, "nothing ran after the drain");
}
