//! Per-call hooks on both ends, sync and async: a hook that refuses a call (the
//! service never sees it, or the request is never sent), and a hook that adds
//! metadata the handler then sees.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use protosocket_rpc::client::{CallHook as ClientHook, RpcClientConfig};
use protosocket_rpc::server::{CallContext, CallHook, RpcServerConfig};
use protosocket_rpc::{Metadata, Status, StatusCode};
use support::rich::{rich_client, serve_rich, stuck_hook, Envelope, RawPeer, RichService};
use support::{never, status_of, timed, DropCounter};

/// Lets through requests whose `authorization` is `secret`, naming the caller in
/// the metadata the handler sees.
fn authorize(call: &mut CallContext) -> Result<(), Status> {
    match call.metadata().text("authorization") {
        Some("secret") => {
            call.metadata_mut().insert("user", "alice");
            Ok(())
        }
        _ => Err(Status::unauthenticated("who are you?")),
    }
}

fn with_token(token: &'static str) -> Envelope {
    let mut request = Envelope::new("metadata:user");
    request.metadata.push(support::rich::Entry {
        key: "authorization".into(),
        text: Some(token.into()),
        binary: None,
    });
    request
}

#[tokio::test]
async fn a_sync_server_hook_refuses_or_adds_metadata() {
    let service = RichService::default();
    let config = RpcServerConfig::default().call_hook(Some(CallHook::new(authorize)));
    let (address, shutdown, _server) = serve_rich(service.clone(), config);
    let client = rich_client(address, &RpcClientConfig::default()).await;

    let refused = status_of(timed(client.send_unary(with_token("guess"))).await);
    assert_eq!(refused.code(), StatusCode::Unauthenticated);
    assert_eq!(refused.message(), "who are you?");
    assert_eq!(service.started(), 0, "the service never saw it");

    let answer = timed(client.send_unary(with_token("secret"))).await;
    assert_eq!(answer.expect("let through").text, "alice");
    timed(shutdown.shutdown_and_wait()).await;
}

#[tokio::test]
async fn an_async_server_hook_refuses_or_adds_metadata() {
    let service = RichService::default();
    let hook = CallHook::new_async(|mut call: CallContext| async move {
        tokio::task::yield_now().await;
        authorize(&mut call).map(|()| call)
    });
    let config = RpcServerConfig::default().call_hook(Some(hook));
    let (address, shutdown, _server) = serve_rich(service.clone(), config);
    let client = rich_client(address, &RpcClientConfig::default()).await;

    let refused = status_of(timed(client.send_unary(with_token("guess"))).await);
    assert_eq!(refused.code(), StatusCode::Unauthenticated);
    assert_eq!(service.started(), 0);

    let answer = timed(client.send_unary(with_token("secret"))).await;
    assert_eq!(answer.expect("let through").text, "alice");
    let mut stream = client.send_streaming(Envelope {
        text: "stream:3".into(),
        ..with_token("secret")
    });
    let mut items = Vec::new();
    while let Some(item) = timed(futures::StreamExt::next(&mut stream)).await {
        items.push(item.expect("an item").text);
    }
    assert_eq!(items, ["0", "1", "2"]);
    timed(shutdown.shutdown_and_wait()).await;
}

#[tokio::test]
async fn a_client_cancel_drops_a_request_held_by_an_async_hook() {
    let service = RichService::default();
    let held = DropCounter::default();
    let config = RpcServerConfig::default().call_hook(Some(stuck_hook(&held)));
    let (address, shutdown, _server) = serve_rich(service.clone(), config);
    let mut peer = RawPeer::connect(address).await;
    peer.send(&Envelope::raw(4, "echo:never", None)).await;
    peer.send(&Envelope::cancel(4)).await;
    let answer = peer.recv().await;
    assert_eq!(answer.id, 4);
    assert_eq!(
        answer.status().map(|status| status.code()),
        Some(StatusCode::Cancelled)
    );
    held.wait_for(1).await;
    assert_eq!(service.started(), 0);
    timed(shutdown.shutdown_and_wait()).await;
}

