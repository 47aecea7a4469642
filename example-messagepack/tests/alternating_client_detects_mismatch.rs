//! The alternating client is not vacuous: against a server that answers wrongly
//! (a stale nanotime, a stream missing its last character), it counts mismatches.
mod support;

use std::future::{ready, Ready};
use std::time::Duration;

use example_messagepack::{
    connect, run_alternating, CharStream, EchoService, Limit, Request, Response, ResponseKind,
    ServerCodec,
};
use futures::stream::{Iter, Take};
use protosocket_rpc::client::RpcClientConfig;
use protosocket_rpc::server::ConnectionInfo;
use protosocket_rpc::server::{ConnectionService, Rpc, RpcServer, RpcServerConfig, SocketService};
use support::timed;

/// The echo service, but unary answers carry nanotime + 1 and streams stop one
/// character short.
#[derive(Debug, Clone, Copy)]
struct Wrong;

impl SocketService for Wrong {
    type Codec = ServerCodec;
    type ConnectionService = Wrong;
    fn codec(&self) -> ServerCodec {
        protosocket_messagepack::codec()
    }
    fn new_connection_service(&self, _: &ConnectionInfo<'_>) -> Wrong {
        Wrong
    }
}

impl ConnectionService for Wrong {
    type Request = Request;
    type Response = Response;
    type Unary = Ready<Response>;
    type Streaming = Take<Iter<CharStream>>;

    fn new_rpc(&mut self, request: Request) -> Rpc<Self::Unary, Self::Streaming> {
        use futures::StreamExt;
        let length = request
            .body
            .as_ref()
            .map_or(0, |body| body.message.chars().count());
        match EchoService.new_rpc(request) {
            Rpc::Unary(answer) => {
                let mut response = answer.into_inner();
                if let Some(ResponseKind::Echo(echo)) = &mut response.kind {
                    echo.nanotime += 1;
                }
                Rpc::Unary(ready(response))
            }
            Rpc::Streaming(items) => Rpc::Streaming(items.take(length.saturating_sub(1))),
            Rpc::Reject(status) => Rpc::Reject(status),
        }
    }
}

#[tokio::test]
async fn alternating_client_counts_wrong_answers() {
    let server = RpcServer::bind(
        "127.0.0.1:0".parse::<std::net::SocketAddr>().unwrap(),
        Wrong,
        RpcServerConfig::default(),
    )
    .expect("bind");
    let address = server.local_endpoint().expect("address");
    let shutdown = server.shutdown_handle();
    let running = tokio::spawn(server);
    let client = timed(connect(address, &RpcClientConfig::default()))
        .await
        .expect("connect");

    let summary = timed(run_alternating(
        &client,
        Limit::Iterations(20),
        Duration::from_secs(5),
    ))
    .await;
    assert!(!summary.is_clean());
    assert_eq!(summary.errors, 0, "{summary}");
    assert_eq!(summary.mismatches, 20, "every call is wrong: {summary}");
    assert_eq!((summary.unary_ok, summary.streaming_ok), (0, 0));
    assert!(!summary.failures.is_empty());

    drop(client);
    timed(shutdown.shutdown_and_wait()).await;
    timed(running).await.expect("server task");
}
