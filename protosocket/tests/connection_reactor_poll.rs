//! `MessageReactor::poll` runs once per receive-then-send round: once in a poll
//! that finds nothing to do, and at most four times in a poll that keeps making
//! progress (then the connection yields).

mod support;

use std::sync::atomic::Ordering;

use protosocket::ConnectionConfig;
use support::{frames, numbered, scripted_echo, u32_codec, Driver, WritePolicy};

#[test]
fn reactor_poll_runs_once_per_round_and_at_most_four_times_a_connection_poll() {
    let config = ConnectionConfig::default().max_queued_outbound_messages(2);
    let (script, mut connection, _log) = scripted_echo(u32_codec(), config);
    let polls = connection.reactor().polls();
    let mut driver = Driver::new();

    assert!(driver.poll_once(&mut connection).is_pending());
    assert_eq!(polls.load(Ordering::SeqCst), 1, "an idle poll is one round");

    // Two answers of room and many requests: every round decodes two, sends two.
    let requests: Vec<Vec<u8>> = (0..100).map(|i| numbered(i, 6)).collect();
    script.set_write_policy(WritePolicy::All);
    script.push_data(frames(requests.iter().map(Vec::as_slice)));
    polls.store(0, Ordering::SeqCst);
    let wakes = driver.wakes();
    assert!(driver.poll_once(&mut connection).is_pending());
    assert_eq!(polls.load(Ordering::SeqCst), 4, "four rounds, then a yield");
    assert!(driver.wakes() > wakes, "the yield wakes the task to go on");
}
