//! Connection settings.

use std::time::Duration;

use crate::coalesce::WriteCoalescing;
use crate::liveness::Liveness;
use crate::memory::InboundMemory;

/// Settings of one [`Connection`](crate::Connection).
///
/// | setting | default | what it bounds |
/// |---|---|---|
/// | `max_buffer_length` | 32 MiB | the largest inbound frame; a larger one closes the connection |
/// | `buffer_allocation_increment` | 64 KiB | how much the receive buffer grows by when it needs room |
/// | `max_queued_outbound_messages` | 256 | encoded messages waiting for the socket, and each outbound lane's capacity |
/// | `write_stall_timeout` | none | how long a peer may take no bytes while some are queued for it |
/// | `outbound_lanes` | 4 | lanes of the outbound channel (senders beyond this share lanes) |
/// | `write_coalescing` | [`WriteCoalescing::Auto`] | whether a fresh write may wait for the runtime's other ready tasks to add to it |
/// | `inbound_memory` | none | a budget of receive-buffer bytes shared with other connections |
/// | `liveness` | none | when a quiet connection pings, and how long an awaited peer may stay silent |
#[derive(Debug, Clone)]
pub struct ConnectionConfig {
    pub(crate) max_buffer_length: usize,
    pub(crate) buffer_allocation_increment: usize,
    pub(crate) max_queued_outbound_messages: usize,
    pub(crate) write_stall_timeout: Option<Duration>,
    pub(crate) outbound_lanes: usize,
    pub(crate) write_coalescing: WriteCoalescing,
    pub(crate) inbound_memory: Option<InboundMemory>,
    pub(crate) liveness: Option<Liveness>,
}

impl Default for ConnectionConfig {
    fn default() -> Self {
        Self {
            max_buffer_length: 32 * 1024 * 1024,
            buffer_allocation_increment: 64 * 1024,
            max_queued_outbound_messages: 256,
            write_stall_timeout: None,
            outbound_lanes: 4,
            write_coalescing: WriteCoalescing::Auto,
            inbound_memory: None,
            liveness: None,
        }
    }
}

impl ConnectionConfig {
    /// The largest inbound frame, prefix included. A decoder that announces a larger
    /// frame closes the connection. At least 1 KiB.
    #[must_use]
    pub fn max_buffer_length(mut self, bytes: usize) -> Self {
        self.max_buffer_length = bytes.max(1024);
        self
    }

    /// How much the receive buffer grows by when a read needs room (at least 1 KiB).
    /// Larger means fewer reads per burst; an idle connection returns the memory.
    #[must_use]
    pub fn buffer_allocation_increment(mut self, bytes: usize) -> Self {
        self.buffer_allocation_increment = bytes.max(1024);
        self
    }

    /// How many encoded messages may wait for the socket (at least 1). When the peer
    /// stops reading, the connection stops taking from its outbound channel, whose
    /// lanes hold at most this many messages each, so senders see
    /// [`spillway::TrySendError::Full`] (or wait in `send_async`).
    #[must_use]
    pub fn max_queued_outbound_messages(mut self, messages: usize) -> Self {
        self.max_queued_outbound_messages = messages.max(1);
        self
    }

    /// Closes the connection when bytes are queued for the peer and it takes none for
    /// this long: a peer that stops reading (or floods requests without reading the
    /// answers, which the connection stops reading while its send queue is full)
    /// is dropped instead of holding its buffers forever. It also bounds how long a
    /// graceful close waits for such a peer.
    ///
    /// # Panics
    ///
    /// With a timeout set, the connection panics on its first stall if the tokio
    /// runtime has no timer (`enable_time`/`enable_all` on the runtime builder).
    #[must_use]
    pub fn write_stall_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.write_stall_timeout = timeout;
        self
    }

    /// Lanes of the outbound channel made by
    /// [`outbound_channel`](Self::outbound_channel) (1 to [`spillway::MAX_LANES`]).
    /// Each lane costs about 128 bytes per connection; senders beyond the lane count
    /// share lanes, which only costs when they send at the same moment. Raise it when
    /// many threads send to one connection at once.
    #[must_use]
    pub fn outbound_lanes(mut self, lanes: usize) -> Self {
        self.outbound_lanes = lanes.clamp(1, spillway::MAX_LANES);
        self
    }

    /// Whether a connection that finds a fresh message to send (with nothing else
    /// waiting for the socket, and nothing received in that poll) may put the write
    /// off until the tokio worker has run its other ready tasks, so that what they
    /// send leaves in the same `writev`. Many tasks calling through one connection
    /// then cost one system call per batch instead of one per message.
    ///
    /// Worth it when the tasks and the connection share a CPU; with several
    /// workers the peer works in parallel and an early write serves it sooner,
    /// hence the default [`WriteCoalescing::Auto`]. The connection stops deferring
    /// while deferrals gain nothing (one request at a time); it then pays an
    /// extra poll on at most one fresh write in 65. Answers to messages received
    /// in a poll always leave in that poll.
    #[must_use]
    pub fn write_coalescing(mut self, coalescing: WriteCoalescing) -> Self {
        self.write_coalescing = coalescing;
        self
    }

    /// A budget of receive-buffer bytes this connection shares with every other
    /// connection whose config holds a clone of it (see [`InboundMemory`]); `None`
    /// bounds each connection by `max_buffer_length` alone.
    #[must_use]
    pub fn inbound_memory(mut self, budget: Option<InboundMemory>) -> Self {
        self.inbound_memory = budget;
        self
    }

    /// Pings on a quiet connection and a close when an awaited peer stays silent
    /// (see [`Liveness`]); `None` turns both off.
    ///
    /// # Panics
    ///
    /// With liveness set, the connection panics on its first poll if the tokio
    /// runtime has no timer.
    #[must_use]
    pub fn liveness(mut self, liveness: Option<Liveness>) -> Self {
        self.liveness = liveness;
        self
    }

    /// The configured liveness.
    #[must_use]
    pub fn get_liveness(&self) -> Option<Liveness> {
        self.liveness
    }

    /// The configured shared inbound budget.
    #[must_use]
    pub fn get_inbound_memory(&self) -> Option<&InboundMemory> {
        self.inbound_memory.as_ref()
    }

    /// The configured write coalescing.
    #[must_use]
    pub fn get_write_coalescing(&self) -> WriteCoalescing {
        self.write_coalescing
    }

    /// The configured receive-buffer growth step.
    #[must_use]
    pub fn get_buffer_allocation_increment(&self) -> usize {
        self.buffer_allocation_increment
    }

    /// The configured number of outbound channel lanes.
    #[must_use]
    pub fn get_outbound_lanes(&self) -> usize {
        self.outbound_lanes
    }

    /// The configured largest inbound frame.
    #[must_use]
    pub fn get_max_buffer_length(&self) -> usize {
        self.max_buffer_length
    }

    /// The configured write stall timeout.
    #[must_use]
    pub fn get_write_stall_timeout(&self) -> Option<Duration> {
        self.write_stall_timeout
    }

    /// The configured bound on queued outbound messages.
    #[must_use]
    pub fn get_max_queued_outbound_messages(&self) -> usize {
        self.max_queued_outbound_messages
    }

    /// The outbound channel for a connection with these settings: `outbound_lanes`
    /// lanes, each holding at most `max_queued_outbound_messages`.
    #[must_use]
    pub fn outbound_channel<T>(&self) -> (spillway::Sender<T>, spillway::Receiver<T>) {
        spillway::bounded_with_concurrency(self.outbound_lanes, self.max_queued_outbound_messages)
    }
}