#[tokio::test]
async fn a_client_hook_adds_metadata_the_handler_sees() {
    let service = RichService::default();
    let config = RpcServerConfig::default().call_hook(Some(CallHook::new(authorize)));
    let (address, shutdown, _server) = serve_rich(service.clone(), config);

    let sync = ClientHook::new(|metadata: &mut Metadata| {
        metadata.insert("authorization", "secret");
        Ok(())
    });
    let client = rich_client(address, &RpcClientConfig::default().call_hook(Some(sync))).await;
    let answer = timed(client.send_unary(Envelope::new("metadata:user"))).await;
    assert_eq!(answer.expect("authorized").text, "alice");

    let not_async = ClientHook::new_async(|mut metadata: Metadata| async move {
        tokio::task::yield_now().await;
        metadata.insert("authorization", "secret");
        Ok(metadata)
    });
    let client = rich_client(
        address,
        &RpcClientConfig::default().call_hook(Some(not_async)),
    )
    .await;
    let answer = timed(client.send_unary(Envelope::new("metadata:user"))).await;
    assert_eq!(answer.expect("authorized").text, "alice");
    timed(shutdown.shutdown_and_wait()).await;
}

#[tokio::test]
async fn a_client_hook_that_refuses_sends_nothing() {
    let service = RichService::default();
    let (address, shutdown, _server) = serve_rich(service.clone(), RpcServerConfig::default());
    let refuse = |metadata: &Metadata| match metadata.text("ok") {
        Some(_) => Ok(()),
        None => Err(Status::failed_precondition("not ok")),
    };
    let sync = ClientHook::new(move |metadata: &mut Metadata| refuse(metadata));
    let sync_client = rich_client(address, &RpcClientConfig::default().call_hook(Some(sync))).await;
    let asynchronous = ClientHook::new_async(move |metadata: Metadata| async move {
        refuse(&metadata).map(|()| metadata)
    });
    let async_client = rich_client(
        address,
        &RpcClientConfig::default().call_hook(Some(asynchronous)),
    )
    .await;
    for client in [&sync_client, &async_client] {
        let status = status_of(timed(client.send_unary(Envelope::new("echo:x"))).await);
        assert_eq!(status.code(), StatusCode::FailedPrecondition);
        let mut stream = client.send_streaming(Envelope::new("stream:1"));
        let first = timed(futures::StreamExt::next(&mut stream)).await;
        assert_eq!(
            status_of(first.expect("the refusal")).code(),
            StatusCode::FailedPrecondition
        );
        let mut allowed = Envelope::new("echo:allowed");
        allowed.metadata.push(support::rich::Entry {
            key: "ok".into(),
            text: Some("1".into()),
            binary: None,
        });
        let answer = timed(client.send_unary(allowed)).await;
        assert_eq!(answer.expect("allowed").text, "allowed");
    }
    assert_eq!(service.started(), 2, "only the allowed calls were sent");
    timed(shutdown.shutdown_and_wait()).await;
}

#[tokio::test]
async fn an_async_client_hook_counts_in_the_deadline_and_dies_with_its_call() {
    let service = RichService::default();
    let (address, shutdown, _server) = serve_rich(service.clone(), RpcServerConfig::default());
    let held = DropCounter::default();
    let entered = Arc::new(AtomicUsize::new(0));
    let hook = {
        let (held, entered) = (held.clone(), Arc::clone(&entered));
        ClientHook::new_async(move |_: Metadata| {
            entered.fetch_add(1, Ordering::SeqCst);
            never(held.guard())
        })
    };
    let client = rich_client(address, &RpcClientConfig::default().call_hook(Some(hook))).await;
    let late = timed(
        client
            .send_unary_with_deadline(Envelope::new("echo:late"), Some(Duration::from_millis(50))),
    )
    .await;
    assert!(
        matches!(&late, Err(error) if error.is_deadline_exceeded()),
        "{late:?}"
    );

    let dropped = client.send_unary(Envelope::new("echo:dropped"));
    drop(dropped);
    held.wait_for(2).await;
    assert_eq!(entered.load(Ordering::SeqCst), 2);
    assert_eq!(service.started(), 0, "nothing was sent");
    timed(shutdown.shutdown_and_wait()).await;
}
