//! [`Metrics`] as Prometheus text exposition format 0.0.4, with CoreDNS's metric names,
//! label names and types so existing dashboards work (SPEC §3). Checked against CoreDNS's
//! sources: plugin/metrics/vars/vars.go (`coredns_dns_*`), plugin/cache/metrics.go
//! (`coredns_cache_*`), plugin/pkg/proxy/metrics.go (`coredns_proxy_*`).
//!
//! Where `Metrics` tracks less than CoreDNS labels:
//! - the daemon has one server block for the root zone: `zone="."`, `zones="."`, `view=""`;
//! - `coredns_dns_responses_total{plugin}` is `""` (CoreDNS names the plugin that wrote the
//!   answer; the daemon is one piece);
//! - `coredns_cache_evictions_total{type}` is `"all"`: evictions are not split into
//!   success/denial;
//! - `coredns_proxy_request_duration_seconds{proxy_name="forward", to, rcode}`: per upstream
//!   server (`IP:PORT`) and answer rcode (NOERROR or NXDOMAIN, the only ones that end an
//!   exchange), as CoreDNS's forward plugin labels it; the time is the whole exchange's,
//!   retransmits and failover included, until that server's answer.
//!
//! Everything CoreDNS has no name for is `nodecache_*`.

use std::fmt::{Display, Write as _};

use crate::serve::metrics::{Counter, Gauge, Histogram, Metrics, QTYPE_LABELS, TIME_BUCKETS};

/// RCODE mnemonics (RFC 6895 §2.3 registry; CoreDNS prints these), by value 0..=15.
const RCODE_NAMES: [&str; 16] = [
    "NOERROR",
    "FORMERR",
    "SERVFAIL",
    "NXDOMAIN",
    "NOTIMP",
    "REFUSED",
    "YXDOMAIN",
    "YXRRSET",
    "NXRRSET",
    "NOTAUTH",
    "NOTZONE",
    "DSOTYPENI",
    "RCODE12",
    "RCODE13",
    "RCODE14",
    "RCODE15",
];

/// Label values escaped as the exposition format requires: `\`, `"` and newline.
fn escape_label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Builds the text, one family at a time.
struct Exposition {
    out: String,
}

impl Exposition {
    /// `# HELP` and `# TYPE` lines (help text has no `\` or newline here, nothing to escape).
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.out, "# HELP {name} {help}");
        let _ = writeln!(self.out, "# TYPE {name} {kind}");
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: impl Display) {
        self.out.push_str(name);
        if !labels.is_empty() {
            self.out.push('{');
            for (i, (key, val)) in labels.iter().enumerate() {
                if i > 0 {
                    self.out.push(',');
                }
                let _ = write!(self.out, "{key}=\"{}\"", escape_label(val));
            }
            self.out.push('}');
        }
        let _ = writeln!(self.out, " {value}");
    }

    fn counter(&mut self, name: &str, help: &str, labels: &[(&str, &str)], counter: &Counter) {
        self.family(name, "counter", help);
        self.sample(name, labels, counter.get());
    }

    fn gauge(&mut self, name: &str, help: &str, labels: &[(&str, &str)], gauge: &Gauge) {
        self.family(name, "gauge", help);
        self.sample(name, labels, gauge.get());
    }

    /// A histogram with [`TIME_BUCKETS`]: cumulative `_bucket`s ending with `+Inf` (= count),
    /// `_sum` in seconds, `_count`.
    fn histogram(&mut self, name: &str, help: &str, labels: &[(&str, &str)], h: &Histogram) {
        self.family(name, "histogram", help);
        self.histogram_series(name, labels, h);
    }

    /// One series of a histogram family already announced.
    fn histogram_series(&mut self, name: &str, labels: &[(&str, &str)], h: &Histogram) {
        let bucket_name = format!("{name}_bucket");
        let mut cumulative = 0u64;
        let bounds = TIME_BUCKETS.iter().map(|bound| bound.to_string());
        for (bucket, bound) in h.buckets.iter().zip(bounds.chain(["+Inf".to_owned()])) {
            cumulative = cumulative.saturating_add(bucket.get());
            let mut with_le = labels.to_vec();
            with_le.push(("le", &bound));
            self.sample(&bucket_name, &with_le, cumulative);
        }
        let seconds = h.sum_nanos.get() as f64 / 1e9;
        self.sample(&format!("{name}_sum"), labels, seconds);
        self.sample(&format!("{name}_count"), labels, cumulative);
    }
}

