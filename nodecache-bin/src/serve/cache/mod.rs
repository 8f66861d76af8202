//! The daemon's answer cache: upstream answers kept as bytes in resolver-core's sharded LRU
//! [`Cache`], served by copying and patching (see [`StoredAnswer::write_reply`]).
//!
//! - Key: the query type as the tag and the lower-cased wire-form name (without its root
//!   octet) as the name. Only class IN is ever cached (the daemon refuses other classes), and
//!   the forwarder never sets DO upstream, so answers carry no DNSSEC records that a DO-less
//!   client would not want: neither goes into the key.
//! - TTL: positive answers live for the smallest TTL of their answer records; negative ones
//!   (NXDOMAIN, NODATA) for min(SOA TTL, SOA MINIMUM) of the authority SOA (RFC 2308 §5), and
//!   are not cached without one (RFC 2308 §5: "negative responses without SOA records SHOULD
//!   NOT be cached"). Both go through the config's clamps.
//! - Not cached: truncated answers, rcodes other than NOERROR and NXDOMAIN (RFC 2308 §7.1
//!   allows caching SERVFAIL for at most 5 minutes; a node cache that did would hide an
//!   upstream's recovery), answers over [`MAX_CACHED_ANSWER`] bytes.
//! - Bounds: `cache.size` entries (the LRU's capacity) and `cache.max_bytes` bytes, a hard
//!   bound: an answer that does not fit the byte budget is served but not stored.
//! - Admission (`cache.admission`, default second-ask): once the cache is full, an answer
//!   that would push out a fresh entry is stored only on its name's second miss (resolver-core
//!   `Cache::admits_hashed`, a TinyLFU doorkeeper); the first is served, not stored, and
//!   counted in `cache_admission_refused`.

#[cfg(test)]
mod admission_tests;
mod spare;
#[cfg(test)]
mod spare_tests;
mod stored;
#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use std::time::{Duration, Instant};

use resolver_core::cache::{Cache, CacheConfig, CacheKey, CacheLookup, KeyHash};

use crate::serve::config::{Admission, CacheSettings};
use crate::serve::message::{QueryName, WalkError, rcode, walk_response};
use crate::serve::metrics::Metrics;
use stored::Ledger;
pub(crate) use stored::{StoredAnswer, TtlView};

/// Largest answer stored: bigger ones are rare (a few large TXT or DNSSEC answers), cost a
/// TCP exchange anyway, and would let a handful of names take a large share of the budget.
pub(crate) const MAX_CACHED_ANSWER: usize = 4096;

/// Shards of the LRU: a few per core is enough to make lock collisions rare.
const SHARDS: usize = 16;

/// What a lookup found.
#[derive(Debug)]
pub(crate) enum CacheHit {
    /// Nothing usable.
    Miss,
    /// A fresh answer.
    Fresh {
        /// The answer.
        answer: Arc<StoredAnswer>,
        /// Whole seconds since it was stored.
        age: u32,
        /// True once per entry: it is popular and nearly expired, refresh it in the
        /// background (the caller starts the prefetch).
        prefetch: bool,
    },
    /// An answer expired less than `cache.stale_max_age` ago: a miss, but kept to be served if
    /// the upstream fails (RFC 8767).
    Stale(Arc<StoredAnswer>),
}

/// Why an upstream answer could not be turned into a reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum StoreError {
    /// The upstream message does not walk.
    #[error("unusable upstream response: {0}")]
    Malformed(#[from] WalkError),
    /// The upstream answer's question is not the length of the client's (so not its name).
    #[error("upstream response question does not match")]
    QuestionMismatch,
}

/// The answer cache. `Send + Sync`; share it by `Arc`.
#[derive(Debug)]
pub(crate) struct AnswerCache {
    entries: Cache<Arc<StoredAnswer>>,
    ledger: Arc<Ledger>,
    /// Whether a full cache asks its doorkeeper before storing.
    second_ask: bool,
    prefetch_hits: u32,
    prefetch_percent: u8,
    serve_stale: bool,
    stale_ttl: u32,
    metrics: Arc<Metrics>,
}

