//! A bounded, sharded, thread-safe cache with per-entry expiry, for positive and negative
//! answers alike (RFC 2308: a negative answer is cached for the SOA-derived TTL).
//! Used by the shim (results of whole lookups and of single questions) and by the daemon.
// TODO(helper:cache): implement the bodies.

use std::time::{Duration, Instant};

/// Longest key: a 2-byte tag plus a 253-character name, rounded up.
pub const MAX_KEY_LEN: usize = 256;

/// A cache key on the stack: a 16-bit tag (the query type, or lookup flags) and the
/// lower-cased name without trailing dot. Building one does not allocate.
#[derive(Clone, Copy)]
pub struct CacheKey {
    len: u16,
    bytes: [u8; MAX_KEY_LEN],
}

impl CacheKey {
    /// Key for `name` (case-folded, trailing dot removed) under `tag`. `None` when the name is
    /// too long to be a DNS name.
    pub fn new(tag: u16, name: &str) -> Option<CacheKey> {
        let _ = (tag, name);
        todo!()
    }

    /// The key bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len as usize]
    }
}

impl std::fmt::Debug for CacheKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("CacheKey")
            .field(&String::from_utf8_lossy(self.as_bytes()))
            .finish()
    }
}

/// Limits of a cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheConfig {
    /// Most entries held; the least recently used goes first when full.
    pub capacity: usize,
    /// Shards (rounded up to a power of two): fewer lock collisions between threads.
    pub shards: usize,
    /// TTLs below this are raised to it.
    pub min_ttl: Duration,
    /// TTLs above this are lowered to it.
    pub max_ttl: Duration,
    /// Negative answers are kept at most this long.
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

/// The cache. `V` is cloned out on a hit, so make it cheap to clone (an `Arc`).
#[derive(Debug)]
pub struct Cache<V> {
    config: CacheConfig,
    _marker: std::marker::PhantomData<V>,
}

impl<V: Clone> Cache<V> {
    /// An empty cache.
    pub fn new(config: CacheConfig) -> Self {
        Cache {
            config,
            _marker: std::marker::PhantomData,
        }
    }

    /// The limits in force.
    pub fn config(&self) -> &CacheConfig {
        &self.config
    }

    /// Looks a key up at time `now`.
    pub fn get(&self, key: &CacheKey, now: Instant) -> CacheLookup<V> {
        let _ = (key, now);
        todo!()
    }

    /// Stores a value for `ttl` (clamped by the config; `negative` selects the negative clamp).
    /// A clamped TTL of zero stores nothing.
    pub fn insert(&self, key: &CacheKey, value: V, ttl: Duration, negative: bool, now: Instant) {
        let _ = (key, value, ttl, negative, now);
        todo!()
    }

    /// Drops every entry.
    pub fn clear(&self) {
        todo!()
    }

    /// Entries held (expired ones not yet evicted included).
    pub fn len(&self) -> usize {
        todo!()
    }

    /// True when nothing is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
