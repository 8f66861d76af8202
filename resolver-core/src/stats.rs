//! Counters of what a resolver did, shared by every thread that uses it.
//!
//! The shim exposes them through its C API (`nodecache_stats`), the CLI prints them, the
//! daemon exports them as metrics. Relaxed atomics: they are statistics, not synchronisation.

use std::sync::atomic::{AtomicU64, Ordering};

/// Running totals for one resolver (one process, in the shim).
#[derive(Debug, Default)]
pub struct Stats {
    /// Lookups asked of the resolver (one per `lookup` call).
    pub lookups: AtomicU64,
    /// Lookups answered entirely from the cache.
    pub cache_hits: AtomicU64,
    /// Lookups that needed at least one query.
    pub cache_misses: AtomicU64,
    /// DNS queries put on the wire (UDP datagrams including retransmits, plus TCP queries).
    pub queries_sent: AtomicU64,
    /// UDP retransmissions (a subset of `queries_sent`).
    pub retransmits: AtomicU64,
    /// Questions re-asked over TCP because the UDP answer was truncated.
    pub tcp_fallbacks: AtomicU64,
    /// Lookups answered from the hosts file.
    pub hosts_hits: AtomicU64,
}

/// A plain copy of [`Stats`] at one moment.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct StatsSnapshot {
    /// See [`Stats::lookups`].
    pub lookups: u64,
    /// See [`Stats::cache_hits`].
    pub cache_hits: u64,
    /// See [`Stats::cache_misses`].
    pub cache_misses: u64,
    /// See [`Stats::queries_sent`].
    pub queries_sent: u64,
    /// See [`Stats::retransmits`].
    pub retransmits: u64,
    /// See [`Stats::tcp_fallbacks`].
    pub tcp_fallbacks: u64,
    /// See [`Stats::hosts_hits`].
    pub hosts_hits: u64,
}

impl Stats {
    /// Adds `n` to a counter.
    #[inline]
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    /// Reads every counter.
    pub fn snapshot(&self) -> StatsSnapshot {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        StatsSnapshot {
            lookups: get(&self.lookups),
            cache_hits: get(&self.cache_hits),
            cache_misses: get(&self.cache_misses),
            queries_sent: get(&self.queries_sent),
            retransmits: get(&self.retransmits),
            tcp_fallbacks: get(&self.tcp_fallbacks),
            hosts_hits: get(&self.hosts_hits),
        }
    }
}