impl AnswerCache {
    /// An empty cache with `settings`' limits.
    pub(crate) fn new(settings: &CacheSettings, metrics: Arc<Metrics>) -> AnswerCache {
        let config = CacheConfig {
            capacity: settings.size,
            shards: SHARDS,
            min_ttl: settings.min_ttl,
            max_ttl: settings.max_ttl,
            max_negative_ttl: settings.max_negative_ttl,
            // RFC 8767 §5: the window during which expired data may be served is its own
            // setting ("maximum stale timer"), not the TTL stale answers carry.
            stale_window: if settings.serve_stale {
                settings.stale_max_age
            } else {
                Duration::ZERO
            },
        };
        AnswerCache {
            entries: Cache::new(config),
            ledger: Arc::new(Ledger {
                bytes: AtomicUsize::new(0),
                max_bytes: settings.max_bytes,
                metrics: Arc::clone(&metrics),
            }),
            second_ask: settings.admission == Admission::SecondAsk,
            prefetch_hits: settings.prefetch_hits,
            prefetch_percent: settings.prefetch_percent,
            serve_stale: settings.serve_stale,
            stale_ttl: u32::try_from(settings.stale_ttl.as_secs()).unwrap_or(u32::MAX),
            metrics,
        }
    }

    /// The key for a question, built on the stack; `None` for names the key cannot hold
    /// (not UTF-8, or longer than 253 octets without the root): those are never cached.
    pub(crate) fn key(name: &QueryName, qtype: u16) -> Option<CacheKey> {
        // Without the root octet the wire form never ends in a '.' the key would strip, and
        // ASCII folding leaves its length octets (< 64) alone, so distinct names keep
        // distinct keys.
        let wire = name.as_wire();
        let name = wire.get(..wire.len().saturating_sub(1))?;
        // Only names that are text are cached (they always were: the key was built from a
        // `&str`); the name is lower-case already, so it is copied, not folded again.
        std::str::from_utf8(name).ok()?;
        let mut key = CacheKey::EMPTY;
        key.set_folded(qtype, name).then_some(key)
    }

    /// The hash of `key` in this cache: a miss computes it once, for its lookup
    /// ([`AnswerCache::lookup_hashed`]) and its store ([`AnswerCache::store_hashed`]).
    pub(crate) fn key_hash(&self, key: &CacheKey) -> KeyHash {
        self.entries.hash(key)
    }

    /// Looks `key` up at `now`, counting the hit or miss.
    #[cfg(test)]
    pub(crate) fn lookup(&self, key: &CacheKey, now: Instant) -> CacheHit {
        self.lookup_hashed(key, self.key_hash(key), now)
    }

    /// [`AnswerCache::lookup`] with the key's hash from [`AnswerCache::key_hash`].
    pub(crate) fn lookup_hashed(&self, key: &CacheKey, hash: KeyHash, now: Instant) -> CacheHit {
        match self.entries.get_hashed(key, hash, now) {
            CacheLookup::Fresh { value, remaining } => {
                if value.is_negative() {
                    self.metrics.cache_hits_denial.inc();
                } else {
                    self.metrics.cache_hits_success.inc();
                }
                let hits = value.count_hit();
                let prefetch = self.prefetch_hits > 0
                    && hits >= self.prefetch_hits
                    && remaining.as_millis() * 100
                        < u128::from(value.entry_ttl()) * 1000 * u128::from(self.prefetch_percent)
                    && value.claim_prefetch();
                let age = value.age(now);
                CacheHit::Fresh {
                    answer: value,
                    age,
                    prefetch,
                }
            }
            CacheLookup::Stale { value } => {
                self.metrics.cache_misses.inc();
                CacheHit::Stale(value)
            }
            CacheLookup::Miss => {
                self.metrics.cache_misses.inc();
                CacheHit::Miss
            }
        }
    }

    /// Turns an upstream answer into a [`StoredAnswer`] and caches it under `key` when it is
    /// cacheable and fits the byte budget. The answer is returned either way, to reply with.
    /// `question_len` is the length of the client's question (name, type, class).
    pub(crate) fn store(
        &self,
        key: Option<&CacheKey>,
        message: &[u8],
        question_len: usize,
        now: Instant,
    ) -> Result<Arc<StoredAnswer>, StoreError> {
        let key = key.map(|key| (key, self.key_hash(key)));
        self.store_hashed(key, message, question_len, now)
    }

