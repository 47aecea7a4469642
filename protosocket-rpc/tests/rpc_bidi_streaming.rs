//! Bidirectional calls: the client's requests and the server's responses flow
//! at once on one id; either side can end its half, and the server can end or
//! fail the whole call.

mod support;

use futures::StreamExt;
use protosocket_rpc::client::RpcClientConfig;
use protosocket_rpc::server::RpcServerConfig;
use protosocket_rpc::StatusCode;
use support::{client, serve, timed, until_closed, TestService, Text};

#[tokio::test]
async fn requests_and_responses_flow_at_once_in_order() {
    let service = TestService::default();
    let (address, shutdown, _server) = serve(service.clone(), RpcServerConfig::default());
    // Small buffers and budget: both directions wait on each other often.
    let config = RpcClientConfig::default().stream_buffer(4).send_budget(4);
    let client = client(address, &config).await;

    let (mut sender, mut responses) = client.send_bidi(Text::new("in:echo"));
    const COUNT: usize = 5000;
    let upload = tokio::spawn(async move {
        for i in 0..COUNT {
            sender.send(Text::new(i.to_string())).await.expect("open");
        }
        sender.finish().await;
    });
    for i in 0..COUNT {
        let response = timed(responses.next()).await.expect("a response");
        assert_eq!(response.expect("ok").text, i.to_string());
        assert!(responses.unread() <= 4);
    }
    assert!(
        timed(responses.next()).await.is_none(),
        "ended after the input"
    );
    timed(upload).await.unwrap();
    shutdown.shutdown_and_wait().await;
}

#[tokio::test]
async fn a_server_that_ends_its_stream_early_ends_the_call_and_the_senders_input() {
    let service = TestService::default();
    let (address, shutdown, _server) = serve(service.clone(), RpcServerConfig::default());
    let client = client(address, &RpcClientConfig::default()).await;

    let (mut sender, mut responses) = client.send_bidi(Text::new("in:take:3"));
    for i in 0..3 {
        timed(sender.send(Text::new(i.to_string()))).await.unwrap();
    }
    let got: Vec<_> = timed(
        responses
            .by_ref()
            .map(|r| r.unwrap().text)
            .collect::<Vec<_>>(),
    )
    .await;
    assert_eq!(got, ["0", "1", "2"]);
    until_closed(&mut sender, || Text::new("late")).await;
    drop(sender);
    let echo = timed(client.send_unary(Text::new("echo:next"))).await;
    assert_eq!(echo.unwrap().text, "next");
    assert_eq!(service.started(), 2, "late requests started nothing");
    shutdown.shutdown_and_wait().await;
}

#[tokio::test]
async fn a_server_that_fails_mid_stream_fails_the_call_alone() {
    let service = TestService::default();
    let (address, shutdown, _server) = serve(service.clone(), RpcServerConfig::default());
    let client = client(address, &RpcClientConfig::default()).await;

    let (mut sender, mut responses) = client.send_bidi(Text::new("in:fail:2"));
    for i in 0..3 {
        timed(sender.send(Text::new(i.to_string()))).await.unwrap();
    }
    assert_eq!(timed(responses.next()).await.unwrap().unwrap().text, "0");
    assert_eq!(timed(responses.next()).await.unwrap().unwrap().text, "1");
    let error = timed(responses.next()).await.unwrap().unwrap_err();
    assert_eq!(error.status_code(), StatusCode::Internal, "{error}");
    assert!(timed(responses.next()).await.is_none());
    drop(sender);
    let echo = timed(client.send_unary(Text::new("echo:alive"))).await;
    assert_eq!(echo.unwrap().text, "alive");
    shutdown.shutdown_and_wait().await;
}

#[tokio::test]
async fn dropping_the_response_stream_cancels_the_call() {
    let service = TestService::default();
    let (address, shutdown, _server) = serve(service.clone(), RpcServerConfig::default());
    let client = client(address, &RpcClientConfig::default()).await;

    let (mut sender, mut responses) = client.send_bidi(Text::new("in:echo"));
    timed(sender.send(Text::new("one"))).await.unwrap();
    assert_eq!(timed(responses.next()).await.unwrap().unwrap().text, "one");
    drop(responses);
    service.drops.wait_for(1).await;
    until_closed(&mut sender, || Text::new("x")).await;
    shutdown.shutdown_and_wait().await;
}

#[tokio::test]
async fn finishing_the_input_lets_the_server_end_the_stream() {
    let service = TestService::default();
    let (address, shutdown, _server) = serve(service.clone(), RpcServerConfig::default());
    let client = client(address, &RpcClientConfig::default()).await;

    let (sender, mut responses) = client.send_bidi(Text::new("in:echo"));
    timed(sender.finish()).await;
    assert!(
        timed(responses.next()).await.is_none(),
        "an empty input, an empty stream"
    );
    service.drops.wait_for(1).await;
    shutdown.shutdown_and_wait().await;
}

#[tokio::test]
async fn a_pool_opens_client_streaming_and_bidi_calls() {
    use protosocket_rpc::client::{PoolConfig, RpcPool};

    let service = TestService::default();
    let (address, shutdown, _server) = serve(service.clone(), RpcServerConfig::default());
    let pool: RpcPool<Text, Text, support::TextCodec> = RpcPool::new(
        [address],
        support::codec,
        RpcClientConfig::default(),
        PoolConfig::default(),
    );

    let (mut sender, sum) = timed(pool.send_client_streaming(Text::new("in:sum")))
        .await
        .expect("connected");
    for i in 0..100 {
        timed(sender.send(Text::new(i.to_string()))).await.unwrap();
    }
    timed(sender.finish()).await;
    assert_eq!(timed(sum).await.unwrap().text, "100");

    let (mut sender, mut echoes) = timed(pool.send_bidi(Text::new("in:echo")))
        .await
        .expect("connected");
    timed(sender.send(Text::new("hi"))).await.unwrap();
    assert_eq!(timed(echoes.next()).await.unwrap().unwrap().text, "hi");
    timed(sender.finish()).await;
    assert!(timed(echoes.next()).await.is_none());
    shutdown.shutdown_and_wait().await;
}
