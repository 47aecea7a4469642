//! A client whose connection is gone fails its calls at once with the reason,
//! even with a deadline, and yields to the runtime before it does, so callers
//! retrying in a loop cannot starve the runtime.

mod support;

use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use protosocket::CloseReason;
use protosocket_rpc::client::{RpcClient, RpcClientConfig};
use protosocket_rpc::Error;
use support::{codec, timed, Text};

/// A client whose connection future was dropped without running.
fn client_without_connection() -> RpcClient<Text, Text> {
    let (ours, _theirs) = tokio::io::duplex(1024);
    let (client, connection) = RpcClient::over_stream(ours, codec(), &RpcClientConfig::default());
    drop(connection);
    client
}

#[tokio::test]
async fn a_dropped_connection_fails_calls_with_its_reason_not_the_deadline() {
    let client = client_without_connection();
    assert!(client.is_closed());
    assert!(matches!(client.close_reason(), Some(CloseReason::Dropped)));
    let deadline = Some(Duration::from_secs(3));
    let outcome = timed(client.send_unary_with_deadline(Text::new("echo:x"), deadline)).await;
    assert!(
        matches!(outcome, Err(Error::ConnectionClosed(CloseReason::Dropped))),
        "{outcome:?}"
    );
}

#[test]
fn a_call_on_a_closed_client_yields_once_then_fails() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let _entered = runtime.enter();
    let client = client_without_connection();
    let mut call = pin!(client.send_unary(Text::new("echo:x")));
    let woken = Arc::new(WakeFlag::default());
    let waker = Waker::from(Arc::clone(&woken));
    let mut cx = Context::from_waker(&waker);
    assert!(call.as_mut().poll(&mut cx).is_pending(), "yields first");
    assert!(
        woken.0.load(Ordering::SeqCst),
        "and asks to be polled again"
    );
    assert!(matches!(
        call.as_mut().poll(&mut cx),
        Poll::Ready(Err(Error::ConnectionClosed(_)))
    ));
}

#[derive(Default)]
struct WakeFlag(AtomicBool);

impl std::task::Wake for WakeFlag {
    fn wake(self: Arc<Self>) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// Sixteen tasks retrying on a closed client in a loop on one thread: another
/// task still gets to run.
#[tokio::test]
async fn callers_retrying_on_a_closed_client_do_not_starve_the_runtime() {
    const RETRIES: usize = 100_000;
    let client = client_without_connection();
    let other_ran = Arc::new(AtomicBool::new(false));
    let mut retriers = Vec::new();
    for _ in 0..16 {
        let client = client.clone();
        let other_ran = Arc::clone(&other_ran);
        retriers.push(tokio::spawn(async move {
            for attempt in 0..RETRIES {
                if other_ran.load(Ordering::SeqCst) {
                    return attempt;
                }
                let outcome = client.send_unary(Text::new("echo:x")).await;
                assert!(outcome.is_err());
            }
            RETRIES
        }));
    }
    let flag = Arc::clone(&other_ran);
    tokio::spawn(async move { flag.store(true, Ordering::SeqCst) });
    for retrier in retriers {
        let attempts = timed(retrier).await.expect("a retrier");
        assert!(
            attempts < RETRIES,
            "a retrier spun {attempts} times without yielding"
        );
    }
}

/// The soak's case: the call's deadline lapses before its first poll, on a client
/// already closed. The close explains the failure, not the deadline.
#[tokio::test(start_paused = true)]
async fn a_lapsed_deadline_on_a_closed_client_still_reports_the_close() {
    let client = client_without_connection();
    let call = client.send_unary_with_deadline(Text::new("echo:x"), Some(Duration::from_millis(1)));
    tokio::time::advance(Duration::from_millis(10)).await;
    let outcome = call.await;
    assert!(
        matches!(outcome, Err(Error::ConnectionClosed(CloseReason::Dropped))),
        "{outcome:?}"
    );
}
