//! Behaviour of [`Cache`]: expiry, stale window, LRU order, clamps, threads.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::*;

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn millis(ms: u64) -> Duration {
    Duration::from_millis(ms)
}

fn key(name: &str) -> CacheKey {
    CacheKey::new(1, name).unwrap()
}

/// One shard so LRU order is deterministic; clamps out of the way unless a test sets them.
fn config(capacity: usize) -> CacheConfig {
    CacheConfig {
        capacity,
        shards: 1,
        min_ttl: Duration::ZERO,
        max_ttl: secs(86_400),
        max_negative_ttl: secs(86_400),
        stale_window: Duration::ZERO,
    }
}

fn fresh(value: u32, remaining: Duration) -> CacheLookup<u32> {
    CacheLookup::Fresh { value, remaining }
}

#[test]
fn fresh_until_expiry_then_miss_and_removed() {
    let cache = Cache::new(config(10));
    let t0 = Instant::now();
    cache.insert(&key("a"), 7, secs(30), false, t0);
    // (offset from insertion, expected lookup)
    let cases = [
        (Duration::ZERO, fresh(7, secs(30))),
        (secs(10), fresh(7, secs(20))),
        (millis(29_999), fresh(7, millis(1))),
        // At expiry the remaining TTL would be zero: not served (RFC 1035 §3.2.1).
        (secs(30), CacheLookup::Miss),
    ];
    for (offset, want) in cases {
        assert_eq!(cache.get(&key("a"), t0 + offset), want, "at +{offset:?}");
    }
    assert!(cache.is_empty(), "an expired entry is removed on lookup");
}

#[test]
fn stale_window_serves_expired_entries_then_drops_them() {
    let cache = Cache::new(CacheConfig {
        stale_window: secs(10),
        ..config(10)
    });
    let t0 = Instant::now();
    cache.insert(&key("a"), 7, secs(30), false, t0);
    let cases = [
        (secs(29), fresh(7, secs(1))),
        (secs(30), CacheLookup::Stale { value: 7 }),
        (millis(39_999), CacheLookup::Stale { value: 7 }),
        (secs(40), CacheLookup::Miss),
        // Gone for good once dropped, even at a time that would have been stale.
        (secs(35), CacheLookup::Miss),
    ];
    for (offset, want) in cases {
        assert_eq!(cache.get(&key("a"), t0 + offset), want, "at +{offset:?}");
    }
    assert_eq!(cache.len(), 0);
}

#[test]
fn evicts_least_recently_used_first() {
    let cache = Cache::new(config(3));
    let t0 = Instant::now();
    for (i, name) in ["a", "b", "c"].into_iter().enumerate() {
        cache.insert(&key(name), i as u32, secs(60), false, t0);
    }
    // Use "a": "b" is now the least recently used and goes first.
    assert!(matches!(
        cache.get(&key("a"), t0),
        CacheLookup::Fresh { .. }
    ));
    cache.insert(&key("d"), 3, secs(60), false, t0);
    // Use "c" (order now a, d, c): "a" goes next.
    assert!(matches!(
        cache.get(&key("c"), t0),
        CacheLookup::Fresh { .. }
    ));
    cache.insert(&key("e"), 4, secs(60), false, t0);
    let cases = [
        ("a", false),
        ("b", false),
        ("c", true),
        ("d", true),
        ("e", true),
    ];
    for (name, present) in cases {
        let found = cache.get(&key(name), t0) != CacheLookup::Miss;
        assert_eq!(found, present, "{name}");
    }
    assert_eq!(cache.len(), 3);
}

