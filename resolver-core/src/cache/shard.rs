//! One shard of the cache: an LRU list of entries, guarded by the caller's mutex.
//!
//! The entries live in a slab (`Vec` of nodes linked by `u32` index) and a map from the
//! key's 64-bit hash to its slot; the node holds the key, which a lookup compares. Evicting
//! to make room for a new key reuses the least recently used node in place. The hash is
//! computed once by the caller ([`super::Cache::hash`]) and serves the lookup and the
//! insert after it; the map never hashes a key again, and an evicted node's slot is found
//! by the hash it keeps. It replaced the `lru` crate's map of boxed nodes, which cost a
//! `get_mut` probe, a `pop_lru` (hash, probe, free) and a `push` (two hashes, probe,
//! malloc) per miss that evicts (callgrind, issue 6: ~1,180 instructions per daemon miss).
//!
//! Two keys with the same 64-bit hash (a seeded hash: 2^-64 per pair, and not something a
//! client can aim at) cannot both be held: the newer takes the slot, and a lookup of the
//! other is a miss. Never a wrong answer, at worst a lost entry.

use std::collections::HashMap;
use std::collections::hash_map::Entry as MapEntry;
use std::hash::{BuildHasherDefault, Hasher};
use std::time::{Duration, Instant};

use super::doorkeeper::Doorkeeper;
use super::stored_key::StoredKey;
use super::{CacheLookup, Displaced, Evicted};

/// The key hasher ([`super::Cache::hash`]): foldhash (what `hashbrown` uses by default),
/// seeded per cache. Measured in `benches/cache.rs` against std's SipHash: about 3× faster on a
/// 30-byte key, and still seeded at random, so names chosen by a remote client cannot be
/// precomputed to collide.
pub(super) type MapHasher = foldhash::fast::RandomState;

/// The map's hasher: its keys are already hashes, passed through as they are.
type HashedKeys = BuildHasherDefault<PassThrough>;

/// A [`Hasher`] for keys that are already a hash (a `u64`, written with `write_u64`).
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct PassThrough(u64);

impl Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only `write_u64` is used (the map's keys are `u64`); anything else is mixed in
        // rather than dropped, so the hasher stays correct for any key.
        for &byte in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(byte);
        }
    }

    fn write_u64(&mut self, hash: u64) {
        self.0 = hash;
    }
}

/// No node: the end of a list.
const NIL: u32 = u32::MAX;

/// What the cache keeps per key.
struct Entry<V> {
    value: V,
    expires: Instant,
}

/// One slot of the slab: a held entry linked into the recency list, or a free slot (no
/// entry, `next` links the free list).
struct Node<V> {
    /// The entry's key, compared by lookups. Empty when free.
    key: StoredKey,
    /// The key's hash: the node's key in the map.
    hash: u64,
    /// `None` when the slot is free.
    entry: Option<Entry<V>>,
    /// The more recently used neighbour (`NIL` for the most recently used).
    prev: u32,
    /// The less recently used neighbour (`NIL` for the least), or the next free slot.
    next: u32,
}

/// An LRU map from key bytes to entries, with its own entry limit.
///
/// Nothing is allocated until the first insert (`HashMap::with_hasher` and `Vec::new` do
/// not allocate): two caches of 16 shards must not cost every shim process allocations in
/// its first lookup (issue 6, the cold lookup).
pub(super) struct Shard<V> {
    /// Key hash to slot in `nodes`.
    map: HashMap<u64, u32, HashedKeys>,
    nodes: Vec<Node<V>>,
    /// Most recently used node.
    head: u32,
    /// Least recently used node: the next to be evicted.
    tail: u32,
    /// First free slot.
    free: u32,
    capacity: usize,
    /// Heap bytes of the keys held (those too long to be inline), for
    /// [`Shard::approximate_bytes`].
    key_bytes: usize,
    /// Keys recently refused by [`Shard::admits`].
    doorkeeper: Doorkeeper,
}

/// Fixed cost of one entry besides a long key's heap bytes: the node (key, hash, entry,
/// links) and the map's slot (the hash and the slot index, and a control byte).
pub(super) const fn fixed_entry_bytes<V>() -> usize {
    size_of::<Node<V>>() + size_of::<(u64, u32)>() + 1
}

