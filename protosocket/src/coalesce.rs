//! Write coalescing: a connection that finds a fresh message to send may put the
//! write off until the runtime has run its other ready tasks, so that the
//! messages those tasks queue leave in the same `writev`.
//!
//! A connection woken by one sender after another (64 tasks each making a call
//! on one client connection, say) would otherwise write one message per wake-up:
//! a system call each, and on a busy runtime a wake of another worker each. The
//! deferral uses tokio's `yield_now`, which re-wakes the task only once the worker
//! has nothing else to run (or at its next I/O check), so it costs no timer and no
//! extra system call while the worker is busy.
//!
//! A poll that received messages writes at once: answers leave in the poll that
//! their requests arrived in.
//!
//! Deferring is a bet that more messages are coming. When a deferral gains
//! nothing (one caller, a request at a time) the connection writes the next
//! fresh messages at once, 1, 2, 4, ... up to [`MAX_BACKOFF`] of them before it
//! tries again, so an idle-ish connection pays an extra poll on at most one
//! write in that many.

use std::future::Future;
use std::pin::pin;
use std::sync::OnceLock;
use std::task::Context;

/// When a connection may put a fresh write off; see
/// [`ConnectionConfig::write_coalescing`](crate::ConnectionConfig::write_coalescing).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WriteCoalescing {
    /// Coalesce when the connection's tasks share one CPU: the process may run on
    /// one CPU only, or the tokio runtime polling the connection has one worker.
    #[default]
    Auto,
    /// Always coalesce (inside a tokio runtime).
    Always,
    /// Write every fresh message in the poll that finds it.
    Never,
}

impl WriteCoalescing {
    /// Whether to coalesce, asked from inside the connection's first poll.
    fn resolve(self) -> bool {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            // Another executor: tokio's deferred wake would be an immediate one.
            return false;
        };
        match self {
            WriteCoalescing::Always => true,
            WriteCoalescing::Never => false,
            WriteCoalescing::Auto => runtime.metrics().num_workers() == 1 || one_cpu(),
        }
    }
}

/// Whether this process may run on one CPU only (affinity, cgroup quota).
fn one_cpu() -> bool {
    static ONE_CPU: OnceLock<bool> = OnceLock::new();
    *ONE_CPU.get_or_init(|| std::thread::available_parallelism().is_ok_and(|n| n.get() == 1))
}

/// The most fresh writes sent at once between two deferrals that gained nothing.
pub(crate) const MAX_BACKOFF: u32 = 64;

/// What a poll may do with a fresh write (one found with nothing else queued).
///
/// | `Fresh` | when | a fresh write |
/// |---|---|---|
/// | `MayHold` | the queue was empty, coalescing is on, no deferral is being judged, no backoff left, nothing received | is held back |
/// | `Due` | the queue was empty, but one of those does not hold | is written, and counts against the backoff |
/// | `Counted` | the queue was not empty, or this poll counted its fresh write (or judged the last deferral) already | is written |
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fresh {
    MayHold,
    Due,
    Counted,
}

/// Per-connection coalescing state.
#[derive(Debug)]
pub(crate) struct Coalescer {
    /// The configured policy until the first poll resolves it.
    policy: Option<WriteCoalescing>,
    enabled: bool,
    /// Set by the poll that put its write off: the send queue's length then. The
    /// next poll writes, and judges the deferral by how much more it finds.
    deferred: Option<usize>,
    /// What this poll may do with a fresh write.
    fresh: Fresh,
    /// Whether this poll is holding a write back.
    holding: bool,
    /// Fresh writes still to send at once before deferring again.
    skip: u32,
    /// What `skip` becomes after the next deferral that gains nothing.
    backoff: u32,
}

impl Coalescer {
    pub(crate) fn new(policy: WriteCoalescing) -> Self {
        Self {
            policy: Some(policy),
            enabled: false,
            deferred: None,
            fresh: Fresh::Due,
            holding: false,
            skip: 0,
            backoff: 1,
        }
    }

    /// Starts a poll. `queue_empty`: nothing was waiting to be written, so a
    /// message found now is a fresh write rather than one the socket held back.
    #[inline]
    pub(crate) fn start_poll(&mut self, queue_empty: bool) {
        if let Some(policy) = self.policy.take() {
            self.enabled = policy.resolve();
        }
        self.fresh = if !queue_empty {
            Fresh::Counted
        } else if self.enabled && self.deferred.is_none() && self.skip == 0 {
            Fresh::MayHold
        } else {
            Fresh::Due
        };
        self.holding = false;
    }

    /// Messages arrived in this poll: whatever it queues (answers, most likely) is
    /// written in this poll, as a request's answer should be.
    #[inline]
    pub(crate) fn inbound_arrived(&mut self) {
        if self.fresh == Fresh::MayHold {
            self.fresh = Fresh::Due;
        }
    }

