//! Every way a call fails reaches the client as its own status, with a message
//! type that carries one: a handler's status (unary, or ending a stream), a
//! rejection, the in-flight limit, a panic, a server shutting down, the
//! server's answer to a client's cancel, and a duplicate in-flight id.

mod support;

use futures::StreamExt;
use protosocket_rpc::client::RpcClientConfig;
use protosocket_rpc::server::{ProtosocketServerConfig, RpcServerConfig};
use protosocket_rpc::{ControlCode, Message, StatusCode};
use support::rich::{rich_client, serve_rich, Envelope, RawPeer, RichService};
use support::{status_of, timed};

#[tokio::test]
async fn a_handlers_status_reaches_the_client_with_its_message() {
    let (address, shutdown, _server) =
        serve_rich(RichService::default(), RpcServerConfig::default());
    let client = rich_client(address, &RpcClientConfig::default()).await;
    for code in [
        StatusCode::NotFound,
        StatusCode::InvalidArgument,
        StatusCode::Aborted,
    ] {
        let request = Envelope::new(format!("fail:{}", code.as_u32()));
        let status = status_of(timed(client.send_unary(request)).await);
        assert_eq!(status.code(), code);
        assert_eq!(status.message(), "handler says no");
    }
    let error = timed(client.send_unary(Envelope::new("fail:5")))
        .await
        .expect_err("a failure");
    assert_eq!(error.status_code(), StatusCode::NotFound);
    assert_eq!(error.to_string(), "NOT_FOUND: handler says no");
    timed(shutdown.shutdown_and_wait()).await;
}

#[tokio::test]
async fn a_status_item_ends_a_stream_and_the_server_drops_it() {
    let service = RichService::default();
    let (address, shutdown, _server) = serve_rich(service.clone(), RpcServerConfig::default());
    let client = rich_client(address, &RpcClientConfig::default()).await;
    let mut stream = client.send_streaming(Envelope::new("stream-fail"));
    for expected in ["0", "1"] {
        let item = timed(stream.next()).await.expect("an item").expect("ok");
        assert_eq!(item.text, expected);
    }
    let failure = timed(stream.next()).await.expect("the failure");
    let status = status_of(failure);
    assert_eq!(status.code(), StatusCode::NotFound);
    assert_eq!(status.message(), "no more");
    assert!(timed(stream.next()).await.is_none(), "nothing after it");
    // The stream's work was dropped after the status item, never polled for
    // `more`.
    service.drops.wait_for(1).await;

    // On the wire: the items, the status, and no End after it.
    let mut peer = RawPeer::connect(address).await;
    peer.send(&Envelope::raw(9, "stream-fail", None)).await;
    peer.send(&Envelope::raw(10, "echo:after", None)).await;
    let codes: Vec<(u64, ControlCode)> = {
        let mut codes = Vec::new();
        for _ in 0..4 {
            let answer = peer.recv().await;
            codes.push((answer.id, answer.control_code()));
        }
        codes
    };
    let stream: Vec<ControlCode> = codes
        .iter()
        .filter(|(id, _)| *id == 9)
        .map(|(_, code)| *code)
        .collect();
    assert_eq!(
        stream,
        [
            ControlCode::Normal,
            ControlCode::Normal,
            ControlCode::Status
        ]
    );
    assert!(codes.contains(&(10, ControlCode::Normal)), "{codes:?}");
    peer.send(&Envelope::raw(11, "echo:last", None)).await;
    let last = peer.recv().await;
    assert_eq!((last.id, last.text.as_str()), (11, "last"), "no End for 9");
    timed(shutdown.shutdown_and_wait()).await;
}

#[tokio::test]
async fn a_rejection_carries_the_services_status() {
    let service = RichService::default();
    let (address, shutdown, _server) = serve_rich(service.clone(), RpcServerConfig::default());
    let client = rich_client(address, &RpcClientConfig::default()).await;
    let status = status_of(timed(client.send_unary(Envelope::new("reject"))).await);
    assert_eq!(status.code(), StatusCode::PermissionDenied);
    assert_eq!(status.message(), "go away");
    let mut stream = client.send_streaming(Envelope::new("reject"));
    let first = timed(stream.next()).await.expect("the rejection");
    assert_eq!(status_of(first).code(), StatusCode::PermissionDenied);
    assert!(timed(stream.next()).await.is_none());
    timed(shutdown.shutdown_and_wait()).await;
}

