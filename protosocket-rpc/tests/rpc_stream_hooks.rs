//! Hooks and deadlines apply to calls with an input side (client streaming,
//! bidi) as to any other: a server hook that refuses one answers it with its
//! status (the service never sees it), an async server hook holds it and then
//! lets it through, a sync client hook that refuses one sends nothing, and a
//! deadline ends a bidi call and the server's work for it.

mod support;

use std::time::Duration;

use futures::StreamExt;
use protosocket_rpc::client::{CallHook as ClientHook, RpcClientConfig};
use protosocket_rpc::server::{CallContext, CallHook, RpcServerConfig};
use protosocket_rpc::{Metadata, Status, StatusCode};
use support::{client, serve, timed, until_closed, TestService, Text};

#[tokio::test]
async fn a_sync_server_hook_refuses_a_client_streaming_call() {
    let service = TestService::default();
    let hook = CallHook::new(|_: &mut CallContext| Err(Status::permission_denied("not you")));
    let config = RpcServerConfig::default().call_hook(Some(hook));
    let (address, shutdown, _server) = serve(service.clone(), config);
    let client = client(address, &RpcClientConfig::default()).await;

    let (mut sender, response) = client.send_client_streaming(Text::new("in:sum"));
    // The refusal may come before or after this item: either way it is discarded.
    let _ = timed(sender.send(Text::new("1"))).await;
    // `Text` carries no status: the refusal reads as its fallback, `Cancel`.
    let error = timed(response).await.unwrap_err();
    assert_eq!(error.status_code(), StatusCode::Cancelled, "{error}");
    until_closed(&mut sender, || Text::new("x")).await;
    assert_eq!(service.started(), 0, "the service never saw it");
    timed(shutdown.shutdown_and_wait()).await;
}

#[tokio::test]
async fn an_async_server_hook_lets_a_bidi_call_through_with_its_requests() {
    let service = TestService::default();
    let hook = CallHook::new_async(|call: CallContext| async move {
        tokio::task::yield_now().await;
        Ok(call)
    });
    let config = RpcServerConfig::default().call_hook(Some(hook));
    let (address, shutdown, _server) = serve(service.clone(), config);
    let client = client(address, &RpcClientConfig::default()).await;

    let (mut sender, responses) = client.send_bidi(Text::new("in:echo"));
    for i in 0..3 {
        timed(sender.send(Text::new(i.to_string()))).await.unwrap();
    }
    timed(sender.finish()).await;
    let texts: Vec<String> = timed(responses.map(|r| r.expect("a response").text).collect()).await;
    assert_eq!(texts, ["0", "1", "2"]);
    timed(shutdown.shutdown_and_wait()).await;
}

#[tokio::test]
async fn a_sync_client_hook_refuses_a_bidi_call_unsent() {
    let service = TestService::default();
    let (address, shutdown, _server) = serve(service.clone(), RpcServerConfig::default());
    let hook = ClientHook::new(|_: &mut Metadata| Err(Status::unauthenticated("no token")));
    let client = client(address, &RpcClientConfig::default().call_hook(Some(hook))).await;

    let (mut sender, mut responses) = client.send_bidi(Text::new("in:echo"));
    let error = timed(responses.next()).await.unwrap().unwrap_err();
    assert_eq!(error.status_code(), StatusCode::Unauthenticated, "{error}");
    assert!(sender.is_closed());
    assert!(timed(sender.send(Text::new("x"))).await.is_err());
    assert_eq!(service.started(), 0, "nothing was sent");
    timed(shutdown.shutdown_and_wait()).await;
}

#[tokio::test]
async fn a_deadline_ends_a_bidi_call_and_its_server_work() {
    let service = TestService::default();
    let (address, shutdown, _server) = serve(service.clone(), RpcServerConfig::default());
    let client = client(address, &RpcClientConfig::default()).await;

    let (mut sender, mut responses) =
        client.send_bidi_with_deadline(Text::new("in:echo"), Some(Duration::from_millis(50)));
    timed(sender.send(Text::new("0"))).await.unwrap();
    assert_eq!(timed(responses.next()).await.unwrap().unwrap().text, "0");
    let error = timed(responses.next()).await.unwrap().unwrap_err();
    assert!(error.is_deadline_exceeded(), "{error}");
    service.drops.wait_for(1).await;
    until_closed(&mut sender, || Text::new("x")).await;
    timed(shutdown.shutdown_and_wait()).await;
}
