//! A bound on the inbound bytes buffered by many connections together.

use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// A budget of receive-buffer bytes shared by every connection whose
/// [`ConnectionConfig`](crate::ConnectionConfig) holds a clone of it.
///
/// A connection charges the capacity of its receive buffer against the budget
/// before it grows the buffer, and gives it back as the buffer shrinks or the
/// connection ends. Buffers grown toward a frame are allocated at exactly the
/// size charged; a small read buffer (at most `buffer_allocation_increment`)
/// may come out larger than asked, and its real capacity is charged, so the total
/// can pass the limit by that rounding. A growth that would take the total over the limit closes that
/// connection ([`CloseReason::InboundMemoryExhausted`](crate::CloseReason)) instead
/// of allocating: so a server under an address-space limit, or strict overcommit,
/// sheds the peers that announce or send large frames rather than aborting on a
/// failed allocation and taking every connection with it.
///
/// ```
/// use protosocket::{ConnectionConfig, InboundMemory};
///
/// let budget = InboundMemory::new(256 * 1024 * 1024);
/// let config = ConnectionConfig::default().inbound_memory(Some(budget.clone()));
/// assert_eq!(budget.in_use(), 0);
/// assert_eq!(config.get_inbound_memory().map(InboundMemory::limit), Some(256 * 1024 * 1024));
/// ```
#[derive(Clone)]
pub struct InboundMemory {
    inner: Arc<Budget>,
}

struct Budget {
    limit: usize,
    in_use: AtomicUsize,
}

impl InboundMemory {
    /// A budget of `limit` bytes.
    #[must_use]
    pub fn new(limit: usize) -> Self {
        Self {
            inner: Arc::new(Budget {
                limit,
                in_use: AtomicUsize::new(0),
            }),
        }
    }

    /// The bytes the budget allows.
    #[must_use]
    pub fn limit(&self) -> usize {
        self.inner.limit
    }

    /// The bytes charged now, by all connections sharing the budget.
    #[must_use]
    pub fn in_use(&self) -> usize {
        self.inner.in_use.load(Ordering::Relaxed)
    }

    /// Charges `bytes` if that keeps the total within the limit.
    pub(crate) fn try_charge(&self, bytes: usize) -> bool {
        let mut current = self.inner.in_use.load(Ordering::Relaxed);
        loop {
            let Some(next) = current
                .checked_add(bytes)
                .filter(|&n| n <= self.inner.limit)
            else {
                return false;
            };
            match self.inner.in_use.compare_exchange_weak(
                current,
                next,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => return true,
                Err(actual) => current = actual,
            }
        }
    }

    /// Charges `bytes` whatever the limit: a read buffer that came out larger than
    /// the checked growth.
    pub(crate) fn force_charge(&self, bytes: usize) {
        self.inner.in_use.fetch_add(bytes, Ordering::Relaxed);
    }

    pub(crate) fn release(&self, bytes: usize) {
        self.inner.in_use.fetch_sub(bytes, Ordering::Relaxed);
    }
}

impl fmt::Debug for InboundMemory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InboundMemory")
            .field("limit", &self.limit())
            .field("in_use", &self.in_use())
            .finish()
    }
}
