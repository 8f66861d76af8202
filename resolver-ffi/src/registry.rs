//! The set of every `addrinfo` node the shim allocated and nobody freed yet, so that the
//! interposed `freeaddrinfo` frees ours and hands other lists to libc (mirrord-layer's
//! approach: every node is recorded, not just heads, so a list freed from its middle works).
//!
//! Fork: a child inherits the set (it may free lists its parent built), so the set must be
//! consistent and unlocked in the child. Locks that park waiting threads (parking_lot, std)
//! can hand ownership to a waiter on unlock, and in the child that waiter does not exist: the
//! lock would stay held forever (seen in this crate's fork test). The shards are therefore
//! guarded by plain spin-then-yield flags: no thread ever owns one except while inside a
//! few-instruction critical section, the atfork prepare handler takes them all (so the set
//! is consistent at fork), and both sides simply clear them after.

use std::cell::UnsafeCell;
use std::collections::HashSet;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicBool, Ordering};

/// Number of independently locked shards (lists of 64 threads rarely collide).
const SHARDS: usize = 16;

/// Hashes a node address: pointers are distinct and 16-byte aligned, so one multiply spreads
/// them well enough and costs nothing next to SipHash.
#[derive(Debug, Default)]
struct PointerHasher(u64);

impl Hasher for PointerHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = ((self.0 << 8) | u64::from(b)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
    }
    fn write_usize(&mut self, value: usize) {
        self.0 = ((value as u64) >> 4).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}

type NodeSet = HashSet<usize, BuildHasherDefault<PointerHasher>>;

/// One shard: a flag lock and its set.
struct Shard {
    locked: AtomicBool,
    nodes: UnsafeCell<NodeSet>,
}

// SAFETY: `nodes` is only touched while `locked` is held (see `with`).
unsafe impl Sync for Shard {}

impl Shard {
    const fn new() -> Self {
        Shard {
            locked: AtomicBool::new(false),
            nodes: UnsafeCell::new(HashSet::with_hasher(BuildHasherDefault::new())),
        }
    }

    fn lock(&self) {
        let mut spins = 0u32;
        while self
            .locked
            .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            if spins < 64 {
                std::hint::spin_loop();
                spins += 1;
            } else {
                std::thread::yield_now();
            }
        }
    }

    fn unlock(&self) {
        self.locked.store(false, Ordering::Release);
    }

    /// Runs `f` on the set with the shard locked.
    fn with<R>(&self, f: impl FnOnce(&mut NodeSet) -> R) -> R {
        self.lock();
        /// Unlocks on the way out, also if `f` panics (allocation failure in `insert`).
        struct Unlock<'a>(&'a Shard);
        impl Drop for Unlock<'_> {
            fn drop(&mut self) {
                self.0.unlock();
            }
        }
        let _unlock = Unlock(self);
        // SAFETY: the lock is held until `_unlock` drops, so this is the only reference.
        f(unsafe { &mut *self.nodes.get() })
    }
}

static REGISTRY: [Shard; SHARDS] = [const { Shard::new() }; SHARDS];

fn shard_of(node: usize) -> &'static Shard {
    let index = (node >> 4).wrapping_mul(0x9e37_79b9) >> 7;
    &REGISTRY[index % SHARDS]
}

/// Records `node` as ours.
pub(crate) fn insert(node: usize) {
    shard_of(node).with(|set| set.insert(node));
}

/// Forgets `node`; true when it was ours.
pub(crate) fn remove(node: usize) -> bool {
    shard_of(node).with(|set| set.remove(&node))
}

/// True when `node` is ours (nothing changes).
pub(crate) fn contains(node: usize) -> bool {
    shard_of(node).with(|set| set.contains(&node))
}

/// How many nodes are recorded.
pub(crate) fn len() -> usize {
    REGISTRY
        .iter()
        .map(|shard| shard.with(|set| set.len()))
        .sum()
}

/// atfork prepare: take every shard, in order, so the sets are consistent at fork.
pub(crate) fn lock_all() {
    REGISTRY.iter().for_each(Shard::lock);
}

/// atfork parent and child: release every shard.
pub(crate) fn unlock_all() {
    REGISTRY.iter().for_each(Shard::unlock);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nodes_are_recorded_until_removed() {
        let node = Box::into_raw(Box::new(0u64)) as usize;
        assert!(!contains(node));
        insert(node);
        assert!(contains(node));
        assert!(remove(node));
        assert!(!remove(node));
        // SAFETY: allocated above, freed once.
        drop(unsafe { Box::from_raw(node as *mut u64) });
    }

    #[test]
    fn shards_are_spread() {
        let used: std::collections::HashSet<*const Shard> = (0..256usize)
            .map(|i| shard_of(0x5555_0000 + i * 48) as *const Shard)
            .collect();
        assert!(used.len() >= SHARDS / 2, "{} shards used", used.len());
    }
}