#[test]
fn replacing_a_key_updates_it_without_evicting() {
    let cache = Cache::new(config(2));
    let t0 = Instant::now();
    cache.insert(&key("a"), 1, secs(60), false, t0);
    cache.insert(&key("b"), 2, secs(60), false, t0);
    let displaced = cache.insert_displacing(&key("A."), 3, secs(10), false, t0);
    assert_eq!((displaced.replaced, displaced.evicted), (Some(1), None));
    assert_eq!(cache.len(), 2);
    assert_eq!(cache.get(&key("a"), t0), fresh(3, secs(10)));
    assert_eq!(cache.get(&key("b"), t0), fresh(2, secs(60)));
    // A new key into the full cache hands back the least recently used entry ("b" was
    // looked up last, so "a"), with its expiry.
    let evicted = cache.insert_displacing(&key("c"), 4, secs(60), false, t0);
    let want = Evicted {
        value: 3,
        expires: t0 + secs(10),
    };
    assert_eq!((evicted.replaced, evicted.evicted), (None, Some(want)));
    // A zero TTL removes the entry and hands it back.
    let removed = cache.insert_displacing(&key("c"), 5, Duration::ZERO, false, t0);
    assert_eq!((removed.replaced, removed.evicted), (Some(4), None));
    assert_eq!(cache.len(), 1);
}

#[test]
fn clamps_ttls_by_policy() {
    // (min, max, max_negative, ttl, negative, stored)
    let cases = [
        (0, 3600, 300, 60, false, 60),
        (0, 3600, 300, 7200, false, 3600),
        (30, 3600, 300, 5, false, 30),
        (30, 3600, 300, 0, false, 30),
        // Negative: the RFC 2308 TTL, capped by max_negative_ttl, not by max_ttl.
        (0, 3600, 300, 900, true, 300),
        (0, 60, 300, 200, true, 200),
        (0, 3600, 300, 100, true, 100),
        // min_ttl raises negative TTLs too...
        (5, 3600, 300, 1, true, 5),
        // ...but the upper bound wins when the two disagree.
        (600, 3600, 300, 1, true, 300),
        (600, 60, 300, 1, false, 60),
        (0, 3600, 0, 100, true, 0),
    ];
    let t0 = Instant::now();
    for (min, max, max_negative, ttl, negative, stored) in cases {
        let cache = Cache::new(CacheConfig {
            min_ttl: secs(min),
            max_ttl: secs(max),
            max_negative_ttl: secs(max_negative),
            ..config(10)
        });
        let case = format!("min {min} max {max} neg {max_negative} ttl {ttl} negative {negative}");
        assert_eq!(
            cache.config().clamp_ttl(secs(ttl), negative),
            secs(stored),
            "{case}"
        );
        cache.insert(&key("a"), 1, secs(ttl), negative, t0);
        let want = if stored == 0 {
            CacheLookup::Miss
        } else {
            fresh(1, secs(stored))
        };
        assert_eq!(cache.get(&key("a"), t0), want, "{case}");
    }
}

#[test]
fn huge_ttls_are_capped_not_overflowed() {
    let cache = Cache::new(CacheConfig {
        max_ttl: Duration::MAX,
        ..config(10)
    });
    let t0 = Instant::now();
    cache.insert(&key("a"), 1, Duration::MAX, false, t0);
    assert_eq!(cache.get(&key("a"), t0), fresh(1, MAX_DNS_TTL));
}

#[test]
fn zero_ttl_stores_nothing_and_removes_the_old_entry() {
    let cache = Cache::new(config(10));
    let t0 = Instant::now();
    cache.insert(&key("a"), 1, Duration::ZERO, false, t0);
    assert!(cache.is_empty());
    cache.insert(&key("a"), 1, secs(60), false, t0);
    cache.insert(&key("a"), 2, Duration::ZERO, true, t0);
    assert_eq!(cache.get(&key("a"), t0), CacheLookup::Miss);
    assert!(cache.is_empty());
}

#[test]
fn keys_are_case_insensitive_and_tagged() {
    let cache = Cache::new(config(10));
    let t0 = Instant::now();
    let aaaa = CacheKey::new(28, "www.example.com").unwrap();
    cache.insert(&key("WWW.Example.COM."), 1, secs(60), false, t0);
    cache.insert(&aaaa, 2, secs(60), false, t0);
    assert_eq!(cache.get(&key("www.example.com"), t0), fresh(1, secs(60)));
    assert_eq!(cache.get(&key("www.EXAMPLE.com."), t0), fresh(1, secs(60)));
    assert_eq!(cache.get(&aaaa, t0), fresh(2, secs(60)));
    assert_eq!(cache.get(&key("www.example.org"), t0), CacheLookup::Miss);
}

