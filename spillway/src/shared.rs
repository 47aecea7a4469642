//! State shared by every sender and the receiver of one channel.

use crate::lane::{CachePadded, Lane};
use crate::loom::AtomicUsize;
use crate::signal::{Signal, MAX_LANES};

#[derive(Debug)]
pub(crate) struct Shared<T> {
    /// Hot: written when a lane turns non-empty and when the receiver parks.
    pub(crate) signal: CachePadded<Signal>,
    /// Cold: written only when senders are cloned or dropped.
    pub(crate) counters: CachePadded<Counters>,
    /// Most messages a lane holds; `usize::MAX` for an unbounded channel.
    pub(crate) capacity: usize,
    pub(crate) lanes: Box<[CachePadded<Lane<T>>]>,
}

#[derive(Debug)]
pub(crate) struct Counters {
    /// Live senders; the last one to go disconnects the channel.
    pub(crate) senders: AtomicUsize,
    /// Round-robin cursor handing lanes to new senders.
    pub(crate) next_lane: AtomicUsize,
}

impl<T> Shared<T> {
    pub(crate) fn new(lanes: usize, capacity: usize) -> Self {
        let lanes = lanes.clamp(1, MAX_LANES);
        Self {
            signal: CachePadded(Signal::new()),
            counters: CachePadded(Counters {
                senders: AtomicUsize::new(1),
                next_lane: AtomicUsize::new(1),
            }),
            capacity,
            lanes: (0..lanes).map(|_| CachePadded(Lane::new())).collect(),
        }
    }
}
