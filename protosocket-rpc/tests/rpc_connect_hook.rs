//! The per-connection client hook: it runs on each new connection, with a client
//! on it, before the connection is handed out; its failure fails the connect.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use protosocket_rpc::client::{ConnectHook, PoolConfig, RpcClient, RpcClientConfig, RpcPool};
use protosocket_rpc::server::RpcServerConfig;
use protosocket_rpc::{Error, Status};
use support::{codec, serve, timed, TestService, Text};

/// A hook that makes one call on each new connection and keeps its answer.
fn greeting(answers: &Arc<Mutex<Vec<String>>>) -> ConnectHook<Text, Text> {
    let answers = Arc::clone(answers);
    ConnectHook::new_async(move |client: RpcClient<Text, Text>| {
        let answers = Arc::clone(&answers);
        async move {
            let answer = client.send_unary(Text::new("echo:hello")).await?;
            answers.lock().unwrap().push(answer.text);
            Ok(())
        }
    })
}

#[tokio::test]
async fn connect_with_hook_runs_it_on_the_new_connection() {
    let service = TestService::default();
    let (address, shutdown, _server) = serve(service.clone(), RpcServerConfig::default());
    let answers = Arc::new(Mutex::new(Vec::new()));
    let client = timed(RpcClient::connect_with_hook(
        address,
        codec(),
        &RpcClientConfig::default(),
        &greeting(&answers),
    ))
    .await
    .expect("connected");
    assert_eq!(*answers.lock().unwrap(), ["hello"]);
    let answer = timed(client.send_unary(Text::new("echo:after"))).await;
    assert_eq!(answer.expect("the client works").text, "after");

    let refuse = ConnectHook::new(|_: &RpcClient<Text, Text>| {
        Err(Error::Status(Status::permission_denied("not this one")))
    });
    let refused = timed(RpcClient::connect_with_hook(
        address,
        codec(),
        &RpcClientConfig::default(),
        &refuse,
    ))
    .await;
    assert_eq!(
        refused.expect_err("the hook fails the connect").to_string(),
        "PERMISSION_DENIED: not this one"
    );
    timed(shutdown.shutdown_and_wait()).await;
}

#[tokio::test]
async fn a_pool_runs_the_hook_on_every_connection_it_makes() {
    let service = TestService::default();
    let (address, shutdown, _server) = serve(service.clone(), RpcServerConfig::default());
    let answers = Arc::new(Mutex::new(Vec::new()));
    let pool = RpcPool::new(
        [address],
        codec,
        RpcClientConfig::default(),
        PoolConfig::default().connections(2),
    )
    .connect_hook(greeting(&answers));
    for _ in 0..4 {
        let answer = timed(pool.send_unary(Text::new("echo:call"))).await;
        assert_eq!(answer.expect("a call").text, "call");
    }
    timed(async {
        while pool.connected() < 2 {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    })
    .await;
    assert_eq!(*answers.lock().unwrap(), ["hello", "hello"], "once each");
    timed(shutdown.shutdown_and_wait()).await;
}

#[tokio::test]
async fn a_failing_hook_fails_the_pools_connect() {
    let (address, shutdown, _server) = serve(TestService::default(), RpcServerConfig::default());
    let runs = Arc::new(AtomicUsize::new(0));
    let hook = {
        let runs = Arc::clone(&runs);
        ConnectHook::new(move |_: &RpcClient<Text, Text>| {
            runs.fetch_add(1, Ordering::SeqCst);
            Err(Error::Status(Status::unauthenticated("no credentials")))
        })
    };
    let pool = RpcPool::new(
        [address],
        codec,
        RpcClientConfig::default(),
        PoolConfig::default(),
    )
    .connect_hook(hook);
    let outcome = timed(pool.send_unary(Text::new("echo:x"))).await;
    match outcome {
        Err(Error::Io(error)) => {
            assert!(error.to_string().contains("no credentials"), "{error}")
        }
        other => panic!("expected the attempt's failure, got {other:?}"),
    }
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    assert_eq!(pool.connected(), 0);
    timed(shutdown.shutdown_and_wait()).await;
}
