//! Every pending call resolves with ConnectionClosed when the server goes.
mod support;

use std::time::Duration;

use futures::StreamExt;
use protosocket_rpc::client::RpcClientConfig;
use protosocket_rpc::server::RpcServerConfig;
use protosocket_rpc::Error;
use protosocket_server::ProtosocketServerConfig;
use support::*;

#[tokio::test]
async fn pending_calls_fail_with_connection_closed_when_the_server_goes() {
    let config = RpcServerConfig::default()
        .server_config(ProtosocketServerConfig::default().grace_period(Duration::from_millis(50)));
    let (address, shutdown, _server) = serve(TestService::default(), config);
    let client = client(address, &RpcClientConfig::default()).await;

    let unary: Vec<_> = (0..20)
        .map(|_| client.send_unary(Text::new("hang")))
        .collect();
    let mut stream = client.send_streaming(Text::new("tick"));
    assert!(timed(stream.next()).await.unwrap().is_ok());
    let pending = tokio::spawn(async move {
        let mut outcomes = Vec::new();
        for call in unary {
            outcomes.push(call.await);
        }
        outcomes
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    shutdown.shutdown();

    let outcomes = tokio::time::timeout(Duration::from_secs(1), pending)
        .await
        .expect("every call resolves within a second")
        .unwrap();
    for outcome in outcomes {
        assert!(
            matches!(outcome, Err(Error::ConnectionClosed(_))),
            "{outcome:?}"
        );
    }
    let mut last = None;
    while let Some(item) = tokio::time::timeout(Duration::from_secs(1), stream.next())
        .await
        .unwrap()
    {
        last = Some(item);
    }
    assert!(
        matches!(last, Some(Err(Error::ConnectionClosed(_)))),
        "{last:?}"
    );
    // The server announced its drain before it went: a later call is refused
    // unsent, as `Unavailable`.
    let later = timed(client.send_unary(Text::new("echo:x"))).await;
    assert!(
        matches!(&later, Err(error) if error.status_code() == protosocket_rpc::StatusCode::Unavailable && client.is_draining()),
        "{later:?}"
    );
}
