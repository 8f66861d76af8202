//! The doorkeeper of a full shard: a small Bloom filter of the key hashes recently refused,
//! so that a key is admitted into a full cache only on its second ask (the "doorkeeper" of
//! TinyLFU, Einziger, Friedman and Manes, "TinyLFU: A Highly Efficient Cache Admission
//! Policy", ACM ToS 2017, §3.4.2: most keys in a skewed workload are asked once, and keeping
//! them out spares the entries asked again).
//!
//! Why a DNS cache wants it: a node sees a few names asked all the time among many asked
//! once (random subdomains, search-path expansions of one-off names, a scan). Under plain
//! LRU every one-off name that misses pushes a live entry out; with the doorkeeper it
//! costs two bits until it is asked again. It also makes such a miss cheaper: nothing is
//! stored and nothing evicted (issue 6: storing into a full cache was ~0.4 µs of a ~9.9 µs
//! miss in the daemon).
//!
//! Size: 8 bits per entry the shard holds on average, 2 probes; cleared once as many keys
//! were recorded as the shard holds, so a key must be asked again within about one
//! cache-full of other new keys. At the clearing point a key never seen passes with
//! probability (1 - e^(-2/8))^2 ≈ 5 % (a Bloom filter's false positive rate), less before.
//! Allocated on first use: a cache that never fills (the shim's) never pays for it.

/// Bits of filter per key it may record before it is cleared.
const BITS_PER_KEY: usize = 8;

/// Multiplier of the second probe (2^64 / φ, Knuth's multiplicative hashing): the second
/// index comes from every bit of the hash, the first from its low bits.
const SECOND_PROBE: u64 = 0x9E37_79B9_7F4A_7C15;

/// Recently refused key hashes of one shard.
#[derive(Debug, Clone)]
pub(super) struct Doorkeeper {
    /// The filter; empty until the first key is recorded.
    words: Vec<u64>,
    /// Keys recorded since the last clearing.
    recorded: usize,
    /// Keys recorded before the filter is cleared.
    clear_after: usize,
}

impl Doorkeeper {
    /// A doorkeeper clearing itself after `clear_after` keys (at least one).
    pub(super) fn new(clear_after: usize) -> Self {
        Doorkeeper {
            words: Vec::new(),
            recorded: 0,
            clear_after: clear_after.max(1),
        }
    }

    /// True when `hash` was recorded since the last clearing (or collides with one that
    /// was); otherwise records it and returns false.
    pub(super) fn seen_or_record(&mut self, hash: u64) -> bool {
        if self.words.is_empty() {
            let bits = self
                .clear_after
                .saturating_mul(BITS_PER_KEY)
                .checked_next_power_of_two()
                .unwrap_or(1 << 40)
                .max(64);
            self.words = vec![0; bits / 64];
        }
        let [first, second] = self.probes(hash);
        let seen = self.is_set(first) && self.is_set(second);
        if !seen {
            if self.recorded >= self.clear_after {
                self.words.fill(0);
                self.recorded = 0;
            }
            self.set(first);
            self.set(second);
            self.recorded += 1;
        }
        seen
    }

    /// Heap bytes held.
    pub(super) fn bytes(&self) -> usize {
        self.words.len() * size_of::<u64>()
    }

    /// The two bit positions of `hash`, below `words.len() * 64` (a power of two).
    fn probes(&self, hash: u64) -> [usize; 2] {
        let mask = (self.words.len() * 64 - 1) as u64;
        [
            (hash & mask) as usize,
            ((hash.wrapping_mul(SECOND_PROBE) >> 32) & mask) as usize,
        ]
    }

    fn is_set(&self, bit: usize) -> bool {
        self.words
            .get(bit / 64)
            .is_some_and(|word| word & (1 << (bit % 64)) != 0)
    }

    fn set(&mut self, bit: usize) {
        if let Some(word) = self.words.get_mut(bit / 64) {
            *word |= 1 << (bit % 64);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Doorkeeper;

    /// Distinct, well-spread test hashes (splitmix64's finaliser of `i`).
    fn hash(i: u64) -> u64 {
        let mut z = i.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    #[test]
    fn a_key_passes_on_its_second_ask() {
        let mut door = Doorkeeper::new(1000);
        assert_eq!(door.bytes(), 0, "nothing allocated before first use");
        assert!(!door.seen_or_record(hash(1)));
        assert!(door.seen_or_record(hash(1)));
        assert!(
            door.seen_or_record(hash(1)),
            "still seen: a pass records nothing"
        );
        assert_eq!(
            door.bytes(),
            1024,
            "8 bits a key, rounded up to a power of two"
        );
    }

    #[test]
    fn few_keys_never_seen_pass_and_clearing_forgets() {
        let mut door = Doorkeeper::new(1000);
        // 999 keys recorded (a key that collides with earlier ones is not recorded).
        for i in 0.. {
            if door.recorded == 999 {
                break;
            }
            door.seen_or_record(hash(i));
        }
        // Just before clearing: the filter is as full as it gets.
        let passed = (1_000_000..1_010_000)
            .filter(|&i| door.clone().seen_or_record(hash(i)))
            .count();
        assert!(
            passed < 600,
            "{passed} of 10,000 new keys passed (~5 % expected)"
        );
        // Two new keys: the first is the 1000th recorded, the second clears the filter.
        for _ in 0..2 {
            let new = (5_000..)
                .find(|&i| !door.clone().seen_or_record(hash(i)))
                .expect("some key is new");
            assert!(!door.seen_or_record(hash(new)));
        }
        assert!(!door.seen_or_record(hash(0)), "forgotten at the clearing");
    }
}
