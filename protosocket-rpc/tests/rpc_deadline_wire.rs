//! Deadlines on the wire: the client sends the time it has left, the handler
//! sees it, and the server drops work whose deadline passes (waiting in an async
//! hook, waiting for room to send, or running) and answers `DeadlineExceeded`.

mod support;

use std::sync::atomic::Ordering;
use std::time::Duration;

use protosocket::{MessageReactor, Replies};
use protosocket_rpc::client::RpcClientConfig;
use protosocket_rpc::server::RpcServerConfig;
use protosocket_rpc::{ControlCode, Message, StatusCode};
use support::rich::{
    hand_reactor, next_answer, poll_until_dropped, rich_client, serve_rich, stuck_hook, Envelope,
    RawPeer, RichService,
};
use support::{timed, DropCounter};

#[tokio::test]
async fn the_handler_sees_the_time_the_caller_has_left() {
    let (address, shutdown, _server) =
        serve_rich(RichService::default(), RpcServerConfig::default());
    let client = rich_client(address, &RpcClientConfig::default()).await;
    let left: u64 = timed(
        client.send_unary_with_deadline(Envelope::new("time-left"), Some(Duration::from_secs(5))),
    )
    .await
    .expect("an answer")
    .text
    .parse()
    .expect("milliseconds");
    assert!(left > 0 && left <= 5000, "{left} ms left");
    let none = timed(client.send_unary(Envelope::new("time-left"))).await;
    assert_eq!(none.expect("an answer").text, "none");

    let config = RpcClientConfig::default().default_deadline(Some(Duration::from_secs(3)));
    let client = rich_client(address, &config).await;
    let left: u64 = timed(client.send_unary(Envelope::new("time-left")))
        .await
        .expect("an answer")
        .text
        .parse()
        .expect("milliseconds");
    assert!(left > 0 && left <= 3000, "{left} ms left");
    timed(shutdown.shutdown_and_wait()).await;
}

#[tokio::test]
async fn work_in_flight_is_dropped_at_its_deadline() {
    let service = RichService::default();
    let (address, shutdown, _server) = serve_rich(service.clone(), RpcServerConfig::default());
    let client = rich_client(address, &RpcClientConfig::default()).await;
    let outcome = timed(
        client.send_unary_with_deadline(Envelope::new("hang"), Some(Duration::from_millis(100))),
    )
    .await;
    assert!(
        matches!(&outcome, Err(error) if error.is_deadline_exceeded()),
        "{outcome:?}"
    );
    service.drops.wait_for(1).await;

    // A peer that never cancels: the server's own deadline ends the work.
    let mut peer = RawPeer::connect(address).await;
    peer.send(&Envelope::raw(8, "hang", Some(Duration::from_millis(50))))
        .await;
    let answer = peer.recv().await;
    assert_eq!(answer.id, 8);
    assert_eq!(answer.control_code(), ControlCode::Status);
    assert_eq!(
        answer.status().map(|status| status.code()),
        Some(StatusCode::DeadlineExceeded)
    );
    service.drops.wait_for(2).await;
    // Work without a deadline beside it is not disturbed.
    peer.send(&Envelope::raw(9, "echo:still here", None)).await;
    assert_eq!(peer.recv().await.text, "still here");
    timed(shutdown.shutdown_and_wait()).await;
}

#[tokio::test]
async fn a_request_with_no_time_left_never_starts() {
    let service = RichService::default();
    let (address, shutdown, _server) = serve_rich(service.clone(), RpcServerConfig::default());
    let mut peer = RawPeer::connect(address).await;
    peer.send(&Envelope::raw(2, "echo:x", Some(Duration::ZERO)))
        .await;
    let answer = peer.recv().await;
    assert_eq!(
        answer.status().map(|status| status.code()),
        Some(StatusCode::DeadlineExceeded)
    );
    assert_eq!(service.started(), 0);
    timed(shutdown.shutdown_and_wait()).await;
}

#[tokio::test]
async fn a_request_held_by_an_async_hook_expires_there() {
    let service = RichService::default();
    let held = DropCounter::default();
    let config = RpcServerConfig::default().call_hook(Some(stuck_hook(&held)));
    let (address, shutdown, _server) = serve_rich(service.clone(), config);
    let mut peer = RawPeer::connect(address).await;
    peer.send(&Envelope::raw(6, "echo:x", Some(Duration::from_millis(50))))
        .await;
    let answer = peer.recv().await;
    assert_eq!(answer.id, 6);
    assert_eq!(
        answer.status().map(|status| status.code()),
        Some(StatusCode::DeadlineExceeded)
    );
    held.wait_for(1).await;
    assert_eq!(service.started(), 0, "the service never saw it");
    timed(shutdown.shutdown_and_wait()).await;
}

/// The reactor by hand, so that the connection never has room to send: a new
/// stream waits to be first polled, its deadline passes meanwhile, and its work
/// is dropped unpolled; the answer leaves once there is room.
#[tokio::test]
async fn a_stream_waiting_for_room_expires_unpolled() {
    let service = RichService::default();
    let mut reactor = hand_reactor(&service);
    let mut replies = Replies::new();
    reactor.on_inbound_message(
        Envelope::raw(12, "stream:3", Some(Duration::from_millis(30))),
        &mut replies,
    );
    assert!(replies.is_empty());
    assert_eq!(reactor.in_flight(), 1);
    // The deadline's timer wakes it.
    poll_until_dropped(&mut reactor, &service, 1).await;
    assert_eq!(service.polls.load(Ordering::SeqCst), 0, "never polled");
    assert_eq!(reactor.in_flight(), 1, "in flight until answered");
    let answer = next_answer(&mut reactor).await;
    assert_eq!(answer.message_id(), 12);
    assert_eq!(
        answer.status().map(|status| status.code()),
        Some(StatusCode::DeadlineExceeded)
    );
    assert_eq!(reactor.in_flight(), 0);
}
