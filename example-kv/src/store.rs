//! The domain store: an ordered map of values that may expire, shared by every
//! connection, and a feed of its changes. Plain Rust: no rpc types, so any
//! server (this crate's, or the tonic twin's) can put it behind its service.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::broadcast;

/// How many changes a watcher may fall behind before it misses some.
pub const CHANGE_BUFFER: usize = 1024;

/// Values with an optional time to live, kept in key order, and a feed of every
/// set and delete ([`subscribe`](Self::subscribe)). Expired values are never
/// read; they are dropped when an operation meets them, and their expiry is not
/// a change.
///
/// Shared by every connection (`Send + Sync`); each operation takes one lock.
///
/// ```
/// use std::time::Duration;
/// use example_kv::{Change, Store};
///
/// let store = Store::default();
/// let mut changes = store.subscribe();
/// assert!(!store.set("a".into(), b"1".to_vec(), None));
/// assert!(store.set("a".into(), b"2".to_vec(), Some(Duration::from_secs(60))));
/// let (value, ttl) = store.get("a").expect("a value");
/// assert_eq!(value, b"2");
/// assert!(ttl.is_some_and(|ttl| ttl <= Duration::from_secs(60)));
/// assert!(store.delete("a"));
/// assert_eq!(changes.try_recv().ok(), Some(Change { key: "a".into(), value: Some(b"1".to_vec()) }));
/// # assert_eq!(changes.try_recv().ok().and_then(|c| c.value), Some(b"2".to_vec()));
/// # assert_eq!(changes.try_recv().ok(), Some(Change { key: "a".into(), value: None }));
/// ```
#[derive(Debug)]
pub struct Store {
    entries: Mutex<BTreeMap<String, Stored>>,
    changes: broadcast::Sender<Change>,
}

/// A change to a key, as a watcher sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    /// The key.
    pub key: String,
    /// Its new value; `None` when it was deleted.
    pub value: Option<Vec<u8>>,
}

#[derive(Debug)]
struct Stored {
    value: Vec<u8>,
    expires: Option<Instant>,
}

impl Stored {
    fn live(&self, now: Instant) -> bool {
        self.expires.is_none_or(|at| at > now)
    }
}

impl Default for Store {
    fn default() -> Self {
        Self {
            entries: Mutex::new(BTreeMap::new()),
            changes: broadcast::Sender::new(CHANGE_BUFFER),
        }
    }
}

impl Store {
    fn entries(&self) -> MutexGuard<'_, BTreeMap<String, Stored>> {
        // A panic elsewhere never leaves the map half-written: every change is
        // one insert or remove.
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Tells the watchers of `change`, built only when there are some. Called
    /// under the map's lock, so they see changes in the order the map made
    /// them.
    fn publish(&self, change: impl FnOnce() -> Change) {
        if self.changes.receiver_count() > 0 {
            // Fails only when the last receiver went away since the count.
            let _ = self.changes.send(change());
        }
    }

    /// `key`'s value and the time it has left to live (`None`: for ever), if it
    /// has a live one.
    #[must_use]
    pub fn get(&self, key: &str) -> Option<(Vec<u8>, Option<Duration>)> {
        let now = Instant::now();
        let mut entries = self.entries();
        match entries.get(key) {
            Some(stored) if stored.live(now) => Some((
                stored.value.clone(),
                stored.expires.map(|at| at.saturating_duration_since(now)),
            )),
            Some(_) => {
                entries.remove(key);
                None
            }
            None => None,
        }
    }

    /// Sets `key` to `value`, for `ttl` when given (else for ever); whether it
    /// replaced a live value.
    pub fn set(&self, key: String, value: Vec<u8>, ttl: Option<Duration>) -> bool {
        let now = Instant::now();
        let stored = Stored {
            expires: ttl.and_then(|ttl| now.checked_add(ttl)),
            value,
        };
        let mut entries = self.entries();
        self.publish(|| Change {
            key: key.clone(),
            value: Some(stored.value.clone()),
        });
        entries.insert(key, stored).is_some_and(|old| old.live(now))
    }

    /// Removes `key`'s value; whether it had a live one. Only the removal of a
    /// live value is a change.
    pub fn delete(&self, key: &str) -> bool {
        let now = Instant::now();
        let mut entries = self.entries();
        let deleted = entries.remove(key).is_some_and(|stored| stored.live(now));
        if deleted {
            self.publish(|| Change {
                key: key.to_owned(),
                value: None,
            });
        }
        deleted
    }

    /// The live entries whose keys start with `prefix`, in key order; at most
    /// `limit` of them (0: all). Copied out under the lock, so a slow reader of
    /// the result never holds it.
    #[must_use]
    pub fn scan(&self, prefix: &str, limit: usize) -> Vec<(String, Vec<u8>)> {
        let now = Instant::now();
        let limit = if limit == 0 { usize::MAX } else { limit };
        self.entries()
            .range::<str, _>((Bound::Included(prefix), Bound::Unbounded))
            .take_while(|(key, _)| key.starts_with(prefix))
            .filter(|(_, stored)| stored.live(now))
            .take(limit)
            .map(|(key, stored)| (key.clone(), stored.value.clone()))
            .collect()
    }

    /// How many feeds from [`subscribe`](Self::subscribe) are alive.
    #[must_use]
    pub fn watchers(&self) -> usize {
        self.changes.receiver_count()
    }

    /// A feed of every change made after this call, in the order the store
    /// made them. It holds up to [`CHANGE_BUFFER`] (1024) changes: a receiver
    /// further behind gets `RecvError::Lagged` and has missed some.
    #[must_use]
    pub fn subscribe(&self) -> broadcast::Receiver<Change> {
        // Under the lock: no change is half-published as the receiver joins.
        let _entries = self.entries();
        self.changes.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_expired_value_is_gone_and_its_expiry_is_no_change() {
        let store = Store::default();
        store.set("a".into(), b"1".to_vec(), Some(Duration::ZERO));
        let mut changes = store.subscribe();
        assert_eq!(store.get("a"), None);
        assert!(!store.delete("a"), "an expired value is not live");
        assert!(
            !store.set("a".into(), b"2".to_vec(), None),
            "nothing live was replaced"
        );
        assert_eq!(
            changes.try_recv().ok(),
            Some(Change {
                key: "a".into(),
                value: Some(b"2".to_vec())
            })
        );
        assert!(changes.try_recv().is_err(), "one change only");
    }

    #[test]
    fn scan_keeps_key_order_prefix_and_limit() {
        let store = Store::default();
        for key in ["b:2", "a:1", "b:1", "b:3", "c:1"] {
            store.set(key.into(), key.as_bytes().to_vec(), None);
        }
        let keys = |found: Vec<(String, Vec<u8>)>| -> Vec<String> {
            found.into_iter().map(|(key, _)| key).collect()
        };
        assert_eq!(keys(store.scan("b:", 0)), ["b:1", "b:2", "b:3"]);
        assert_eq!(keys(store.scan("b:", 2)), ["b:1", "b:2"]);
        assert_eq!(store.scan("", 0).len(), 5);
    }
}
