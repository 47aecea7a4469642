//! Memory stays bounded in every direction of a stream, with a message type that
//! carries ids and codes only (as an upstream 2.x peer's does): a slow reader
//! makes its connection hold inbound, and TCP holds the producer back.
//!
//! Holding inbound pauses the whole connection, so these tests also pin down
//! what a stalled stream costs the other calls on its connection: they wait
//! until the stream is read or dropped. Calls on other connections do not.

mod support;

use std::time::{Duration, Instant};

use futures::StreamExt;
use protosocket_rpc::client::RpcClientConfig;
use protosocket_rpc::server::RpcServerConfig;
use support::{client, serve, settled, timed, TestService, Text, WAIT};

/// Waits (bounded by [`WAIT`]) until `condition` holds.
async fn until(condition: impl Fn() -> bool) {
    timed(async {
        while !condition() {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    })
    .await;
}

const STREAM_BUFFER: usize = 16;
/// 20 000 responses of 4 KiB: far more than the sockets' buffers hold.
const ITEMS: usize = 20_000;

#[tokio::test]
async fn a_client_that_stops_reading_a_stream_pauses_the_server_and_buffers_at_most_its_bound() {
    let service = TestService::default();
    let (address, shutdown, _server) = serve(service.clone(), RpcServerConfig::default());
    let config = RpcClientConfig::default().stream_buffer(STREAM_BUFFER);
    let client = client(address, &config).await;

    let mut responses = client.send_streaming(Text::new(format!("big:{ITEMS}")));
    // Read one, so the call is under way, then stop reading.
    let first = timed(responses.next()).await.unwrap().unwrap();
    assert!(first.text.starts_with("0 "));
    until(|| responses.unread() == STREAM_BUFFER).await;
    let produced = settled(|| service.produced()).await;
    println!("stalled after {produced} of {ITEMS} responses produced");
    assert!(
        produced < ITEMS / 2,
        "the server's stream paused: {produced} of {ITEMS} produced"
    );
    assert_eq!(
        responses.unread(),
        STREAM_BUFFER,
        "never more than the bound"
    );

    // Reading again resumes it, in order, to the end.
    for i in 1..ITEMS {
        let response = timed(responses.next()).await.unwrap().unwrap();
        assert!(
            response.text.starts_with(&format!("{i} ")),
            "response {i} in order"
        );
        assert!(responses.unread() <= STREAM_BUFFER);
    }
    assert!(timed(responses.next()).await.is_none());
    assert_eq!(service.produced(), ITEMS);
    shutdown.shutdown_and_wait().await;
}

#[tokio::test]
async fn a_stalled_stream_makes_other_calls_on_its_connection_wait_until_it_is_dropped() {
    let service = TestService::default();
    let (address, shutdown, _server) = serve(service.clone(), RpcServerConfig::default());
    let config = RpcClientConfig::default().stream_buffer(STREAM_BUFFER);
    let client = client(address, &config).await;
    let other_connection = support::client(address, &config).await;

    let responses = client.send_streaming(Text::new(format!("big:{ITEMS}")));
    until(|| responses.unread() == STREAM_BUFFER).await;
    settled(|| service.produced()).await;

    // The cost of pausing: a unary call on the same connection waits behind the
    // stalled stream...
    let mut echo = Box::pin(client.send_unary(Text::new("echo:behind")));
    let waited = tokio::time::timeout(Duration::from_millis(200), &mut echo).await;
    assert!(waited.is_err(), "answered while the stream was stalled");
    // ...while one on another connection does not.
    let elsewhere = timed(other_connection.send_unary(Text::new("echo:elsewhere"))).await;
    assert_eq!(elsewhere.unwrap().text, "elsewhere");

    // Dropping the stream (its Cancel) frees the connection.
    let dropped = Instant::now();
    drop(responses);
    let answer = timed(echo).await.expect("answered once the stream is gone");
    println!(
        "the unary call was answered {:?} after the stalled stream was dropped",
        dropped.elapsed()
    );
    assert_eq!(answer.text, "behind");
    assert!(dropped.elapsed() < WAIT);
    shutdown.shutdown_and_wait().await;
}

const REQUEST_BUFFER: usize = 8;
const SEND_BUDGET: usize = 4;

#[tokio::test]
async fn a_handler_that_stops_reading_its_requests_holds_the_clients_sender_back() {
    let service = TestService::default();
    let server_config = RpcServerConfig::default().request_stream_buffer(REQUEST_BUFFER);
    let (address, shutdown, _server) = serve(service.clone(), server_config);
    let config = RpcClientConfig::default().send_budget(SEND_BUDGET);
    let client = client(address, &config).await;
    let other_connection = support::client(address, &config).await;

    let (mut sender, response) = client.send_client_streaming(Text::new("in:park"));
    let mut requests = service.parked::<Text>().await;
    // Send until a send waits: the handler reads nothing.
    let mut sent = 0usize;
    let padding = format!("{:1024}", "");
    loop {
        let request = Text::new(format!("{sent} {padding}"));
        match tokio::time::timeout(Duration::from_millis(200), sender.send(request)).await {
            Ok(result) => {
                result.expect("the call is open");
                sent += 1;
                assert!(sent < ITEMS, "the sender was never held back");
            }
            Err(_) => break,
        }
    }
    println!("the sender waited after {sent} requests");
    assert_eq!(
        requests.unread(),
        REQUEST_BUFFER,
        "the server buffers its bound"
    );
    assert!(
        sender.queued() <= SEND_BUDGET,
        "the client queues its budget"
    );

    // The connection's other calls wait too; another connection's do not.
    let mut echo = Box::pin(client.send_unary(Text::new("echo:behind")));
    assert!(tokio::time::timeout(Duration::from_millis(200), &mut echo)
        .await
        .is_err());
    let elsewhere = timed(other_connection.send_unary(Text::new("echo:elsewhere"))).await;
    assert_eq!(elsewhere.unwrap().text, "elsewhere");

    // Reading resumes everything, in order.
    let total = sent + 100;
    let upload = tokio::spawn(async move {
        for i in sent..total {
            sender
                .send(Text::new(format!("{i} {padding}")))
                .await
                .expect("open");
        }
        sender.finish().await;
    });
    for i in 0..total {
        let request = timed(requests.next()).await.expect("a request");
        assert!(
            request.text.starts_with(&format!("{i} ")),
            "request {i} in order"
        );
        assert!(requests.unread() <= REQUEST_BUFFER);
    }
    assert!(timed(requests.next()).await.is_none(), "the client's End");
    timed(upload).await.unwrap();
    assert_eq!(timed(echo).await.unwrap().text, "behind");
    drop(response);
    service.drops.wait_for(2).await;
    shutdown.shutdown_and_wait().await;
}
