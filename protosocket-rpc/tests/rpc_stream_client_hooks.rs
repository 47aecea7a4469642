//! Client call hooks on calls with an input side (client streaming, bidi):
//! sync and async, letting the call through (with the metadata they set) or
//! refusing it, which fails the call with the hook's status unsent and closes
//! its sender. An async hook runs before the call's first request leaves,
//! driven by whichever half of the call is polled; items wait in `send`
//! meanwhile.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures::{poll, StreamExt};
use protosocket_rpc::client::{CallHook, RpcClient, RpcClientConfig};
use protosocket_rpc::server::{RpcServerConfig, ShutdownHandle};
use protosocket_rpc::{Metadata, Status, StatusCode};
use support::rich::{rich_client, serve_rich, Envelope, RichService};
use support::{client, serve, status_of, timed, until_closed, TestService, Text};
use tokio::sync::Semaphore;

/// An async hook that adds `auth: ok` once its gate gives it a permit, and
/// counts its runs.
struct Gate {
    permits: Arc<Semaphore>,
    runs: Arc<AtomicUsize>,
}

impl Gate {
    fn new(permits: usize) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(permits)),
            runs: Arc::default(),
        }
    }

    /// A client configuration with this gate's hook.
    fn config(&self) -> RpcClientConfig {
        let (permits, runs) = (Arc::clone(&self.permits), Arc::clone(&self.runs));
        let hook = CallHook::new_async(move |mut metadata: Metadata| {
            let (permits, runs) = (Arc::clone(&permits), Arc::clone(&runs));
            async move {
                permits.acquire().await.expect("open").forget();
                runs.fetch_add(1, Ordering::SeqCst);
                metadata.insert("auth", "ok");
                Ok(metadata)
            }
        });
        RpcClientConfig::default().call_hook(Some(hook))
    }

    /// Lets one hook run finish.
    fn open(&self) {
        self.permits.add_permits(1);
    }

    fn runs(&self) -> usize {
        self.runs.load(Ordering::SeqCst)
    }
}

/// A [`TestService`] server and a client of it with `config`.
async fn text_setup(
    config: &RpcClientConfig,
) -> (TestService, RpcClient<Text, Text>, ShutdownHandle) {
    let service = TestService::default();
    let (address, shutdown, _server) = serve(service.clone(), RpcServerConfig::default());
    (service, client(address, config).await, shutdown)
}

/// A [`RichService`] server and a client of it with `config`.
async fn rich_setup(
    config: &RpcClientConfig,
) -> (RichService, RpcClient<Envelope, Envelope>, ShutdownHandle) {
    let service = RichService::default();
    let (address, shutdown, _server) = serve_rich(service.clone(), RpcServerConfig::default());
    (service, rich_client(address, config).await, shutdown)
}

/// An async hook that refuses every call after yielding once.
fn refusing_hook() -> CallHook {
    CallHook::new_async(|_: Metadata| async {
        tokio::task::yield_now().await;
        Err(Status::unauthenticated("no token"))
    })
}

#[tokio::test]
async fn an_async_hook_lets_a_client_streaming_call_through_driven_by_its_sender() {
    let gate = Gate::new(1);
    let (_service, client, shutdown) = rich_setup(&gate.config()).await;

    let (mut sender, response) = client.send_client_streaming(Envelope::new("in:count"));
    // The completion is not polled until every item is sent: the sender runs
    // the hook, and its first request leaves ahead of the items.
    for i in 0..3 {
        timed(sender.send(Envelope::new(i.to_string())))
            .await
            .expect("sent");
    }
    timed(sender.finish()).await;
    let answer = timed(response).await.expect("an answer");
    assert_eq!(answer.text, "3");
    let mut answer = answer;
    let metadata = protosocket_rpc::Message::take_metadata(&mut answer);
    assert_eq!(
        metadata.text("auth"),
        Some("ok"),
        "the hook's metadata arrived"
    );
    assert_eq!(gate.runs(), 1);
    timed(shutdown.shutdown_and_wait()).await;
}

#[tokio::test]
async fn an_async_hook_holds_a_bidi_calls_items_until_it_decides() {
    let gate = Gate::new(0);
    let (service, client, shutdown) = text_setup(&gate.config()).await;

    let (mut sender, mut responses) = client.send_bidi(Text::new("in:echo"));
    {
        let send = sender.send(Text::new("0"));
        tokio::pin!(send);
        assert!(poll!(&mut send).is_pending(), "items wait for the hook");
        assert!(poll!(responses.next()).is_pending());
        gate.open();
        timed(send).await.expect("sent once the hook passed");
    }
    assert_eq!(timed(responses.next()).await.unwrap().unwrap().text, "0");
    timed(sender.finish()).await;
    assert!(timed(responses.next()).await.is_none());
    assert_eq!(gate.runs(), 1);
    assert_eq!(service.started(), 1);
    timed(shutdown.shutdown_and_wait()).await;
}

#[tokio::test]
async fn an_async_hook_passed_on_the_completions_poll_sends_the_first_request_there() {
    let gate = Gate::new(0);
    let (_service, client, shutdown) = text_setup(&gate.config()).await;

    let (mut sender, mut responses) = client.send_bidi(Text::new("in:echo"));
    assert!(poll!(responses.next()).is_pending());
    gate.open();
    // This poll runs the hook to its end and queues the first request.
    assert!(poll!(responses.next()).is_pending());
    assert_eq!(gate.runs(), 1);
    // The items follow it, once the connection has taken it.
    for i in 0..3 {
        timed(sender.send(Text::new(i.to_string())))
            .await
            .expect("sent");
    }
    timed(sender.finish()).await;
    let texts: Vec<String> = timed(responses.map(|r| r.expect("a response").text).collect()).await;
    assert_eq!(texts, ["0", "1", "2"]);
    timed(shutdown.shutdown_and_wait()).await;
}

