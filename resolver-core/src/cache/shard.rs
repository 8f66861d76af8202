//! One shard of the cache: an LRU list of entries, guarded by the caller's mutex.

use std::time::{Duration, Instant};

use lru::LruCache;

use super::stored_key::StoredKey;
use super::{CacheLookup, Displaced, Evicted};

/// The map's hasher: foldhash (what `hashbrown`, and so `lru`, uses by default), seeded per
/// instance. Measured in `benches/cache.rs` against std's SipHash: about 3× faster on a
/// 30-byte key, and still seeded at random, so names chosen by a remote client cannot be
/// precomputed to collide.
pub(super) type MapHasher = lru::DefaultHasher;

/// What the cache keeps per key.
struct Entry<V> {
    value: V,
    expires: Instant,
}

/// An LRU map from key bytes to entries, with its own entry limit.
///
/// The `lru` crate's bounded constructor preallocates a table for the whole capacity; in the
/// shim that would cost every process the full table up front, so the map is created
/// unbounded and the limit is enforced here. It is also created only by the first insert:
/// even an empty `LruCache` allocates its two list sentinels, and two caches of 16 shards
/// made that 64 allocations in every process's first lookup (issue 6, the cold lookup).
pub(super) struct Shard<V> {
    entries: Option<LruCache<StoredKey, Entry<V>, MapHasher>>,
    capacity: usize,
    /// Heap bytes of the keys held (those too long to be inline), for
    /// [`Shard::approximate_bytes`].
    key_bytes: usize,
}

/// Fixed cost of one entry besides a long key's heap bytes: the key (inline or the box's
/// pointer and length), the entry, the list node's two links, and the map's slot (two
/// pointers and a control byte).
pub(super) const fn fixed_entry_bytes<V>() -> usize {
    size_of::<StoredKey>()
        + size_of::<Entry<V>>()
        + 2 * size_of::<usize>()
        + 2 * size_of::<usize>()
        + 1
}

impl<V: Clone> Shard<V> {
    /// An empty shard holding at most `capacity` entries (at least one).
    pub(super) fn new(capacity: usize) -> Self {
        Shard {
            entries: None,
            capacity: capacity.max(1),
            key_bytes: 0,
        }
    }

    /// Looks `key` up at `now`; a hit (fresh or stale) becomes the most recently used entry.
    /// An entry expired more than `stale_window` ago is removed (the caller counts it gone
    /// by comparing [`Shard::len`] before and after).
    pub(super) fn get(
        &mut self,
        key: &[u8],
        now: Instant,
        stale_window: Duration,
    ) -> CacheLookup<V> {
        match self.entries.as_mut().and_then(|entries| entries.get(key)) {
            None => return CacheLookup::Miss,
            // Fresh only strictly before expiry: a remaining TTL of zero means "do not use
            // from cache" (RFC 1035 §3.2.1 on TTL 0).
            Some(entry) if now < entry.expires => {
                return CacheLookup::Fresh {
                    value: entry.value.clone(),
                    remaining: entry.expires.saturating_duration_since(now),
                };
            }
            // RFC 8767 §4: a stale answer may be served for a limited time past expiry.
            Some(entry) if now.saturating_duration_since(entry.expires) < stale_window => {
                return CacheLookup::Stale {
                    value: entry.value.clone(),
                };
            }
            Some(_) => {}
        }
        self.remove(key);
        CacheLookup::Miss
    }

    /// Stores `value` until `expires`, replacing any entry for `key`. A new key first makes
    /// room by dropping this shard's least recently used entry when the shard is at its own
    /// limit or `cache_full` (the whole cache holds its capacity). Returns what left the
    /// shard: the replaced value, or the evicted entry; neither means one entry was added.
    pub(super) fn insert(
        &mut self,
        key: &[u8],
        value: V,
        expires: Instant,
        cache_full: bool,
    ) -> Displaced<V> {
        let entry = Entry { value, expires };
        let entries = self
            .entries
            .get_or_insert_with(|| LruCache::unbounded_with_hasher(MapHasher::default()));
        if let Some(existing) = entries.get_mut(key) {
            // Replacing in place keeps the stored key and avoids a new allocation.
            let replaced = std::mem::replace(existing, entry);
            return Displaced {
                replaced: Some(replaced.value),
                evicted: None,
            };
        }
        let mut evicted = None;
        if (cache_full || entries.len() >= self.capacity)
            && let Some((evicted_key, old)) = entries.pop_lru()
        {
            self.key_bytes = self.key_bytes.saturating_sub(evicted_key.heap_bytes());
            evicted = Some(Evicted {
                value: old.value,
                expires: old.expires,
            });
        }
        let key = StoredKey::new(key);
        self.key_bytes += key.heap_bytes();
        entries.push(key, entry);
        Displaced {
            replaced: None,
            evicted,
        }
    }

    /// Removes the entry for `key`; true when there was one.
    pub(super) fn remove(&mut self, key: &[u8]) -> bool {
        self.take(key).is_some()
    }

    /// Removes the entry for `key` and returns its value.
    pub(super) fn take(&mut self, key: &[u8]) -> Option<V> {
        let (removed, entry) = self
            .entries
            .as_mut()
            .and_then(|entries| entries.pop_entry(key))?;
        self.key_bytes = self.key_bytes.saturating_sub(removed.heap_bytes());
        Some(entry.value)
    }

    /// Drops every entry; returns how many there were.
    pub(super) fn clear(&mut self) -> usize {
        let held = self.len();
        if let Some(entries) = &mut self.entries {
            entries.clear();
        }
        self.key_bytes = 0;
        held
    }

    /// Entries held.
    pub(super) fn len(&self) -> usize {
        self.entries.as_ref().map_or(0, LruCache::len)
    }

    /// Most entries held.
    #[cfg(test)]
    pub(super) fn capacity(&self) -> usize {
        self.capacity
    }

    /// Memory held by the entries themselves (not what values point to).
    pub(super) fn approximate_bytes(&self) -> usize {
        self.len() * fixed_entry_bytes::<V>() + self.key_bytes
    }
}
