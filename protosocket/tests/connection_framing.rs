//! Inbound framing over a scripted stream: a message is decoded the same however
//! the stream cuts its bytes into reads, and zero-length and skipped bytes are
//! handled as the codec says.

mod support;

use std::task::Poll;

use protosocket::{ConnectionConfig, PooledEncoder};
use support::{
    frame, frames, lock, pattern, scripted_echo, scripted_sink, u32_codec, Driver, Event, Padded,
    Raw, Read,
};

/// Messages with a zero-length one and one spanning several reads.
fn bodies() -> Vec<Vec<u8>> {
    vec![
        b"hello".to_vec(),
        Vec::new(),
        b"world!".to_vec(),
        pattern(1, 300),
    ]
}

/// Plays `reads` into an echo connection and checks it saw `bodies` and echoed
/// them byte for byte, still open.
fn assert_echoes(reads: Vec<Read>, bodies: &[Vec<u8>]) {
    let (script, mut connection, log) = scripted_echo(u32_codec(), ConnectionConfig::default());
    for read in reads {
        script.push(read);
    }
    let mut driver = Driver::new();
    assert!(driver.run_until_idle(&mut connection).is_pending());
    assert!(script.played_all(), "the connection stopped reading early");
    assert_eq!(*lock(&log), bodies);
    assert_eq!(
        script.written(),
        frames(bodies.iter().map(Vec::as_slice)),
        "echoes differ"
    );
    assert!(!script.is_shut_down());
}

#[test]
fn messages_split_at_every_byte_boundary_decode_the_same() {
    let bodies = bodies();
    let bytes = frames(bodies.iter().map(Vec::as_slice));
    for split in 0..=bytes.len() {
        let reads = vec![
            Read::Data(bytes[..split].to_vec()),
            Read::Pending,
            Read::Data(bytes[split..].to_vec()),
        ];
        assert_echoes(reads, &bodies);
    }
}

#[test]
fn messages_split_at_every_pair_of_byte_boundaries_decode_the_same() {
    let bodies = vec![b"ab".to_vec(), Vec::new(), b"cde".to_vec()];
    let bytes = frames(bodies.iter().map(Vec::as_slice));
    for first in 0..=bytes.len() {
        for second in first..=bytes.len() {
            let reads = vec![
                Read::Data(bytes[..first].to_vec()),
                Read::Pending,
                Read::Data(bytes[first..second].to_vec()),
                Read::Pending,
                Read::Data(bytes[second..].to_vec()),
            ];
            assert_echoes(reads, &bodies);
        }
    }
}

#[test]
fn one_byte_reads_decode_every_message() {
    let bodies = bodies();
    let bytes = frames(bodies.iter().map(Vec::as_slice));
    let reads = bytes.iter().map(|&b| Read::Data(vec![b])).collect();
    assert_echoes(reads, &bodies);
}

#[test]
fn one_byte_per_poll_decodes_every_message() {
    let bodies = bodies();
    let bytes = frames(bodies.iter().map(Vec::as_slice));
    let reads = bytes
        .iter()
        .flat_map(|&b| [Read::Data(vec![b]), Read::Pending])
        .collect();
    assert_echoes(reads, &bodies);
}

#[test]
fn many_messages_in_one_read_are_all_decoded_in_order() {
    let bodies: Vec<Vec<u8>> = (0..200u32).map(|i| pattern(i, (i % 13) as usize)).collect();
    let bytes = frames(bodies.iter().map(Vec::as_slice));
    let (script, mut connection, log) = scripted_echo(u32_codec(), ConnectionConfig::default());
    script.push_data(bytes.clone());
    let mut driver = Driver::new();
    assert!(driver.run_until_idle(&mut connection).is_pending());
    let reads: Vec<Event> = script
        .events()
        .into_iter()
        .filter(|event| matches!(event, Event::Read(_)))
        .collect();
    assert_eq!(reads, [Event::Read(bytes.len())], "expected a single read");
    assert_eq!(*lock(&log), bodies);
    assert_eq!(script.written(), bytes);
}

