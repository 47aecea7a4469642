//! The keyspace every connection shares, behind the [`Store`] trait with two
//! implementations: [`KlockStore`], one map under one `k_lock::Mutex`, and
//! [`ShardedStore`], maps under several mutexes picked by the key's hash.
//!
//! Expiry is lazy (a key past its time is removed when it is next touched) plus
//! a bounded sweep ([`Store::sweep`], run periodically by [`spawn_sweeper`]) for
//! keys nobody touches again.

use std::hash::BuildHasher;
use std::sync::{Arc, PoisonError, Weak};
use std::time::{Duration, Instant};

use std::collections::VecDeque;

use bytes::Bytes;
use indexmap::IndexMap;

use crate::codec::Arg;

use crate::short::{Inline, Key};

type Hasher = foldhash::fast::RandomState;

/// The longest string value kept inside its map entry (with the tag, as large
/// as the other variants of [`Value`]).
pub const SHORT_VALUE: usize = 38;

/// What a key holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// A string of at most [`SHORT_VALUE`] bytes, kept in place: reading it
    /// touches no other memory, and a reply copies it.
    Short(Inline<SHORT_VALUE>),
    /// A longer string, on the heap with its reference count: a reply clones it
    /// and allocates nothing.
    Str(Bytes),
    /// A string that holds a number: `INCR` keeps counters like this, so counting
    /// allocates nothing.
    Int(i64),
    /// A list (`LPUSH`, `RPUSH`...).
    List(VecDeque<Bytes>),
}

impl Value {
    /// A string value holding a copy of `bytes`: in place when short, else in a
    /// buffer of its own (so the store does not keep a receive buffer alive).
    #[inline]
    pub fn string(bytes: &[u8]) -> Self {
        match Inline::new(bytes) {
            Some(inline) => Value::Short(inline),
            None => Value::Str(shared_copy(bytes)),
        }
    }
}

/// A copy of `bytes` whose clones only count references. (A `Bytes` made from a
/// `Vec` allocates its reference count on its first clone, the first time a
/// reply takes it.)
#[inline]
pub(crate) fn shared_copy(bytes: &[u8]) -> Bytes {
    Bytes::from_owner(Box::<[u8]>::from(bytes))
}

/// A key's value and when it expires.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The value.
    pub value: Value,
    expires_at: Option<Instant>,
}

impl Entry {
    /// When the key expires, if it does.
    pub fn expires_at(&self) -> Option<Instant> {
        self.expires_at
    }
}

/// One map of keys with what its expiry needs: a count of keys that expire, and
/// where the sweep goes on from.
#[derive(Debug, Default)]
pub struct Keyspace {
    map: IndexMap<Key, Entry, Hasher>,
    /// Keys with an expiry time.
    expiring: usize,
    /// The index the next sweep starts at.
    cursor: usize,
}

impl Keyspace {
    /// The live entry of `key`; an expired one is removed on the way.
    #[inline]
    pub fn get(&mut self, key: &[u8]) -> Option<&mut Entry> {
        let index = self.map.get_index_of(key)?;
        if let Some(at) = self.map[index].expires_at {
            if at <= Instant::now() {
                self.remove_index(index);
                return None;
            }
        }
        Some(&mut self.map[index])
    }

    /// Stores `value` at `key` with `expires_at`, replacing what was there.
    #[inline]
    pub fn set(&mut self, key: &[u8], value: Value, expires_at: Option<Instant>) {
        let entry = Entry { value, expires_at };
        self.expiring += usize::from(expires_at.is_some());
        if let Some(old) = self.map.get_mut(key) {
            self.expiring -= usize::from(old.expires_at.is_some());
            *old = entry;
        } else {
            self.map.insert(key.into(), entry);
        }
    }

    /// Changes the expiry of `key`'s live entry; false when there is none.
    pub fn set_expiry(&mut self, key: &[u8], expires_at: Option<Instant>) -> bool {
        let Some(entry) = self.get(key) else {
            return false;
        };
        let before = entry.expires_at.is_some();
        entry.expires_at = expires_at;
        self.expiring = self.expiring + usize::from(expires_at.is_some()) - usize::from(before);
        true
    }

