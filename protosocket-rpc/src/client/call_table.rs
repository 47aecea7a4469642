//! The client's calls in flight, by id.
//!
//! The client picks its ids, so it picks ones that say where the call is: ids come
//! from a counter, and a call lives in the slot its id's low bits name, in a table
//! at most half full. An id whose slot is taken (by a long call) is skipped. So
//! finding a call is an index and a compare, with no hashing, and ids stay as
//! small as a plain counter's, which keeps their varints short on the wire. A late
//! response for a call that is gone (cancelled, or answered already) names an id
//! no slot holds any more, and finds nothing.

/// Calls in flight, each under the id [`insert`](Self::insert) gave it.
#[derive(Debug)]
pub(crate) struct CallTable<T> {
    /// `slots.len()` is zero or a power of two; a call with id `i` is in
    /// `slots[i & (slots.len() - 1)]`.
    slots: Vec<Option<(u64, T)>>,
    next_id: u64,
    len: usize,
}

/// Slots of the first table.
const MIN_SLOTS: usize = 16;

impl<T> CallTable<T> {
    pub(crate) fn new() -> Self {
        Self {
            slots: Vec::new(),
            next_id: 1,
            len: 0,
        }
    }

    /// Calls in the table.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    fn mask(&self) -> u64 {
        self.slots.len() as u64 - 1
    }

    /// Stores `value` and returns its id: never 0 nor `u64::MAX`, and unique
    /// among the ids in the table.
    pub(crate) fn insert(&mut self, value: T) -> u64 {
        if 2 * (self.len + 1) > self.slots.len() {
            self.grow();
        }
        let mask = self.mask();
        // At most half the slots are taken, so this ends within len + 1 tries.
        loop {
            let id = self.next_id;
            self.next_id = self.next_id.wrapping_add(1);
            if id == 0 || id == u64::MAX {
                continue;
            }
            let slot = &mut self.slots[(id & mask) as usize];
            if slot.is_none() {
                *slot = Some((id, value));
                self.len += 1;
                return id;
            }
        }
    }

    /// Doubles the table. Two calls cannot meet in one slot of the larger table:
    /// their ids would agree in more low bits than they did in the smaller one.
    fn grow(&mut self) {
        let size = (2 * self.slots.len()).max(MIN_SLOTS);
        let old = std::mem::replace(&mut self.slots, (0..size).map(|_| None).collect());
        let mask = self.mask();
        for (id, value) in old.into_iter().flatten() {
            self.slots[(id & mask) as usize] = Some((id, value));
        }
    }

    /// Where the call with `id` is, if it is in the table.
    fn position(&self, id: u64) -> Option<usize> {
        if self.slots.is_empty() {
            return None;
        }
        let index = (id & self.mask()) as usize;
        matches!(&self.slots[index], Some((held, _)) if *held == id).then_some(index)
    }

    /// The value under `id`, if it is in the table.
    pub(crate) fn get(&self, id: u64) -> Option<&T> {
        let index = self.position(id)?;
        self.slots[index].as_ref().map(|(_, value)| value)
    }

    /// Takes the value under `id` out of the table.
    pub(crate) fn remove(&mut self, id: u64) -> Option<T> {
        let index = self.position(id)?;
        self.len -= 1;
        self.slots[index].take().map(|(_, value)| value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_find_their_values_until_removed() {
        let mut table = CallTable::new();
        let a = table.insert("a");
        let b = table.insert("b");
        assert_ne!(a, b);
        assert_eq!(table.len(), 2);
        assert_eq!(table.get(a), Some(&"a"));
        assert_eq!(table.get(b), Some(&"b"));
        assert_eq!(table.remove(a), Some("a"));
        assert_eq!(table.get(a), None);
        assert_eq!(table.remove(a), None);
        assert_eq!(table.len(), 1);
        assert_eq!(table.remove(b), Some("b"));
        assert_eq!(table.len(), 0);
    }

    #[test]
    fn ids_are_small_and_a_freed_id_is_not_given_again_soon() {
        let mut table = CallTable::new();
        let old = table.insert(1);
        assert_eq!(old, 1, "the counter starts at 1");
        assert_eq!(table.remove(old), Some(1));
        let new = table.insert(2);
        assert_eq!(new, 2);
        assert_eq!(table.get(old), None, "a late answer for the old call");
        assert_eq!(table.remove(old), None);
        assert_eq!(table.get(new), Some(&2));
    }

    #[test]
    fn a_long_call_holding_a_slot_makes_its_colliding_ids_skipped() {
        let mut table = CallTable::new();
        let long = table.insert(0);
        let mut ids = vec![long];
        // Many short calls: every id that lands on the long call's slot is skipped.
        for value in 1..=1000 {
            let id = table.insert(value);
            assert_ne!(id, long);
            assert_eq!(table.get(id), Some(&value));
            assert_eq!(table.remove(id), Some(value));
            ids.push(id);
        }
        assert_eq!(table.get(long), Some(&0));
        assert_eq!(table.len(), 1);
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), 1001, "no id given twice");
    }

    #[test]
    fn growing_keeps_every_call() {
        let mut table = CallTable::new();
        let mut live = Vec::new();
        for value in 0..10_000u32 {
            let id = table.insert(value);
            assert!(id != 0 && id != u64::MAX);
            live.push((id, value));
            if value % 3 == 0 {
                // Finish an older call, so the table has gaps as it grows.
                let (id, value) = live.swap_remove(live.len() / 2);
                assert_eq!(table.remove(id), Some(value));
            }
        }
        assert_eq!(table.len(), live.len());
        let mut ids: Vec<u64> = live.iter().map(|(id, _)| *id).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), live.len(), "ids unique in flight");
        for (id, value) in live {
            assert_eq!(table.get(id), Some(&value));
        }
    }

    #[test]
    fn ids_skip_the_reserved_values_when_the_counter_wraps() {
        let mut table = CallTable::new();
        table.next_id = u64::MAX - 1;
        let ids: Vec<u64> = (0..3).map(|value| table.insert(value)).collect();
        assert_eq!(ids, [u64::MAX - 1, 1, 2]);
    }

    #[test]
    fn foreign_ids_find_nothing() {
        let mut table: CallTable<()> = CallTable::new();
        assert_eq!(table.get(1), None, "empty table");
        let id = table.insert(());
        for foreign in [0, u64::MAX, id + 16, id + 1] {
            assert_eq!(table.get(foreign), None, "{foreign:#x}");
            assert_eq!(table.remove(foreign), None, "{foreign:#x}");
        }
        assert_eq!(table.len(), 1);
    }
}
