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

use std::future::Future;
use std::pin::Pin;

use futures::stream::BoxStream;
use futures::StreamExt;
use protosocket_rpc::server::{RequestStream, Rpc};
use protosocket_rpc::Message;

use super::{TestService, Text};

/// A test message with a text body: [`Text`], or [`Flow`](super::flow::Flow).
pub trait Body: Message + Send + 'static {
    fn body(&self) -> &str;
    fn from_body(text: String) -> Self;
}

impl Body for Text {
    fn body(&self) -> &str {
        &self.text
    }
    fn from_body(text: String) -> Self {
        Text::new(text)
    }
}

pub type BoxUnary<M> = Pin<Box<dyn Future<Output = M> + Send>>;

pub fn new_rpc<M: Body>(
    service: &TestService,
    behaviour: &str,
    mut requests: RequestStream<M>,
) -> Rpc<BoxUnary<M>, BoxStream<'static, M>> {
    let guard = service.drops.guard();
    if let Some(count) = behaviour.strip_prefix("take:") {
        let count: usize = count.parse().expect("a count");
        return Rpc::Streaming(
            requests
                .take(count)
                .map(move |request| {
                    let _ = &guard;
                    M::from_body(request.body().to_string())
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
                    M::from_body(request.body().to_string())
                })
                .boxed(),
        );
    }
    match behaviour {
        "sum" => Rpc::Unary(Box::pin(async move {
            let _guard = guard;
            let mut count = 0usize;
            while let Some(request) = requests.next().await {
                if request.body() != count.to_string() {
                    return M::from_body(format!("out of order at {count}"));
                }
                count += 1;
            }
            M::from_body(count.to_string())
        })),
        "echo" => Rpc::Streaming(
            requests
                .map(move |request| {
                    let _ = &guard;
                    M::from_body(request.body().to_string())
                })
                .boxed(),
        ),
        "first" => Rpc::Unary(Box::pin(async move {
            let _guard = guard;
            let first = requests.next().await.map(|r| r.body().to_string());
            M::from_body(format!("first:{}", first.unwrap_or_default()))
        })),
        "park" => {
            service.park(Box::new(requests));
            Rpc::Unary(Box::pin(async move {
                let _guard = guard;
                futures::future::pending::<()>().await;
                unreachable!()
            }))
        }
        _ => Rpc::Reject(protosocket_rpc::Status::invalid_argument(
            "unknown streaming behaviour",
        )),
    }
}
