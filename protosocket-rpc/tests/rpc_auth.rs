//! Authenticate once per connection: the server's auth hook checks the first
//! request's credentials, and every call of the connection then sees the auth
//! context; a connection that fails is answered `UNAUTHENTICATED` and closed;
//! a pool's new connections authenticate again. An async hook holds the
//! connection's calls until it decides.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use protosocket_rpc::client::{PoolConfig, RpcClientConfig, RpcPool};
use protosocket_rpc::server::{AuthHook, AuthRequest, CallContext, CallHook, RpcServerConfig};
use protosocket_rpc::{Metadata, Status, StatusCode};
use support::rich::{rich_client, serve_rich, Entry, Envelope, RawPeer, RichService};
use support::{serve_on, status_of, timed, wait_until};
use tokio::sync::{Notify, Semaphore};

/// Who a connection proved to be.
struct User(String);

/// A server that takes the token `secret`, counting its checks, and records the
/// user each call sees.
fn authenticating(checks: &Arc<AtomicUsize>, seen: &Arc<Mutex<Vec<String>>>) -> RpcServerConfig {
    let checks = Arc::clone(checks);
    let hook = AuthHook::new(move |request: &AuthRequest<'_>| {
        checks.fetch_add(1, Ordering::SeqCst);
        check_token(request.metadata().text("token"))
    });
    recording(hook, seen)
}

fn check_token(token: Option<&str>) -> Result<User, Status> {
    match token {
        Some("secret") => Ok(User("alice".into())),
        _ => Err(Status::unauthenticated("bad token")),
    }
}

/// An async hook's moments, for the test to see and steer.
struct Steps {
    checks: AtomicUsize,
    /// Told when the hook has the first request.
    entered: Notify,
    /// The hook decides once given a permit.
    decide: Semaphore,
}

impl Default for Steps {
    fn default() -> Self {
        Self {
            checks: AtomicUsize::new(0),
            entered: Notify::new(),
            decide: Semaphore::new(0),
        }
    }
}

/// As [`authenticating`], with an async hook that waits for `steps.decide`.
fn authenticating_later(steps: &Arc<Steps>, seen: &Arc<Mutex<Vec<String>>>) -> RpcServerConfig {
    let steps = Arc::clone(steps);
    let hook = AuthHook::new_async(move |request: &AuthRequest<'_>| {
        let token = request.metadata().text("token").map(str::to_owned);
        let steps = Arc::clone(&steps);
        async move {
            steps.checks.fetch_add(1, Ordering::SeqCst);
            steps.entered.notify_one();
            steps.decide.acquire().await.expect("open").forget();
            check_token(token.as_deref())
        }
    });
    recording(hook, seen)
}

/// A server config with `hook` whose call hook records the user each call
/// sees.
fn recording(hook: AuthHook, seen: &Arc<Mutex<Vec<String>>>) -> RpcServerConfig {
    let seen = Arc::clone(seen);
    let call_hook = CallHook::new(move |call: &mut CallContext| {
        let user = call
            .auth::<User>()
            .map_or("nobody".into(), |user| user.0.clone());
        seen.lock().unwrap().push(user);
        Ok(())
    });
    RpcServerConfig::default()
        .auth_hook(Some(hook))
        .call_hook(Some(call_hook))
}

fn with_token(token: &str) -> RpcClientConfig {
    let mut credentials = Metadata::new();
    credentials.insert("token", token.to_string());
    RpcClientConfig::default().credentials(Some(credentials))
}

#[tokio::test]
async fn the_right_token_authenticates_once_for_many_calls() {
    let (checks, seen) = (Arc::default(), Arc::default());
    let service = RichService::default();
    let (address, shutdown, _server) = serve_rich(service.clone(), authenticating(&checks, &seen));
    let client = rich_client(address, &with_token("secret")).await;
    for i in 0..50 {
        let answer = timed(client.send_unary(Envelope::new(format!("echo:{i}")))).await;
        assert_eq!(answer.expect("an authenticated call").text, i.to_string());
    }
    assert_eq!(checks.load(Ordering::SeqCst), 1, "one check per connection");
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 50);
    assert!(seen.iter().all(|user| user == "alice"), "{seen:?}");
    timed(shutdown.shutdown_and_wait()).await;
}

#[tokio::test]
async fn a_wrong_token_is_unauthenticated_and_closed() {
    let (checks, seen) = (Arc::default(), Arc::default());
    let service = RichService::default();
    let (address, shutdown, _server) = serve_rich(service.clone(), authenticating(&checks, &seen));
    let client = rich_client(address, &with_token("guess")).await;
    let refused = timed(client.send_unary(Envelope::new("echo:in"))).await;
    assert_eq!(status_of(refused).code(), StatusCode::Unauthenticated);
    wait_until("the connection closed", || client.is_closed()).await;
    assert_eq!(service.started(), 0, "no call ran");
    assert!(seen.lock().unwrap().is_empty());

    let anonymous = rich_client(address, &RpcClientConfig::default()).await;
    let refused = timed(anonymous.send_unary(Envelope::new("echo:in"))).await;
    assert_eq!(status_of(refused).code(), StatusCode::Unauthenticated);
    assert_eq!(checks.load(Ordering::SeqCst), 2);
    timed(shutdown.shutdown_and_wait()).await;
}

