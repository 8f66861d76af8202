//! A bounded, sharded, thread-safe cache with per-entry expiry, for positive and negative
//! answers alike (RFC 2308: a negative answer is cached for the SOA-derived TTL).
//! Used by the shim (results of whole lookups and of single questions) and by the daemon.
//!
//! Layout: `N` shards (a power of two), each a [`parking_lot::Mutex`] around an LRU map from
//! key to (value, expiry). A key is hashed once ([`Cache::hash`], seeded per cache): the
//! high half picks the shard, the low bits its slot in the shard's table, so keys sharing a
//! shard do not also share hash bits inside its table. A caller that looks a key up and then
//! stores it (a miss) can keep the hash for both ([`Cache::get_hashed`],
//! [`Cache::insert_displacing_hashed`]).
//! Time is always passed in (`now`), so expiry is testable without sleeping.
//!
//! Cost (benches/cache.rs, this project's 2-core EPYC VM): a fresh hit is ~26 ns with a built
//! key, ~48 ns including refilling a kept key with [`CacheKey::set`] from a 30-character name,
//! ~65 ns with a new key from [`CacheKey::new`] (which returns 258 bytes by value). Hot paths
//! should keep a key and refill it.

mod doorkeeper;
mod key;
mod shard;
mod stored_key;
#[cfg(test)]
mod tests;

use std::hash::BuildHasher;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use parking_lot::Mutex;

pub use key::{CacheKey, MAX_KEY_LEN, MAX_NAME_LEN};
use shard::{MapHasher, Shard};

/// Most shards a cache is split into, whatever the config asks: beyond the number of
/// threads that can contend, more shards only cost memory.
pub const MAX_SHARDS: usize = 1024;

/// Longest TTL a DNS record can carry: RFC 2181 §8 limits TTLs to 2^31 - 1 seconds. Every
/// stored TTL is capped here too, so `now + ttl` cannot overflow whatever the config says.
pub const MAX_DNS_TTL: Duration = Duration::from_secs((1 << 31) - 1);

/// Limits of a cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheConfig {
    /// Most entries held, across all shards; the least recently used entry of a shard goes
    /// first when that shard is full. Zero disables the cache (nothing is stored).
    pub capacity: usize,
    /// Shards (rounded up to a power of two, at least 1, at most [`MAX_SHARDS`]): fewer lock
    /// collisions between threads. The cache as a whole holds `capacity` entries: a shard
    /// may take up to twice its even share (keys never hash perfectly evenly, and a cache
    /// sized for N names must hold N names), and once `capacity` is reached a new entry
    /// replaces its shard's least recently used one. A shard that is empty when the cache
    /// is full still takes its entry, so the total may exceed `capacity` by less than one
    /// entry per shard.
    pub shards: usize,
    /// TTLs below this are raised to it (positive and negative alike).
    pub min_ttl: Duration,
    /// Positive TTLs above this are lowered to it; wins over `min_ttl` if smaller.
    pub max_ttl: Duration,
    /// Negative answers are kept at most this long; wins over `min_ttl` if smaller.
    pub max_negative_ttl: Duration,
    /// How long past expiry an entry may still be returned as stale (RFC 8767); zero = never.
    pub stale_window: Duration,
}

impl Default for CacheConfig {
    fn default() -> Self {
        CacheConfig {
            capacity: 10_000,
            shards: 16,
            min_ttl: Duration::ZERO,
            max_ttl: Duration::from_secs(3600),
            max_negative_ttl: Duration::from_secs(300),
            stale_window: Duration::ZERO,
        }
    }
}

impl CacheConfig {
    /// The TTL an answer is stored for.
    ///
    /// Positive: raised to `min_ttl`, then lowered to `max_ttl`. Negative: the caller passes
    /// the RFC 2308 §5 TTL (min of the SOA's TTL and its MINIMUM field); it is raised to
    /// `min_ttl`, then lowered to `max_negative_ttl`. The clamps are operator policy, not
    /// protocol: `min_ttl` applies to negative answers too because its point (fewer repeated
    /// queries for the same name) holds for NXDOMAIN floods as much as for answers, and the
    /// upper bound is applied last so a misconfigured `min_ttl > max` can never keep an
    /// answer longer than the operator's maximum. Both are capped at [`MAX_DNS_TTL`].
    pub fn clamp_ttl(&self, ttl: Duration, negative: bool) -> Duration {
        let max = if negative {
            self.max_negative_ttl
        } else {
            self.max_ttl
        };
        ttl.max(self.min_ttl).min(max).min(MAX_DNS_TTL)
    }

