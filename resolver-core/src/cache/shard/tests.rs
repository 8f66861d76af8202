//! Tests of the slab LRU shard: recency order under node reuse, expiry, hash sharing.

use super::*;

const SECOND: Duration = Duration::from_secs(1);

/// A stand-in for the cache's hash: any function of the key bytes will do here.
fn hash(key: &[u8]) -> u64 {
    key.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

fn held(shard: &mut Shard<u32>, keys: &[&str], now: Instant) -> Vec<u32> {
    keys.iter()
        .filter_map(|key| {
            match shard.get(key.as_bytes(), hash(key.as_bytes()), now, Duration::ZERO) {
                CacheLookup::Fresh { value, .. } => Some(value),
                _ => None,
            }
        })
        .collect()
}

/// The slab's lists under reuse: evicted nodes are refilled in place, removed ones go
/// to the free list and are taken again, and the recency order survives both.
#[test]
fn evicts_in_recency_order_across_reused_and_freed_slots() {
    let t0 = Instant::now();
    let later = t0 + 60 * SECOND;
    let mut shard = Shard::new(3);
    for (value, key) in (1..).zip(["a", "b", "c"]) {
        let displaced = shard.insert(key.as_bytes(), hash(key.as_bytes()), value, later, false);
        assert!(displaced.replaced.is_none() && displaced.evicted.is_none());
    }
    // "a" used: "b" is now the least recently used and goes first, its node reused.
    assert_eq!(held(&mut shard, &["a"], t0), [1]);
    let displaced = shard.insert(b"d", hash(b"d"), 4, later, false);
    assert_eq!(displaced.evicted.map(|e| e.value), Some(2));
    assert_eq!(shard.nodes.len(), 3, "the evicted node was refilled");
    // Removing frees a slot that the next new key takes, without evicting.
    assert_eq!(shard.take(b"c", hash(b"c")), Some(3));
    let displaced = shard.insert(b"e", hash(b"e"), 5, later, false);
    assert!(displaced.evicted.is_none());
    assert_eq!(shard.nodes.len(), 3, "the freed node was reused");
    // Order now (least recent first): a, d, e. Replacing "a" makes it most recent.
    let displaced = shard.insert(b"a", hash(b"a"), 10, later, false);
    assert_eq!(displaced.replaced, Some(1));
    // A full cache evicts even below the shard's own limit: "d", then "e".
    assert_eq!(shard.take(b"x", hash(b"x")), None);
    let displaced = shard.insert(b"f", hash(b"f"), 6, later, true);
    assert_eq!(displaced.evicted.map(|e| e.value), Some(4));
    let displaced = shard.insert(b"g", hash(b"g"), 7, later, true);
    assert_eq!(displaced.evicted.map(|e| e.value), Some(5));
    assert_eq!(shard.len(), 3);
    let all = ["a", "b", "c", "d", "e", "f", "g"];
    assert_eq!(held(&mut shard, &all, t0), [10, 6, 7]);
    // Emptied and refilled: the lists start over.
    assert_eq!(shard.clear(), 3);
    assert!(held(&mut shard, &["a", "f", "g"], t0).is_empty());
    shard.insert(b"h", hash(b"h"), 8, later, true);
    assert_eq!(
        held(&mut shard, &["h"], t0),
        [8],
        "an empty shard takes its entry"
    );
}

/// An expired entry found by a lookup is freed, and its slot serves the next key.
#[test]
fn expired_entries_are_freed_on_lookup() {
    let t0 = Instant::now();
    let mut shard = Shard::new(2);
    shard.insert(b"old", hash(b"old"), 1, t0 + SECOND, false);
    shard.insert(b"new", hash(b"new"), 2, t0 + 60 * SECOND, false);
    let past_expiry = t0 + 2 * SECOND;
    assert_eq!(
        shard.get(b"old", hash(b"old"), past_expiry, Duration::ZERO),
        CacheLookup::Miss
    );
    assert_eq!(shard.len(), 1);
    let displaced = shard.insert(b"next", hash(b"next"), 3, t0 + 60 * SECOND, false);
    assert!(displaced.evicted.is_none());
    assert_eq!(shard.nodes.len(), 2);
    assert_eq!(held(&mut shard, &["new", "next"], t0), [2, 3]);
}

/// Two keys with one hash: the newer takes the node, the older leaves as if evicted,
/// and a lookup never returns one key's value for the other.
#[test]
fn keys_sharing_a_hash_displace_each_other_and_never_mix() {
    let t0 = Instant::now();
    let later = t0 + 60 * SECOND;
    let mut shard = Shard::new(4);
    shard.insert(b"first", 7, 1, later, false);
    assert_eq!(
        shard.get(b"second", 7, t0, Duration::ZERO),
        CacheLookup::Miss
    );
    assert_eq!(shard.take(b"second", 7), None);
    let displaced = shard.insert(b"second", 7, 2, later, false);
    assert_eq!(displaced.evicted.map(|e| e.value), Some(1));
    assert!(displaced.replaced.is_none());
    assert_eq!(shard.len(), 1);
    assert_eq!(
        shard.get(b"first", 7, t0, Duration::ZERO),
        CacheLookup::Miss
    );
    assert!(matches!(
        shard.get(b"second", 7, t0, Duration::ZERO),
        CacheLookup::Fresh { value: 2, .. }
    ));
}
