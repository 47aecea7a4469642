//! Per-connection counters, cheap to keep and readable from any task.

use std::sync::atomic::{AtomicU64, Ordering};

/// Counters of one connection. The connection adds to them once per poll (relaxed
/// atomics, no locks); read them from anywhere through the `Arc` from
/// [`Connection::stats`](crate::Connection::stats).
#[derive(Debug, Default)]
pub struct ConnectionStats {
    messages_received: AtomicU64,
    bytes_received: AtomicU64,
    messages_sent: AtomicU64,
    bytes_sent: AtomicU64,
    send_queue_depth: AtomicU64,
}

impl ConnectionStats {
    /// Messages decoded from the stream.
    pub fn messages_received(&self) -> u64 {
        self.messages_received.load(Ordering::Relaxed)
    }

    /// Bytes read from the stream.
    pub fn bytes_received(&self) -> u64 {
        self.bytes_received.load(Ordering::Relaxed)
    }

    /// Messages whose last byte the stream has taken.
    pub fn messages_sent(&self) -> u64 {
        self.messages_sent.load(Ordering::Relaxed)
    }

    /// Bytes written to the stream.
    pub fn bytes_sent(&self) -> u64 {
        self.bytes_sent.load(Ordering::Relaxed)
    }

    /// Encoded messages waiting for the stream, as of the connection's last poll.
    pub fn send_queue_depth(&self) -> u64 {
        self.send_queue_depth.load(Ordering::Relaxed)
    }

    /// Adds what moved since the last call and starts the tally afresh. The
    /// connection calls it after each read step, before the reactor maps outbound
    /// messages (so an answer about the counters, a `stats` command, counts the
    /// request that asked for it), and at the end of each poll. Sent and received
    /// are added together, so a reader never sees requests counted ahead of the
    /// answers already written.
    pub(crate) fn record(&self, tally: &mut Tally, queue_depth: usize) {
        // Skip the stores entirely when nothing moved.
        if tally.messages_received | tally.bytes_received != 0 {
            tally.heard = true;
            self.messages_received
                .fetch_add(tally.messages_received, Ordering::Relaxed);
            self.bytes_received
                .fetch_add(tally.bytes_received, Ordering::Relaxed);
            tally.messages_received = 0;
            tally.bytes_received = 0;
        }
        if tally.messages_sent | tally.bytes_sent != 0 {
            self.messages_sent
                .fetch_add(tally.messages_sent, Ordering::Relaxed);
            self.bytes_sent
                .fetch_add(tally.bytes_sent, Ordering::Relaxed);
            tally.messages_sent = 0;
            tally.bytes_sent = 0;
        }
        self.send_queue_depth
            .store(queue_depth as u64, Ordering::Relaxed);
    }
}

/// What a poll did since the counters were last added to the shared ones.
#[derive(Debug, Default)]
pub(crate) struct Tally {
    pub(crate) messages_received: u64,
    pub(crate) bytes_received: u64,
    pub(crate) messages_sent: u64,
    pub(crate) bytes_sent: u64,
    /// Bytes arrived during this poll (the counters above restart at each record).
    pub(crate) heard: bool,
}
