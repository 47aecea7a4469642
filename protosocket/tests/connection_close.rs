//! Closing: queued messages are flushed before the stream is shut down, whoever
//! starts the close; read EOF from the peer does not discard replies already
//! queued; and once a connection has ended every sender sees `Closed`.

mod support;

use std::task::Poll;

use bytes::Bytes;
use protosocket::{Connection, ConnectionConfig, SocketOptions};
use support::{
    eventually, frames, lock, numbered, scripted_echo, scripted_sink, u32_codec, within, Client,
    Driver, Event, Read, Server, Sink, U32Codec, WritePolicy, TIMEOUT,
};

/// A server whose connections answer nothing; each connection's outbound sender
/// is handed to the test.
fn producer_server(
    config: ConnectionConfig,
    options: SocketOptions,
) -> (
    Server,
    tokio::sync::mpsc::UnboundedReceiver<spillway::Sender<Bytes>>,
) {
    let (senders_tx, senders) = tokio::sync::mpsc::unbounded_channel();
    let server = Server::start(config, options, move |sender| {
        let _ = senders_tx.send(sender);
        (u32_codec(), Sink::<U32Codec>::new())
    });
    (server, senders)
}

#[tokio::test]
async fn close_flushes_queued_messages_when_every_sender_is_dropped() {
    const COUNT: u32 = 200;
    const SIZE: usize = 64 * 1024;
    let (mut server, mut senders) =
        producer_server(ConnectionConfig::default(), SocketOptions::default());
    let mut client = Client::connect(server.addr()).await;
    let mut side = server.next().await;
    let producer = within(TIMEOUT, "the producer", senders.recv())
        .await
        .unwrap();

    // 12.5 MiB: far more than the socket buffers hold, so most of it is still
    // queued when the last sender goes.
    for i in 0..COUNT {
        producer
            .send(numbered(i, SIZE).into())
            .expect("room in the lane");
    }
    drop(producer);

    for i in 0..COUNT {
        assert!(client.recv().await == numbered(i, SIZE), "message {i}");
    }
    client.expect_eof().await;
    side.ended_within(TIMEOUT, "the connection to finish").await;
    assert_eq!(side.stats.messages_sent(), u64::from(COUNT));
}

#[tokio::test]
async fn close_flushes_queued_messages_when_the_reactor_disconnects() {
    const COUNT: u32 = 50;
    const SIZE: usize = 64 * 1024;
    let mut server = Server::echo(ConnectionConfig::default());
    let mut client = Client::connect(server.addr()).await;
    let mut side = server.next().await;

    // Requests and `quit` in one write: the echo reactor queues 50 replies, then
    // disconnects while they are still queued.
    let mut bodies: Vec<Vec<u8>> = (0..COUNT).map(|i| numbered(i, SIZE)).collect();
    bodies.push(b"quit".to_vec());
    client
        .write_raw(&frames(bodies.iter().map(Vec::as_slice)))
        .await;

    for i in 0..COUNT {
        assert!(client.recv().await == numbered(i, SIZE), "reply {i}");
    }
    client.expect_eof().await;
    side.ended_within(TIMEOUT, "the connection to finish").await;
}

