//! A shared token, checked once per connection: the right one works for many
//! calls with one check; a wrong one is `UNAUTHENTICATED` and its connection
//! closes; a pool's new connection, after the server restarts, checks again.

mod support;

use example_kv::deploy::{credentials, start_server_with, TokenCheck};
use example_kv::kv::{GetRequest, KvClient, SetRequest};
use example_kv::KvService;
use protosocket_rpc::client::{PoolConfig, RpcClient, RpcClientConfig};
use protosocket_rpc::server::RpcServerConfig;
use protosocket_rpc::StatusCode;
use support::within;

fn requiring(check: &TokenCheck) -> RpcServerConfig {
    RpcServerConfig::default().auth_hook(Some(check.hook()))
}

/// A kv server on an ephemeral loopback port that requires `check`'s token.
fn serve_requiring(check: &TokenCheck) -> example_kv::RunningServer {
    start_server_with(
        "127.0.0.1:0".parse().unwrap(),
        KvService::default(),
        requiring(check),
    )
    .expect("bind")
}

fn showing(token: &str) -> RpcClientConfig {
    RpcClientConfig::default().credentials(Some(credentials(token)))
}

fn set(key: &str) -> SetRequest {
    SetRequest {
        key: key.into(),
        value: b"v".to_vec(),
        ttl_ms: 0,
    }
}

#[tokio::test]
async fn the_right_token_is_checked_once_for_many_calls() {
    let check = TokenCheck::new("open sesame");
    let server = serve_requiring(&check);
    let client = within(
        "connect",
        KvClient::connect(server.local_endpoint(), &showing("open sesame")),
    )
    .await
    .expect("connect");
    for i in 0..100 {
        within("a set", client.set(set(&format!("key:{i}"))))
            .await
            .expect("an authenticated call");
    }
    let got = within(
        "a get",
        client.get(GetRequest {
            key: "key:7".into(),
        }),
    )
    .await;
    assert_eq!(got.expect("a get").value, b"v");
    assert_eq!(
        check.checks(),
        1,
        "one check for the connection's 101 calls"
    );
    within("shutdown", server.shutdown()).await;
}

#[tokio::test]
async fn a_wrong_token_is_unauthenticated_and_its_connection_closes() {
    let check = TokenCheck::new("open sesame");
    let server = serve_requiring(&check);
    let connection: RpcClient<_, _> = within(
        "connect",
        RpcClient::connect(
            server.local_endpoint(),
            KvClient::codec(),
            &showing("guess"),
        ),
    )
    .await
    .expect("connect");
    let client = KvClient::from_client(connection.clone());
    let refused = within("a set", client.set(set("key"))).await;
    assert_eq!(
        refused.expect_err("refused").status_code(),
        StatusCode::Unauthenticated
    );
    within("the connection closes", async {
        while !connection.is_closed() {
            tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        }
    })
    .await;
    assert_eq!(check.checks(), 1);
    within("shutdown", server.shutdown()).await;
}

#[tokio::test]
async fn a_pool_authenticates_again_after_the_server_restarts() {
    let check = TokenCheck::new("open sesame");
    let server = serve_requiring(&check);
    let endpoint = server.local_endpoint();
    let client = KvClient::pool(
        [endpoint.clone()],
        showing("open sesame"),
        PoolConfig::default().connections(1),
    );
    within("a set", client.set(set("before")))
        .await
        .expect("a call");
    assert_eq!(check.checks(), 1);

    within("shutdown", server.shutdown()).await;
    let server =
        start_server_with(endpoint, KvService::default(), requiring(&check)).expect("bind again");
    // The pool reconnects after its backoff; the first call on the new
    // connection carries the token again.
    within("a call on the new connection", async {
        while client.set(set("after")).await.is_err() {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    })
    .await;
    assert_eq!(check.checks(), 2, "the new connection was checked");
    within("shutdown", server.shutdown()).await;
}