    /// Removes `key`; whether it was there (and live).
    pub fn remove(&mut self, key: &[u8]) -> bool {
        let Some(index) = self.map.get_index_of(key) else {
            return false;
        };
        let live = self.map[index]
            .expires_at
            .is_none_or(|at| at > Instant::now());
        self.remove_index(index);
        live
    }

    fn remove_index(&mut self, index: usize) {
        if let Some((_, entry)) = self.map.swap_remove_index(index) {
            self.expiring -= usize::from(entry.expires_at.is_some());
        }
    }

    /// Keys, including expired ones not removed yet (as Redis counts them).
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether no key is stored.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Keys with an expiry time.
    pub fn expiring(&self) -> usize {
        self.expiring
    }

    /// Removes every key, and gives the memory back.
    pub fn clear(&mut self) {
        *self = Keyspace::default();
    }

    /// Looks at up to `budget` keys from where the last sweep stopped and removes
    /// the expired ones; returns (looked at, removed).
    pub fn sweep(&mut self, now: Instant, budget: usize) -> (usize, usize) {
        if self.expiring == 0 {
            return (0, 0);
        }
        let (mut looked, mut removed) = (0, 0);
        while looked < budget && !self.map.is_empty() {
            if self.cursor >= self.map.len() {
                self.cursor = 0;
            }
            looked += 1;
            if self.map[self.cursor].expires_at.is_some_and(|at| at <= now) {
                // The last key moves here: look at this index again.
                self.remove_index(self.cursor);
                removed += 1;
            } else {
                self.cursor += 1;
            }
        }
        (looked, removed)
    }
}

/// The shared keyspace, as the commands see it: a [`Keyspace`] for each key,
/// under a lock for as long as the closure runs.
///
/// Multi-key commands (`MGET`, `MSET`, `DEL`) are not atomic: another connection
/// may see some of an `MSET`'s keys set and not yet others.
pub trait Store: Send + Sync + 'static {
    /// Runs `f` on the keyspace that holds `key`, locked.
    fn with_key<R>(&self, key: &[u8], f: impl FnOnce(&mut Keyspace) -> R) -> R;

    /// Runs `f` on each of `keys` in order, with the keyspace that holds it
    /// locked. A store may keep one lock across several keys (never across more
    /// than [`KEYS_PER_LOCK`]), so the keys of one command are not atomic.
    #[inline]
    fn with_keys(&self, keys: &[Arg], mut f: impl FnMut(&mut Keyspace, &Arg)) {
        for key in keys {
            self.with_key(key, |keyspace| f(keyspace, key));
        }
    }

    /// Runs `f` on every keyspace in turn, each locked while `f` runs on it.
    fn for_each(&self, f: impl FnMut(&mut Keyspace));

    /// Keys stored (expired ones not yet removed included), as `DBSIZE` counts.
    fn dbsize(&self) -> usize {
        let mut keys = 0;
        self.for_each(|keyspace| keys += keyspace.len());
        keys
    }

    /// Keys with an expiry time.
    fn expiring(&self) -> usize {
        let mut keys = 0;
        self.for_each(|keyspace| keys += keyspace.expiring());
        keys
    }

    /// Removes every key.
    fn clear(&self) {
        self.for_each(Keyspace::clear);
    }

    /// Removes expired keys, a bounded amount of work under each lock: rounds of
    /// up to 64 keys per keyspace, another round only while more than a quarter
    /// of the keys looked at had expired, at most 16 rounds. Returns how many
    /// keys it removed.
    fn sweep(&self, now: Instant) -> usize {
        let mut removed = 0;
        self.for_each(|keyspace| {
            for _ in 0..16 {
                let (looked, gone) = keyspace.sweep(now, 64);
                removed += gone;
                if gone * 4 <= looked {
                    break;
                }
            }
        });
        removed
    }
}

/// The most keys of one command [`KlockStore`] handles under one turn of its
/// lock: a command with many keys lets other workers in between.
pub const KEYS_PER_LOCK: usize = 64;

