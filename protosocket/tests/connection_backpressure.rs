//! A peer that stops reading: the connection's send queue stays within
//! `max_queued_outbound_messages`, producers see `TrySendError::Full` instead of
//! growing memory, and everything they were allowed to send still arrives.

mod support;

use std::time::Duration;

use protosocket::{ConnectionConfig, SocketOptions};
use support::{
    frames, numbered, read_frame, scripted_sink, u32_codec, within, Client, Driver, Server, Sink,
    U32Codec, WritePolicy, TIMEOUT,
};

#[test]
fn blocked_stream_bounds_the_send_queue_and_fills_the_senders_lane() {
    const MAX: usize = 4;
    let config = ConnectionConfig::default().max_queued_outbound_messages(MAX);
    let (script, mut connection, sender, _log) = scripted_sink(u32_codec(), config);
    script.set_write_policy(WritePolicy::Blocked);
    let stats = connection.stats();
    let mut driver = Driver::new();

    let mut accepted = 0u32;
    for _ in 0..1000 {
        match sender.send(numbered(accepted, 8).into()) {
            Ok(()) => accepted += 1,
            Err(error) => assert!(error.is_full(), "{error}"),
        }
        assert!(driver.run_until_idle(&mut connection).is_pending());
        assert!(stats.send_queue_depth() <= MAX as u64);
    }
    assert_eq!(stats.send_queue_depth(), MAX as u64);
    assert_eq!(sender.lane_len(), MAX);
    assert!(sender
        .send(numbered(accepted, 8).into())
        .unwrap_err()
        .is_full());
    // The send queue, the batch the receiver took from the lane, and the lane.
    assert!(
        accepted as usize <= 3 * MAX,
        "{accepted} messages accepted for a peer that reads nothing"
    );

    script.set_write_policy(WritePolicy::All);
    assert!(driver.run_until_idle(&mut connection).is_pending());
    let expected: Vec<Vec<u8>> = (0..accepted).map(|i| numbered(i, 8)).collect();
    assert_eq!(script.written(), frames(expected.iter().map(Vec::as_slice)));
    assert_eq!(stats.send_queue_depth(), 0);
    assert_eq!(sender.lane_len(), 0);
    sender
        .send(numbered(accepted, 8).into())
        .expect("room again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn peer_that_stops_reading_bounds_the_queue_and_producers_see_full() {
    const MAX: usize = 8;
    const SIZE: usize = 64 * 1024;
    /// Far more than the socket buffers and the queues can hold between them.
    const LIMIT: u32 = (64 * 1024 * 1024 / SIZE) as u32;
    /// How long a producer must see no room before the peer counts as stalled.
    const QUIET: Duration = Duration::from_millis(500);

    let config = ConnectionConfig::default().max_queued_outbound_messages(MAX);
    let options = SocketOptions::default().send_buffer_size(Some(64 * 1024));
    let (senders_tx, mut senders) = tokio::sync::mpsc::unbounded_channel();
    let mut server = Server::start(config, options, move |sender| {
        let _ = senders_tx.send(sender);
        (u32_codec(), Sink::<U32Codec>::new())
    });
    let client = Client::connect(server.addr()).await;
    let mut side = server.next().await;
    let producer = within(TIMEOUT, "the producer", senders.recv())
        .await
        .unwrap();
    let stats = side.stats.clone();

    let mut accepted = 0u32;
    loop {
        match producer.send(numbered(accepted, SIZE).into()) {
            Ok(()) => {
                accepted += 1;
                assert!(accepted < LIMIT, "the connection keeps taking messages");
                continue;
            }
            Err(error) => assert!(error.is_full(), "{error}"),
        }
        assert!(stats.send_queue_depth() <= MAX as u64);
        // Room comes back only while the kernel still takes bytes.
        match tokio::time::timeout(QUIET, producer.send_async(numbered(accepted, SIZE).into()))
            .await
        {
            Ok(Ok(())) => accepted += 1,
            Ok(Err(_)) => panic!("the connection closed"),
            Err(_) => break,
        }
    }
    // Stalled with writes pending: something queued, never more than the bound
    // (the queue is topped up only when the socket takes bytes again).
    let depth = stats.send_queue_depth();
    assert!(
        (1..=MAX as u64).contains(&depth),
        "send queue depth {depth}"
    );
    assert_eq!(producer.lane_len(), MAX);
    assert!(producer
        .send(numbered(accepted, SIZE).into())
        .unwrap_err()
        .is_full());

    // The peer reads again: everything accepted arrives in order, and the
    // producer that was waiting for room gets it.
    let waiting = tokio::spawn(async move {
        let sent = producer.send_async(numbered(accepted, SIZE).into()).await;
        assert!(sent.is_ok(), "the connection closed");
        // Dropping the only sender lets the connection finish.
    });
    let (mut read, _write) = client.into_stream().into_split();
    for i in 0..=accepted {
        let body = within(TIMEOUT, "a queued message", read_frame(&mut read))
            .await
            .expect("read");
        assert!(body == numbered(i, SIZE), "message {i} out of order");
    }
    within(TIMEOUT, "the waiting producer", waiting)
        .await
        .unwrap();
    let mut rest = Vec::new();
    within(
        TIMEOUT,
        "EOF after the last sender",
        tokio::io::AsyncReadExt::read_to_end(&mut read, &mut rest),
    )
    .await
    .unwrap();
    assert!(rest.is_empty());
    side.ended_within(TIMEOUT, "the connection to finish").await;
    assert_eq!(stats.messages_sent(), u64::from(accepted) + 1);
}

#[test]
fn requests_are_decoded_only_as_fast_as_their_replies_can_queue() {
    const MAX: usize = 4;
    let config = ConnectionConfig::default().max_queued_outbound_messages(MAX);
    let (script, mut connection, log) = support::scripted_echo(u32_codec(), config);
    script.set_write_policy(WritePolicy::Blocked);
    let requests: Vec<Vec<u8>> = (0..50).map(|i| numbered(i, 6)).collect();
    let bytes = frames(requests.iter().map(Vec::as_slice));
    script.push_data(bytes.clone());
    let mut driver = Driver::new();
    assert!(driver.run_until_idle(&mut connection).is_pending());
    // A peer that does not read gets no more answers queued than the bound; the
    // rest of its requests wait, undecoded, instead of overrunning the echo.
    assert_eq!(support::lock(&log).len(), MAX);
    assert_eq!(connection.stats().send_queue_depth(), MAX as u64);
    assert!(!connection.is_closed());

    script.set_write_policy(WritePolicy::Chunk(5));
    assert!(driver.run_until_idle(&mut connection).is_pending());
    assert_eq!(*support::lock(&log), requests);
    assert_eq!(script.written(), bytes, "replies lost or out of order");
}
