//! The daemon's counters, gauges and histograms: plain atomics bumped on the hot path,
//! rendered as Prometheus text by the admin listener (CoreDNS-compatible names, SPEC §3).
//!
//! Every field is public to the crate so each part of the daemon bumps its own without a
//! registry lookup; `render` (admin side) decides names and labels.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
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
    /// Queries received, jointly by transport, client family and type: what
    /// `coredns_dns_requests_total{proto,family,type}` needs, and the only request count
    /// (per-transport or per-family totals are sums of it). Index `[proto][family][type]`: proto 0 UDP, 1 TCP;
    /// family 0 IPv4, 1 IPv6; type the slot of [`qtype_slot`]. Bumped by [`Metrics::request`].
    pub(crate) requests_by_kind: [[[Counter; QTYPE_SLOTS]; 2]; 2],
    /// Queries (UDP, answered REFUSED) and TCP connections (closed at accept) from clients
    /// outside `allow_from` (see `serve::acl`).
    pub(crate) acl_refused: Counter,

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
    /// Cacheable answers not stored: the cache was full and their name was on its first
    /// ask (`cache_admission = "second-ask"`).
    pub(crate) cache_admission_refused: Counter,

    // --- upstream (coredns_proxy_* and nodecache_*) ---
    /// Time of upstream exchanges that got an answer, per server and rcode.
    pub(crate) upstream_durations: UpstreamDurations,
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
    /// Upstream UDP datagrams ignored because they were not the answer to our query: wrong
    /// source, ID or question (or question case, with 0x20). Spoofing attempts show here.
    pub(crate) upstream_rejected: Counter,

    // --- identity (label values, set once at start) ---
    /// The `server` label, `dns://<first listen address>` as CoreDNS writes it for a server
    /// block with the bind plugin. Set with [`Metrics::set_server`]; empty until then.
    pub(crate) server_label: OnceLock<String>,
}

/// Query types CoreDNS reports by name in its `type` label (`monitorType` in CoreDNS's
/// plugin/metrics/vars/report.go); every other type is reported as `other`.
pub(crate) const QTYPE_LABELS: [(u16, &str); 17] = [
    (1, "A"),
    (28, "AAAA"),
    (5, "CNAME"),
    (48, "DNSKEY"),
    (43, "DS"),
    (15, "MX"),
    (50, "NSEC3"),
    (47, "NSEC"),
    (2, "NS"),
    (12, "PTR"),
    (46, "RRSIG"),
    (6, "SOA"),
    (33, "SRV"),
    (16, "TXT"),
    (251, "IXFR"),
    (252, "AXFR"),
    (255, "ANY"),
];

/// Slots in `requests_by_kind`'s type dimension: the named types plus `other`.
pub(crate) const QTYPE_SLOTS: usize = QTYPE_LABELS.len() + 1;

/// The type slot of `qtype`: its index in [`QTYPE_LABELS`], or the last slot (`other`).
pub(crate) fn qtype_slot(qtype: u16) -> usize {
    QTYPE_LABELS
        .iter()
        .position(|&(code, _)| code == qtype)
        .unwrap_or(QTYPE_LABELS.len())
}

impl Metrics {
    /// Counts one query received over `proto` from an IPv6 client (`client_ipv6`) or an IPv4
    /// one, asking for `qtype`.
    pub(crate) fn request(&self, proto: Proto, client_ipv6: bool, qtype: u16) {
        let proto_index = match proto {
            Proto::Udp => 0,
            Proto::Tcp => 1,
        };
        if let Some(counter) = self
            .requests_by_kind
            .get(proto_index)
            .and_then(|families| families.get(usize::from(client_ipv6)))
            .and_then(|types| types.get(qtype_slot(qtype)))
        {
            counter.inc();
        }
    }

    /// Sets the `server` label from the first DNS listen address (once; later calls, e.g. on
    /// SIGHUP, keep the first value so series do not change identity).
    pub(crate) fn set_server(&self, first_listen: std::net::SocketAddr) {
        let _ = self.server_label.set(format!("dns://{first_listen}"));
    }

    /// Counts one response with `rcode`.
    pub(crate) fn response(&self, rcode: u8, elapsed: Duration) {
        if let Some(counter) = self.responses_by_rcode.get(usize::from(rcode & 0x0f)) {
            counter.inc();
        }
        self.request_duration.observe(elapsed);
    }
}

/// Upstream exchange times per server (`coredns_proxy_request_duration_seconds{to, rcode}`):
/// which upstream is slow is the first question when lookups are. Each server's histograms
/// are shared with its UDP socket set ([`UpstreamDurations::of`]), so recording one is a
/// few atomic adds, no lookup.
///
/// A server stays listed once used, after a reload removed it too: a Prometheus series
/// must not vanish while it may still be scraped, and the list grows only with servers
/// ever configured (~300 octets each).
#[derive(Debug, Default)]
pub(crate) struct UpstreamDurations {
    servers: Mutex<Vec<(SocketAddr, Arc<ServerDurations>)>>,
}

/// One upstream server's exchange times, by the rcode of its answer: only NOERROR and
/// NXDOMAIN answers end an exchange (any other rcode makes the forwarder ask elsewhere).
#[derive(Debug, Default)]
pub(crate) struct ServerDurations {
    /// Answers with NOERROR.
    pub(crate) noerror: Histogram,
    /// Answers with NXDOMAIN.
    pub(crate) nxdomain: Histogram,
}

impl ServerDurations {
    /// Records the exchange time of an answer with `rcode`.
    pub(crate) fn observe(&self, rcode: u16, took: Duration) {
        let histogram = if rcode == crate::serve::message::rcode::NXDOMAIN {
            &self.nxdomain
        } else {
            &self.noerror
        };
        histogram.observe(took);
    }
}

impl UpstreamDurations {
    /// The histograms of `server`, created on first use.
    pub(crate) fn of(&self, server: SocketAddr) -> Arc<ServerDurations> {
        let mut servers = self.servers.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((_, durations)) = servers.iter().find(|(known, _)| *known == server) {
            return Arc::clone(durations);
        }
        let durations = Arc::new(ServerDurations::default());
        servers.push((server, Arc::clone(&durations)));
        durations
    }

    /// Every server's histograms, in address order (for `/metrics`).
    pub(crate) fn by_server(&self) -> Vec<(SocketAddr, Arc<ServerDurations>)> {
        let mut servers = self
            .servers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        servers.sort_by_key(|(server, _)| *server);
        servers
    }

    /// Answers recorded, all servers together.
    #[cfg(test)]
    pub(crate) fn count(&self) -> u64 {
        self.by_server()
            .iter()
            .map(|(_, d)| d.noerror.count() + d.nxdomain.count())
            .sum()
    }
}
