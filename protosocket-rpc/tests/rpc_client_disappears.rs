//! The server drops all rpc work of a client that vanishes.
mod support;

use std::time::Duration;

use futures::StreamExt;
use protosocket_rpc::client::{RpcClient, RpcClientConfig};
use protosocket_rpc::server::RpcServerConfig;
use support::*;

#[tokio::test]
async fn the_server_drops_every_rpc_of_a_client_that_disappears() {
    let service = TestService::default();
    let drops = service.drops.clone();
    let (address, shutdown, _server) = serve(service, RpcServerConfig::default());
    let stream = timed(tokio::net::TcpStream::connect(address))
        .await
        .unwrap();
    let (client, connection) = RpcClient::over_stream(stream, codec(), &RpcClientConfig::default());
    let connection = tokio::spawn(connection);

    let _hangs: Vec<_> = (0..3)
        .map(|_| client.send_unary(Text::new("hang")))
        .collect();
    let mut ticks = client.send_streaming(Text::new("tick"));
    assert!(timed(ticks.next()).await.unwrap().is_ok());
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(drops.dropped(), 0);

    // The client's connection vanishes (its socket is dropped, nothing flushed).
    connection.abort();
    drops.wait_for(4).await;
    timed(shutdown.shutdown_and_wait()).await;
}
