//! Shared by the echo tests: a server on 127.0.0.1:0, a connected client, and a
//! bound on every wait.
#![allow(dead_code, unreachable_pub)]

use std::future::Future;
use std::time::Duration;

use example_proto::{start_server, EchoClient, RunningServer};
use protosocket_rpc::client::{RpcClient, RpcClientConfig};

/// Every network wait in the tests is bounded by this.
pub const WAIT: Duration = Duration::from_secs(10);

/// An echo server on an ephemeral port.
pub fn server() -> RunningServer {
    start_server(
        "127.0.0.1:0"
            .parse::<std::net::SocketAddr>()
            .expect("an address"),
    )
    .expect("bind")
}

/// A client connected to `server`, its connection spawned.
pub async fn client(server: &RunningServer) -> EchoClient {
    let client = timed(RpcClient::connect(
        server.local_addr(),
        protosocket_prost::codec(),
        &RpcClientConfig::default(),
    ))
    .await
    .expect("connect");
    client
}

/// `future`, failing the test if it takes longer than [`WAIT`].
pub async fn timed<F: Future>(future: F) -> F::Output {
    tokio::time::timeout(WAIT, future).await.expect("in time")
}

pub mod raw;

/// Makes a unary call on `client` and checks it echoes `message`.
pub async fn assert_echoes(client: &EchoClient, message: &str) {
    let request = example_proto::Request::echo(message, 1, example_proto::ResponseBehavior::Unary);
    let response = timed(client.send_unary(request)).await.expect("unary call");
    assert!(
        matches!(
            response.kind,
            Some(example_proto::response::Kind::Echo(ref echo)) if echo.message == message
        ),
        "wrong answer: {response:?}"
    );
}