    /// [`AnswerCache::store`] with the key's hash from [`AnswerCache::key_hash`].
    pub(crate) fn store_hashed(
        &self,
        key: Option<(&CacheKey, KeyHash)>,
        message: &[u8],
        question_len: usize,
        now: Instant,
    ) -> Result<Arc<StoredAnswer>, StoreError> {
        let layout = walk_response(message)?;
        if layout
            .question_end
            .checked_sub(crate::serve::message::HEADER_LEN)
            != Some(question_len)
        {
            return Err(StoreError::QuestionMismatch);
        }
        let negative = u16::from(layout.rcode) == rcode::NXDOMAIN
            || (u16::from(layout.rcode) == rcode::NOERROR && layout.min_answer_ttl.is_none());
        let ttl = match (u16::from(layout.rcode), negative) {
            _ if layout.truncated || layout.end > MAX_CACHED_ANSWER => None,
            (rcode::NOERROR, false) => layout.min_answer_ttl,
            // A CNAME chain ending in NXDOMAIN: the chain's TTLs bound it too.
            (rcode::NOERROR | rcode::NXDOMAIN, true) => layout
                .negative_ttl
                .map(|soa| layout.min_answer_ttl.map_or(soa, |chain| chain.min(soa))),
            _ => None,
        };
        let lifetime = ttl.map_or(Duration::ZERO, |secs| {
            self.entries
                .config()
                .clamp_ttl(Duration::from_secs(u64::from(secs)), negative)
        });
        let entry_ttl = u32::try_from(lifetime.as_secs()).unwrap_or(u32::MAX);
        let mut answer = StoredAnswer::build(message, &layout, entry_ttl, negative, now);
        let Some((key, hash)) = key.filter(|_| entry_ttl > 0 && self.entries.config().capacity > 0)
        else {
            return Ok(answer);
        };
        // Asked before the byte budget is charged: a refused answer costs no charge and
        // refund, no store and no eviction (with a full cache and one-off names, ~0.4 µs of
        // a ~9.9 µs miss: issue 6).
        if self.second_ask && !self.entries.admits_hashed(key, hash, now) {
            self.metrics.cache_admission_refused.inc();
            return Ok(answer);
        }
        // Just built, so held nowhere else: `get_mut` always finds it.
        let Some(unshared) = Arc::get_mut(&mut answer) else {
            return Ok(answer);
        };
        let Some(charge) = self.ledger.charge(unshared.footprint(), negative) else {
            return Ok(answer);
        };
        unshared.set_charge(charge);
        // The insert hands back what it displaced, so one lookup tells a replaced answer
        // (no eviction) from one pushed out to make room, and both are dropped here,
        // outside the shard lock. It replaced a second lookup to mark the old entry and a
        // thread-local around the insert that the dropped entry's charge read (callgrind,
        // issue 6: with the one-box layout, ~340 instructions less per miss).
        let displaced = self.entries.insert_displacing_hashed(
            key,
            hash,
            Arc::clone(&answer),
            lifetime,
            negative,
            now,
        );
        if let Some(evicted) = displaced.evicted {
            // Evicted before its expiry: lost to the capacity bound, not to age.
            if now < evicted.expires {
                self.metrics.cache_evictions.inc();
            }
            spare::keep(evicted.value);
        }
        if let Some(replaced) = displaced.replaced {
            spare::keep(replaced);
        }
        Ok(answer)
    }

    /// Lets go of an answer a reply was written from: kept as a spare for the next miss
    /// when nothing else holds it (an answer refused at admission, or one that left the
    /// cache meanwhile), else just dropped. With a full cache and one-off names every miss
    /// is refused, so without this each miss freed its answer and the next allocated one
    /// (callgrind, issue 6: `_int_free` +90 instructions per miss).
    pub(crate) fn let_go(&self, answer: Arc<StoredAnswer>) {
        spare::keep(answer);
    }

    /// Whether expired answers are served when upstreams fail.
    pub(crate) fn serves_stale(&self) -> bool {
        self.serve_stale
    }

    /// The TTL written into stale answers: `cache.stale_ttl` (30 s by default, RFC 8767 §4).
    pub(crate) fn stale_answer_ttl(&self) -> u32 {
        self.stale_ttl
    }

    /// Entries held now.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// Drops every entry.
    #[cfg(test)]
    pub(crate) fn clear(&self) {
        self.entries.clear();
    }
}
