//! Statistics: messages and bytes in and out and the current send queue depth,
//! read from another task or thread while the connection runs.

mod support;

use protosocket::ConnectionConfig;
use support::{
    eventually, numbered, scripted_sink, u32_codec, Client, Driver, Server, WritePolicy,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counts_messages_and_bytes_both_ways_while_running() {
    const COUNT: u64 = 25;
    let mut server = Server::echo(ConnectionConfig::default());
    let mut client = Client::connect(server.addr()).await;
    let mut side = server.next().await;
    let stats = side.stats.clone();
    assert_eq!(stats.messages_received(), 0);

    let mut bytes = 0;
    for i in 0..COUNT {
        let body = numbered(i as u32, 10 + i as usize);
        bytes += 4 + body.len() as u64;
        assert_eq!(client.round_trip(&body).await, body);
    }
    // Read from this task while the connection runs in its own; the counters are
    // published at the end of each poll, so the last reply may arrive first.
    eventually("the counters to catch up", || {
        stats.messages_sent() == COUNT && stats.bytes_sent() == bytes
    })
    .await;
    assert_eq!(stats.messages_received(), COUNT);
    assert_eq!(stats.bytes_received(), bytes);
    assert_eq!(stats.send_queue_depth(), 0);
    assert!(!side.has_ended(), "the connection is still running");

    // A frame in flight counts its bytes before it counts as a message.
    client.write_raw(&[0, 0, 0, 4, 1, 2]).await;
    eventually("the partial frame's bytes", || {
        stats.bytes_received() == bytes + 6
    })
    .await;
    assert_eq!(stats.messages_received(), COUNT);
    client.write_raw(&[3, 4]).await;
    assert_eq!(client.recv().await, [1, 2, 3, 4]);
    eventually("the last message", || stats.messages_sent() == COUNT + 1).await;
    assert_eq!(stats.messages_received(), COUNT + 1);
    drop(client);
    side.ended_within(support::TIMEOUT, "the connection to end")
        .await;
}

#[test]
fn send_queue_depth_is_readable_from_another_thread_while_running() {
    const MAX: usize = 16;
    let config = ConnectionConfig::default().max_queued_outbound_messages(MAX);
    let (script, mut connection, sender, _log) = scripted_sink(u32_codec(), config);
    script.set_write_policy(WritePolicy::Blocked);
    let stats = connection.stats();
    let mut driver = Driver::new();
    for i in 0..5 {
        sender.send(numbered(i, 8).into()).unwrap();
    }
    assert!(driver.run_until_idle(&mut connection).is_pending());
    let depth = std::thread::spawn({
        let stats = stats.clone();
        move || stats.send_queue_depth()
    });
    assert_eq!(depth.join().unwrap(), 5);

    script.set_write_policy(WritePolicy::All);
    assert!(driver.run_until_idle(&mut connection).is_pending());
    let counts = std::thread::spawn(move || {
        (
            stats.send_queue_depth(),
            stats.messages_sent(),
            stats.bytes_sent(),
        )
    });
    assert_eq!(counts.join().unwrap(), (0, 5, 5 * 12));
}