/// The most runtime workers [`StoreKind::for_workers`] gives one map under one
/// lock.
pub const KLOCK_MAX_WORKERS: usize = 2;

/// Which [`Store`] a server uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreKind {
    /// [`KlockStore`].
    Klock,
    /// [`ShardedStore`].
    Sharded,
}

impl StoreKind {
    /// The default store for `workers` runtime threads: [`StoreKind::Klock`] up
    /// to [`KLOCK_MAX_WORKERS`], [`StoreKind::Sharded`] above. One map saves
    /// picking a shard (a second hash of the key) and lets a multi-key command
    /// take one lock turn; it beat the shards with two workers on SET, GET and
    /// INCR in the runs of `benches/resp.sh` recorded in the README. With more
    /// workers every command would queue on that one lock: shards keep them
    /// apart (not measured here: a 2-core machine).
    pub fn for_workers(workers: usize) -> Self {
        if workers > KLOCK_MAX_WORKERS {
            StoreKind::Sharded
        } else {
            StoreKind::Klock
        }
    }
}

/// Every key in one map under one `k_lock::Mutex`.
#[derive(Debug, Default)]
pub struct KlockStore {
    keyspace: k_lock::Mutex<Keyspace>,
}

impl Store for KlockStore {
    #[inline]
    fn with_key<R>(&self, _key: &[u8], f: impl FnOnce(&mut Keyspace) -> R) -> R {
        f(&mut self.keyspace.lock().unwrap_or_else(PoisonError::into_inner))
    }

    #[inline]
    fn with_keys(&self, keys: &[Arg], mut f: impl FnMut(&mut Keyspace, &Arg)) {
        for keys in keys.chunks(KEYS_PER_LOCK) {
            let mut keyspace = self.keyspace.lock().unwrap_or_else(PoisonError::into_inner);
            for key in keys {
                f(&mut keyspace, key);
            }
        }
    }