    /// Shards actually used: `shards` rounded up to a power of two, within 1..=[`MAX_SHARDS`].
    fn shard_count(&self) -> usize {
        self.shards
            .clamp(1, MAX_SHARDS)
            .checked_next_power_of_two()
            .unwrap_or(MAX_SHARDS)
    }
}

/// A key's hash in one cache ([`Cache::hash`]), kept by a caller that looks a key up and
/// then stores it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyHash(u64);

/// What a lookup found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CacheLookup<V> {
    /// Not cached (or expired beyond the stale window).
    Miss,
    /// Cached and fresh for `remaining`.
    Fresh {
        /// The value.
        value: V,
        /// Time left before expiry.
        remaining: Duration,
    },
    /// Expired less than `stale_window` ago.
    Stale {
        /// The value.
        value: V,
    },
}

/// What an insert took out of the cache (see [`Cache::insert_displacing`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Displaced<V> {
    /// The value the key held before: replaced by the new one, or removed by a zero TTL.
    pub replaced: Option<V>,
    /// The least recently used entry pushed out to make room for a new key.
    pub evicted: Option<Evicted<V>>,
}

impl<V> Displaced<V> {
    /// Nothing left the cache.
    pub const NOTHING: Displaced<V> = Displaced {
        replaced: None,
        evicted: None,
    };
}

/// An entry an insert pushed out of the cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evicted<V> {
    /// Its value.
    pub value: V,
    /// When it would have expired: an entry evicted before then was lost to the capacity
    /// bound, one evicted after had expired anyway.
    pub expires: Instant,
}

/// The cache. `V` is cloned out on a hit, so make it cheap to clone (an `Arc`).
///
/// `Send + Sync` when `V: Send`; every method takes `&self` and locks one shard at a time.
pub struct Cache<V> {
    config: CacheConfig,
    shards: Box<[Mutex<Shard<V>>]>,
    /// `shards.len() - 1`; the length is a power of two.
    shard_mask: usize,
    /// Hashes keys (see the module docs).
    hasher: MapHasher,
    /// Entries held across all shards (kept exact under the shard locks; read without one
    /// to decide whether an insert must evict).
    held: AtomicUsize,
}

impl<V> std::fmt::Debug for Cache<V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cache")
            .field("config", &self.config)
            .field("shards", &self.shards.len())
            .finish_non_exhaustive()
    }
}

impl<V: Clone> Cache<V> {
    /// An empty cache.
    pub fn new(config: CacheConfig) -> Self {
        let count = config.shard_count();
        // Twice the even share (see `CacheConfig::shards`): the global count is the limit.
        let per_shard = config.capacity.div_ceil(count).saturating_mul(2).max(1);
        let shards = (0..count)
            .map(|_| Mutex::new(Shard::new(per_shard)))
            .collect::<Box<[_]>>();
        Cache {
            config,
            shards,
            shard_mask: count - 1,
            hasher: MapHasher::default(),
            held: AtomicUsize::new(0),
        }
    }

    /// The limits in force.
    pub fn config(&self) -> &CacheConfig {
        &self.config
    }

    /// Looks a key up at time `now`. A fresh or stale hit becomes its shard's most recently
    /// used entry; an entry expired more than `stale_window` ago is removed and is a miss.
    pub fn get(&self, key: &CacheKey, now: Instant) -> CacheLookup<V> {
        self.get_hashed(key, self.hash(key), now)
    }

    /// The hash of `key` in this cache, for [`Cache::get_hashed`] and
    /// [`Cache::insert_displacing_hashed`]: a miss hashes its key once for both (callgrind,
    /// issue 6: the daemon's miss hashed its key four times).
    pub fn hash(&self, key: &CacheKey) -> KeyHash {
        KeyHash(self.hasher.hash_one(key.as_bytes()))
    }

    /// [`Cache::get`] with the key's hash from [`Cache::hash`] (a hash of another key, or
    /// from another cache, finds nothing).
    pub fn get_hashed(&self, key: &CacheKey, hash: KeyHash, now: Instant) -> CacheLookup<V> {
        let key = key.as_bytes();
        let mut shard = self.shard(hash).lock();
        let before = shard.len();
        let found = shard.get(key, hash.0, now, self.config.stale_window);
        self.forget(before - shard.len());
        found
    }

    /// Stores a value for `ttl` (clamped by the config, see [`CacheConfig::clamp_ttl`];
    /// `negative` selects the negative clamp), replacing any entry for the key.
    /// A clamped TTL of zero stores nothing and removes an existing entry for the key, so an
    /// answer that must not be cached also stops an older one from being served.
    pub fn insert(&self, key: &CacheKey, value: V, ttl: Duration, negative: bool, now: Instant) {
        // What left the cache is dropped here, after the shard lock is released.
        drop(self.insert_displacing(key, value, ttl, negative, now));
    }