#[test]
fn shard_count_and_capacity_split() {
    // (asked shards, capacity, shards used, most entries one shard may hold: twice its
    // even share, the cache's own count being the real limit)
    let cases = [
        (0, 100, 1, 200),
        (1, 100, 1, 200),
        (3, 100, 4, 50),
        (16, 10_000, 16, 1250),
        (16, 10, 16, 2),
        (4, 10, 4, 6),
        (usize::MAX, 10, MAX_SHARDS, 2),
    ];
    for (asked, capacity, used, per_shard) in cases {
        let cache: Cache<u32> = Cache::new(CacheConfig {
            shards: asked,
            ..config(capacity)
        });
        assert_eq!(cache.shards.len(), used, "shards {asked}");
        assert_eq!(
            cache.shards[0].lock().capacity(),
            per_shard,
            "shards {asked}"
        );
    }
}

/// A cache sized for N names holds N names: keys never spread perfectly evenly over the
/// shards, and a shard limit of exactly N / shards evicted some of them (a daemon asked for
/// its 10,000 cached names then missed on a few percent of them, every round).
#[test]
fn a_cache_of_capacity_n_holds_any_n_keys() {
    for (shards, capacity) in [(16, 10_000), (4, 100), (64, 1_000)] {
        let cache = Cache::new(CacheConfig {
            shards,
            ..config(capacity)
        });
        let t0 = Instant::now();
        for i in 0..capacity {
            cache.insert(&key(&format!("h{i}.bench.test")), i, secs(60), false, t0);
        }
        assert_eq!(cache.len(), capacity);
        let held = (0..capacity)
            .filter(|i| {
                matches!(
                    cache.get(&key(&format!("h{i}.bench.test")), t0),
                    CacheLookup::Fresh { .. }
                )
            })
            .count();
        assert_eq!(held, capacity, "{shards} shards");
        // One more evicts exactly one.
        cache.insert(&key("one.more"), 0, secs(60), false, t0);
        assert_eq!(cache.len(), capacity);
    }
}

#[test]
fn total_entries_stay_within_the_shard_limits() {
    let cache = Cache::new(CacheConfig {
        shards: 4,
        ..config(10)
    });
    let t0 = Instant::now();
    for i in 0..1000 {
        cache.insert(&key(&format!("host-{i}")), i, secs(60), false, t0);
    }
    // The capacity, plus less than one entry per shard (a shard empty when the cache is full).
    assert!(cache.len() <= 12, "len {}", cache.len());
    assert!(
        cache.len() >= 4,
        "every shard got some keys: len {}",
        cache.len()
    );
}

#[test]
fn zero_capacity_disables_the_cache() {
    let cache = Cache::new(config(0));
    let t0 = Instant::now();
    cache.insert(&key("a"), 1, secs(60), false, t0);
    assert_eq!(cache.get(&key("a"), t0), CacheLookup::Miss);
    assert!(cache.is_empty());
}

#[test]
fn remove_clear_and_size_accounting() {
    let cache = Cache::new(CacheConfig {
        shards: 4,
        ..config(100)
    });
    let t0 = Instant::now();
    assert_eq!(cache.approximate_bytes(), 0);
    // A short key is held inline: only the fixed per-entry overhead.
    cache.insert(&key("a"), 1, secs(60), false, t0);
    let fixed = shard::fixed_entry_bytes::<u32>();
    assert_eq!(cache.approximate_bytes(), fixed);
    // A long one is boxed: its bytes (2-byte tag + name) count too.
    let long = "l".repeat(60);
    cache.insert(&key(&long), 2, secs(60), false, t0);
    assert_eq!(cache.approximate_bytes(), 2 * fixed + 62);
    assert!(cache.remove(&key("A")));
    assert!(!cache.remove(&key("a")));
    assert_eq!(cache.approximate_bytes(), fixed + 62);
    assert_eq!(cache.len(), 1);
    assert_eq!(
        cache.get(&key(&long.to_uppercase()), t0),
        fresh(2, secs(60))
    );
    cache.clear();
    assert!(cache.is_empty());
    assert_eq!(cache.approximate_bytes(), 0);
    assert_eq!(cache.get(&key(&long), t0), CacheLookup::Miss);
}