impl<V: Clone> Shard<V> {
    /// An empty shard holding at most `capacity` entries (at least one).
    pub(super) fn new(capacity: usize) -> Self {
        Shard {
            map: HashMap::default(),
            nodes: Vec::new(),
            head: NIL,
            tail: NIL,
            free: NIL,
            capacity: capacity.max(1),
            key_bytes: 0,
            // The shard's even share of the cache (`capacity` is twice it, see
            // `CacheConfig::shards`).
            doorkeeper: Doorkeeper::new(capacity / 2),
        }
    }

    /// Looks `key` up at `now`; a hit (fresh or stale) becomes the most recently used entry.
    /// An entry expired more than `stale_window` ago is removed (the caller counts it gone
    /// by comparing [`Shard::len`] before and after).
    pub(super) fn get(
        &mut self,
        key: &[u8],
        hash: u64,
        now: Instant,
        stale_window: Duration,
    ) -> CacheLookup<V> {
        let Some(&index) = self.map.get(&hash) else {
            return CacheLookup::Miss;
        };
        let node = self.node(index);
        if node.key.as_bytes() != key {
            // Another key with the same hash holds the slot.
            return CacheLookup::Miss;
        }
        let found = match node.entry.as_ref() {
            None => return CacheLookup::Miss,
            // Fresh only strictly before expiry: a remaining TTL of zero means "do not use
            // from cache" (RFC 1035 §3.2.1 on TTL 0).
            Some(entry) if now < entry.expires => CacheLookup::Fresh {
                value: entry.value.clone(),
                remaining: entry.expires.saturating_duration_since(now),
            },
            // RFC 8767 §4: a stale answer may be served for a limited time past expiry.
            Some(entry) if now.saturating_duration_since(entry.expires) < stale_window => {
                CacheLookup::Stale {
                    value: entry.value.clone(),
                }
            }
            Some(_) => {
                self.take(key, hash);
                return CacheLookup::Miss;
            }
        };
        self.promote(index);
        found
    }

    /// Stores `value` until `expires`, replacing any entry for `key`. A new key first makes
    /// room by dropping this shard's least recently used entry when the shard is at its own
    /// limit or `cache_full` (the whole cache holds its capacity). Returns what left the
    /// shard: the replaced value, or the evicted entry; neither means one entry was added.
    pub(super) fn insert(
        &mut self,
        key: &[u8],
        hash: u64,
        value: V,
        expires: Instant,
        cache_full: bool,
    ) -> Displaced<V> {
        let entry = Entry { value, expires };
        let evict = cache_full || self.map.len() >= self.capacity;
        let (index, evicted) = match self.map.entry(hash) {
            MapEntry::Occupied(held) => {
                let index = *held.get();
                let node = &mut self.nodes[index as usize];
                if node.key.as_bytes() == key {
                    let replaced = node.entry.replace(entry);
                    self.promote(index);
                    return Displaced {
                        replaced: replaced.map(|old| old.value),
                        evicted: None,
                    };
                }
                // Another key with the same hash: the new one takes its node (see the
                // module docs), and the old entry leaves the cache as if evicted.
                let old_key = std::mem::replace(&mut node.key, StoredKey::new(key));
                self.key_bytes = self.key_bytes.saturating_sub(old_key.heap_bytes());
                (index, node.entry.replace(entry))
            }
            // Reuse the least recently used node in place: no free and no malloc.
            MapEntry::Vacant(slot) if evict && self.tail != NIL => {
                let index = self.tail;
                slot.insert(index);
                let node = &mut self.nodes[index as usize];
                let old_key = std::mem::replace(&mut node.key, StoredKey::new(key));
                let old_hash = std::mem::replace(&mut node.hash, hash);
                let old = node.entry.replace(entry);
                self.key_bytes = self.key_bytes.saturating_sub(old_key.heap_bytes());
                self.map.remove(&old_hash);
                (index, old)
            }
            MapEntry::Vacant(slot) => {
                let index = if self.free != NIL {
                    let index = self.free;
                    self.free = self.nodes[index as usize].next;
                    index
                } else {
                    match u32::try_from(self.nodes.len()) {
                        Ok(index) if index != NIL => index,
                        // More nodes than a u32 indexes: not reachable with real memory.
                        _ => return Displaced::NOTHING,
                    }
                };
                slot.insert(index);
                let node = Node {
                    key: StoredKey::new(key),
                    hash,
                    entry: Some(entry),
                    prev: NIL,
                    next: NIL,
                };
                match self.nodes.get_mut(index as usize) {
                    Some(free) => *free = node,
                    None => self.nodes.push(node),
                }
                self.push_front(index);
                (index, None)
            }
        };
        self.key_bytes += self.node(index).key.heap_bytes();
        if evicted.is_some() {
            self.promote(index);
        }
        Displaced {
            replaced: None,
            evicted: evicted.map(|old| Evicted {
                value: old.value,
                expires: old.expires,
            }),
        }
    }