#[tokio::test]
async fn an_async_hook_refuses_a_client_streaming_call_and_closes_its_sender() {
    let config = RpcClientConfig::default().call_hook(Some(refusing_hook()));
    let (service, client, shutdown) = text_setup(&config).await;

    let (mut sender, response) = client.send_client_streaming(Text::new("in:sum"));
    let refused = timed(sender.send(Text::new("0"))).await;
    assert!(refused.is_err(), "the sender sees the call ended");
    assert!(sender.is_closed());
    let status = status_of(timed(response).await);
    assert_eq!(status.code(), StatusCode::Unauthenticated, "{status}");
    assert_eq!(service.started(), 0, "nothing was sent");
    timed(shutdown.shutdown_and_wait()).await;
}

#[tokio::test]
async fn an_async_hook_refuses_a_bidi_call_and_closes_its_sender() {
    let config = RpcClientConfig::default().call_hook(Some(refusing_hook()));
    let (service, client, shutdown) = text_setup(&config).await;

    let (mut sender, mut responses) = client.send_bidi(Text::new("in:echo"));
    let error = timed(responses.next()).await.unwrap().unwrap_err();
    assert_eq!(error.status_code(), StatusCode::Unauthenticated, "{error}");
    assert!(timed(responses.next()).await.is_none());
    until_closed(&mut sender, || Text::new("x")).await;
    assert_eq!(service.started(), 0, "nothing was sent");
    timed(shutdown.shutdown_and_wait()).await;
}

#[tokio::test]
async fn a_sender_dropped_while_an_async_hook_runs_still_ends_the_input() {
    let gate = Gate::new(0);
    let (_service, client, shutdown) = rich_setup(&gate.config()).await;

    let (mut sender, response) = client.send_client_streaming(Envelope::new("in:count"));
    {
        let send = sender.send(Envelope::new("lost"));
        tokio::pin!(send);
        // The sender polls the hook last, then goes away: the completion takes over.
        assert!(poll!(&mut send).is_pending());
    }
    drop(sender);
    gate.open();
    let answer = timed(response).await.expect("an answer");
    assert_eq!(answer.text, "0", "the first request, then End");
    assert_eq!(gate.runs(), 1);
    timed(shutdown.shutdown_and_wait()).await;
}

#[tokio::test]
async fn a_call_dropped_or_expired_while_an_async_hook_runs_closes_its_sender() {
    let gate = Gate::new(0);
    let (service, client, shutdown) = text_setup(&gate.config()).await;

    let (mut sender, mut responses) = client.send_bidi(Text::new("in:echo"));
    assert!(poll!(responses.next()).is_pending());
    drop(responses);
    assert!(timed(sender.send(Text::new("x"))).await.is_err());

    let (mut sender, response) = client
        .send_client_streaming_with_deadline(Text::new("in:sum"), Some(Duration::from_millis(30)));
    let error = timed(response).await.unwrap_err();
    assert!(error.is_deadline_exceeded(), "{error}");
    assert!(timed(sender.send(Text::new("x"))).await.is_err());
    assert!(sender.is_closed());

    assert_eq!(gate.runs(), 0, "neither hook decided");
    assert_eq!(service.started(), 0, "nothing was sent");
    timed(shutdown.shutdown_and_wait()).await;
}

#[tokio::test]
async fn a_sync_hook_lets_client_streaming_and_bidi_calls_through_with_its_metadata() {
    let hook = CallHook::new(|metadata: &mut Metadata| {
        metadata.insert("auth", "sync");
        Ok(())
    });
    let (service, client, shutdown) =
        rich_setup(&RpcClientConfig::default().call_hook(Some(hook))).await;

    let (mut sender, response) = client.send_client_streaming(Envelope::new("in:count"));
    timed(sender.send(Envelope::new("0"))).await.expect("sent");
    timed(sender.finish()).await;
    let mut answer = timed(response).await.expect("an answer");
    assert_eq!(answer.text, "1");
    let metadata = protosocket_rpc::Message::take_metadata(&mut answer);
    assert_eq!(metadata.text("auth"), Some("sync"));

    let (sender, mut responses) = client.send_bidi(Envelope::new("in:tick"));
    assert_eq!(timed(responses.next()).await.unwrap().unwrap().text, "tick");
    drop((sender, responses));
    service.drops.wait_for(1).await;
    timed(shutdown.shutdown_and_wait()).await;
}

#[tokio::test]
async fn a_sync_hook_refuses_a_client_streaming_call_unsent() {
    let hook = CallHook::new(|_: &mut Metadata| Err(Status::permission_denied("not you")));
    let (service, client, shutdown) =
        text_setup(&RpcClientConfig::default().call_hook(Some(hook))).await;

    let (mut sender, response) = client.send_client_streaming(Text::new("in:sum"));
    assert!(sender.is_closed());
    assert!(timed(sender.send(Text::new("0"))).await.is_err());
    let status = status_of(timed(response).await);
    assert_eq!(status.code(), StatusCode::PermissionDenied, "{status}");
    assert_eq!(service.started(), 0, "nothing was sent");
    timed(shutdown.shutdown_and_wait()).await;
}
