//! Write coalescing: fresh messages sent by tasks woken one after another on one
//! runtime thread leave in fewer writes when the connection may defer them, every byte in
//! order; answers still leave in the poll of their request.

mod support;

use std::sync::Arc;
use std::task::Poll;

use protosocket::{ConnectionConfig, WriteCoalescing};
use support::{frame, frames, lock, numbered, scripted_echo, scripted_sink, u32_codec, Driver};
use tokio::sync::oneshot;

const MESSAGES: u32 = 32;

/// `MESSAGES` tasks on a current-thread runtime, each woken by the one before: it
/// sends one message, then wakes the next (so each wake-up lands behind the
/// connection in the run queue). Returns the stream's write calls once all arrived.
fn write_calls_for_relayed_sends(coalescing: WriteCoalescing) -> usize {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let config = ConnectionConfig::default().write_coalescing(coalescing);
    let (script, connection, sender, _log) = scripted_sink(u32_codec(), config);
    let bodies: Vec<Vec<u8>> = (0..MESSAGES).map(|i| numbered(i, 20)).collect();
    let expected = frames(bodies.iter().map(Vec::as_slice));
    runtime.block_on(async {
        let connection = tokio::spawn(connection);
        // Let the connection find its channel empty and wait.
        tokio::task::yield_now().await;
        // One shared handle, so every message goes through one lane and the order
        // on the wire is the order of the relay.
        let sender = Arc::new(sender);
        let (first, mut baton) = oneshot::channel::<()>();
        let mut relays = Vec::new();
        for body in bodies {
            let (next, next_baton) = oneshot::channel::<()>();
            let sender = Arc::clone(&sender);
            relays.push(tokio::spawn(async move {
                baton.await.expect("woken by the previous task");
                sender.send(body.into()).expect("connection open");
                let _ = next.send(());
            }));
            baton = next_baton;
        }
        // Let every relay start waiting for its baton.
        tokio::task::yield_now().await;
        first.send(()).expect("first relay waiting");
        for relay in relays {
            relay.await.expect("relay task");
        }
        support::eventually("every message written", || {
            script.bytes_written() == expected.len()
        })
        .await;
        assert!(script.written() == expected, "bytes lost or reordered");
        drop(sender);
        support::within(support::TIMEOUT, "connection closes", connection)
            .await
            .expect("connection task");
    });
    script.write_calls()
}

#[test]
fn relayed_senders_share_writes_when_coalescing() {
    let never = write_calls_for_relayed_sends(WriteCoalescing::Never);
    let always = write_calls_for_relayed_sends(WriteCoalescing::Always);
    assert_eq!(never, MESSAGES as usize, "one write per message without");
    assert_eq!(always, 1, "the whole relay in one write with coalescing");
}

#[test]
fn auto_coalesces_on_a_current_thread_runtime() {
    let auto = write_calls_for_relayed_sends(WriteCoalescing::Auto);
    assert_eq!(auto, 1, "the whole relay in one write");
}

#[test]
fn a_reply_leaves_in_the_poll_of_its_request_when_coalescing() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let config = ConnectionConfig::default().write_coalescing(WriteCoalescing::Always);
    let (script, mut connection, log) = scripted_echo(u32_codec(), config);
    let mut driver = Driver::new();
    // Polled by hand, inside the runtime's context so the policy applies.
    runtime.block_on(async {
        script.push_data(frame(b"ping"));
        assert_eq!(driver.poll_once(&mut connection), Poll::Pending);
        assert_eq!(*lock(&log), [b"ping".to_vec()]);
        assert_eq!(script.written(), frame(b"ping"), "the reply was held back");

        script.push_data(frame(b"pong"));
        assert_eq!(driver.poll_once(&mut connection), Poll::Pending);
        assert_eq!(script.written(), frames([&b"ping"[..], b"pong"]));
    });
}
