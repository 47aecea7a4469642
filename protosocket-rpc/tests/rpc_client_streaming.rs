//! Client-streaming calls: the client sends a first request, more requests with
//! the same id, then `End`; the server answers once. Order, both ends' ways of
//! ending the call, a deadline, and a server that answers before reading
//! everything.

mod support;

use std::time::Duration;

use protosocket_rpc::client::RpcClientConfig;
use protosocket_rpc::server::RpcServerConfig;
use protosocket_rpc::StatusCode;
use support::{client, serve, timed, until_closed, TestService, Text};

#[tokio::test]
async fn many_requests_arrive_in_order_and_one_response_answers_them() {
    let service = TestService::default();
    let (address, shutdown, _server) = serve(service.clone(), RpcServerConfig::default());
    let client = client(address, &RpcClientConfig::default()).await;

    let (mut sender, response) = client.send_client_streaming(Text::new("in:sum"));
    for i in 0..5000 {
        timed(sender.send(Text::new(i.to_string())))
            .await
            .expect("the call is open");
    }
    timed(sender.finish()).await;
    assert_eq!(timed(response).await.expect("answered").text, "5000");

    // An empty input is an input too.
    let (sender, response) = client.send_client_streaming(Text::new("in:sum"));
    drop(sender);
    assert_eq!(timed(response).await.expect("answered").text, "0");

    // Unary calls on the same connection are unaffected.
    let echo = timed(client.send_unary(Text::new("echo:still here"))).await;
    assert_eq!(echo.expect("answered").text, "still here");
    assert_eq!(service.started(), 3);
    shutdown.shutdown_and_wait().await;
}

#[tokio::test]
async fn dropping_the_sender_mid_upload_ends_the_input_with_what_was_sent() {
    let service = TestService::default();
    let (address, shutdown, _server) = serve(service.clone(), RpcServerConfig::default());
    let client = client(address, &RpcClientConfig::default()).await;

    let (mut sender, response) = client.send_client_streaming(Text::new("in:sum"));
    for i in 0..10 {
        timed(sender.send(Text::new(i.to_string()))).await.unwrap();
    }
    drop(sender);
    assert_eq!(timed(response).await.expect("answered").text, "10");
    shutdown.shutdown_and_wait().await;
}

#[tokio::test]
async fn dropping_the_completion_cancels_the_server_work_and_closes_the_sender() {
    let service = TestService::default();
    let (address, shutdown, _server) = serve(service.clone(), RpcServerConfig::default());
    let client = client(address, &RpcClientConfig::default()).await;

    let (mut sender, response) = client.send_client_streaming(Text::new("in:park"));
    timed(sender.send(Text::new("0"))).await.unwrap();
    service.wait_for_started(1).await;
    drop(response);
    service.drops.wait_for(1).await;
    let refused = timed(async {
        loop {
            if let Err(error) = sender.send(Text::new("more")).await {
                return error;
            }
            tokio::task::yield_now().await;
        }
    })
    .await;
    assert_eq!(refused.into_inner().text, "more", "the request comes back");
    assert!(sender.is_closed());

    // The connection goes on, and the cancelled id started nothing new.
    let echo = timed(client.send_unary(Text::new("echo:ok"))).await;
    assert_eq!(echo.unwrap().text, "ok");
    assert_eq!(service.started(), 2);
    shutdown.shutdown_and_wait().await;
}

#[tokio::test]
async fn a_server_that_answers_early_ends_the_senders_input_and_late_requests_start_nothing() {
    let service = TestService::default();
    let (address, shutdown, _server) = serve(service.clone(), RpcServerConfig::default());
    let client = client(address, &RpcClientConfig::default()).await;

    let (mut sender, response) = client.send_client_streaming(Text::new("in:first"));
    timed(sender.send(Text::new("a"))).await.unwrap();
    // Sent before the answer can have come: they reach a finished rpc.
    for i in 0..20 {
        let _ = timed(sender.send(Text::new(i.to_string()))).await;
    }
    assert_eq!(timed(response).await.unwrap().text, "first:a");
    // The answer ended the input side.
    until_closed(&mut sender, || Text::new("late")).await;
    drop(sender);

    let echo = timed(client.send_unary(Text::new("echo:after"))).await;
    assert_eq!(echo.unwrap().text, "after");
    assert_eq!(
        service.started(),
        2,
        "no request of the first call started an rpc"
    );
    service.drops.wait_for(2).await;
    shutdown.shutdown_and_wait().await;
}

#[tokio::test]
async fn a_rejected_call_fails_and_closes_its_sender() {
    let service = TestService::default();
    let (address, shutdown, _server) = serve(service.clone(), RpcServerConfig::default());
    let client = client(address, &RpcClientConfig::default()).await;

    let (mut sender, response) = client.send_client_streaming(Text::new("in:nothing"));
    let _ = timed(sender.send(Text::new("0"))).await;
    // `Text` carries no status: the refusal reads as its fallback, `Cancel`.
    let error = timed(response).await.unwrap_err();
    assert_eq!(error.status_code(), StatusCode::Cancelled, "{error}");
    until_closed(&mut sender, || Text::new("x")).await;
    drop(sender);
    let echo = timed(client.send_unary(Text::new("echo:fine"))).await;
    assert_eq!(echo.unwrap().text, "fine");
    shutdown.shutdown_and_wait().await;
}

#[tokio::test]
async fn a_deadline_ends_a_client_streaming_call_and_its_server_work() {
    let service = TestService::default();
    let (address, shutdown, _server) = serve(service.clone(), RpcServerConfig::default());
    let client = client(address, &RpcClientConfig::default()).await;

    let (mut sender, response) = client
        .send_client_streaming_with_deadline(Text::new("in:park"), Some(Duration::from_millis(50)));
    timed(sender.send(Text::new("0"))).await.unwrap();
    assert!(timed(response).await.unwrap_err().is_deadline_exceeded());
    service.drops.wait_for(1).await;
    until_closed(&mut sender, || Text::new("x")).await;
    shutdown.shutdown_and_wait().await;
}

#[tokio::test]
async fn a_server_that_does_not_take_request_streams_answers_the_second_request_as_a_duplicate() {
    let service = TestService::default();
    let (address, shutdown, _server) = serve(service.clone(), RpcServerConfig::default());
    let client = client(address, &RpcClientConfig::default()).await;

    // `sleep` is a plain unary rpc: while its id is in flight, a second request
    // with it is a duplicate, which the server answers with AlreadyExists (read
    // as `Cancel` by a type without status fields, such as `Text`).
    let (mut sender, response) = client.send_client_streaming(Text::new("sleep:200"));
    timed(sender.send(Text::new("again"))).await.unwrap();
    let error = timed(response).await.unwrap_err();
    assert_eq!(error.status_code(), StatusCode::Cancelled, "{error}");
    shutdown.shutdown_and_wait().await;
}
