//! Tests of the spare answers: an answer that left the cache is refilled by a later store
//! only when no reply holds it, and the byte budget and entry gauges stay exact.

use std::sync::Arc;
use std::time::Instant;

use super::tests::{exchange, settings, store};
use super::*;

/// The reply `answer` gives to a fresh query for `name`.
fn reply(answer: &StoredAnswer, name: &str) -> Vec<u8> {
    let (msg, parsed, _) = exchange(name, 1, None);
    let mut out = Vec::new();
    answer.write_reply(&msg, &parsed, TtlView::Fresh { age: 0 }, &mut out);
    out
}

#[test]
fn answers_that_left_the_cache_are_refilled_only_when_no_reply_holds_them() {
    let metrics = Arc::new(Metrics::default());
    let cache = AnswerCache::new(&settings(), Arc::clone(&metrics));
    let now = Instant::now();
    let (_, www, www_upstream) = exchange("www.example.com", 1, None);
    let (_, a1, a1_upstream) = exchange("a1.example", 1, None);

    // A reply still holds the first answer when a second replaces it: it is left alone.
    let held = store(&cache, &www, &www_upstream, now);
    let held_reply = reply(&held, "www.example.com");
    let second = store(&cache, &www, &www_upstream, now);
    assert!(!Arc::ptr_eq(&held, &second));
    // Nothing holds the second when a third replaces it: it becomes this thread's spare,
    // and the next store (another name) is built in it.
    let second_at = Arc::as_ptr(&second);
    drop(second);
    store(&cache, &www, &www_upstream, now);
    let refilled = store(&cache, &a1, &a1_upstream, now);
    assert_eq!(Arc::as_ptr(&refilled), second_at, "the spare was refilled");
    let layout = walk_response(&a1_upstream).expect("walks");
    let fresh = StoredAnswer::build(&a1_upstream, &layout, 60, false, now);
    assert_eq!(
        reply(&refilled, "a1.example"),
        reply(&fresh, "a1.example"),
        "a refilled answer serves the new answer, as a new one would"
    );
    assert_eq!(
        reply(&held, "www.example.com"),
        held_reply,
        "the held one is untouched"
    );

    // Two entries are cached; the held answer keeps its charge until its reply lets it go
    // (as an answer always did), the spare gave its charge back when it left the cache.
    assert_eq!(cache.len(), 2);
    assert_eq!(metrics.cache_entries_success.get(), 3);
    drop(held);
    assert_eq!(metrics.cache_entries_success.get(), 2);
    cache.clear();
    drop(refilled);
    assert_eq!(metrics.cache_bytes.get(), 0);
    assert_eq!(metrics.cache_entries_success.get(), 0);
}

#[test]
fn a_spare_buffer_fits_from_the_exact_size_to_64_octets_more() {
    for (capacity, needed, fits) in [
        (100, 100, true),
        (164, 100, true),
        (165, 100, false),
        (99, 100, false),
        (usize::MAX, usize::MAX, true),
    ] {
        assert_eq!(
            spare::fits(capacity, needed),
            fits,
            "{capacity} for {needed}"
        );
    }
}