#[tokio::test]
async fn requests_over_the_in_flight_limit_are_resource_exhausted() {
    let service = RichService::default();
    let config = RpcServerConfig::default().max_rpcs_in_flight(1);
    let (address, shutdown, _server) = serve_rich(service.clone(), config);
    let client = rich_client(address, &RpcClientConfig::default()).await;
    let busy = client.send_unary(Envelope::new("sleep:200"));
    let over = timed(client.send_unary(Envelope::new("echo:too many"))).await;
    assert_eq!(status_of(over).code(), StatusCode::ResourceExhausted);
    assert_eq!(timed(busy).await.expect("the first call").text, "slept");
    assert_eq!(service.started(), 1, "the refused call never ran");
    timed(shutdown.shutdown_and_wait()).await;
}

#[tokio::test]
async fn a_panicking_handler_is_internal_and_says_it_panicked() {
    let (address, shutdown, _server) =
        serve_rich(RichService::default(), RpcServerConfig::default());
    let client = rich_client(address, &RpcClientConfig::default()).await;
    let status = status_of(timed(client.send_unary(Envelope::new("panic"))).await);
    assert_eq!(status.code(), StatusCode::Internal);
    assert!(status.message().contains("panicked"), "{status}");
    let after = timed(client.send_unary(Envelope::new("echo:fine"))).await;
    assert_eq!(after.expect("the connection goes on").text, "fine");
    timed(shutdown.shutdown_and_wait()).await;
}

#[tokio::test]
async fn a_server_past_its_drain_timeout_answers_unavailable() {
    let service = RichService::default();
    let config = RpcServerConfig::default()
        .drain_timeout(std::time::Duration::ZERO)
        .server_config(
            ProtosocketServerConfig::default().grace_period(std::time::Duration::from_secs(5)),
        );
    let (address, shutdown, server) = serve_rich(service.clone(), config);
    // A raw peer: it reads the drain notice and sends on regardless.
    let mut peer = RawPeer::connect(address).await;
    peer.send(&Envelope::raw(1, "sleep:300", None)).await;
    timed(async {
        while service.started() < 1 {
            tokio::task::yield_now().await;
        }
    })
    .await;
    shutdown.shutdown();
    let notice = peer.recv().await;
    assert_eq!(
        (notice.id, notice.control_code()),
        (0, ControlCode::Draining)
    );
    peer.send(&Envelope::raw(2, "echo:late", None)).await;
    let refused = peer.recv().await;
    assert_eq!(refused.id, 2);
    let status = refused.status().expect("a status");
    assert_eq!(status.code(), StatusCode::Unavailable);
    assert!(status.message().contains("shutting down"), "{status}");
    let running = peer.recv().await;
    assert_eq!((running.id, running.text.as_str()), (1, "slept"));
    assert_eq!(service.started(), 1, "the refused call never ran");
    timed(server).await.expect("the server ends");
}

#[tokio::test]
async fn a_client_cancel_is_answered_cancelled() {
    let service = RichService::default();
    let (address, shutdown, _server) = serve_rich(service.clone(), RpcServerConfig::default());
    let mut peer = RawPeer::connect(address).await;
    peer.send(&Envelope::raw(5, "hang", None)).await;
    peer.send(&Envelope::cancel(5)).await;
    let answer = peer.recv().await;
    assert_eq!(answer.id, 5);
    assert_eq!(answer.control_code(), ControlCode::Status);
    let status = answer.status().expect("a status");
    assert_eq!(status.code(), StatusCode::Cancelled);
    service.drops.wait_for(1).await;
    timed(shutdown.shutdown_and_wait()).await;
}

#[tokio::test]
async fn a_duplicate_in_flight_id_is_already_exists_and_the_first_rpc_goes_on() {
    let service = RichService::default();
    let (address, shutdown, _server) = serve_rich(service.clone(), RpcServerConfig::default());
    let mut peer = RawPeer::connect(address).await;
    peer.send(&Envelope::raw(3, "sleep:100", None)).await;
    peer.send(&Envelope::raw(3, "echo:again", None)).await;
    let answer = peer.recv().await;
    assert_eq!(answer.id, 3);
    let status = answer.status().expect("a status");
    assert_eq!(status.code(), StatusCode::AlreadyExists, "{status}");
    let first = peer.recv().await;
    assert_eq!((first.id, first.text.as_str()), (3, "slept"));
    assert_eq!(service.started(), 1, "the duplicate never ran");
    timed(shutdown.shutdown_and_wait()).await;
}
