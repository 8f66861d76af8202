//! The answer cache's admission rule (`cache.admission`): what a full cache stores.

use std::sync::Arc;
use std::time::Instant;

use super::tests::{exchange, settings, store};
use super::{AnswerCache, CacheHit};
use crate::serve::config::Admission;
use crate::serve::message::parse_query;
use crate::serve::message::tests::query;
use crate::serve::metrics::Metrics;

/// A cache of `size` entries (256 in the tests: with 16 shards, no shard is left empty,
/// and an empty shard takes a new entry without evicting anything) filled with fresh
/// answers (one name, a query type each from 1000 on; keys never hash evenly over the 16
/// shards, so a few may have been pushed out of a crowded shard on the way): the cache,
/// its metrics and the query types cached.
fn full_cache(
    size: usize,
    admission: Admission,
    now: Instant,
) -> (AnswerCache, Arc<Metrics>, Vec<u16>) {
    let mut limits = settings();
    limits.size = size;
    limits.admission = admission;
    let metrics = Arc::new(Metrics::default());
    let cache = AnswerCache::new(&limits, Arc::clone(&metrics));
    let mut qtype = 1000;
    while cache.len() < size && qtype < 2000 {
        let (_, parsed, upstream) = exchange("www.example.com", qtype, None);
        store(&cache, &parsed, &upstream, now);
        qtype += 1;
    }
    assert_eq!(cache.len(), size);
    let cached = (1000..qtype)
        .filter(|&q| is_cached(&cache, q, now))
        .collect::<Vec<_>>();
    assert_eq!(cached.len(), size);
    (cache, metrics, cached)
}

fn is_cached(cache: &AnswerCache, qtype: u16, now: Instant) -> bool {
    let parsed = parse_query(&query(1, "www.example.com", qtype, None)).expect("parses");
    let key = AnswerCache::key(&parsed.name, parsed.qtype).expect("key");
    matches!(cache.lookup(&key, now), CacheHit::Fresh { .. })
}

#[test]
fn a_full_cache_stores_a_new_name_on_its_second_miss() {
    let now = Instant::now();
    let (cache, metrics, cached) = full_cache(256, Admission::SecondAsk, now);
    let evicted_filling = metrics.cache_evictions.get();
    let (_, parsed, upstream) = exchange("www.example.com", 3000, None);
    // First miss: answered (the answer is returned) but not stored; nothing pushed out.
    let answer = store(&cache, &parsed, &upstream, now);
    assert!(answer.entry_ttl() > 0, "a cacheable answer");
    assert!(!is_cached(&cache, 3000, now));
    assert_eq!(metrics.cache_admission_refused.get(), 1);
    assert_eq!(metrics.cache_evictions.get(), evicted_filling);
    assert!(
        cached.iter().all(|&q| is_cached(&cache, q, now)),
        "every entry kept"
    );
    // Second miss: stored, pushing the least recently used entry out.
    store(&cache, &parsed, &upstream, now);
    assert!(is_cached(&cache, 3000, now));
    assert_eq!(metrics.cache_admission_refused.get(), 1);
    assert_eq!(metrics.cache_evictions.get(), evicted_filling + 1);
    assert_eq!(cache.len(), 256);
    // A refresh of a held name is always stored.
    let held = *cached
        .iter()
        .find(|&&q| is_cached(&cache, q, now))
        .expect("one is held");
    let (_, held, upstream) = exchange("www.example.com", held, None);
    store(&cache, &held, &upstream, now);
    assert_eq!(metrics.cache_admission_refused.get(), 1);
}

#[test]
fn always_stores_every_answer_like_plain_lru() {
    let now = Instant::now();
    let (cache, metrics, _) = full_cache(256, Admission::Always, now);
    let evicted_filling = metrics.cache_evictions.get();
    let (_, parsed, upstream) = exchange("www.example.com", 3000, None);
    store(&cache, &parsed, &upstream, now);
    assert!(is_cached(&cache, 3000, now));
    assert_eq!(metrics.cache_admission_refused.get(), 0);
    assert_eq!(metrics.cache_evictions.get(), evicted_filling + 1);
}

#[test]
fn a_refused_answer_let_go_is_refilled_by_the_next_miss() {
    let now = Instant::now();
    let (cache, metrics, cached) = full_cache(256, Admission::SecondAsk, now);
    let (_, first, upstream) = exchange("www.example.com", 3000, None);
    let refused = store(&cache, &first, &upstream, now);
    assert_eq!(metrics.cache_admission_refused.get(), 1);
    let refused_at = Arc::as_ptr(&refused);
    cache.let_go(refused);
    let (_, second, upstream) = exchange("www.example.com", 3001, None);
    let next = store(&cache, &second, &upstream, now);
    assert_eq!(metrics.cache_admission_refused.get(), 2);
    assert_eq!(Arc::as_ptr(&next), refused_at, "built in the refused one");
    // An answer the cache holds is only dropped: letting it go keeps it cached.
    let (_, held, upstream) = exchange("www.example.com", cached[0], None);
    let stored = store(&cache, &held, &upstream, now);
    cache.let_go(stored);
    assert!(is_cached(&cache, cached[0], now));
}
