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

    /// Adds what arrived since the last call, before the reactor maps this poll's
    /// outbound messages: an answer about the counters (a `stats` command) then
    /// counts the request that asked for it.
    pub(crate) fn record_received(&self, tally: &mut Tally) {
        let messages = tally.messages_received - tally.recorded.0;
        let bytes = tally.bytes_received - tally.recorded.1;
        // Skip the stores entirely when nothing new arrived.
        if messages | bytes != 0 {
            self.messages_received
                .fetch_add(messages, Ordering::Relaxed);
            self.bytes_received.fetch_add(bytes, Ordering::Relaxed);
            tally.recorded = (tally.messages_received, tally.bytes_received);
        }
    }

    pub(crate) fn record(&self, tally: &mut Tally, queue_depth: usize) {
        self.record_received(tally);
        if tally.messages_sent | tally.bytes_sent != 0 {
            self.messages_sent
                .fetch_add(tally.messages_sent, Ordering::Relaxed);
            self.bytes_sent
                .fetch_add(tally.bytes_sent, Ordering::Relaxed);
        }
        self.send_queue_depth
            .store(queue_depth as u64, Ordering::Relaxed);
    }
}

/// What one poll did, added to the shared counters at its end.
#[derive(Debug, Default)]
pub(crate) struct Tally {
    pub(crate) messages_received: u64,
    pub(crate) bytes_received: u64,
    pub(crate) messages_sent: u64,
    pub(crate) bytes_sent: u64,
    /// How much of `messages_received` and `bytes_received` is already added.
    pub(crate) recorded: (u64, u64),
}
