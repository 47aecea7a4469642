//! A `!Send` service (its state in an `Rc`, its futures `!Send`) on a `LocalSet`.
mod support;

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

use futures::StreamExt;
use protosocket_rpc::client::RpcClientConfig;
use protosocket_rpc::server::ConnectionInfo;
use protosocket_rpc::server::{
    ConnectionService, LocalSpawn, Rpc, RpcServer, RpcServerConfig, SocketService,
};
use support::*;

/// Counts requests across connections in an `Rc<RefCell<_>>`.
#[derive(Default)]
struct Counting {
    count: Rc<RefCell<u64>>,
}

impl ConnectionService for Counting {
    type Request = Text;
    type Response = Text;
    type Unary = Pin<Box<dyn Future<Output = Text>>>;
    type Streaming = LocalStream;

    fn new_rpc(&mut self, request: Text) -> Rpc<Self::Unary, Self::Streaming> {
        let count = Rc::clone(&self.count);
        if request.text == "stream" {
            return Rpc::Streaming(
                futures::stream::iter(0..3)
                    .map(move |i| {
                        *count.borrow_mut() += 1;
                        Text::new(format!("{i}"))
                    })
                    .boxed_local(),
            );
        }
        Rpc::Unary(Box::pin(async move {
            tokio::task::yield_now().await;
            *count.borrow_mut() += 1;
            Text::new(count.borrow().to_string())
        }))
    }
}

impl SocketService for Counting {
    type Codec = TextCodec;
    type ConnectionService = Counting;

    fn codec(&self) -> TextCodec {
        codec()
    }

    fn new_connection_service(&self, _: &ConnectionInfo<'_>) -> Counting {
        Counting {
            count: Rc::clone(&self.count),
        }
    }
}

#[tokio::test(flavor = "current_thread")]
async fn a_not_send_service_runs_on_a_local_set() {
    let local = tokio::task::LocalSet::new();
    local
        .run_until(async {
            let server: RpcServer<_, _, LocalSpawn> = RpcServer::bind_local(
                "127.0.0.1:0".parse::<std::net::SocketAddr>().unwrap(),
                Counting::default(),
                RpcServerConfig::default(),
            )
            .unwrap();
            let address = server.local_endpoint().unwrap();
            let shutdown = server.shutdown_handle();
            tokio::task::spawn_local(server);

            let client = client(address, &RpcClientConfig::default()).await;
            assert_eq!(
                timed(client.send_unary(Text::new("a"))).await.unwrap().text,
                "1"
            );
            assert_eq!(
                timed(client.send_unary(Text::new("b"))).await.unwrap().text,
                "2"
            );
            let items: Vec<_> = timed(
                client
                    .send_streaming(Text::new("stream"))
                    .collect::<Vec<_>>(),
            )
            .await;
            assert_eq!(items.len(), 3);
            assert_eq!(
                timed(client.send_unary(Text::new("c"))).await.unwrap().text,
                "6"
            );
            timed(shutdown.shutdown_and_wait()).await;
        })
        .await;
}