#[tokio::test]
async fn every_sender_sees_closed_after_the_connection_ends() {
    let (mut server, mut senders) =
        producer_server(ConnectionConfig::default(), SocketOptions::default());
    let mut client = Client::connect(server.addr()).await;
    let mut side = server.next().await;
    let producer = within(TIMEOUT, "the producer", senders.recv())
        .await
        .unwrap();
    let clone = producer.clone();
    clone.send(Bytes::from_static(b"hello")).unwrap();
    assert_eq!(client.recv().await, b"hello");

    drop(client);
    side.ended_within(TIMEOUT, "the connection to finish").await;
    assert!(producer
        .send(Bytes::from_static(b"late"))
        .unwrap_err()
        .is_closed());
    assert!(clone
        .send(Bytes::from_static(b"late"))
        .unwrap_err()
        .is_closed());
    assert!(within(
        TIMEOUT,
        "send_async",
        clone.send_async(Bytes::from_static(b"late"))
    )
    .await
    .is_err());
    assert!(producer
        .clone()
        .send(Bytes::from_static(b"late"))
        .unwrap_err()
        .is_closed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sender_waiting_for_room_sees_closed_when_the_connection_ends() {
    const MAX: usize = 2;
    let config = ConnectionConfig::default().max_queued_outbound_messages(MAX);
    let options = SocketOptions::default().send_buffer_size(Some(16 * 1024));
    let (mut server, mut senders) = producer_server(config, options);
    let client = Client::connect(server.addr()).await;
    let mut side = server.next().await;
    let producer = within(TIMEOUT, "the producer", senders.recv())
        .await
        .unwrap();
    // Shared rather than cloned: a clone would get a lane of its own.
    let producer = std::sync::Arc::new(producer);
    let watch = std::sync::Arc::clone(&producer);

    // The client never reads, so the producer fills its lane and waits for room.
    let producing = tokio::spawn(async move {
        let mut sent = 0u32;
        while producer
            .send_async(numbered(sent, 64 * 1024).into())
            .await
            .is_ok()
        {
            sent += 1;
        }
        sent
    });
    eventually("the producer's lane to fill", || watch.lane_len() == MAX).await;
    assert!(!producing.is_finished());

    drop(client);
    side.ended_within(TIMEOUT, "the connection to finish").await;
    // The loop ends only on `Closed`: the send waiting for room did not hang.
    let sent = within(TIMEOUT, "the waiting producer to see Closed", producing)
        .await
        .unwrap();
    assert!(sent >= MAX as u32);
    assert!(watch.is_closed());
}

#[test]
fn senders_see_closed_as_soon_as_the_connection_completes() {
    let (script, mut connection, sender, _log) =
        scripted_sink(u32_codec(), ConnectionConfig::default());
    script.push(Read::Eof);
    let mut driver = Driver::new();
    assert_eq!(driver.run_until_idle(&mut connection), Poll::Ready(()));
    assert!(connection.is_closed());
    // The owner still holds the finished connection (to read its reactor or
    // stats, say): its senders must not wait on it regardless.
    assert!(sender
        .send(Bytes::from_static(b"late"))
        .unwrap_err()
        .is_closed());
    assert!(sender.is_closed());
    drop(connection);
}

#[tokio::test]
async fn peer_eof_keeps_responses_already_queued() {
    const COUNT: u32 = 64;
    const SIZE: usize = 64 * 1024;
    let mut server = Server::echo(ConnectionConfig::default());
    let mut client = Client::connect(server.addr()).await;
    let mut side = server.next().await;

    let bodies: Vec<Vec<u8>> = (0..COUNT).map(|i| numbered(i, SIZE)).collect();
    client
        .write_raw(&frames(bodies.iter().map(Vec::as_slice)))
        .await;
    // The peer is done asking, not done listening: 4 MiB of replies are owed.
    client.shutdown_write().await;

    for i in 0..COUNT {
        assert!(client.recv().await == numbered(i, SIZE), "reply {i}");
    }
    client.expect_eof().await;
    side.ended_within(TIMEOUT, "the connection to finish").await;
    assert_eq!(side.stats.messages_received(), u64::from(COUNT));
    assert_eq!(side.stats.messages_sent(), u64::from(COUNT));
}

#[test]
fn eof_in_the_same_read_as_requests_keeps_their_replies() {
    let bodies: Vec<Vec<u8>> = (0..10).map(|i| numbered(i, 100)).collect();
    let bytes = frames(bodies.iter().map(Vec::as_slice));
    let (script, mut connection, log) = scripted_echo(u32_codec(), ConnectionConfig::default());
    script.set_write_policy(WritePolicy::Blocked);
    script.push_data(bytes.clone());
    script.push(Read::Eof);
    let mut driver = Driver::new();
    assert!(driver.run_until_idle(&mut connection).is_pending());
    assert_eq!(lock(&log).len(), 10);
    assert!(
        !script.is_shut_down(),
        "shut down with replies still queued"
    );

    script.set_write_policy(WritePolicy::Chunk(7));
    assert_eq!(driver.run_until_idle(&mut connection), Poll::Ready(()));
    assert_eq!(script.written(), bytes);
    assert_shutdown_after_writes(&script.events());
}

#[test]
fn close_sends_what_is_queued_then_shuts_down() {
    let (script, mut connection, sender, log) =
        scripted_sink(u32_codec(), ConnectionConfig::default());
    script.set_write_policy(WritePolicy::AlternatePending(3));
    for i in 0..3 {
        sender.send(numbered(i, 10).into()).unwrap();
    }
    script.push_data(frames([&b"unread"[..]]));
    connection.close();
    let mut driver = Driver::new();
    assert_eq!(driver.run_until_idle(&mut connection), Poll::Ready(()));
    let expected: Vec<Vec<u8>> = (0..3).map(|i| numbered(i, 10)).collect();
    assert_eq!(script.written(), frames(expected.iter().map(Vec::as_slice)));
    assert_shutdown_after_writes(&script.events());
    assert!(lock(&log).is_empty(), "read after close");
    drop(connection);
    assert!(script.is_dropped());
}

/// The stream was flushed after the last write, then shut down, and nothing
/// came after.
fn assert_shutdown_after_writes(events: &[Event]) {
    let last_write = events
        .iter()
        .rposition(|event| matches!(event, Event::Write(_)))
        .expect("something was written");
    let tail = &events[last_write + 1..];
    assert_eq!(tail.last(), Some(&Event::Shutdown), "{events:?}");
    assert!(
        tail.contains(&Event::Flush),
        "no flush before shutdown: {events:?}"
    );
}

/// The connection type is what a server holds; keep the tests honest about it.
#[allow(dead_code)]
fn connection_is_send(connection: Connection<tokio::net::TcpStream, Sink<U32Codec>>) -> impl Send {
    connection
}
