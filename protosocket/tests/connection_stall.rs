//! `write_stall_timeout`: a peer that takes no bytes while some are queued for it is
//! dropped; one that keeps taking them, however slowly, is not.

mod support;

use std::io;
use std::time::Duration;

use tokio::io::AsyncWriteExt;

use protosocket::ConnectionConfig;
use support::{
    frame, scripted_echo, u32_codec, within, Client, Server, WritePolicy, PROMPTLY, TIMEOUT,
};

const STALL: Duration = Duration::from_millis(200);

#[tokio::test(start_paused = true)]
async fn a_peer_that_takes_nothing_is_closed_at_the_timeout() {
    let config = ConnectionConfig::default().write_stall_timeout(Some(STALL));
    let (script, connection, _log) = scripted_echo(u32_codec(), config);
    script.set_write_policy(WritePolicy::Blocked);
    script.push_data(frame(b"never read"));
    let started = tokio::time::Instant::now();
    let task = tokio::spawn(connection);
    within(TIMEOUT, "the stalled connection to close", task)
        .await
        .expect("connection task");
    // Paused time only moves when everything waits, so this is the timer's doing.
    assert!(
        started.elapsed() >= STALL,
        "closed after {:?}",
        started.elapsed()
    );
    assert!(script.written().is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_slow_reader_that_keeps_reading_is_not_closed() {
    let config = ConnectionConfig::default().write_stall_timeout(Some(STALL));
    let (script, connection, _log) = scripted_echo(u32_codec(), config);
    script.set_write_policy(WritePolicy::Blocked);
    let requests: Vec<Vec<u8>> = (0..10u8).map(|i| vec![i; 16]).collect();
    for request in &requests {
        script.push_data(frame(request));
    }
    let task = tokio::spawn(connection);
    // Let the peer take four bytes at a time, each well inside the timeout: ten
    // timeouts' worth of slow progress in total.
    let expected: usize = requests.iter().map(|r| r.len() + 4).sum();
    let mut elapsed = Duration::ZERO;
    while script.bytes_written() < expected {
        tokio::time::sleep(STALL / 2).await;
        elapsed += STALL / 2;
        script.set_write_policy(WritePolicy::Then(4));
        assert!(
            !task.is_finished(),
            "closed a peer that kept reading after {elapsed:?}"
        );
        assert!(
            elapsed < Duration::from_secs(60),
            "the writes never finished"
        );
    }
    assert!(elapsed > STALL * 5, "the test did not outlast the timeout");
    task.abort();
}

#[tokio::test]
async fn a_flooding_peer_that_never_reads_is_closed_and_others_are_served() {
    let config = ConnectionConfig::default()
        .write_stall_timeout(Some(STALL))
        .max_queued_outbound_messages(16);
    let mut server = Server::echo(config);
    let mut flooder = Client::connect(server.addr()).await;
    let _flooder_side = server.next().await;
    // Requests until the server stops reading (its send queue is full and the
    // flooder reads nothing), then the stall timeout closes it.
    let big = frame(&vec![1; 60 * 1024]);
    let flood = async {
        loop {
            if let Err(error) = flooder.stream().write_all(&big).await {
                assert!(
                    matches!(
                        error.kind(),
                        io::ErrorKind::ConnectionReset
                            | io::ErrorKind::BrokenPipe
                            | io::ErrorKind::ConnectionAborted
                    ),
                    "{error}"
                );
                return;
            }
        }
    };
    within(STALL + 2 * PROMPTLY, "the flooder to be cut off", flood).await;

    let mut other = Client::connect(server.addr()).await;
    let _other_side = server.next().await;
    assert_eq!(other.round_trip(b"still here").await, b"still here");
}
