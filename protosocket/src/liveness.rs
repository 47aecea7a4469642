//! Noticing a peer that went silent: pings on a quiet connection, and a close when
//! a peer that owes an answer sends nothing for too long.

use std::future::Future;
use std::pin::Pin;
use std::task::Context;
use std::time::Duration;

use tokio::time::{Instant, Sleep};

/// When a connection pings a quiet peer and when it gives up on it.
///
/// A connection that has received nothing for `ping_after` asks its reactor for
/// a ping ([`MessageReactor::ping`](crate::MessageReactor::ping)) and sends it,
/// again every `ping_after` while the quiet lasts. While the reactor awaits the
/// peer ([`MessageReactor::awaits_peer`](crate::MessageReactor::awaits_peer): an
/// rpc client with calls in flight, say), a peer that sends nothing for `timeout`
/// (counted from the later of its last bytes and the start of the wait) closes the
/// connection with [`CloseReason::PeerUnresponsive`](crate::CloseReason). That
/// catches what TCP cannot: a peer process that is hung (stopped, deadlocked)
/// while its kernel still acknowledges every byte, and a link that drops
/// everything while small requests never fill the send buffer.
///
/// ```
/// use std::time::Duration;
/// use protosocket::{ConnectionConfig, Liveness};
///
/// let liveness = Liveness::new(Duration::from_secs(1), Duration::from_secs(3));
/// let config = ConnectionConfig::default().liveness(Some(liveness));
/// assert_eq!(config.get_liveness().map(|l| l.timeout()), Some(Duration::from_secs(3)));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Liveness {
    ping_after: Duration,
    timeout: Duration,
}

impl Liveness {
    /// Pings after `ping_after` of quiet (at least 1 ms), gives up after `timeout`
    /// (at least `ping_after`).
    #[must_use]
    pub fn new(ping_after: Duration, timeout: Duration) -> Self {
        Self::new_const(ping_after, timeout)
    }

    /// [`new`](Self::new) for constants: the same clamping.
    #[must_use]
    pub const fn new_const(ping_after: Duration, timeout: Duration) -> Self {
        let min = Duration::from_millis(1);
        let ping_after = if ping_after.as_nanos() < min.as_nanos() {
            min
        } else {
            ping_after
        };
        let timeout = if timeout.as_nanos() < ping_after.as_nanos() {
            ping_after
        } else {
            timeout
        };
        Self {
            ping_after,
            timeout,
        }
    }

    /// How long a quiet connection waits before it pings.
    #[must_use]
    pub fn ping_after(&self) -> Duration {
        self.ping_after
    }

    /// How long an awaited peer may send nothing before the connection closes.
    #[must_use]
    pub fn timeout(&self) -> Duration {
        self.timeout
    }
}

/// What a timer check found.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Due {
    Nothing,
    Ping,
    GiveUp,
}

/// One connection's liveness state: a single timer, moved only when it fires, so
/// traffic costs a clock read per receiving poll and no timer work.
#[derive(Debug)]
pub(crate) struct LivenessTimer {
    liveness: Liveness,
    /// When bytes last arrived.
    last_received: Instant,
    /// When the reactor began awaiting the peer, while it does.
    awaiting_since: Option<Instant>,
    /// When the last ping was sent, if since `last_received`.
    last_ping: Option<Instant>,
    timer: Option<Pin<Box<Sleep>>>,
}

impl LivenessTimer {
    pub(crate) fn new(liveness: Liveness) -> Self {
        Self {
            liveness,
            last_received: Instant::now(),
            awaiting_since: None,
            last_ping: None,
            timer: None,
        }
    }

    pub(crate) fn timeout(&self) -> Duration {
        self.liveness.timeout
    }

    /// Bytes arrived in this poll.
    #[inline]
    pub(crate) fn received(&mut self) {
        self.last_received = Instant::now();
        self.last_ping = None;
    }

    /// Whether the reactor awaits the peer now; a wait that starts now is timed
    /// from now, not from the last bytes (which may be long ago).
    #[inline]
    pub(crate) fn awaiting(&mut self, awaiting: bool) {
        match (awaiting, self.awaiting_since) {
            (true, None) => self.awaiting_since = Some(Instant::now()),
            (false, Some(_)) => self.awaiting_since = None,
            _ => {}
        }
    }

    /// A ping left.
    pub(crate) fn pinged(&mut self) {
        self.last_ping = Some(Instant::now());
    }

    /// What is due now, with the timer armed (and `cx` registered) for the next
    /// thing that can be.
    pub(crate) fn poll(&mut self, cx: &mut Context<'_>) -> Due {
        let now = Instant::now();
        let give_up = self
            .awaiting_since
            .map(|since| since.max(self.last_received) + self.liveness.timeout);
        if give_up.is_some_and(|at| now >= at) {
            return Due::GiveUp;
        }
        let ping_at = self.last_ping.unwrap_or(self.last_received) + self.liveness.ping_after;
        if now >= ping_at {
            return Due::Ping;
        }
        let next = give_up.map_or(ping_at, |at| at.min(ping_at));
        let timer = self
            .timer
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(next)));
        if timer.deadline() > next || timer.is_elapsed() {
            timer.as_mut().reset(next);
        }
        if timer.as_mut().poll(cx).is_ready() {
            // Fired early relative to `next` only if it was set for an earlier
            // deadline that moved; the next poll re-arms it.
            cx.waker().wake_by_ref();
        }
        Due::Nothing
    }
}
