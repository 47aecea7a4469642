//! Maps keyed by rpc id, with a hash cheaper than std's SipHash: the server's
//! rpcs by the id their peer chose (the client picks ids that need no map; see
//! `client::call_table`).
//!
//! A multiply by an odd constant spreads ids well across hashbrown's buckets and
//! tag bits, in a couple of cycles instead of SipHash's tens of nanoseconds per
//! lookup. The per-process random seed keeps a
//! peer from aiming ids at one bucket; a peer that collided anyway would only
//! slow its own connection, whose map holds at most `max_rpcs_in_flight` ids.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};
use std::sync::OnceLock;

/// A map from rpc id to `V`.
pub(crate) type IdMap<V> = HashMap<u64, V, IdHash>;

/// An empty [`IdMap`].
pub(crate) fn id_map<V>() -> IdMap<V> {
    HashMap::with_hasher(IdHash::new())
}

/// Builds [`IdHasher`]s with this process's seed.
#[derive(Debug, Clone, Copy)]
pub(crate) struct IdHash {
    seed: u64,
}

impl IdHash {
    fn new() -> Self {
        static SEED: OnceLock<u64> = OnceLock::new();
        let seed =
            *SEED.get_or_init(|| std::collections::hash_map::RandomState::new().hash_one(0u64));
        Self { seed }
    }
}

impl BuildHasher for IdHash {
    type Hasher = IdHasher;

    #[inline]
    fn build_hasher(&self) -> IdHasher {
        IdHasher { hash: self.seed }
    }
}

/// Hashes one `u64`; other input is folded in a word at a time.
#[derive(Debug)]
pub(crate) struct IdHasher {
    hash: u64,
}

/// 2^64 divided by the golden ratio, odd: Fibonacci hashing.
const MULTIPLIER: u64 = 0x9E37_79B9_7F4A_7C15;

impl Hasher for IdHasher {
    #[inline]
    fn write_u64(&mut self, id: u64) {
        let mixed = (self.hash ^ id).wrapping_mul(MULTIPLIER);
        // Fold the well-mixed high half into the low bits that pick the bucket.
        self.hash = mixed ^ (mixed >> 32);
    }

    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(word));
        }
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.hash
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequential_ids_spread_over_buckets_and_tags() {
        let hash = IdHash::new();
        let mut buckets = [0u32; 64];
        let mut tags = std::collections::HashSet::new();
        for id in 1..=4096u64 {
            let h = hash.hash_one(id);
            buckets[(h & 63) as usize] += 1;
            tags.insert(h >> 57);
        }
        // 64 per bucket on average; none starved or flooded.
        assert!(
            buckets.iter().all(|&n| (32..=96).contains(&n)),
            "{buckets:?}"
        );
        assert_eq!(tags.len(), 128, "every 7-bit tag in use");
    }

    #[test]
    fn the_map_works_as_a_map() {
        let mut map = id_map();
        for id in (0..1000u64).map(|i| i * 1024) {
            map.insert(id, id + 1);
        }
        assert!((0..1000u64).all(|i| map.get(&(i * 1024)) == Some(&(i * 1024 + 1))));
        assert_eq!(map.remove(&0), Some(1));
        assert_eq!(map.len(), 999);
    }
}
