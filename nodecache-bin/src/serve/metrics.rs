//! The daemon's counters, gauges and histograms: plain atomics bumped on the hot path,
//! rendered as Prometheus text by the admin listener (CoreDNS-compatible names, SPEC §3).
//!
//! Every field is public to the crate so each part of the daemon bumps its own without a
//! registry lookup; `render` (admin side) decides names and labels.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

/// A monotonically increasing count.
#[derive(Debug, Default)]
pub(crate) struct Counter(AtomicU64);

impl Counter {
    /// Adds one.
    pub(crate) fn inc(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
    /// Adds `n`.
    pub(crate) fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }
    /// Current value.
    pub(crate) fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// A value that goes up and down (open connections, queue length).
#[derive(Debug, Default)]
pub(crate) struct Gauge(AtomicI64);

impl Gauge {
    /// Adds one.
    pub(crate) fn inc(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
    /// Subtracts one.
    pub(crate) fn dec(&self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
    /// Sets the value.
    pub(crate) fn set(&self, value: i64) {
        self.0.store(value, Ordering::Relaxed);
    }
    /// Current value.
    pub(crate) fn get(&self) -> i64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// Upper bounds (seconds) of the latency buckets: CoreDNS's `dns.TimeBuckets`
/// (0.00025 · 2^k, k = 0..15), so existing dashboards' quantile queries keep working.
pub(crate) const TIME_BUCKETS: [f64; 16] = [
    0.00025, 0.0005, 0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.256, 0.512, 1.024,
    2.048, 4.096, 8.192,
];

/// A latency histogram with [`TIME_BUCKETS`] (non-cumulative counts; `+Inf` is the last slot).
#[derive(Debug, Default)]
pub(crate) struct Histogram {
    /// Count per bucket; index `TIME_BUCKETS.len()` is the overflow (`+Inf`) bucket.
    pub(crate) buckets: [Counter; 17],
    /// Sum of observations, nanoseconds.
    pub(crate) sum_nanos: Counter,
}

impl Histogram {
    /// Records one observation.
    pub(crate) fn observe(&self, elapsed: Duration) {
        let secs = elapsed.as_secs_f64();
        let slot = TIME_BUCKETS
            .iter()
            .position(|&bound| secs <= bound)
            .unwrap_or(TIME_BUCKETS.len());
        if let Some(bucket) = self.buckets.get(slot) {
            bucket.inc();
        }
        self.sum_nanos
            .add(u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX));
    }
    /// Observations so far.
    pub(crate) fn count(&self) -> u64 {
        self.buckets.iter().map(Counter::get).sum()
    }
}

/// Transport a client query came over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Proto {
    /// UDP.
    Udp,
    /// TCP.
    Tcp,
}

/// All of the daemon's metrics. One instance, shared by `Arc`.
#[derive(Debug, Default)]
pub(crate) struct Metrics {
    // --- client side (coredns_dns_*) ---
    /// Queries received over UDP.
    pub(crate) requests_udp: Counter,
    /// Queries received over TCP.
    pub(crate) requests_tcp: Counter,
    /// Queries received whose client address is IPv6 (CoreDNS `family="2"`).
    pub(crate) requests_ipv6: Counter,
    /// Queries by type: A, AAAA, other (CoreDNS `type` label, reduced).
    pub(crate) requests_a: Counter,
    /// See `requests_a`.
    pub(crate) requests_aaaa: Counter,
    /// See `requests_a`.
    pub(crate) requests_other_type: Counter,
    /// Responses sent, by rcode (index = rcode, 0..16).
    pub(crate) responses_by_rcode: [Counter; 16],
    /// Time from receiving a query to sending its response.
    pub(crate) request_duration: Histogram,
    /// Datagrams or TCP messages that were not a parseable query: dropped (or FORMERR).
    pub(crate) malformed_dropped: Counter,
    /// Responses truncated (TC) because the client's UDP size was too small.
    pub(crate) truncated: Counter,
    /// Client TCP connections open now.
    pub(crate) client_tcp_connections: Gauge,
    /// Client TCP connections refused because `client_tcp.max_connections` were open.
    pub(crate) client_tcp_refused: Counter,

    // --- cache (coredns_cache_*) ---
    /// Entries now cached, positive (`type="success"`).
    pub(crate) cache_entries_success: Gauge,
    /// Entries now cached, negative (`type="denial"`).
    pub(crate) cache_entries_denial: Gauge,
    /// Bytes held by cached answers.
    pub(crate) cache_bytes: Gauge,
    /// Hits on positive entries.
    pub(crate) cache_hits_success: Counter,
    /// Hits on negative entries.
    pub(crate) cache_hits_denial: Counter,
    /// Misses.
    pub(crate) cache_misses: Counter,
    /// Answers served from an expired entry (RFC 8767).
    pub(crate) cache_served_stale: Counter,
    /// Prefetches started.
    pub(crate) cache_prefetches: Counter,
    /// Entries evicted before expiry because the cache was full.
    pub(crate) cache_evictions: Counter,

    // --- upstream (coredns_proxy_* and nodecache_*) ---
    /// Round-trip time of upstream exchanges that got an answer.
    pub(crate) upstream_duration: Histogram,
    /// Upstream datagrams/messages sent (first sends and retransmits).
    pub(crate) upstream_sends: Counter,
    /// Upstream retransmits.
    pub(crate) upstream_retransmits: Counter,
    /// Upstream answers with TC that were retried over TCP.
    pub(crate) upstream_tcp_fallbacks: Counter,
    /// Questions that got no usable answer from any upstream in time.
    pub(crate) upstream_failures: Counter,
    /// Client questions that joined an identical question already in flight.
    pub(crate) coalesced: Counter,
    /// Queries refused or deferred because of the upstream packet budget.
    pub(crate) budget_drops: Counter,
    /// Queries that came back to us (a forwarding loop), answered SERVFAIL.
    pub(crate) loops_detected: Counter,
    /// Upstream TCP pool: connections open now (all servers).
    pub(crate) pool_connections: Gauge,
    /// Upstream TCP pool: queries waiting for a connection slot now.
    pub(crate) pool_queue: Gauge,
    /// Upstream TCP pool: queries rejected because the wait queue was full.
    pub(crate) pool_queue_rejected: Counter,
    /// Upstream TCP pool: connections closed for being idle.
    pub(crate) pool_idle_closed: Counter,
}

impl Metrics {
    /// Counts one response with `rcode`.
    pub(crate) fn response(&self, rcode: u8, elapsed: Duration) {
        if let Some(counter) = self.responses_by_rcode.get(usize::from(rcode & 0x0f)) {
            counter.inc();
        }
        self.request_duration.observe(elapsed);
    }
}
