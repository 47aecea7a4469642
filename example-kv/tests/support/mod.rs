//! What the kv tests share: a server and a client on loopback, a bound on every
//! wait, and a raw call that reads the response envelope as it is on the wire.

#![allow(dead_code, unreachable_pub)]

use std::future::Future;
use std::time::Duration;

use example_kv::kv::{KvClient, KvRequest, KvResponse};
use example_kv::RunningServer;
use prost::Message as _;
use protosocket_rpc::client::RpcClientConfig;
use protosocket_rpc::{Error, StatusCode};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The longest any single wait of a test may take.
pub const WAIT: Duration = Duration::from_secs(10);

/// `future`, or a panic naming `what` once [`WAIT`] has passed.
pub async fn within<T>(what: &str, future: impl Future<Output = T>) -> T {
    tokio::time::timeout(WAIT, future)
        .await
        .unwrap_or_else(|_| panic!("{what} did not finish within {WAIT:?}"))
}

/// A server for `store` on an ephemeral loopback port, and a client of it.
pub async fn serve(store: impl example_kv::kv::Kv) -> (RunningServer, KvClient) {
    let server = example_kv::start_server("127.0.0.1:0".parse().expect("endpoint"), store)
        .expect("bind the kv server");
    let client = within(
        "connect",
        KvClient::connect(server.local_endpoint(), &RpcClientConfig::default()),
    )
    .await
    .expect("connect to the kv server");
    (server, client)
}

/// Sends `request` (id 1) on a fresh connection, byte for byte as any protobuf
/// client would, and returns the first response envelope.
pub async fn raw_call(server: &RunningServer, mut request: KvRequest) -> KvResponse {
    request.id = 1;
    let address = server.local_endpoint().tcp_address().expect("a tcp server");
    let mut stream = within("connect", tokio::net::TcpStream::connect(address))
        .await
        .expect("connect");
    within(
        "write",
        stream.write_all(&request.encode_length_delimited_to_vec()),
    )
    .await
    .expect("write the request");
    let mut received = Vec::new();
    loop {
        if let Ok(response) = KvResponse::decode_length_delimited(received.as_slice()) {
            return response;
        }
        let mut chunk = [0; 512];
        let read = within("read", stream.read(&mut chunk)).await.expect("read");
        assert!(
            read > 0,
            "the server closed the connection without answering"
        );
        received.extend_from_slice(&chunk[..read]);
    }
}

/// The status code of a call's outcome, if it failed with one.
pub fn status_code<T>(outcome: &Result<T, Error>) -> Option<StatusCode> {
    outcome
        .as_ref()
        .err()
        .and_then(protosocket_rpc::derive_support::error_status)
        .map(|status| status.code())
}