#[test]
fn zero_length_messages_are_messages_not_a_closed_stream() {
    let bodies = vec![Vec::new(), Vec::new(), Vec::new(), b"after".to_vec()];
    let bytes = frames(bodies.iter().map(Vec::as_slice));
    let (script, mut connection, log) = scripted_echo(u32_codec(), ConnectionConfig::default());
    script.push_data(frames([&b""[..], b"", b""]));
    let mut driver = Driver::new();
    assert!(driver.run_until_idle(&mut connection).is_pending());
    assert_eq!(lock(&log).len(), 3);
    assert!(!connection.is_closed());
    assert!(!script.is_shut_down(), "an empty message read as EOF");

    script.push_data(frame(b"after"));
    assert!(driver.run_until_idle(&mut connection).is_pending());
    assert_eq!(*lock(&log), bodies);
    assert_eq!(script.written(), bytes);
    assert_eq!(connection.stats().messages_received(), 4);
    assert_eq!(connection.stats().messages_sent(), 4);
}

#[test]
fn messages_that_encode_to_zero_bytes_are_sent_without_closing() {
    let codec = (PooledEncoder::new(Raw), Raw);
    let (script, mut connection, sender, _log) = scripted_sink(codec, ConnectionConfig::default());
    let mut driver = Driver::new();

    // Only empty messages: counted as sent, no write issued at all.
    sender.send(Vec::new()).unwrap();
    sender.send(Vec::new()).unwrap();
    assert!(driver.run_until_idle(&mut connection).is_pending());
    assert_eq!(connection.stats().messages_sent(), 2);
    assert_eq!(
        script.write_calls(),
        0,
        "a zero-length write looks like a dead socket"
    );

    for message in [&b""[..], b"ab", b"", b"", b"cd", b""] {
        sender.send(message.to_vec()).unwrap();
    }
    assert!(driver.run_until_idle(&mut connection).is_pending());
    assert_eq!(script.written(), b"abcd");
    assert_eq!(connection.stats().messages_sent(), 8);
    assert_eq!(connection.stats().bytes_sent(), 4);
    assert!(!connection.is_closed());
    assert!(!script.is_shut_down());
}

#[test]
fn decoder_skip_discards_bytes_between_messages() {
    let pad = Padded::PAD;
    let bytes = [pad, pad, 2, b'h', b'i', pad, 0, pad, pad, pad, 1, b'x', pad];
    let expected = vec![b"hi".to_vec(), Vec::new(), b"x".to_vec()];
    for split in 0..=bytes.len() {
        let (script, mut connection, _sender, log) = scripted_sink(
            (PooledEncoder::new(Padded), Padded),
            ConnectionConfig::default(),
        );
        script.push_data(&bytes[..split]);
        script.push(Read::Pending);
        script.push_data(&bytes[split..]);
        let mut driver = Driver::new();
        assert_eq!(driver.run_until_idle(&mut connection), Poll::Pending);
        assert_eq!(*lock(&log), expected, "split at {split}");
        assert!(!connection.is_closed());
    }
}

#[test]
fn frame_larger_than_one_poll_of_reading_is_read_to_the_end() {
    // Regression: a poll that spent its read budget without completing a message
    // returned Pending without a wake-up, while the stream still held bytes (a
    // socket does not wake for bytes already there): a 32 MiB echo hung.
    let body = pattern(3, 3 * 1024 * 1024);
    let (script, mut connection, _sender, log) =
        scripted_sink(u32_codec(), ConnectionConfig::default());
    script.push_data(frame(&body));
    let mut driver = Driver::new();
    assert!(driver.run_until_idle(&mut connection).is_pending());
    assert!(
        script.played_all(),
        "stopped reading with bytes in the stream"
    );
    assert_eq!(lock(&log).len(), 1);
    assert!(lock(&log)[0] == body);
}
