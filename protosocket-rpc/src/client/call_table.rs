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

#[cfg(test)]
mod proptests {
    //! The table against a `HashMap` of the calls it should hold, over random runs of
    //! inserts, lookups and removals, from the first id and across the counter's wrap.

    use std::collections::HashMap;

    use proptest::prelude::*;
    use proptest::sample::Index;
    use proptest::test_runner::TestCaseError;

    use super::CallTable;
    use crate::client::reactor::{ABANDONED, UNASSIGNED};

    #[derive(Debug, Clone)]
    enum Op {
        Insert,
        /// Many inserts in a row, so the table grows while it holds calls.
        InsertMany(usize),
        GetLive(Index),
        GetAny(u64),
        RemoveLive(Index),
        RemoveAny(u64),
    }

    struct Run {
        table: CallTable<usize>,
        /// The calls the table should hold: id to value.
        live: HashMap<u64, usize>,
        /// Value of the next insert, so every value is distinct.
        next_value: usize,
        /// Where the id counter started; ids are checked by their distance from it.
        start: u64,
        /// Distance from `start` of the counter after the last insert.
        cursor: u64,
        /// Every id ever given, to check late lookups for finished calls.
        given: Vec<u64>,
    }

    impl Run {
        fn new(start: Option<u64>) -> Self {
            let mut table = CallTable::new();
            // The same hook as `ids_skip_the_reserved_values_when_the_counter_wraps`.
            if let Some(start) = start {
                table.next_id = start;
            }
            let start = table.next_id;
            Self {
                table,
                live: HashMap::new(),
                next_value: 0,
                start,
                cursor: 0,
                given: Vec::new(),
            }
        }

        /// A live id chosen by `index`, in a deterministic order so a failure replays.
        fn live_id(&self, index: &Index) -> Option<u64> {
            let mut ids: Vec<u64> = self.live.keys().copied().collect();
            ids.sort_unstable();
            (!ids.is_empty()).then(|| ids[index.index(ids.len())])
        }

        fn insert(&mut self) -> Result<(), TestCaseError> {
            let value = self.next_value;
            self.next_value += 1;
            let len_before = self.table.len();
            let id = self.table.insert(value);
            prop_assert!(id != UNASSIGNED, "insert gave UNASSIGNED");
            prop_assert!(id != ABANDONED, "insert gave ABANDONED");
            prop_assert!(
                !self.live.contains_key(&id),
                "id {:#x} given while its call is in flight",
                id
            );
            // Ids come from a counter: never an earlier one again before it wraps
            // all the way, and at most one skip per call in the table plus the two
            // reserved values, so they stay small.
            let distance = id.wrapping_sub(self.start);
            prop_assert!(
                distance >= self.cursor,
                "id {:#x} is behind the counter",
                id
            );
            prop_assert!(
                distance - self.cursor <= len_before as u64 + 2,
                "id {:#x} skipped {} ids with {} calls in the table",
                id,
                distance - self.cursor,
                len_before
            );
            self.cursor = distance + 1;
            prop_assert_eq!(self.table.get(id), Some(&value));
            self.live.insert(id, value);
            self.given.push(id);
            Ok(())
        }

        fn get(&self, id: u64) -> Result<(), TestCaseError> {
            prop_assert_eq!(self.table.get(id), self.live.get(&id), "get({:#x})", id);
            Ok(())
        }

        fn remove(&mut self, id: u64) -> Result<(), TestCaseError> {
            let expected = self.live.remove(&id);
            prop_assert_eq!(self.table.remove(id), expected, "remove({:#x})", id);
            prop_assert_eq!(self.table.get(id), None, "get({:#x}) after remove", id);
            Ok(())
        }

        fn apply(&mut self, op: &Op) -> Result<(), TestCaseError> {
            match op {
                Op::Insert => self.insert()?,
                Op::InsertMany(count) => {
                    for _ in 0..*count {
                        self.insert()?;
                    }
                }
                Op::GetLive(index) => {
                    if let Some(id) = self.live_id(index) {
                        self.get(id)?;
                    }
                }
                Op::GetAny(id) => self.get(*id)?,
                Op::RemoveLive(index) => {
                    if let Some(id) = self.live_id(index) {
                        self.remove(id)?;
                    }
                }
                Op::RemoveAny(id) => self.remove(*id)?,
            }
            prop_assert_eq!(self.table.len(), self.live.len(), "len after {:?}", op);
            Ok(())
        }

        /// Every live call is found and removed with its value; then no id ever
        /// given finds anything.
        fn finish(mut self) -> Result<(), TestCaseError> {
            let mut live: Vec<(u64, usize)> = self.live.drain().collect();
            live.sort_unstable();
            for (id, value) in live {
                prop_assert_eq!(self.table.get(id), Some(&value), "get({:#x})", id);
                prop_assert_eq!(self.table.remove(id), Some(value), "remove({:#x})", id);
            }
            prop_assert_eq!(self.table.len(), 0);
            for &id in &self.given {
                prop_assert_eq!(self.table.get(id), None, "late get({:#x})", id);
            }
            Ok(())
        }
    }

    fn run(start: Option<u64>, ops: &[Op]) -> Result<(), TestCaseError> {
        let mut run = Run::new(start);
        for op in ops {
            run.apply(op)?;
        }
        run.finish()
    }

    /// Ids to look up or remove that the table may or may not hold: near the
    /// counter at either end, the reserved values, and anything.
    fn any_id() -> impl Strategy<Value = u64> {
        prop_oneof![
            0..4096u64,
            (u64::MAX - 4096)..=u64::MAX,
            Just(UNASSIGNED),
            Just(ABANDONED),
            any::<u64>(),
        ]
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            8 => Just(Op::Insert),
            1 => (1..=64usize).prop_map(Op::InsertMany),
            3 => any::<Index>().prop_map(Op::GetLive),
            3 => any_id().prop_map(Op::GetAny),
            6 => any::<Index>().prop_map(Op::RemoveLive),
            3 => any_id().prop_map(Op::RemoveAny),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// From a new table: ids unique among the calls in flight and never
        /// reserved, lookups and removals agree with the map, and so does `len`.
        #[test]
        fn the_table_agrees_with_a_map_of_its_calls(
            ops in prop::collection::vec(op(), 0..200),
        ) {
            run(None, &ops)?;
        }

        /// The same, with the counter starting just short of `u64::MAX`, so it
        /// wraps past both reserved values while calls are in flight.
        #[test]
        fn the_table_agrees_with_a_map_across_the_counter_wrap(
            back in 0..64u64,
            ops in prop::collection::vec(op(), 0..200),
        ) {
            run(Some(u64::MAX - back), &ops)?;
        }
    }
}
