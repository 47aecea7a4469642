//! Bad input (DESIGN.md, "Bad input gets"): the offender's connection closes within
//! a second, and the server goes on serving everyone else. Also: a peer that
//! connects and says nothing stays open, costs nothing, and holds up no one.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use protosocket::{ConnectionConfig, LinesCodec, PooledEncoder, SocketOptions};
use support::{
    frame, lock, u32_codec, within, BytesCodec, Checked, Client, Echo, LengthPrefixed64, Server,
    U32Codec, PROMPTLY, TIMEOUT,
};
use tokio::io::AsyncReadExt;

/// Writes `request` (one frame of the server's codec) and expects it echoed.
async fn echo_round_trip(client: &mut Client, request: &[u8]) {
    client.write_raw(request).await;
    let mut reply = vec![0; request.len()];
    within(TIMEOUT, "an echo", client.stream().read_exact(&mut reply))
        .await
        .expect("read the echo");
    assert_eq!(reply, request);
}

/// What an offender does.
enum Offence<'a> {
    /// Writes these bytes and keeps its side open.
    Send(&'a [u8]),
    /// Writes these bytes, then shuts its write half down.
    SendThenEof(&'a [u8]),
}

/// Runs an echo server with `codec`; checks that the offender is closed within a
/// second, while a client connected before it and one connected after it are
/// both served. `good` is one valid frame of the codec.
async fn closes_only_the_offender<C>(
    config: ConnectionConfig,
    codec: impl Fn() -> C + Send + 'static,
    good: &[u8],
    offence: Offence<'_>,
) where
    C: BytesCodec + Send + 'static,
    <C as BytesCodec>::Carried: Send,
    C::Serialized: Send,
{
    let mut server = Server::start(config, SocketOptions::default(), move |sender| {
        (codec(), Echo::<C>::new(sender))
    });
    let mut before = Client::connect(server.addr()).await;
    let mut before_side = server.next().await;
    echo_round_trip(&mut before, good).await;

    let mut offender = Client::connect(server.addr()).await;
    let mut offender_side = server.next().await;
    match offence {
        Offence::Send(bytes) => offender.write_raw_until_closed(bytes).await,
        Offence::SendThenEof(bytes) => {
            offender.write_raw(bytes).await;
            offender.shutdown_write().await;
        }
    }
    offender.expect_closed(PROMPTLY).await;
    offender_side
        .ended_within(PROMPTLY, "the offender's connection to end")
        .await;

    assert!(!before_side.has_ended(), "a bystander was closed");
    echo_round_trip(&mut before, good).await;
    let mut after = Client::connect(server.addr()).await;
    echo_round_trip(&mut after, good).await;
    assert!(!before_side.has_ended());
}

#[tokio::test]
async fn garbage_bytes_close_only_the_offender() {
    closes_only_the_offender(
        ConnectionConfig::default(),
        Checked::codec,
        &Checked::frame(b"hello"),
        Offence::Send(b"GET / HTTP/1.1\r\nHost: example\r\n\r\n"),
    )
    .await;
}

#[tokio::test]
async fn undecodable_body_closes_only_the_offender() {
    // Framed correctly, but the body is not UTF-8.
    let mut bytes = Checked::frame(b"fine");
    bytes.extend(Checked::frame(&[0xC3, 0x28, 0xFF]));
    closes_only_the_offender(
        ConnectionConfig::default(),
        Checked::codec,
        &Checked::frame(b"hello"),
        Offence::Send(&bytes),
    )
    .await;
}

#[tokio::test]
async fn length_prefix_of_2_pow_62_closes_only_the_offender() {
    let codec = || (PooledEncoder::new(LengthPrefixed64), LengthPrefixed64);
    let mut good = (1u64 << 3).to_be_bytes().to_vec();
    good.extend_from_slice(b"8 bytes!");
    for len in [1u64 << 62, 1 << 63, u64::MAX] {
        closes_only_the_offender(
            ConnectionConfig::default(),
            codec,
            &good,
            Offence::Send(&len.to_be_bytes()),
        )
        .await;
    }
}

#[tokio::test]
async fn frame_announced_over_max_buffer_length_closes_only_the_offender() {
    let config = ConnectionConfig::default().max_buffer_length(64 * 1024);
    // Only the prefix: the connection must not wait for (or buffer) the body.
    let prefix = (1024u32 * 1024).to_be_bytes();
    closes_only_the_offender(
        config.clone(),
        u32_codec,
        &frame(b"hello"),
        Offence::Send(&prefix),
    )
    .await;
    // One byte over, with the whole body sent.
    let over = vec![7; 64 * 1024 - 3];
    closes_only_the_offender(
        config,
        u32_codec,
        &frame(b"hello"),
        Offence::Send(&frame(&over)),
    )
    .await;
}

#[tokio::test]
async fn frame_at_max_buffer_length_is_accepted() {
    let config = ConnectionConfig::default().max_buffer_length(64 * 1024);
    let mut server = Server::echo(config);
    let mut client = Client::connect(server.addr()).await;
    let _side = server.next().await;
    let body = vec![7; 64 * 1024 - 4];
    assert!(client.round_trip(&body).await == body);
}

#[tokio::test]
async fn endless_frame_of_unknown_length_closes_only_the_offender() {
    // A line codec cannot tell a frame's length: only the full buffer stops it.
    let config = ConnectionConfig::default().max_buffer_length(64 * 1024);
    // No line limit of the codec's own: the connection's alone.
    let codec = || LinesCodec::new().max_line_length(usize::MAX);
    let endless = vec![b'a'; 200 * 1024];
    closes_only_the_offender(config, codec, b"hello\n", Offence::Send(&endless)).await;
}

#[tokio::test]
async fn frame_cut_off_then_eof_closes_only_the_offender() {
    let mut cut = frame(&[1; 100]);
    cut.truncate(50);
    closes_only_the_offender(
        ConnectionConfig::default(),
        u32_codec,
        &frame(b"hello"),
        Offence::SendThenEof(&cut),
    )
    .await;
    // Cut inside the length prefix itself.
    closes_only_the_offender(
        ConnectionConfig::default(),
        u32_codec,
        &frame(b"hello"),
        Offence::SendThenEof(&[0, 0]),
    )
    .await;
}

#[tokio::test]
async fn zero_length_messages_do_not_close_the_connection() {
    let mut server = Server::echo(ConnectionConfig::default());
    let mut client = Client::connect(server.addr()).await;
    let mut side = server.next().await;
    for _ in 0..3 {
        assert!(client.round_trip(b"").await.is_empty());
    }
    assert_eq!(client.round_trip(b"still here").await, b"still here");
    assert!(!side.has_ended());
    assert_eq!(side.stats.messages_received(), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_peer_stays_open_costs_nothing_and_others_are_served() {
    let polls: Arc<Mutex<Vec<Arc<AtomicUsize>>>> = Arc::default();
    let counters = Arc::clone(&polls);
    let mut server = Server::start(
        ConnectionConfig::default(),
        SocketOptions::default(),
        move |sender| {
            let reactor = Echo::<U32Codec>::new(sender);
            lock(&counters).push(reactor.polls());
            (u32_codec(), reactor)
        },
    );
    let mut idle = Client::connect(server.addr()).await;
    let mut idle_side = server.next().await;

    let mut busy = Vec::new();
    for _ in 0..4 {
        busy.push(Client::connect(server.addr()).await);
        server.next().await;
    }
    let work = busy.into_iter().enumerate().map(|(n, mut client)| {
        tokio::spawn(async move {
            for i in 0..200u32 {
                let body = format!("client {n} message {i}").into_bytes();
                assert_eq!(client.round_trip(&body).await, body);
            }
        })
    });
    for task in work.collect::<Vec<_>>() {
        within(TIMEOUT, "the busy clients", task).await.unwrap();
    }

    let idle_polls = lock(&polls)[0].load(Ordering::Relaxed);
    let busy_polls: usize = lock(&polls)[1..]
        .iter()
        .map(|count| count.load(Ordering::Relaxed))
        .sum();
    assert!(
        busy_polls >= 800,
        "busy connections polled {busy_polls} times"
    );
    assert!(
        idle_polls <= 2,
        "a silent peer's connection was polled {idle_polls} times"
    );

    // Still open on both sides: no EOF waiting to be read, nothing ended.
    assert!(!idle_side.has_ended(), "the idle connection was closed");
    let mut byte = [0; 1];
    match idle.stream().try_read(&mut byte) {
        Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => {}
        other => panic!("the idle peer's socket is not quietly open: {other:?}"),
    }
    // And it is served the moment it speaks.
    assert_eq!(idle.round_trip(b"finally").await, b"finally");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn peer_that_sends_forever_without_reading_is_held_back_and_others_are_served() {
    const MAX: usize = 8;
    let config = ConnectionConfig::default().max_queued_outbound_messages(MAX);
    let mut server = Server::echo(config);
    let offender = Client::connect(server.addr()).await;
    let offender_side = server.next().await;
    let mut good = Client::connect(server.addr()).await;
    let mut good_side = server.next().await;

    // Requests forever, replies never read.
    let (_read, mut write) = offender.into_stream().into_split();
    let flood = tokio::spawn(async move {
        let request = frame(&[9; 1024]);
        loop {
            if tokio::io::AsyncWriteExt::write_all(&mut write, &request)
                .await
                .is_err()
            {
                return;
            }
        }
    });

    let stats = offender_side.stats.clone();
    for i in 0..200u32 {
        let body = i.to_be_bytes();
        assert_eq!(good.round_trip(&body).await, body);
        // The reactor is never handed more requests than the send queue can
        // answer: what it was given and has not sent stays within the bound.
        let received = stats.messages_received();
        let sent = stats.messages_sent();
        assert!(
            received.saturating_sub(sent) <= MAX as u64,
            "{received} requests taken for {sent} replies sent"
        );
        assert!(stats.send_queue_depth() <= MAX as u64);
    }
    // TCP flow control, not a growing queue, holds the flood back.
    assert!(stats.messages_received() > 0);
    assert!(!good_side.has_ended());
    flood.abort();
}
