//! The server's deadlines on rpcs that take a request stream (client
//! streaming, bidi): work whose deadline passes while it waits (held by an
//! async call hook, or for room to send) is dropped unstarted or unpolled, work
//! that is running (its handler blocked reading its request stream, or
//! producing) is cancelled; each is answered `DeadlineExceeded`, the client's
//! sender sees its call ended, and the id is free again once the input ends.
//!
//! The requests here carry a timeout while the client's call has no deadline
//! of its own, so it is the server's deadline that ends them.

mod support;

use std::time::Duration;

use futures::StreamExt;
use protosocket::{MessageReactor, Replies};
use protosocket_rpc::client::RpcClientConfig;
use protosocket_rpc::server::RpcServerConfig;
use protosocket_rpc::{ControlCode, Message, StatusCode};
use support::rich::{
    hand_reactor, next_answer, poll_until_dropped, rich_client, serve_rich, stuck_hook, Envelope,
    RawPeer, RichService,
};
use support::{status_of, timed, until_closed, DropCounter};

/// A request that takes a request stream, with `timeout` on the wire.
fn with_timeout(text: &str, timeout: Duration) -> Envelope {
    let mut request = Envelope::new(text);
    request.set_timeout(Some(timeout));
    request
}

#[tokio::test]
async fn a_client_streaming_rpc_blocked_reading_its_requests_is_cancelled_at_its_deadline() {
    let service = RichService::default();
    let (address, shutdown, _server) = serve_rich(service.clone(), RpcServerConfig::default());
    let client = rich_client(address, &RpcClientConfig::default()).await;

    let (mut sender, response) =
        client.send_client_streaming(with_timeout("in:count", Duration::from_millis(100)));
    timed(sender.send(Envelope::new("0"))).await.expect("sent");
    // No more requests and no End: the handler waits on its request stream.
    let status = status_of(timed(response).await);
    assert_eq!(status.code(), StatusCode::DeadlineExceeded, "{status}");
    service.drops.wait_for(1).await;
    until_closed(&mut sender, || Envelope::new("x")).await;
    timed(shutdown.shutdown_and_wait()).await;
}

#[tokio::test]
async fn a_bidi_rpc_producing_is_cancelled_at_its_deadline() {
    let service = RichService::default();
    let (address, shutdown, _server) = serve_rich(service.clone(), RpcServerConfig::default());
    let client = rich_client(address, &RpcClientConfig::default()).await;

    let (mut sender, mut responses) =
        client.send_bidi(with_timeout("in:tick", Duration::from_millis(100)));
    assert_eq!(timed(responses.next()).await.unwrap().unwrap().text, "tick");
    let error = timed(async {
        loop {
            match responses.next().await {
                Some(Ok(tick)) => assert_eq!(tick.text, "tick"),
                Some(Err(error)) => return error,
                None => panic!("the stream ended without an error"),
            }
        }
    })
    .await;
    assert!(error.is_deadline_exceeded(), "{error}");
    assert!(timed(responses.next()).await.is_none());
    service.drops.wait_for(1).await;
    until_closed(&mut sender, || Envelope::new("x")).await;
    timed(shutdown.shutdown_and_wait()).await;
}

#[tokio::test]
async fn a_client_streaming_rpc_held_by_an_async_hook_expires_there() {
    let service = RichService::default();
    let held = DropCounter::default();
    let config = RpcServerConfig::default().call_hook(Some(stuck_hook(&held)));
    let (address, shutdown, _server) = serve_rich(service.clone(), config);
    let client = rich_client(address, &RpcClientConfig::default()).await;

    let (mut sender, response) =
        client.send_client_streaming(with_timeout("in:count", Duration::from_millis(50)));
    // Buffered while the hook holds the rpc, then discarded with it.
    timed(sender.send(Envelope::new("0"))).await.expect("sent");
    let status = status_of(timed(response).await);
    assert_eq!(status.code(), StatusCode::DeadlineExceeded, "{status}");
    held.wait_for(1).await;
    until_closed(&mut sender, || Envelope::new("x")).await;
    assert_eq!(service.started(), 0, "the service never saw it");
    timed(shutdown.shutdown_and_wait()).await;
}

/// A peer that never cancels and keeps its input open: the server answers the
/// deadline, keeps the id until the peer's `End`, and then takes the id anew.
#[tokio::test]
async fn an_expired_rpc_keeps_its_id_until_the_input_ends() {
    let service = RichService::default();
    let (address, shutdown, _server) = serve_rich(service.clone(), RpcServerConfig::default());
    let mut peer = RawPeer::connect(address).await;
    let mut request = Envelope::raw(4, "in:count", Some(Duration::from_millis(50)));
    peer.send(&request).await;
    let answer = peer.recv().await;
    assert_eq!(answer.id, 4);
    assert_eq!(
        answer.status().map(|status| status.code()),
        Some(StatusCode::DeadlineExceeded)
    );
    service.drops.wait_for(1).await;
    // Still its input: discarded, not a duplicate.
    peer.send(&Envelope::raw(4, "late", None)).await;
    let mut end = Envelope::raw(4, "", None);
    end.code = ControlCode::End as u32;
    peer.send(&end).await;
    // Id 4 is free again: a new rpc, read to its End.
    request.timeout_micros = None;
    peer.send(&request).await;
    peer.send(&Envelope::raw(4, "0", None)).await;
    peer.send(&end).await;
    let answer = peer.recv().await;
    assert_eq!((answer.id, answer.text.as_str()), (4, "1"));
    timed(shutdown.shutdown_and_wait()).await;
}

/// The reactor by hand, so that the connection never has room to send: a bidi
/// rpc's deadline passes while it waits to be polled again, its work is
/// dropped there, and the answer leaves once there is room.
#[tokio::test]
async fn a_bidi_rpc_waiting_for_room_expires_there() {
    let service = RichService::default();
    let mut reactor = hand_reactor(&service);
    let mut replies = Replies::new();
    reactor.on_inbound_message(
        Envelope::raw(12, "in:tick", Some(Duration::from_millis(30))),
        &mut replies,
    );
    assert!(replies.is_empty());
    assert_eq!(service.started(), 1);
    poll_until_dropped(&mut reactor, &service, 1).await;
    let answer = next_answer(&mut reactor).await;
    assert_eq!(answer.message_id(), 12);
    assert_eq!(
        answer.status().map(|status| status.code()),
        Some(StatusCode::DeadlineExceeded)
    );
    assert_eq!(reactor.in_flight(), 1, "the id waits for the client's End");
    let mut end = Envelope::raw(12, "", None);
    end.code = ControlCode::End as u32;
    reactor.on_inbound_message(end, &mut replies);
    assert_eq!(reactor.in_flight(), 0);
    assert!(replies.is_empty());
}
