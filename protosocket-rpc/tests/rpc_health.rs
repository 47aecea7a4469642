//! Health checks: the server answers them itself, from its `HealthReporter`,
//! per service name; a graceful shutdown turns the server `NotServing`; a pool
//! with health checks skips a server that is not serving.

mod support;

use std::time::Duration;

use protosocket_rpc::client::{PoolConfig, RpcClientConfig, RpcPool};
use protosocket_rpc::health::{HealthReporter, HealthStatus};
use protosocket_rpc::server::RpcServerConfig;
use support::rich::{rich_client, serve_rich, Envelope, RichService};
use support::{timed, wait_until};

fn reporting(health: &HealthReporter) -> RpcServerConfig {
    RpcServerConfig::default().health_reporter(health.clone())
}

#[tokio::test]
async fn each_status_reaches_the_client_and_an_unknown_name_is_unknown() {
    let health = HealthReporter::new();
    let service = RichService::default();
    let (address, shutdown, _server) = serve_rich(service.clone(), reporting(&health));
    let client = rich_client(address, &RpcClientConfig::default()).await;

    let asked = |service: &'static str| {
        let client = client.clone();
        async move {
            timed(client.check_health(service))
                .await
                .expect("an answer")
        }
    };
    assert_eq!(asked("").await, HealthStatus::Serving);
    assert_eq!(asked("kv").await, HealthStatus::Unknown, "a name never set");
    for status in [
        HealthStatus::Serving,
        HealthStatus::NotServing,
        HealthStatus::Unknown,
    ] {
        health.set("kv", status);
        assert_eq!(asked("kv").await, status);
    }
    health.set("", HealthStatus::NotServing);
    assert_eq!(asked("").await, HealthStatus::NotServing);
    assert_eq!(service.started(), 0, "the service never saw a check");
    timed(shutdown.shutdown_and_wait()).await;
}

#[tokio::test]
async fn a_graceful_shutdown_turns_the_server_not_serving_first() {
    let health = HealthReporter::new();
    let service = RichService::default();
    let (address, shutdown, server) = serve_rich(service.clone(), reporting(&health));
    let client = rich_client(address, &RpcClientConfig::default()).await;
    let running = client.send_unary(Envelope::new("sleep:200"));
    timed(async {
        while service.started() < 1 {
            tokio::task::yield_now().await;
        }
    })
    .await;
    shutdown.shutdown();
    wait_until("not serving", || {
        health.status("") == HealthStatus::NotServing
    })
    .await;
    assert_eq!(
        timed(running).await.expect("the running call").text,
        "slept"
    );
    timed(server).await.expect("the server ends");
}

#[tokio::test]
async fn a_pool_skips_a_server_that_is_not_serving() {
    let (down, up) = (HealthReporter::new(), HealthReporter::new());
    down.set("", HealthStatus::NotServing);
    let (service_down, service_up) = (RichService::default(), RichService::default());
    let (a, shutdown_a, _a) = serve_rich(service_down.clone(), reporting(&down));
    let (b, shutdown_b, _b) = serve_rich(service_up.clone(), reporting(&up));
    let pool: RpcPool<Envelope, Envelope, _> = RpcPool::new(
        [a, b],
        protosocket_prost::codec,
        RpcClientConfig::default(),
        PoolConfig::default()
            .connections(2)
            .health_interval(Some(Duration::from_millis(20))),
    );
    // The first call connects both slots; each asks its server's health.
    let first = timed(pool.send_unary(Envelope::new("echo:first"))).await;
    assert_eq!(first.expect("a call").text, "first");
    wait_until("both connected, one serving", || {
        pool.connected() == 2 && pool.serving() == 1
    })
    .await;
    let before = service_down.started();
    for i in 0..20 {
        let text = format!("echo:{i}");
        let answer = timed(pool.send_unary(Envelope::new(text))).await;
        assert_eq!(answer.expect("a call").text, i.to_string());
    }
    assert_eq!(
        service_down.started(),
        before,
        "no call went to the server not serving"
    );

    // Back to serving: the next check puts the slot back in use.
    down.set("", HealthStatus::Serving);
    wait_until("both serving", || pool.serving() == 2).await;
    timed(shutdown_a.shutdown_and_wait()).await;
    timed(shutdown_b.shutdown_and_wait()).await;
}