#[tokio::test]
async fn a_pool_authenticates_again_after_it_reconnects() {
    let (checks, seen) = (Arc::default(), Arc::default());
    let service = RichService::default();
    let (address, shutdown, server) = serve_rich(service.clone(), authenticating(&checks, &seen));
    let pool: RpcPool<Envelope, Envelope, _> = RpcPool::new(
        [address],
        protosocket_prost::codec,
        with_token("secret"),
        PoolConfig::default().connections(1),
    );
    let first = timed(pool.send_unary(Envelope::new("echo:one"))).await;
    assert_eq!(first.expect("a call").text, "one");
    assert_eq!(checks.load(Ordering::SeqCst), 1);

    // The server restarts: the pool's connection drains and a new one is made.
    shutdown.shutdown();
    timed(server).await.expect("the server ends");
    let (_, shutdown, _server) = serve_on(address, service.clone(), authenticating(&checks, &seen));
    wait_until("reconnected", || {
        pool.connected() == 1 && pool.serving() == 1
    })
    .await;
    let second = timed(pool.send_unary(Envelope::new("echo:two"))).await;
    assert_eq!(second.expect("a call on the new connection").text, "two");
    assert_eq!(
        checks.load(Ordering::SeqCst),
        2,
        "the new connection authenticated"
    );
    assert_eq!(*seen.lock().unwrap(), ["alice", "alice"]);
    timed(shutdown.shutdown_and_wait()).await;
}

#[tokio::test]
async fn an_async_hook_holds_the_calls_until_it_decides() {
    let (steps, seen) = (Arc::<Steps>::default(), Arc::default());
    let service = RichService::default();
    let (address, shutdown, _server) =
        serve_rich(service.clone(), authenticating_later(&steps, &seen));
    let client = rich_client(address, &with_token("secret")).await;
    let calls: Vec<_> = (0..10)
        .map(|i| client.send_unary(Envelope::new(format!("echo:{i}"))))
        .collect();
    timed(steps.entered.notified()).await;
    assert_eq!(service.started(), 0, "no call runs before the hook decides");
    steps.decide.add_permits(1);
    let answers = timed(futures::future::join_all(calls)).await;
    for (i, answer) in answers.into_iter().enumerate() {
        assert_eq!(answer.expect("an authenticated call").text, i.to_string());
    }
    assert_eq!(
        steps.checks.load(Ordering::SeqCst),
        1,
        "one check per connection"
    );
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 10);
    assert!(seen.iter().all(|user| user == "alice"), "{seen:?}");
    timed(shutdown.shutdown_and_wait()).await;
}

#[tokio::test]
async fn an_async_refusal_is_unauthenticated_and_closed() {
    let (steps, seen) = (Arc::<Steps>::default(), Arc::default());
    steps.decide.add_permits(1);
    let service = RichService::default();
    let (address, shutdown, _server) =
        serve_rich(service.clone(), authenticating_later(&steps, &seen));
    let client = rich_client(address, &with_token("guess")).await;
    let first = client.send_unary(Envelope::new("echo:one"));
    let second = client.send_unary(Envelope::new("echo:two"));
    assert_eq!(
        status_of(timed(first).await).code(),
        StatusCode::Unauthenticated
    );
    assert!(timed(second).await.is_err(), "nothing runs after a refusal");
    wait_until("the connection closed", || client.is_closed()).await;
    assert_eq!(service.started(), 0, "no call ran");
    assert!(seen.lock().unwrap().is_empty());
    timed(shutdown.shutdown_and_wait()).await;
}

#[tokio::test]
async fn a_client_that_closes_while_the_hook_decides_still_gets_its_answer() {
    let (steps, seen) = (Arc::<Steps>::default(), Arc::default());
    let service = RichService::default();
    let (address, shutdown, _server) =
        serve_rich(service.clone(), authenticating_later(&steps, &seen));
    let mut peer = RawPeer::connect(address).await;
    let mut request = Envelope::raw(1, "echo:last", None);
    request.metadata.push(Entry {
        key: "token".into(),
        text: Some("secret".into()),
        binary: None,
    });
    peer.send(&request).await;
    peer.close_write().await;
    timed(steps.entered.notified()).await;
    steps.decide.add_permits(1);
    let answer = peer.recv().await;
    assert_eq!((answer.id, answer.text.as_str()), (1, "last"));
    assert!(peer.closed().await, "the server closes after the answer");
    timed(shutdown.shutdown_and_wait()).await;
}
