//! Answers that left the cache (evicted or replaced) and that no reply holds, kept per
//! thread so that the next misses refill them instead of allocating: the `Arc`'s block
//! always, the message buffer when it fits. In a full cache every miss evicts one answer
//! and stores one, so the pool stays a few answers deep.

use std::cell::RefCell;
use std::sync::Arc;

use super::StoredAnswer;
use crate::serve::free_list;

/// Most answers a thread keeps.
const MAX_SPARE_ANSWERS: usize = 8;

/// Most octets a spare buffer may exceed a new answer's size by and still be refilled (the
/// budget is charged for the buffer's capacity, so the slack is paid for, and bounded).
const SPARE_SLACK: usize = 64;

thread_local! {
    /// This thread's spare answers, their budget charges given back.
    static SPARE_ANSWERS: RefCell<Vec<Arc<StoredAnswer>>> = const { RefCell::new(Vec::new()) };
}

/// True when a buffer of `capacity` octets should hold an answer of `needed` octets.
pub(super) fn fits(capacity: usize, needed: usize) -> bool {
    (needed..=needed.saturating_add(SPARE_SLACK)).contains(&capacity)
}

/// A spare answer for one of `needed` octets: one whose buffer fits if there is one (the
/// pool holds answers of several sizes), else any (its `Arc` block is still reused).
pub(super) fn take(needed: usize) -> Option<Arc<StoredAnswer>> {
    free_list::take_where(&SPARE_ANSWERS, |answer| {
        fits(answer.buffer_capacity(), needed)
    })
    .or_else(|| free_list::take(&SPARE_ANSWERS))
}

/// Keeps `answer`, which just left the cache, when no reply holds it and the pool has
/// room; otherwise it is dropped as usual. Either way its charge is given back now.
pub(super) fn keep(answer: Arc<StoredAnswer>) {
    let Some(answer) = StoredAnswer::release(answer) else {
        return;
    };
    free_list::keep(&SPARE_ANSWERS, answer, MAX_SPARE_ANSWERS);
}