    fn for_each(&self, mut f: impl FnMut(&mut Keyspace)) {
        f(&mut self.keyspace.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

/// A shard on a cache line of its own, so that two workers locking neighbouring
/// shards do not contend for the line.
#[derive(Debug, Default)]
#[repr(align(128))]
struct Shard(k_lock::Mutex<Keyspace>);

/// Keys spread over a power-of-two number of maps, each under its own
/// `k_lock::Mutex`, by the key's hash.
#[derive(Debug)]
pub struct ShardedStore {
    shards: Box<[Shard]>,
    hasher: Hasher,
}

impl ShardedStore {
    /// A store of `shards` maps, rounded up to a power of two (at least 1).
    pub fn new(shards: usize) -> Self {
        let shards = shards.max(1).next_power_of_two();
        Self {
            shards: (0..shards).map(|_| Shard::default()).collect(),
            hasher: Hasher::default(),
        }
    }

    /// How many maps the keys are spread over.
    pub fn shards(&self) -> usize {
        self.shards.len()
    }
}

impl Default for ShardedStore {
    /// 64 shards: with a few workers, two of them rarely want the same one.
    fn default() -> Self {
        Self::new(64)
    }
}

impl Store for ShardedStore {
    #[inline]
    fn with_key<R>(&self, key: &[u8], f: impl FnOnce(&mut Keyspace) -> R) -> R {
        // The high bits: the map inside uses the low ones of its own hash.
        let hash = self.hasher.hash_one(key);
        let index = (hash >> 32) as usize & (self.shards.len() - 1);
        let shard = &self.shards[index].0;
        f(&mut shard.lock().unwrap_or_else(PoisonError::into_inner))
    }

    fn for_each(&self, mut f: impl FnMut(&mut Keyspace)) {
        for shard in self.shards.iter() {
            f(&mut shard.0.lock().unwrap_or_else(PoisonError::into_inner));
        }
    }
}

/// How often [`spawn_sweeper`]'s task sweeps.
pub const SWEEP_INTERVAL: Duration = Duration::from_millis(100);

/// Spawns a task that sweeps `store` every [`SWEEP_INTERVAL`] until the store is
/// dropped. Must be called inside a tokio runtime with its timer.
pub fn spawn_sweeper<S: Store>(store: &Arc<S>) -> tokio::task::JoinHandle<()> {
    let store: Weak<S> = Arc::downgrade(store);
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(SWEEP_INTERVAL);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            interval.tick().await;
            let Some(store) = store.upgrade() else {
                return;
            };
            let removed = store.sweep(Instant::now());
            if removed > 0 {
                tracing::trace!(removed, "swept expired keys");
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stores() -> (KlockStore, ShardedStore) {
        (KlockStore::default(), ShardedStore::new(4))
    }

    fn exercise(store: &impl Store) {
        let past = Instant::now() - Duration::from_secs(1);
        let future = Instant::now() + Duration::from_secs(3600);
        for i in 0..100u32 {
            let key = i.to_be_bytes();
            let expiry = match i % 3 {
                0 => Some(past),
                1 => Some(future),
                _ => None,
            };
            store.with_key(&key, |ks| ks.set(&key, Value::Int(i.into()), expiry));
        }
        assert_eq!(store.dbsize(), 100);
        assert_eq!(store.expiring(), 67);
        // Lazy: an expired key is gone when touched.
        let key = 0u32.to_be_bytes();
        assert!(store.with_key(&key, |ks| ks.get(&key).is_none()));
        assert_eq!(store.dbsize(), 99);
        // The sweep takes the other 33 expired keys.
        assert_eq!(store.sweep(Instant::now()), 33);
        assert_eq!(store.dbsize(), 66);
        assert_eq!(store.expiring(), 33);
        let key = 1u32.to_be_bytes();
        assert!(store.with_key(&key, |ks| ks.set_expiry(&key, None)));
        assert_eq!(store.expiring(), 32);
        assert!(store.with_key(&key, |ks| ks.remove(&key)));
        assert_eq!(store.dbsize(), 65);
        store.clear();
        assert_eq!((store.dbsize(), store.expiring()), (0, 0));
    }

    #[test]
    fn both_stores_expire_lazily_and_by_sweep() {
        let (klock, sharded) = stores();
        exercise(&klock);
        exercise(&sharded);
    }

    #[test]
    fn with_keys_visits_every_key_in_order() {
        let (klock, sharded) = stores();
        let keys: Vec<Arg> = (0..3 * KEYS_PER_LOCK as u32 + 5)
            .map(|i| Arg::copy_from_slice(&i.to_be_bytes()))
            .collect();
        fn visit(store: &impl Store, keys: &[Arg]) -> Vec<Arg> {
            let mut seen = Vec::new();
            store.with_keys(keys, |keyspace, key| {
                keyspace.set(key, Value::Int(1), None);
                seen.push(key.clone());
            });
            assert_eq!(store.dbsize(), keys.len());
            seen
        }
        assert_eq!(visit(&klock, &keys), keys);
        assert_eq!(visit(&sharded, &keys), keys);
    }

    #[test]
    fn the_default_store_by_workers() {
        assert_eq!(StoreKind::for_workers(1), StoreKind::Klock);
        assert_eq!(StoreKind::for_workers(KLOCK_MAX_WORKERS), StoreKind::Klock);
        assert_eq!(
            StoreKind::for_workers(KLOCK_MAX_WORKERS + 1),
            StoreKind::Sharded
        );
    }

    #[test]
    fn a_sweep_is_bounded() {
        let store = KlockStore::default();
        let past = Instant::now() - Duration::from_secs(1);
        for i in 0..10_000u32 {
            let key = i.to_be_bytes();
            store.with_key(&key, |ks| ks.set(&key, Value::Int(0), Some(past)));
        }
        assert_eq!(store.sweep(Instant::now()), 16 * 64);
    }

    #[test]
    fn replacing_a_key_keeps_the_expiry_count() {
        let mut keyspace = Keyspace::default();
        let later = Some(Instant::now() + Duration::from_secs(60));
        keyspace.set(b"k", Value::Int(1), later);
        keyspace.set(b"k", Value::Int(2), later);
        assert_eq!(keyspace.expiring(), 1);
        keyspace.set(b"k", Value::Int(3), None);
        assert_eq!(keyspace.expiring(), 0);
    }
}