/// The whole `/metrics` body.
pub(crate) fn render(metrics: &Metrics) -> String {
    let server = metrics.server_label.get().map_or("", String::as_str);
    let mut x = Exposition {
        out: String::with_capacity(16 * 1024),
    };
    let dns = [("server", server), ("zone", "."), ("view", "")];

    // --- coredns_dns_* ---
    let name = "coredns_dns_requests_total";
    x.family(
        name,
        "counter",
        "Counter of DNS requests made per zone, protocol and family.",
    );
    for (proto, families) in ["udp", "tcp"].iter().zip(&metrics.requests_by_kind) {
        for (family, types) in ["1", "2"].iter().zip(families) {
            let names = QTYPE_LABELS.iter().map(|&(_, label)| label);
            for (qtype, counter) in names.chain(["other"]).zip(types) {
                // CoreDNS creates a series on first use; so do we (no wall of zeros).
                if counter.get() > 0 {
                    let labels = [dns[0], dns[1], dns[2], ("proto", proto), ("family", family)];
                    let mut labels = labels.to_vec();
                    labels.push(("type", qtype));
                    x.sample(name, &labels, counter.get());
                }
            }
        }
    }
    let name = "coredns_dns_responses_total";
    x.family(name, "counter", "Counter of response status codes.");
    for (rcode, counter) in RCODE_NAMES.iter().zip(&metrics.responses_by_rcode) {
        if counter.get() > 0 {
            let labels = [dns[0], dns[1], dns[2], ("rcode", rcode), ("plugin", "")];
            x.sample(name, &labels, counter.get());
        }
    }
    x.histogram(
        "coredns_dns_request_duration_seconds",
        "Histogram of the time (in seconds) each request took per zone.",
        &dns,
        &metrics.request_duration,
    );

    // --- coredns_cache_* ---
    let cache = [("server", server), ("zones", "."), ("view", "")];
    let typed = |kind: &'static str| [cache[0], ("type", kind), cache[1], cache[2]];
    let name = "coredns_cache_entries";
    x.family(name, "gauge", "The number of elements in the cache.");
    x.sample(name, &typed("success"), metrics.cache_entries_success.get());
    x.sample(name, &typed("denial"), metrics.cache_entries_denial.get());
    let name = "coredns_cache_hits_total";
    x.family(name, "counter", "The count of cache hits.");
    x.sample(name, &typed("success"), metrics.cache_hits_success.get());
    x.sample(name, &typed("denial"), metrics.cache_hits_denial.get());
    x.counter(
        "coredns_cache_misses_total",
        "The count of cache misses.",
        &cache,
        &metrics.cache_misses,
    );
    let requests = metrics.cache_hits_success.get()
        + metrics.cache_hits_denial.get()
        + metrics.cache_misses.get();
    let name = "coredns_cache_requests_total";
    x.family(
        name,
        "counter",
        "The count of cache requests (hits plus misses).",
    );
    x.sample(name, &cache, requests);
    x.counter(
        "coredns_cache_served_stale_total",
        "The number of requests served from stale cache entries.",
        &cache,
        &metrics.cache_served_stale,
    );
    x.counter(
        "coredns_cache_prefetch_total",
        "The number of times the cache has prefetched a cached item.",
        &cache,
        &metrics.cache_prefetches,
    );
    x.counter(
        "coredns_cache_evictions_total",
        "The count of cache evictions (type=\"all\": not split by type).",
        &typed("all"),
        &metrics.cache_evictions,
    );

    // --- coredns_proxy_* ---
    let name = "coredns_proxy_request_duration_seconds";
    x.family(
        name,
        "histogram",
        "Histogram of the time each upstream request took, per upstream and rcode.",
    );
    for (server, durations) in metrics.upstream_durations.by_server() {
        let to = server.to_string();
        for (rcode, histogram) in [
            ("NOERROR", &durations.noerror),
            ("NXDOMAIN", &durations.nxdomain),
        ] {
            // A series on first use, as CoreDNS's.
            if histogram.count() > 0 {
                let labels = [("proxy_name", "forward"), ("to", &to), ("rcode", rcode)];
                x.histogram_series(name, &labels, histogram);
            }
        }
    }

    render_nodecache(&mut x, metrics);
    x.out
}

