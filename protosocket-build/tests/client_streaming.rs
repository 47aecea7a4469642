//! A generated client-streaming rpc (`Total`): the requests reach the handler
//! in order and its response comes back with its metadata; a failing status
//! ends the call while the client still has requests; dropping the call or its
//! deadline stops the handler's work.

#[macro_use]
mod support;

use std::time::Duration;

use futures::stream::{self, StreamExt};
use protosocket_rpc::client::{PoolConfig, RpcClientConfig};
use protosocket_rpc::{CallOptions, StatusCode};
use support::shapes::{ShapesClient, ShapesServer, Sides};
use support::{client_of, status_code, within, Polygons};
use tokio::sync::mpsc;

fn sides(counts: &[u32]) -> impl futures::Stream<Item = Sides> + Send + 'static {
    stream::iter(counts.to_vec()).map(|count| Sides { count })
}

#[tokio::test]
async fn every_request_reaches_the_handler_in_order() {
    let client = client_of(serve!(ShapesServer::new(Polygons::default()))).await;
    let total = within("total", client.total(sides(&[3, 4, 5])))
        .await
        .expect("total");
    assert_eq!(total.count, 12);
    let reply = within(
        "total",
        client.total_with(sides(&[6, 3, 4, 3]), CallOptions::new()),
    )
    .await
    .expect("total");
    assert_eq!(reply.get_ref().count, 16);
    assert_eq!(
        reply.metadata().text("counts"),
        Some("6,3,4,3"),
        "the handler's response metadata, with the order it read"
    );
    let none = within("total", client.total(stream::empty()))
        .await
        .expect("a call without requests");
    assert_eq!(none.count, 0);
}

#[tokio::test]
async fn a_failing_status_ends_the_call_while_requests_remain() {
    let (service, mut events) = Polygons::watched();
    let client = client_of(serve!(ShapesServer::new(service))).await;
    // The client would send for ever: the status ends the call anyway.
    let endless = sides(&[3, 1]).chain(stream::pending());
    let outcome = within("total", client.total(endless)).await;
    assert_eq!(
        status_code(&outcome),
        Some(StatusCode::InvalidArgument),
        "{outcome:?}"
    );
    let mut seen = Vec::new();
    while let Some(event) = within("the handler's events", events.recv()).await {
        seen.push(event);
        if event == "total dropped" {
            break;
        }
    }
    assert_eq!(seen, ["total read", "total read", "total dropped"]);
    // The connection goes on.
    let total = within("total", client.total(sides(&[3])))
        .await
        .expect("total");
    assert_eq!(total.count, 3);
}

#[tokio::test]
async fn dropping_the_call_stops_the_handler() {
    let (service, mut events) = Polygons::watched();
    let client = client_of(serve!(ShapesServer::new(service))).await;
    let (requests, receiver) = mpsc::unbounded_channel();
    let input = stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|sides| (sides, receiver))
    });
    let mut call = Box::pin(client.total(input));
    requests.send(Sides { count: 3 }).expect("queue a request");
    // Polled until the handler has read the request, then dropped.
    tokio::select! {
        outcome = &mut call => panic!("the call ended with its input open: {outcome:?}"),
        event = within("the handler's read", events.recv()) => {
            assert_eq!(event, Some("total read"));
        }
    }
    drop(call);
    assert_eq!(
        within("the handler's drop", events.recv()).await,
        Some("total dropped")
    );
}

#[tokio::test]
async fn the_deadline_ends_a_call_whose_input_never_ends() {
    let (service, mut events) = Polygons::watched();
    let client = client_of(serve!(ShapesServer::new(service))).await;
    let options = CallOptions::new().timeout(Duration::from_millis(50));
    let outcome = within(
        "total",
        client.total_with(sides(&[3]).chain(stream::pending()), options),
    )
    .await;
    assert_eq!(
        status_code(&outcome),
        Some(StatusCode::DeadlineExceeded),
        "{outcome:?}"
    );
    loop {
        let event = within("the handler's drop", events.recv()).await;
        if event == Some("total dropped") {
            break;
        }
        assert_eq!(event, Some("total read"));
    }
}

#[tokio::test]
async fn a_pool_client_makes_the_call() {
    let endpoint = serve!(ShapesServer::new(Polygons::default()));
    let client = ShapesClient::pool(
        [endpoint],
        RpcClientConfig::default(),
        PoolConfig::default().connections(2),
    );
    let total = within("total", client.total(sides(&[3, 4])))
        .await
        .expect("total");
    assert_eq!(total.count, 7);
    let options = CallOptions::new().timeout(Duration::from_secs(5));
    let reply = within("total", client.total_with(sides(&[5]), options))
        .await
        .expect("total");
    assert_eq!(reply.into_inner().count, 5);
}
