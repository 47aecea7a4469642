//! A multi-producer, single-consumer channel built for one busy receiver and many
//! senders on many threads.
//!
//! Every [`Sender`] pushes into a lane of its own (a `Mutex<VecDeque<T>>` on its own
//! cache lines), so senders do not contend with one another. The [`Receiver`] takes a
//! whole lane in one locked moment and hands its messages out without touching
//! shared memory again. A sender touches the one shared word only when its lane turns
//! from empty to non-empty, which is also the only time it can have to wake the
//! receiver. Order is kept per sender, not between senders.
//!
//! ```
//! # futures::executor::block_on(async {
//! let (sender, mut receiver) = spillway::channel();
//! let other = sender.clone();
//! sender.send("a").unwrap();
//! other.send("b").unwrap();
//! drop((sender, other));
//!
//! let mut received = Vec::new();
//! while let Some(message) = receiver.next().await {
//!     received.push(message);
//! }
//! received.sort();
//! assert_eq!(received, ["a", "b"]);
//! # });
//! ```
//!
//! A bounded channel caps each lane; `send` says [`TrySendError::Full`] and
//! [`Sender::send_async`] waits for room:
//!
//! ```
//! # futures::executor::block_on(async {
//! let (sender, mut receiver) = spillway::bounded(1);
//! sender.send(1).unwrap();
//! assert!(sender.send(2).unwrap_err().is_full());
//! assert_eq!(receiver.next().await, Some(1));
//! sender.send_async(2).await.unwrap();
//! # });
//! ```
//!
//! Layout:
//! - `sender`: [`Sender`], [`SendAsync`].
//! - `receiver`: [`Receiver`], whole-lane batches and `futures::Stream`.
//! - `lane`: one sender's queue and its lock.
//! - `signal`: the ready-lanes word and the wake protocol (its docs hold the table).
//! - `shared`: what senders and the receiver share.
//! - `error`: [`TrySendError`], [`SendError`], [`TryRecvError`].
//! - `loom`: the atomics and locks, swapped for loom's in the model tests.
//!
//! The lane lock is `k_lock::Mutex` (the default `k-lock` feature), which measured
//! faster than `std::sync::Mutex` here: a lane's lock is only ever contended for a
//! few nanoseconds, by a sender and the receiver's swap, and std's mutex may put a
//! runtime worker to sleep on it. Without the feature the lanes use std's mutex. The
//! workspace README has the measurements.

mod error;
mod lane;
mod loom;
mod receiver;
mod sender;
mod shared;
mod signal;

pub use error::{SendError, TryRecvError, TrySendError};
pub use receiver::Receiver;
pub use sender::{SendAsync, Sender};

use crate::loom::Arc;
use crate::shared::Shared;

/// The most lanes a channel can have; more senders than this share lanes round-robin.
pub const MAX_LANES: usize = signal::MAX_LANES;

/// Lanes of [`channel`] and [`bounded`]: enough that 16 senders each get a lane.
pub const DEFAULT_LANES: usize = 16;

/// An unbounded channel with [`DEFAULT_LANES`] lanes.
#[must_use]
pub fn channel<T>() -> (Sender<T>, Receiver<T>) {
    channel_with_concurrency(DEFAULT_LANES)
}

/// An unbounded channel with `lanes` lanes (clamped to `1..=MAX_LANES`).
///
/// Use about as many lanes as senders that send at the same time: senders beyond
/// the lane count share lanes, which costs only lock contention between them.
#[must_use]
pub fn channel_with_concurrency<T>(lanes: usize) -> (Sender<T>, Receiver<T>) {
    new_channel(lanes, usize::MAX)
}

/// A bounded channel with [`DEFAULT_LANES`] lanes, each holding at most `capacity`
/// messages (at least 1).
///
/// The bound is per lane, so that checking it never touches a counter shared by all
/// senders: a sender that finds its lane full gets [`TrySendError::Full`] even if other
/// lanes have room, and the channel holds at most `capacity * lanes` messages.
#[must_use]
pub fn bounded<T>(capacity: usize) -> (Sender<T>, Receiver<T>) {
    bounded_with_concurrency(DEFAULT_LANES, capacity)
}

/// A bounded channel with `lanes` lanes (clamped to `1..=MAX_LANES`), each holding at
/// most `capacity` messages (at least 1). See [`bounded`].
#[must_use]
pub fn bounded_with_concurrency<T>(lanes: usize, capacity: usize) -> (Sender<T>, Receiver<T>) {
    new_channel(lanes, capacity.max(1))
}

fn new_channel<T>(lanes: usize, capacity: usize) -> (Sender<T>, Receiver<T>) {
    let shared = Arc::new(Shared::new(lanes, capacity));
    (Sender::new(Arc::clone(&shared), 0), Receiver::new(shared))
}
