//! A pool's connector: every connect and reconnect of the pool goes through
//! it, with the slot's endpoint as given, so a host name is resolved afresh on
//! each reconnect (the pool follows DNS changes).

mod support;

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use protosocket::{Connect, Endpoint, EndpointConnector, EndpointStream};
use protosocket_rpc::client::{PoolConfig, RpcClientConfig, RpcPool};
use protosocket_rpc::server::RpcServerConfig;
use protosocket_server::ProtosocketServerConfig;
use support::{codec, serve_on, timed, TestService, Text};

/// Records the endpoint of every connect it makes.
#[derive(Clone, Default)]
struct Recording {
    inner: EndpointConnector,
    connects: Arc<Mutex<Vec<Endpoint>>>,
}

impl Recording {
    fn connects(&self) -> Vec<Endpoint> {
        self.connects.lock().expect("lock").clone()
    }
}

impl Connect for Recording {
    type Stream = EndpointStream;

    fn connect(
        &self,
        endpoint: &Endpoint,
    ) -> impl Future<Output = std::io::Result<EndpointStream>> + Send {
        self.connects.lock().expect("lock").push(endpoint.clone());
        self.inner.connect(endpoint)
    }
}

fn quick_shutdown() -> RpcServerConfig {
    RpcServerConfig::default()
        .server_config(ProtosocketServerConfig::default().grace_period(Duration::from_millis(50)))
}

#[tokio::test]
async fn every_reconnect_goes_through_the_connector_with_the_host_name() {
    let (address, shutdown, server) = serve_on(
        support::any_port(),
        TestService::default(),
        quick_shutdown(),
    );
    let named = Endpoint::host("localhost", address.port());
    let connector = Recording::default();
    let pool: RpcPool<Text, Text, _, _> = RpcPool::with_connector(
        [named.clone()],
        connector.clone(),
        codec,
        RpcClientConfig::default(),
        PoolConfig::default().min_backoff(Duration::from_millis(20)),
    );
    let response = timed(pool.send_unary(Text::new("echo:first"))).await;
    assert_eq!(response.expect("answered").text, "first");

    // The server goes away and comes back on the same port: the pool's slot
    // reconnects through the connector, by name again.
    timed(shutdown.shutdown_and_wait()).await;
    timed(server).await.expect("server task");
    let (_, shutdown, _server) = serve_on(address, TestService::default(), quick_shutdown());
    let answer = timed(async {
        loop {
            if let Ok(answer) = pool.send_unary(Text::new("echo:again")).await {
                break answer;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    assert_eq!(answer.text, "again");

    let connects = connector.connects();
    assert!(connects.len() >= 2, "{connects:?}");
    assert!(
        connects.iter().all(|endpoint| *endpoint == named),
        "{connects:?}"
    );
    timed(shutdown.shutdown_and_wait()).await;
}
