//! Large messages and long streams over TLS: a TLS stream buffers what it is
//! given until flushed, so these pass only if the connection flushes whenever
//! its send queue empties (DESIGN.md's flush rule).

mod support;

use std::time::Duration;

use futures::StreamExt;
use protosocket::tls::TlsListenerConfig;
use protosocket_rpc::client::{RpcClient, RpcClientConfig};
use protosocket_rpc::server::RpcServerConfig;
use support::tls::{connector, serve_tls, server_config, Ca};
use support::{codec, timed, TestService, Text};

/// Bounds the 16 MiB round trip, which a debug build copies several times.
const LONG_WAIT: Duration = Duration::from_secs(60);

async fn tls_client() -> (RpcClient<Text, Text>, protosocket_server::ShutdownHandle) {
    let ca = Ca::new("test ca");
    let (address, shutdown) = serve_tls(
        TestService::default(),
        server_config(ca.server(), None),
        TlsListenerConfig::default(),
        RpcServerConfig::default(),
    );
    let client = timed(RpcClient::connect_with(
        &connector(&ca, None),
        address,
        codec(),
        &RpcClientConfig::default(),
    ))
    .await
    .expect("tls connect");
    (client, shutdown)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_16_mib_message_crosses_tls_both_ways() {
    let (client, shutdown) = tls_client().await;
    let body: String = (0..16 * 1024 * 1024 + 7)
        .map(|i| char::from(b'a' + (i % 26) as u8))
        .collect();
    let response = tokio::time::timeout(
        LONG_WAIT,
        client.send_unary(Text::new(format!("echo:{body}"))),
    )
    .await
    .expect("in time")
    .expect("answered");
    assert_eq!(response.text.len(), body.len());
    assert!(
        response.text == body,
        "the echo is the message, byte for byte"
    );
    timed(shutdown.shutdown_and_wait()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_of_10000_items_crosses_tls_in_order() {
    let (client, shutdown) = tls_client().await;
    let items: Vec<String> = tokio::time::timeout(LONG_WAIT, async {
        client
            .send_streaming(Text::new("stream:10000"))
            .map(|item| item.expect("an item").text)
            .collect()
            .await
    })
    .await
    .expect("in time");
    assert_eq!(items.len(), 10_000);
    assert!(
        items
            .iter()
            .enumerate()
            .all(|(i, item)| *item == i.to_string()),
        "in order"
    );
    timed(shutdown.shutdown_and_wait()).await;
}
