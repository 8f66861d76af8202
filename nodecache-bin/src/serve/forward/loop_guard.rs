//! The loop guard's record of our own upstream queries in flight: if a query with one of
//! these IDs and questions reaches our listener, an upstream forwarded it back to us.
//!
//! Sharded by ID so concurrent exchanges rarely contend; each lookup is one short lock.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use super::Question;

/// Shards (a power of two; IDs are random, so their low bits spread evenly).
const SHARDS: usize = 16;

/// Our upstream queries in flight, by ID.
#[derive(Debug, Default)]
pub(super) struct OwnQueries {
    shards: [Mutex<HashMap<u16, Vec<Question>>>; SHARDS],
}

impl OwnQueries {
    /// Records that a query `id` for `question` is in flight until the guard drops.
    pub(super) fn register(&self, id: u16, question: &Question) -> OwnQuery<'_> {
        self.shard(id).entry(id).or_default().push(question.clone());
        OwnQuery {
            queries: self,
            id,
            question: question.clone(),
        }
    }

    /// True when a query `id` for `question` is one of ours in flight.
    pub(super) fn contains(&self, id: u16, question: &Question) -> bool {
        self.shard(id)
            .get(&id)
            .is_some_and(|questions| questions.contains(question))
    }

    fn shard(&self, id: u16) -> std::sync::MutexGuard<'_, HashMap<u16, Vec<Question>>> {
        // In range for any ID: the modulus is the array length.
        self.shards[usize::from(id) % SHARDS]
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// One registered query; dropping it removes the record.
#[derive(Debug)]
pub(super) struct OwnQuery<'a> {
    queries: &'a OwnQueries,
    id: u16,
    question: Question,
}

impl Drop for OwnQuery<'_> {
    fn drop(&mut self) {
        let mut shard = self.queries.shard(self.id);
        if let Some(questions) = shard.get_mut(&self.id) {
            if let Some(pos) = questions.iter().position(|q| *q == self.question) {
                questions.swap_remove(pos);
            }
            if questions.is_empty() {
                shard.remove(&self.id);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registered_until_dropped() {
        let queries = OwnQueries::default();
        let a = Question {
            name: b"\x01a\x00".to_vec().into(),
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