    /// Whether a new entry for `key` may be stored at `now`, the whole cache being full
    /// (see [`super::Cache::admits_hashed`]): yes when storing it pushes no fresh entry out
    /// (the shard is empty, the key is held already, or the least recently used entry has
    /// expired); otherwise only if the doorkeeper saw the key refused recently (its second
    /// ask), and a first ask is recorded.
    pub(super) fn admits(&mut self, key: &[u8], hash: u64, now: Instant) -> bool {
        if self.tail == NIL {
            return true;
        }
        if let Some(&index) = self.map.get(&hash)
            && self.node(index).key.as_bytes() == key
        {
            return true;
        }
        let victim_expired = self
            .node(self.tail)
            .entry
            .as_ref()
            .is_none_or(|victim| now >= victim.expires);
        victim_expired || self.doorkeeper.seen_or_record(hash)
    }

    /// Removes the entry for `key`; true when there was one.
    pub(super) fn remove(&mut self, key: &[u8], hash: u64) -> bool {
        self.take(key, hash).is_some()
    }

    /// Removes the entry for `key` and returns its value.
    pub(super) fn take(&mut self, key: &[u8], hash: u64) -> Option<V> {
        let index = *self.map.get(&hash)?;
        if self.node(index).key.as_bytes() != key {
            return None;
        }
        self.map.remove(&hash);
        self.unlink(index);
        let free = self.free;
        let node = self.nodes_mut(index);
        let key = std::mem::replace(&mut node.key, StoredKey::new(&[]));
        let entry = node.entry.take();
        node.next = free;
        self.free = index;
        self.key_bytes = self.key_bytes.saturating_sub(key.heap_bytes());
        entry.map(|entry| entry.value)
    }

    /// Drops every entry; returns how many there were.
    pub(super) fn clear(&mut self) -> usize {
        let held = self.len();
        self.map.clear();
        self.nodes.clear();
        self.head = NIL;
        self.tail = NIL;
        self.free = NIL;
        self.key_bytes = 0;
        self.doorkeeper = Doorkeeper::new(self.capacity / 2);
        held
    }

    /// Entries held.
    pub(super) fn len(&self) -> usize {
        self.map.len()
    }

    /// Most entries held.
    #[cfg(test)]
    pub(super) fn capacity(&self) -> usize {
        self.capacity
    }

    /// Memory held by the entries themselves (not what values point to).
    pub(super) fn approximate_bytes(&self) -> usize {
        self.len() * fixed_entry_bytes::<V>() + self.key_bytes + self.doorkeeper.bytes()
    }

    // Indices below come from the map and the lists, which only ever hold slots of
    // `nodes` (never input), so indexing cannot go out of bounds.

    fn node(&self, index: u32) -> &Node<V> {
        &self.nodes[index as usize]
    }

    fn nodes_mut(&mut self, index: u32) -> &mut Node<V> {
        &mut self.nodes[index as usize]
    }

    /// Makes a linked node the most recently used.
    fn promote(&mut self, index: u32) {
        if self.head != index {
            self.unlink(index);
            self.push_front(index);
        }
    }

    /// Takes a node out of the recency list.
    fn unlink(&mut self, index: u32) {
        let Node { prev, next, .. } = *self.node(index);
        match prev {
            NIL => self.head = next,
            prev => self.nodes_mut(prev).next = next,
        }
        match next {
            NIL => self.tail = prev,
            next => self.nodes_mut(next).prev = prev,
        }
    }

    /// Links an unlinked node in as the most recently used.
    fn push_front(&mut self, index: u32) {
        let head = self.head;
        let node = self.nodes_mut(index);
        node.prev = NIL;
        node.next = head;
        match head {
            NIL => self.tail = index,
            head => self.nodes_mut(head).prev = index,
        }
        self.head = index;
    }
}

#[cfg(test)]
mod tests;
