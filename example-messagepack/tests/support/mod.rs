//! Shared by the example's tests: a server on 127.0.0.1:0, a connected client, and
//! bounded waits.
#![allow(dead_code, unreachable_pub)]

use std::future::Future;
use std::time::Duration;

use example_messagepack::{connect, serve, EchoClient};
use protosocket_rpc::client::RpcClientConfig;
use protosocket_server::ShutdownHandle;

/// Every network wait in the tests is bounded by this.
pub const WAIT: Duration = Duration::from_secs(5);

/// A running echo server and a client connected to it.
pub struct Harness {
    pub client: EchoClient,
    shutdown: ShutdownHandle,
    server: tokio::task::JoinHandle<()>,
}

impl Harness {
    /// Starts the server on 127.0.0.1:0 and connects a client.
    pub async fn start() -> Self {
        let server = serve("127.0.0.1:0".parse().unwrap()).expect("bind");
        let address = server.local_endpoint().expect("address");
        let shutdown = server.shutdown_handle();
        let server = tokio::spawn(server);
        let client = timed(connect(address, &RpcClientConfig::default()))
            .await
            .expect("connect");
        Harness {
            client,
            shutdown,
            server,
        }
    }

    /// Shuts the server down gracefully, within [`WAIT`].
    pub async fn stop(self) {
        drop(self.client);
        timed(self.shutdown.shutdown_and_wait()).await;
        timed(self.server).await.expect("server task");
    }
}

/// `future`, failing the test if it takes longer than [`WAIT`].
pub async fn timed<F: Future>(future: F) -> F::Output {
    tokio::time::timeout(WAIT, future).await.expect("in time")
}
