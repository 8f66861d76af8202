//! Boxes of answered misses, kept per thread and refilled by the next misses: glibc keeps
//! 7 free chunks per size per thread, and bursts of misses overflowed that into its slow
//! path (callgrind, issue 6: the 848-octet box's malloc and free cost ~300 instructions per
//! miss, its move into the box ~110 more).

use std::cell::RefCell;

use super::PendingQuery;
use crate::serve::free_list;

/// Most spare pending-query boxes a thread keeps: a burst of misses (dnsperf, a pod's
/// start) is a few dozen queries.
const MAX_SPARE_PENDING: usize = 32;

thread_local! {
    /// Boxes of answered misses, reused by the next misses on the same thread.
    #[expect(clippy::vec_box, reason = "the boxes are what is kept, to be reused as boxes")]
    static SPARE_PENDING: RefCell<Vec<Box<PendingQuery>>> = const { RefCell::new(Vec::new()) };
}

/// A spare pending-query box of this thread, if there is one.
pub(super) fn take() -> Option<Box<PendingQuery>> {
    free_list::take(&SPARE_PENDING)
}

/// Keeps an answered miss's box for the next miss on this thread (dropped when the thread
/// already keeps [`MAX_SPARE_PENDING`]).
pub(super) fn keep(pending: Box<PendingQuery>) {
    free_list::keep(&SPARE_PENDING, pending, MAX_SPARE_PENDING);
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;
    use crate::serve::message::parse_query;
    use crate::serve::message::tests::query;
    use crate::serve::metrics::Proto;
    use crate::serve::responder::pending::MAX_QUESTION_END;

    #[test]
    fn boxes_are_kept_up_to_the_bound_and_taken_back() {
        let msg = query(1, "www.example.com", 1, None);
        let pending = || {
            Box::new(PendingQuery {
                query: parse_query(&msg).expect("parses"),
                client_msg: [0; MAX_QUESTION_END],
                key: None,
                stale: None,
                received: Instant::now(),
                proto: Proto::Udp,
                in_flight: None,
            })
        };
        assert!(take().is_none(), "a new thread keeps none");
        let first = pending();
        let first_at: *const PendingQuery = &*first;
        keep(first);
        let again = take().expect("kept");
        assert!(std::ptr::eq(&*again, first_at), "the same box comes back");
        for _ in 0..MAX_SPARE_PENDING + 5 {
            keep(pending());
        }
        let mut taken = 0;
        while take().is_some() {
            taken += 1;
        }
        assert_eq!(taken, MAX_SPARE_PENDING);
    }
}
