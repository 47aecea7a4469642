//! The rpcs of [`TestService`] that take a request stream (request text `in:...`):
//! - `in:sum`: client streaming; reads every request (each the next number from
//!   0) and answers how many came, or `out of order at <i>`;
//! - `in:echo`: bidi; answers each request with its text, ends when the input does;
//! - `in:take:<k>`: bidi; echoes the first `k` requests, then ends its stream
//!   without reading more;
//! - `in:first`: client streaming; answers `first:<text>` of the first request
//!   without reading more;
//! - `in:fail:<k>`: bidi; echoes `k` requests, then panics;
//! - `in:park`: client streaming; leaves its request stream in
//!   [`TestService::parked`] and never answers;
//! - anything else: rejected.

use futures::StreamExt;
use protosocket_rpc::server::{RequestStream, Rpc};

use super::{TestService, TestStream, TestUnary, Text};

pub fn new_rpc(
    service: &TestService,
    behaviour: &str,
    mut requests: RequestStream<Text>,
) -> Rpc<TestUnary, TestStream> {
    let guard = service.drops.guard();
    if let Some(count) = behaviour.strip_prefix("take:") {
        let count: usize = count.parse().expect("a count");
        return Rpc::Streaming(
            requests
                .take(count)
                .map(move |request| {
                    let _ = &guard;
                    Text::new(request.text)
                })
                .boxed(),
        );
    }
    if let Some(count) = behaviour.strip_prefix("fail:") {
        let count: usize = count.parse().expect("a count");
        return Rpc::Streaming(
            requests
                .enumerate()
                .map(move |(i, request)| {
                    let _ = &guard;
                    assert!(i < count, "test panic in a bidi stream");
                    Text::new(request.text)
                })
                .boxed(),
        );
    }
    match behaviour {
        "sum" => Rpc::Unary(Box::pin(async move {
            let _guard = guard;
            let mut count = 0usize;
            while let Some(request) = requests.next().await {
                if request.text != count.to_string() {
                    return Text::new(format!("out of order at {count}"));
                }
                count += 1;
            }
            Text::new(count.to_string())
        })),
        "echo" => Rpc::Streaming(
            requests
                .map(move |request| {
                    let _ = &guard;
                    Text::new(request.text)
                })
                .boxed(),
        ),
        "first" => Rpc::Unary(Box::pin(async move {
            let _guard = guard;
            let first = requests.next().await.map(|r| r.text).unwrap_or_default();
            Text::new(format!("first:{first}"))
        })),
        "park" => {
            service.parked.lock().expect("parked lock").push(requests);
            Rpc::Unary(Box::pin(async move {
                let _guard = guard;
                futures::future::pending::<()>().await;
                unreachable!()
            }))
        }
        _ => Rpc::Reject,
    }
}
