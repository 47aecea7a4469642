//! How long the accept loop waits after a failed accept.

use std::time::Duration;

/// Exponential backoff: `min`, doubling up to `max`, back to `min` after a success.
#[derive(Debug, Clone)]
pub(crate) struct Backoff {
    min: Duration,
    max: Duration,
    next: Duration,
}

impl Backoff {
    pub(crate) fn new(min: Duration, max: Duration) -> Self {
        // A zero minimum would never grow; an inverted range is read as "max wins".
        let min = min
            .max(Duration::from_millis(1))
            .min(max.max(Duration::from_millis(1)));
        let max = max.max(min);
        Self {
            min,
            max,
            next: min,
        }
    }

    /// The delay before the next attempt; each call doubles the following one.
    pub(crate) fn next_delay(&mut self) -> Duration {
        let delay = self.next;
        self.next = delay.saturating_mul(2).min(self.max);
        delay
    }

    /// An accept succeeded: the next failure waits only `min` again.
    pub(crate) fn reset(&mut self) {
        self.next = self.min;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_up_to_max_and_resets() {
        let ms = Duration::from_millis;
        let mut backoff = Backoff::new(ms(1), ms(10));
        let delays: Vec<_> = (0..6).map(|_| backoff.next_delay()).collect();
        assert_eq!(delays, [ms(1), ms(2), ms(4), ms(8), ms(10), ms(10)]);
        backoff.reset();
        assert_eq!(backoff.next_delay(), ms(1));
    }

    #[test]
    fn zero_minimum_still_grows() {
        let mut backoff = Backoff::new(Duration::ZERO, Duration::from_millis(4));
        assert_eq!(backoff.next_delay(), Duration::from_millis(1));
        assert_eq!(backoff.next_delay(), Duration::from_millis(2));
    }
}
