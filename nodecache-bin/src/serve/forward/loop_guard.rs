//! The loop guard's record of our own upstream queries in flight: if a query with one of
//! these IDs and questions reaches our listener, an upstream forwarded it back to us.
//!
//! Sharded by ID so concurrent exchanges rarely contend; each lookup is one short lock. A
//! question is kept as its 64-bit [key](super::Question::key) (the name's digest under a
//! per-process random seed, with the type and class folded in) rather than a copy:
//! registering costs no allocation, and two different questions in flight under one ID
//! share a key with probability about 2^-64. Aiming at a collision would need the
//! process's seed and one of our random IDs in flight, and would win only a SERVFAIL for
//! the attacker's own query. (The key is worked out once per question, without reading the
//! name's octets again; the guard hashed the question under a seed of its own per lookup
//! before.)

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::sync::{Mutex, PoisonError};

use super::Question;

/// Shards (a power of two; IDs are random, so their low bits spread evenly).
const SHARDS: usize = 16;

/// (ID, question digest) → how many of our queries in flight carry it. The key is already
/// a keyed digest, so the map itself needs only a fast hash.
type Shard = HashMap<(u16, u64), u32, foldhash::fast::RandomState>;

/// Our upstream queries in flight, by ID.
#[derive(Debug, Default)]
pub(super) struct OwnQueries {
    shards: [Mutex<Shard>; SHARDS],
}

impl OwnQueries {
    /// Records that a query `id` for `question` is in flight until the guard drops.
    pub(super) fn register(&self, id: u16, question: &Question) -> OwnQuery<'_> {
        OwnQuery {
            queries: self,
            key: self.add(id, question),
        }
    }

    /// Records that a query `id` for `question` is in flight until [`OwnQueries::remove`]
    /// is called with the key returned (for records kept where no borrow can live: the
    /// UDP exchange's reused state, see `exchange_state`).
    pub(super) fn add(&self, id: u16, question: &Question) -> OwnKey {
        let digest = question.key();
        *self.shard(id).entry((id, digest)).or_default() += 1;
        OwnKey { id, digest }
    }

    /// Removes one record made by [`OwnQueries::add`].
    pub(super) fn remove(&self, key: OwnKey) {
        let mut shard = self.shard(key.id);
        // One lookup for the decrement and the removal (callgrind: the `get_mut` then
        // `remove` this replaced hashed and probed twice, ~60 instructions per miss more).
        if let Entry::Occupied(mut entry) = shard.entry((key.id, key.digest)) {
            *entry.get_mut() -= 1;
            if *entry.get() == 0 {
                entry.remove();
            }
        }
    }

    /// True when a query `id` for `question` is one of ours in flight.
    pub(super) fn contains(&self, id: u16, question: &Question) -> bool {
        let digest = question.key();
        self.shard(id).contains_key(&(id, digest))
    }

    fn shard(&self, id: u16) -> std::sync::MutexGuard<'_, Shard> {
        // In range for any ID: the modulus is the array length.
        self.shards[usize::from(id) % SHARDS]
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// One registered query (see [`OwnQueries::add`]), by its ID and question digest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct OwnKey {
    id: u16,
    digest: u64,
}

/// One registered query; dropping it removes the record.
#[derive(Debug)]
pub(super) struct OwnQuery<'a> {
    queries: &'a OwnQueries,
    key: OwnKey,
}

impl Drop for OwnQuery<'_> {
    fn drop(&mut self) {
        self.queries.remove(self.key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registered_until_dropped() {
        let queries = OwnQueries::default();
        let a = Question {
            name: super::super::QuestionName::new(b"\x01a\x00").expect("name"),
            qtype: 1,
            qclass: 1,
        };
        let b = Question {
            qtype: 28,
            ..a.clone()
        };
        let first = queries.register(7, &a);
        let second = queries.register(7, &a);
        assert!(queries.contains(7, &a));
        assert!(!queries.contains(7, &b));
        assert!(!queries.contains(8, &a));
        drop(first);
        assert!(queries.contains(7, &a), "the second registration remains");
        drop(second);
        assert!(!queries.contains(7, &a));
    }
}
