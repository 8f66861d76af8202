//! Criterion benches of the answer cache: key build, fresh hit, miss, insert, and the two
//! candidate hashers for the shard maps.
//!
//! Run: `cargo bench -p resolver-core --bench cache -- --warm-up-time 1 --measurement-time 3`
use std::hash::BuildHasher;
use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use resolver_core::cache::{Cache, CacheConfig, CacheKey, CacheLookup};

/// A 30-character name in mixed case, as an application would pass it.
const NAME: &str = "Checkout-API.Shop.svc.cluster.";
const TAG_A: u16 = 1;
/// Entries in the warm cache: the default capacity, full.
const FILL: usize = 10_000;
const TTL: Duration = Duration::from_secs(600);

type Value = Arc<[IpAddr]>;

fn value() -> Value {
    Arc::from(vec![IpAddr::V4(Ipv4Addr::LOCALHOST)])
}

fn full_cache(now: Instant) -> Cache<Value> {
    let cache = Cache::new(CacheConfig::default());
    for i in 0..FILL - 1 {
        let key = CacheKey::new(TAG_A, &format!("host-{i}.ns.svc.cluster.local")).unwrap();
        cache.insert(&key, value(), TTL, false, now);
    }
    cache.insert(
        &CacheKey::new(TAG_A, NAME).unwrap(),
        value(),
        TTL,
        false,
        now,
    );
    cache
}

fn expect_fresh(lookup: CacheLookup<Value>) -> Value {
    match lookup {
        CacheLookup::Fresh { value, .. } => value,
        _ => unreachable!("bench key must be fresh"),
    }
}

fn key_build(c: &mut Criterion) {
    assert_eq!(NAME.len(), 30);
    c.bench_function("cache/key_new", |b| {
        b.iter(|| CacheKey::new(black_box(TAG_A), black_box(NAME)))
    });
    let mut key = CacheKey::EMPTY;
    c.bench_function("cache/key_set", |b| {
        b.iter(|| {
            key.set(black_box(TAG_A), black_box(NAME));
            black_box(&key);
        })
    });
}

fn lookups(c: &mut Criterion) {
    let now = Instant::now();
    let cache = full_cache(now);
    c.bench_function("cache/hit_key_new", |b| {
        b.iter(|| {
            let key = CacheKey::new(TAG_A, black_box(NAME)).unwrap();
            expect_fresh(cache.get(&key, now))
        })
    });
    let mut key = CacheKey::EMPTY;
    c.bench_function("cache/hit_key_set", |b| {
        b.iter(|| {
            key.set(TAG_A, black_box(NAME));
            expect_fresh(cache.get(&key, now))
        })
    });
    let prebuilt = CacheKey::new(TAG_A, NAME).unwrap();
    c.bench_function("cache/hit_prebuilt_key", |b| {
        b.iter(|| expect_fresh(cache.get(black_box(&prebuilt), now)))
    });
    let absent = CacheKey::new(TAG_A, "absent-api.shop.svc.cluster.").unwrap();
    c.bench_function("cache/miss_prebuilt_key", |b| {
        b.iter(|| cache.get(black_box(&absent), now))
    });
}

fn inserts(c: &mut Criterion) {
    let now = Instant::now();
    let cache = full_cache(now);
    let key = CacheKey::new(TAG_A, NAME).unwrap();
    let value = value();
    c.bench_function("cache/insert_replace", |b| {
        b.iter(|| cache.insert(black_box(&key), value.clone(), TTL, false, now))
    });
    // New keys into a full cache: every insert evicts the least recently used entry.
    let new_keys: Vec<CacheKey> = (0..4096)
        .map(|i| CacheKey::new(TAG_A, &format!("new-{i}.ns.svc.cluster.local")).unwrap())
        .collect();
    let mut next = 0usize;
    c.bench_function("cache/insert_new_evicting", |b| {
        b.iter(|| {
            next = (next + 1) % new_keys.len();
            cache.insert(&new_keys[next], value.clone(), TTL, false, now)
        })
    });
}

/// Why the maps use foldhash rather than std's SipHash.
fn hashers(c: &mut Criterion) {
    let key = CacheKey::new(TAG_A, NAME).unwrap();
    let bytes = key.as_bytes();
    let foldhash = foldhash::fast::RandomState::default();
    let siphash = std::collections::hash_map::RandomState::new();
    c.bench_function("hash/foldhash_32B", |b| {
        b.iter(|| foldhash.hash_one(black_box(bytes)))
    });
    c.bench_function("hash/siphash_32B", |b| {
        b.iter(|| siphash.hash_one(black_box(bytes)))
    });
}

criterion_group!(cache_benches, key_build, lookups, inserts, hashers);
criterion_main!(cache_benches);