#[test]
fn evictions_keep_size_accounting_exact() {
    let cache = Cache::new(config(2));
    let t0 = Instant::now();
    for len in [60, 61, 62, 63] {
        cache.insert(&key(&"k".repeat(len)), 1, secs(60), false, t0);
    }
    // The last two remain, boxed: 64 + 65 key bytes.
    assert_eq!(
        cache.approximate_bytes(),
        129 + 2 * shard::fixed_entry_bytes::<u32>()
    );
}

#[test]
fn is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Cache<Arc<[u8]>>>();
    assert_send_sync::<Cache<u32>>();
    // Values need only be `Send`: they are touched under the shard's lock.
    assert_send_sync::<Cache<std::cell::Cell<u32>>>();
}

#[test]
fn eight_threads_hammering_see_only_consistent_values() {
    const THREADS: usize = 8;
    const KEYS: usize = 200;
    const OPS: usize = 5_000;
    let cache = Cache::new(CacheConfig {
        capacity: 64,
        shards: 4,
        stale_window: secs(5),
        ..CacheConfig::default()
    });
    let names: Vec<String> = (0..KEYS)
        .map(|i| format!("svc-{i}.ns.svc.cluster.local"))
        .collect();
    let t0 = Instant::now();
    std::thread::scope(|scope| {
        for thread in 0..THREADS {
            let (cache, names) = (&cache, &names);
            scope.spawn(move || {
                for op in 0..OPS {
                    let i = (op * 7 + thread * 13) % KEYS;
                    let k = CacheKey::new(1, &names[i]).unwrap();
                    // Time moves forward per op so expiry and stale paths run too.
                    let now = t0 + millis(op as u64);
                    match op % 4 {
                        0 => cache.insert(&k, Arc::new(i), millis(500), false, now),
                        1 if op % 97 == 0 => cache.clear(),
                        _ => match cache.get(&k, now) {
                            CacheLookup::Fresh { value, .. } | CacheLookup::Stale { value } => {
                                assert_eq!(*value, i, "value stored under another key")
                            }
                            CacheLookup::Miss => {}
                        },
                    }
                }
            });
        }
    });
    // 4 shards × ceil(64 / 4).
    assert!(cache.len() <= 64, "len {}", cache.len());
}

#[test]
fn a_full_cache_admits_a_new_key_on_its_second_ask() {
    let cache = Cache::new(config(2));
    let t0 = Instant::now();
    let admits =
        |name: &str, at: Instant| cache.admits_hashed(&key(name), cache.hash(&key(name)), at);
    assert!(admits("a", t0), "room left");
    cache.insert(&key("a"), 1, secs(30), false, t0);
    cache.insert(&key("b"), 2, secs(60), false, t0);
    // Full of fresh entries: a first ask is refused and remembered, the second admitted.
    assert!(!admits("c", t0));
    assert!(admits("c", t0));
    assert!(admits("a", t0), "a held key is a refresh, always admitted");
    // The entry an insert would push out ("a", least recently used) has expired: nothing
    // fresh is lost, so even a first ask is admitted.
    assert!(!admits("d", t0 + secs(29)));
    assert!(admits("e", t0 + secs(30)));
    assert_eq!(cache.len(), 2, "asking stores nothing");
    assert!(!Cache::<u32>::new(config(0)).admits_hashed(&key("a"), cache.hash(&key("a")), t0));
}
