//! Streams of a message type with a credit field flow by per-stream credit: a
//! slow reader holds back its own stream's producer only, and the other calls on
//! its connection keep flowing.

mod support;

use std::time::Duration;

use futures::StreamExt;
use protosocket_rpc::client::RpcClientConfig;
use protosocket_rpc::server::RpcServerConfig;
use support::flow::{self, Flow, FlowService};
use support::{settled, timed, TestService};

const STREAM_BUFFER: usize = 16;
const ITEMS: usize = 20_000;

#[tokio::test]
async fn a_stalled_response_stream_stops_at_its_window_and_other_calls_keep_flowing() {
    let service = TestService::default();
    let (address, shutdown, _server) =
        flow::serve(FlowService(service.clone()), RpcServerConfig::default());
    let config = RpcClientConfig::default().stream_buffer(STREAM_BUFFER);
    let client = flow::client(address, &config).await;

    let mut responses = client.send_streaming(Flow::new(format!("big:{ITEMS}")));
    let first = timed(responses.next()).await.unwrap().unwrap();
    assert!(first.text.text.starts_with("0 "));
    let produced = settled(|| service.produced()).await;
    assert_eq!(
        produced, STREAM_BUFFER,
        "the server sent its window, no more"
    );
    assert_eq!(responses.unread(), STREAM_BUFFER - 1);

    // The stalled stream costs the connection's other calls nothing.
    for i in 0..100 {
        let echo = timed(client.send_unary(Flow::new(format!("echo:{i}")))).await;
        assert_eq!(echo.unwrap().text.text, i.to_string());
    }
    let mut other = client.send_streaming(Flow::new("stream:100"));
    for i in 0..100 {
        let item = timed(other.next()).await.unwrap().unwrap();
        assert_eq!(item.text.text, i.to_string());
    }
    assert!(timed(other.next()).await.is_none());
    assert_eq!(service.produced(), STREAM_BUFFER, "still stalled");

    // Reading resumes it, in order, to the end.
    for i in 1..ITEMS {
        let response = timed(responses.next()).await.unwrap().unwrap();
        assert!(
            response.text.text.starts_with(&format!("{i} ")),
            "response {i}"
        );
        assert!(responses.unread() <= STREAM_BUFFER);
    }
    assert!(timed(responses.next()).await.is_none());
    shutdown.shutdown_and_wait().await;
}

const REQUEST_BUFFER: usize = 8;

#[tokio::test]
async fn a_handler_that_stops_reading_holds_back_its_own_sender_only() {
    let service = TestService::default();
    let server_config = RpcServerConfig::default().request_stream_buffer(REQUEST_BUFFER);
    let (address, shutdown, _server) = flow::serve(FlowService(service.clone()), server_config);
    let client = flow::client(address, &RpcClientConfig::default()).await;

    let (mut sender, response) = client.send_client_streaming(Flow::new("in:park"));
    let mut requests = service.parked::<Flow>().await;
    let mut sent = 0usize;
    while let Ok(result) = tokio::time::timeout(
        Duration::from_millis(200),
        sender.send(Flow::new(sent.to_string())),
    )
    .await
    {
        result.expect("the call is open");
        sent += 1;
        assert!(sent <= REQUEST_BUFFER, "sent past the server's grant");
    }
    assert_eq!(sent, REQUEST_BUFFER, "the server granted its buffer");
    timed(async {
        while requests.unread() < REQUEST_BUFFER {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    })
    .await;

    // Other calls on the connection keep flowing, both ways.
    let echo = timed(client.send_unary(Flow::new("echo:beside"))).await;
    assert_eq!(echo.unwrap().text.text, "beside");
    let (mut other, sum) = client.send_client_streaming(Flow::new("in:sum"));
    for i in 0..100 {
        timed(other.send(Flow::new(i.to_string()))).await.unwrap();
    }
    timed(other.finish()).await;
    assert_eq!(timed(sum).await.unwrap().text.text, "100");

    // Reading grants more: everything arrives, in order.
    let total = sent + 1000;
    let upload = tokio::spawn(async move {
        for i in sent..total {
            sender.send(Flow::new(i.to_string())).await.expect("open");
        }
        sender.finish().await;
    });
    for i in 0..total {
        let request = timed(requests.next()).await.expect("a request");
        assert_eq!(request.text.text, i.to_string());
        assert!(requests.unread() <= REQUEST_BUFFER, "never past the grant");
    }
    assert!(timed(requests.next()).await.is_none(), "the client's End");
    timed(upload).await.unwrap();
    drop(response);
    service.drops.wait_for(3).await;
    shutdown.shutdown_and_wait().await;
}

#[tokio::test]
async fn bidi_by_credit_keeps_order_with_small_windows() {
    let service = TestService::default();
    let server_config = RpcServerConfig::default().request_stream_buffer(2);
    let (address, shutdown, _server) = flow::serve(FlowService(service.clone()), server_config);
    let config = RpcClientConfig::default().stream_buffer(2).send_budget(2);
    let client = flow::client(address, &config).await;

    let (mut sender, mut responses) = client.send_bidi(Flow::new("in:echo"));
    const COUNT: usize = 3000;
    let upload = tokio::spawn(async move {
        for i in 0..COUNT {
            sender.send(Flow::new(i.to_string())).await.expect("open");
        }
        sender.finish().await;
    });
    for i in 0..COUNT {
        let response = timed(responses.next()).await.unwrap().unwrap();
        assert_eq!(response.text.text, i.to_string());
        assert!(responses.unread() <= 2);
    }
    assert!(timed(responses.next()).await.is_none());
    timed(upload).await.unwrap();
    shutdown.shutdown_and_wait().await;
}