/// The `nodecache_*` families: what CoreDNS has no metric for.
fn render_nodecache(x: &mut Exposition, m: &Metrics) {
    #[rustfmt::skip]
    let counters: [(&str, &str, &Counter); 15] = [
        ("nodecache_upstream_sends_total", "Upstream datagrams and TCP messages sent, retransmits included.", &m.upstream_sends),
        ("nodecache_upstream_retransmits_total", "Upstream UDP retransmits.", &m.upstream_retransmits),
        ("nodecache_upstream_tcp_fallbacks_total", "Truncated upstream answers retried over TCP.", &m.upstream_tcp_fallbacks),
        ("nodecache_upstream_failures_total", "Questions with no usable upstream answer in time.", &m.upstream_failures),
        ("nodecache_coalesced_total", "Client questions that joined an identical question already in flight.", &m.coalesced),
        ("nodecache_upstream_budget_drops_total", "Queries refused or deferred by the upstream packet budget.", &m.budget_drops),
        ("nodecache_loops_detected_total", "Queries that came back to us (a forwarding loop).", &m.loops_detected),
        ("nodecache_pool_queue_rejected_total", "Upstream TCP queries rejected because the pool's wait queue was full.", &m.pool_queue_rejected),
        ("nodecache_pool_idle_closed_total", "Upstream TCP connections closed for being idle.", &m.pool_idle_closed),
        ("nodecache_malformed_dropped_total", "Client messages that were not a parseable query.", &m.malformed_dropped),
        ("nodecache_truncated_total", "Responses truncated (TC) for the client's UDP size.", &m.truncated),
        ("nodecache_client_tcp_refused_total", "Client TCP connections refused at the connection limit.", &m.client_tcp_refused),
        ("nodecache_acl_refused_total", "Queries and TCP connections refused: client outside allow_from.", &m.acl_refused),
        ("nodecache_upstream_rejected_total", "Upstream datagrams ignored: wrong source, ID or question.", &m.upstream_rejected),
        ("nodecache_cache_admission_refused_total", "Answers not cached: the cache was full and their name was on its first ask (cache_admission second-ask).", &m.cache_admission_refused),
    ];
    for (name, help, counter) in counters {
        x.counter(name, help, &[], counter);
    }
    #[rustfmt::skip]
    let gauges: [(&str, &str, &Gauge); 4] = [
        ("nodecache_pool_connections", "Upstream TCP pool connections open now.", &m.pool_connections),
        ("nodecache_pool_queue_length", "Upstream TCP queries waiting for a connection now.", &m.pool_queue),
        ("nodecache_client_tcp_connections", "Client TCP connections open now.", &m.client_tcp_connections),
        ("nodecache_cache_bytes", "Bytes held by cached answers.", &m.cache_bytes),
    ];
    for (name, help, gauge) in gauges {
        x.gauge(name, help, &[], gauge);
    }
    let name = "nodecache_build_info";
    x.family(
        name,
        "gauge",
        "Always 1; the version label says which nodecache runs.",
    );
    x.sample(name, &[("version", env!("CARGO_PKG_VERSION"))], 1);
}
