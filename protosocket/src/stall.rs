//! The write-stall timeout: a peer that takes no bytes for too long while some
//! wait for it closes its connection.

use std::future::Future;
use std::pin::Pin;
use std::task::Context;
use std::time::Duration;

use tokio::time::{Instant, Sleep};

use crate::close::CloseReason;

/// One connection's stall timing; see `write_stall_timeout`.
#[derive(Debug)]
pub(crate) struct StallTimer {
    timeout: Option<Duration>,
    /// While a stall is timed: when the stream last took bytes (at first, when
    /// the stall began).
    last_write: Option<Instant>,
    /// Fires at the stall deadline; made on the first stall only.
    timer: Option<Pin<Box<Sleep>>>,
}

impl StallTimer {
    pub(crate) fn new(timeout: Option<Duration>) -> Self {
        Self {
            timeout,
            last_write: None,
            timer: None,
        }
    }

    /// The stream took bytes.
    #[inline]
    pub(crate) fn wrote(&mut self) {
        if let Some(last_write) = &mut self.last_write {
            *last_write = Instant::now();
        }
    }

    /// Everything queued was written: no stall.
    #[inline]
    pub(crate) fn clear(&mut self) {
        self.last_write = None;
    }

    /// The stream takes no more bytes: with a timeout configured, starts timing
    /// the stall (`cx` is woken at its deadline).
    ///
    /// # Errors
    ///
    /// [`CloseReason::WriteStalled`] once nothing has been written for the timeout.
    pub(crate) fn poll(&mut self, cx: &mut Context<'_>) -> Result<(), CloseReason> {
        let Some(timeout) = self.timeout else {
            return Ok(());
        };
        let now = Instant::now();
        // The stall starts now, however long ago the last write was.
        let deadline = *self.last_write.get_or_insert(now) + timeout;
        if now >= deadline {
            return Err(CloseReason::WriteStalled(timeout));
        }
        // One timer per connection, reset only when a stall starts or it fires
        // early: a write in between just moves `last_write`.
        let timer = self
            .timer
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
        if timer.deadline() != deadline {
            timer.as_mut().reset(deadline);
        }
        if timer.as_mut().poll(cx).is_ready() {
            return Err(CloseReason::WriteStalled(timeout));
        }
        Ok(())
    }
}