    /// Called with messages in the send queue, before writing them: whether to hold
    /// them back this poll. `open`: the connection is open (a closing one never
    /// holds).
    #[inline]
    pub(crate) fn hold(&mut self, queued: usize, open: bool) -> bool {
        if !open {
            self.holding = false;
            return false;
        }
        if let Some(before) = self.deferred.take() {
            if queued > before {
                self.backoff = 1;
            } else {
                self.skip = self.backoff;
                self.backoff = (self.backoff * 2).min(MAX_BACKOFF);
            }
            self.fresh = Fresh::Counted;
            return false;
        }
        match self.fresh {
            Fresh::MayHold => {
                self.holding = true;
                return true;
            }
            Fresh::Due => {
                self.fresh = Fresh::Counted;
                self.skip = self.skip.saturating_sub(1);
            }
            Fresh::Counted => {}
        }
        false
    }

    /// Whether this poll held a write back.
    #[inline]
    pub(crate) fn is_holding(&self) -> bool {
        self.holding
    }

    /// Ends a poll with `queued` messages in the send queue: if it held a write
    /// back, defers it (see [`defer`](Self::defer)). Returns whether it did.
    #[inline]
    pub(crate) fn end_poll(&mut self, queued: usize, cx: &mut Context<'_>, wake: bool) -> bool {
        if !self.is_holding() {
            return false;
        }
        self.defer(queued, cx, wake);
        true
    }

    /// The poll ends holding `queued` messages back: the next poll writes them.
    /// With `wake`, asks the runtime to poll again once its other ready tasks have
    /// run (a poll that already woke itself passes false).
    pub(crate) fn defer(&mut self, queued: usize, cx: &mut Context<'_>, wake: bool) {
        self.deferred = Some(queued);
        self.holding = false;
        if wake {
            // The first poll of `yield_now` hands the waker to the runtime's
            // deferred list (outside a runtime it wakes at once) and is Pending;
            // dropping the future after that keeps the wake-up.
            let _ = pin!(tokio::task::yield_now()).poll(cx);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn coalescer(enabled: bool) -> Coalescer {
        let mut c = Coalescer::new(WriteCoalescing::Never);
        c.policy = None;
        c.enabled = enabled;
        c
    }

    fn waker_context<R>(f: impl FnOnce(&mut Context<'_>) -> R) -> R {
        let waker = std::task::Waker::noop();
        let mut cx = Context::from_waker(waker);
        f(&mut cx)
    }

    #[test]
    fn a_useful_deferral_keeps_deferring() {
        let mut c = coalescer(true);
        for round in 0..5 {
            c.start_poll(true);
            assert!(c.hold(1, true), "round {round}: fresh write held");
            waker_context(|cx| c.defer(1, cx, true));
            c.start_poll(false);
            assert!(!c.hold(4, true), "round {round}: the deferred poll writes");
        }
    }

    #[test]
    fn useless_deferrals_back_off_exponentially_up_to_the_cap() {
        let mut c = coalescer(true);
        let mut held_at = Vec::new();
        for write in 0..400 {
            c.start_poll(true);
            if c.hold(1, true) {
                held_at.push(write);
                waker_context(|cx| c.defer(1, cx, true));
                c.start_poll(false);
                assert!(!c.hold(1, true));
            }
        }
        // Held at write 0, then after skipping 1, 2, 4, ... 64, 64 writes.
        let gaps: Vec<_> = held_at.windows(2).map(|w| w[1] - w[0]).collect();
        assert_eq!(&gaps[..7], &[2, 3, 5, 9, 17, 33, 65]);
        assert!(gaps[7..].iter().all(|&gap| gap == 65), "{gaps:?}");
    }

    #[test]
    fn disabled_never_holds() {
        let mut c = coalescer(false);
        for _ in 0..10 {
            c.start_poll(true);
            assert!(!c.hold(3, true));
        }
    }

    #[test]
    fn policies_resolve_inside_a_runtime_only() {
        assert!(!WriteCoalescing::Always.resolve(), "no runtime here");
        let single = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        single.block_on(async {
            assert!(WriteCoalescing::Always.resolve());
            assert!(WriteCoalescing::Auto.resolve(), "one worker");
            assert!(!WriteCoalescing::Never.resolve());
        });
        let two = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .build()
            .unwrap();
        two.block_on(async {
            assert_eq!(WriteCoalescing::Auto.resolve(), one_cpu());
            assert!(WriteCoalescing::Always.resolve());
        });
    }

    #[test]
    fn a_poll_that_received_writes_at_once() {
        let mut c = coalescer(true);
        c.start_poll(true);
        c.inbound_arrived();
        assert!(!c.hold(1, true));
    }

    #[test]
    fn a_closing_connection_never_holds() {
        let mut c = coalescer(true);
        c.start_poll(true);
        assert!(c.hold(1, true));
        assert!(!c.hold(1, false));
        assert!(!c.is_holding());
    }

    #[test]
    fn a_backed_up_queue_is_never_held() {
        let mut c = coalescer(true);
        c.start_poll(false);
        assert!(!c.hold(5, true));
        assert!(!c.is_holding());
    }
}
