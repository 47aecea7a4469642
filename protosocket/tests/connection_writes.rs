//! Outbound writes over a scripted stream: partial writes resume exactly where they
//! stopped, `Pending` writes are retried on wake, flush follows the writes, and a
//! reply leaves in the same poll as the request that caused it.

mod support;

use std::task::Poll;

use protosocket::ConnectionConfig;
use support::{
    frame, frames, lock, pattern, scripted_echo, scripted_sink, u32_codec, Driver, Event,
    WritePolicy,
};

fn requests() -> Vec<Vec<u8>> {
    (0..20u32).map(|i| pattern(i, (i * 7) as usize)).collect()
}

/// Echoes `requests` with writes under `policy` and checks the bytes.
fn assert_echoed_under(policy: WritePolicy) -> support::Script {
    let requests = requests();
    let bytes = frames(requests.iter().map(Vec::as_slice));
    let (script, mut connection, log) = scripted_echo(u32_codec(), ConnectionConfig::default());
    script.set_write_policy(policy);
    script.push_data(bytes.clone());
    let mut driver = Driver::new();
    assert!(driver.run_until_idle(&mut connection).is_pending());
    assert_eq!(*lock(&log), requests);
    assert_eq!(script.written(), bytes, "bytes lost, repeated or reordered");
    assert_eq!(connection.stats().messages_sent(), requests.len() as u64);
    assert_eq!(connection.stats().bytes_sent(), bytes.len() as u64);
    assert_eq!(connection.stats().send_queue_depth(), 0);
    script
}

#[test]
fn writes_that_take_one_byte_at_a_time_send_every_byte_in_order() {
    let script = assert_echoed_under(WritePolicy::Chunk(1));
    let total = script.written().len();
    assert_eq!(script.write_calls(), total, "one call per byte");
}

#[test]
fn writes_that_alternate_pending_resume_where_they_stopped() {
    let script = assert_echoed_under(WritePolicy::AlternatePending(5));
    let total = script.written().len();
    assert!(script.write_calls() >= 2 * total.div_ceil(5));
}

#[test]
fn blocked_writes_resume_when_the_stream_is_writable_again() {
    let requests = requests();
    let bytes = frames(requests.iter().map(Vec::as_slice));
    let (script, mut connection, _log) = scripted_echo(u32_codec(), ConnectionConfig::default());
    script.set_write_policy(WritePolicy::Blocked);
    script.push_data(bytes.clone());
    let mut driver = Driver::new();
    assert!(driver.run_until_idle(&mut connection).is_pending());
    assert!(script.written().is_empty());
    assert_eq!(connection.stats().send_queue_depth(), requests.len() as u64);

    // The stream wakes the connection when it is writable: no other nudge.
    let wakes = driver.wakes();
    script.set_write_policy(WritePolicy::Chunk(3));
    assert!(
        driver.wakes() > wakes,
        "the blocked write registered no waker"
    );
    assert!(driver.run_until_idle(&mut connection).is_pending());
    assert_eq!(script.written(), bytes);
}

#[test]
fn large_message_is_sent_whole_through_partial_writes() {
    let body = pattern(9, 4 * 1024 * 1024 + 17);
    let (script, mut connection, sender, _log) =
        scripted_sink(u32_codec(), ConnectionConfig::default());
    script.set_write_policy(WritePolicy::Chunk(65_521));
    sender.send(body.clone().into()).unwrap();
    sender.send(b"next".to_vec().into()).unwrap();
    let mut driver = Driver::new();
    assert!(driver.run_until_idle(&mut connection).is_pending());
    assert_eq!(script.written(), frames([&body[..], b"next"]));
    assert_eq!(connection.stats().messages_sent(), 2);
}

#[test]
fn reply_leaves_in_the_same_poll_as_its_request() {
    let (script, mut connection, log) = scripted_echo(u32_codec(), ConnectionConfig::default());
    script.push_data(frame(b"ping"));
    let mut driver = Driver::new();
    assert_eq!(driver.poll_once(&mut connection), Poll::Pending);
    assert_eq!(driver.polls(), 1);
    assert_eq!(*lock(&log), [b"ping".to_vec()]);
    assert_eq!(
        script.written(),
        frame(b"ping"),
        "the reply waited for a later poll"
    );
    assert_eq!(
        script.events(),
        [Event::Read(8), Event::Write(8), Event::Flush],
        "read, then write, then flush, all in one poll"
    );

    // And again, on a connection that has been open and idle for a while.
    script.push_data(frame(b"pong"));
    assert_eq!(driver.poll_once(&mut connection), Poll::Pending);
    assert_eq!(script.written(), frames([&b"ping"[..], b"pong"]));
}

#[test]
fn flush_follows_the_last_write_before_the_connection_idles() {
    let requests = requests();
    let bytes = frames(requests.iter().map(Vec::as_slice));
    let (script, mut connection, _log) = scripted_echo(u32_codec(), ConnectionConfig::default());
    script.set_write_policy(WritePolicy::AlternatePending(64));
    script.push_data(bytes);
    let mut driver = Driver::new();
    assert!(driver.run_until_idle(&mut connection).is_pending());
    let events = script.events();
    let last_write = events
        .iter()
        .rposition(|event| matches!(event, Event::Write(_)))
        .expect("something was written");
    assert!(
        events[last_write..].contains(&Event::Flush),
        "no flush after the last write: {events:?}"
    );
}
