//! What the twin's tests share: a server and a client on loopback, and a bound
//! on every wait.

#![allow(dead_code, unreachable_pub)]

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use example_kv::Store;
use example_kv_tonic::kv::kv_client::KvClient;
use example_kv_tonic::{KvService, RunningServer};
use tonic::transport::Channel;

/// The longest any single wait of a test may take.
pub const WAIT: Duration = Duration::from_secs(10);

/// `future`, or a panic naming `what` once [`WAIT`] has passed.
pub async fn within<T>(what: &str, future: impl Future<Output = T>) -> T {
    tokio::time::timeout(WAIT, future)
        .await
        .unwrap_or_else(|_| panic!("{what} did not finish within {WAIT:?}"))
}

/// A server for `store` on an ephemeral loopback port, and a client of it.
pub async fn serve(store: Arc<Store>) -> (RunningServer, KvClient<Channel>) {
    serve_service(KvService::new(store)).await
}

/// A server for `service` on an ephemeral loopback port, and a client of it.
pub async fn serve_service(service: KvService) -> (RunningServer, KvClient<Channel>) {
    let address = "127.0.0.1:0".parse().expect("address");
    let server = example_kv_tonic::start_server(address, service)
        .await
        .expect("bind the kv server");
    let endpoint = format!("http://{}", server.local_addr());
    let client = within("connect", KvClient::connect(endpoint))
        .await
        .expect("connect to the kv server");
    (server, client)
}