    /// [`Cache::insert`], handing back what the insert took out of the cache: the value the
    /// key held before, or the entry evicted to make room. The caller learns from the same
    /// single lookup whether its value replaced another or pushed one out (the daemon keeps
    /// its eviction count that way), and drops them outside the shard lock.
    pub fn insert_displacing(
        &self,
        key: &CacheKey,
        value: V,
        ttl: Duration,
        negative: bool,
        now: Instant,
    ) -> Displaced<V> {
        self.insert_displacing_hashed(key, self.hash(key), value, ttl, negative, now)
    }

    /// [`Cache::insert_displacing`] with the key's hash from [`Cache::hash`]. The hash must
    /// be `key`'s in this cache: under another, the entry is stored where lookups of `key`
    /// do not find it.
    pub fn insert_displacing_hashed(
        &self,
        key: &CacheKey,
        hash: KeyHash,
        value: V,
        ttl: Duration,
        negative: bool,
        now: Instant,
    ) -> Displaced<V> {
        if self.config.capacity == 0 {
            return Displaced::NOTHING;
        }
        let key = key.as_bytes();
        let ttl = self.config.clamp_ttl(ttl, negative);
        let expires = match now.checked_add(ttl) {
            Some(expires) if !ttl.is_zero() => expires,
            _ => {
                let replaced = self.shard(hash).lock().take(key, hash.0);
                self.forget(usize::from(replaced.is_some()));
                return Displaced {
                    replaced,
                    evicted: None,
                };
            }
        };
        let cache_full = self.held.load(Ordering::Relaxed) >= self.config.capacity;
        let displaced = self
            .shard(hash)
            .lock()
            .insert(key, hash.0, value, expires, cache_full);
        if displaced.replaced.is_none() && displaced.evicted.is_none() {
            self.held.fetch_add(1, Ordering::Relaxed);
        }
        displaced
    }

    /// Whether a new entry for `key` should be stored at `now`: an admission rule, asked
    /// before [`Cache::insert_displacing_hashed`] by a caller that wants one (the daemon; the
    /// shim's caches never fill and do not ask). Always true while the cache holds less
    /// than its capacity, for a key it holds (a refresh), and when the entry the insert
    /// would push out has expired; otherwise true only on the key's second ask since the
    /// shard's doorkeeper was last cleared (see `doorkeeper.rs`: a full cache keeps the
    /// names asked again rather than the last ones asked). False when the cache is disabled.
    ///
    /// Without the shard lock while the cache is not full, so a shard past its even share
    /// (keys never hash perfectly evenly) still evicts on insert; the rule is for the
    /// steady state of a full cache.
    pub fn admits_hashed(&self, key: &CacheKey, hash: KeyHash, now: Instant) -> bool {
        if self.config.capacity == 0 {
            return false;
        }
        if self.held.load(Ordering::Relaxed) < self.config.capacity {
            return true;
        }
        self.shard(hash).lock().admits(key.as_bytes(), hash.0, now)
    }

    /// Removes the entry for `key`; true when there was one.
    pub fn remove(&self, key: &CacheKey) -> bool {
        let hash = self.hash(key);
        let removed = self.shard(hash).lock().remove(key.as_bytes(), hash.0);
        self.forget(usize::from(removed));
        removed
    }

    /// Drops every entry.
    pub fn clear(&self) {
        for shard in self.shards.iter() {
            let dropped = shard.lock().clear();
            self.forget(dropped);
        }
    }

    /// `gone` entries left the cache.
    fn forget(&self, gone: usize) {
        if gone > 0 {
            self.held.fetch_sub(gone, Ordering::Relaxed);
        }
    }

    /// Entries held (expired ones not yet evicted included).
    pub fn len(&self) -> usize {
        self.held.load(Ordering::Relaxed)
    }

    /// True when nothing is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Approximate memory held by the entries: keys, expiries, the map and list overhead and
    /// `size_of::<V>()` per entry, but not what values point to (an `Arc`'s target).
    pub fn approximate_bytes(&self) -> usize {
        self.shards
            .iter()
            .map(|shard| shard.lock().approximate_bytes())
            .sum()
    }

    fn shard(&self, hash: KeyHash) -> &Mutex<Shard<V>> {
        // The high half: the shard's table indexes by the low bits (and hashbrown tags by
        // the top seven), and at most 10 bits are used here (MAX_SHARDS).
        let index = (hash.0 >> 32) as usize & self.shard_mask;
        // In bounds: `index <= shard_mask == shards.len() - 1`.
        &self.shards[index]
    }
}
