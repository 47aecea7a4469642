//! EOF is recorded when it is read: a stream that reports it once (a TLS wrapper
//! does) still ends the connection, after the requests that came before it are
//! answered.

mod support;

use protosocket::{CloseReason, ConnectionConfig};
use support::{frames, lock, numbered, scripted_echo, u32_codec, Driver, Read, WritePolicy};

#[test]
fn eof_reported_once_ends_the_connection_after_more_requests_than_room() {
    const MAX: usize = 2;
    let config = ConnectionConfig::default().max_queued_outbound_messages(MAX);
    let (script, mut connection, log) = scripted_echo(u32_codec(), config);
    // The peer takes a few bytes at a time, so answers wait for room while the
    // requests behind them (and the EOF behind those) are already read.
    script.set_write_policy(WritePolicy::AlternatePending(5));
    let requests: Vec<Vec<u8>> = (0..20).map(|i| numbered(i, 6)).collect();
    let bytes = frames(requests.iter().map(Vec::as_slice));
    script.push_data(bytes.clone());
    // One EOF; reads after it find nothing more in the script and stay pending.
    script.push(Read::Eof);

    let mut driver = Driver::new();
    assert!(
        driver.run_until_idle(&mut connection).is_ready(),
        "the connection ended"
    );
    assert_eq!(*lock(&log), requests);
    assert_eq!(script.written(), bytes, "every request answered, in order");
    assert!(script.is_shut_down());
    assert!(matches!(
        connection.close_reason(),
        Some(CloseReason::PeerClosed)
    ));
}
