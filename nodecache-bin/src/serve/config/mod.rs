//! The daemon's configuration: every `serve` flag, also accepted in a TOML file (`--config`),
//! merged (flags win over the file, the file over the defaults) and validated before anything
//! binds (SPEC §3: a bad value is one line naming it and exit 64, nothing bound).
//!
//! - `sources`: flags and the TOML schema, both reduced to text per setting;
//! - `values`: the parsers every value goes through (addresses, zones, durations, sizes);
//! - `build`: merging, the `.` default from resolv.conf, cross-setting checks;
//! - `describe`: the effective configuration as TOML (`serve --check`).
//!
//! [`ServeConfig::from_args`] reads the `--config` file and resolv.conf on every call, so
//! calling it again on SIGHUP picks up edits to either.

#[cfg(test)]
mod access_tests;
mod build;
mod describe;
mod error;
mod sources;
#[cfg(test)]
mod tests;
mod values;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::cli::ServeArgs;
use crate::serve::acl::Cidr;

pub(crate) use error::ConfigError;

/// One forwarding zone: queries for names at or below `zone` go to `servers`
/// (longest zone wins; `.` is the default zone).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ZoneUpstream {
    /// Lower-case, absolute, with the trailing dot (`.`, `cluster.local.`).
    pub(crate) zone: String,
    /// Tried in order with fast retransmit and failover.
    pub(crate) servers: Vec<SocketAddr>,
    /// Ask these servers over TCP only (CoreDNS `force_tcp`), through the bounded pool.
    pub(crate) force_tcp: bool,
}

/// Limits of the upstream TCP pool (SPEC §5), per upstream server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PoolConfig {
    /// Most open connections to one server.
    pub(crate) max_connections: usize,
    /// Most queries outstanding on one connection (RFC 7766 §6.2.1.1 pipelining).
    pub(crate) max_pipeline: usize,
    /// Most queries waiting for a connection slot; beyond it a query fails at once.
    pub(crate) max_queue: usize,
    /// A connection with nothing outstanding for this long is closed.
    pub(crate) idle_timeout: Duration,
}

/// Limits of client-side TCP (RFC 7766 §6.2.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ClientTcpConfig {
    /// Most client connections open at once (across all listen addresses).
    pub(crate) max_connections: usize,
    /// A client connection idle this long is closed.
    pub(crate) idle_timeout: Duration,
}

/// Cache behaviour.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CacheSettings {
    /// Most entries (positive and negative together).
    pub(crate) size: usize,
    /// Hard memory bound for stored answers, bytes.
    pub(crate) max_bytes: usize,
    /// Which answers a full cache stores.
    pub(crate) admission: Admission,
    /// TTL floor.
    pub(crate) min_ttl: Duration,
    /// Positive TTL ceiling.
    pub(crate) max_ttl: Duration,
    /// Negative TTL ceiling.
    pub(crate) max_negative_ttl: Duration,
    /// Serve expired entries when upstreams fail (RFC 8767).
    pub(crate) serve_stale: bool,
    /// The TTL written into answers served stale (RFC 8767 §4: "a TTL of 30 seconds is
    /// recommended").
    pub(crate) stale_ttl: Duration,
    /// How long past expiry an entry may still be served stale when the upstreams fail
    /// (RFC 8767 §5: "The maximum stale timer ... 1 to 3 days"): an outage of up to this
    /// long keeps every name asked before it answered.
    pub(crate) stale_max_age: Duration,
    /// Prefetch entries asked at least this many times during their TTL, when less than
    /// `prefetch_percent` of the TTL remains; 0 disables prefetch.
    pub(crate) prefetch_hits: u32,
    /// See `prefetch_hits`.
    pub(crate) prefetch_percent: u8,
}

/// Which answers a full cache stores (`cache_admission`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Admission {
    /// Once the cache is full, an answer that would push out a fresh entry is stored only
    /// on its name's second miss since the shard's doorkeeper was last cleared (resolver-core
    /// `Cache::admits_hashed`): one-off names (random subdomains, scans) leave the names
    /// asked all the time in place, and cost no store or eviction.
    SecondAsk,
    /// Every cacheable answer is stored, pushing out the least recently used entry.
    Always,
}

impl Admission {
    /// The setting's text.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Admission::SecondAsk => "second-ask",
            Admission::Always => "always",
        }
    }
}

/// Everything `nodecache serve` runs with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ServeConfig {
    /// DNS listen addresses (UDP and TCP on each).
    pub(crate) listen: Vec<SocketAddr>,
    /// Admin listener: `/metrics`, `/health`, `/ready`.
    pub(crate) metrics: SocketAddr,
    /// Client address ranges answered (see `serve::acl`).
    pub(crate) allow_from: Vec<Cidr>,
    /// Forwarding zones, any order (the forwarder picks the longest match).
    pub(crate) upstreams: Vec<ZoneUpstream>,
    /// Worker threads (default: one per core).
    pub(crate) workers: usize,
    /// Total time to get an answer for one uncached question before SERVFAIL (or stale).
    pub(crate) upstream_timeout: Duration,
    /// First retransmit to an upstream over UDP (then doubling, failing over).
    pub(crate) upstream_first_retransmit: Duration,
    /// Randomise the case of upstream query names and require the same case back
    /// (0x20, draft-vixie-dnsext-dns0x20), UDP only.
    pub(crate) upstream_0x20: bool,
    /// Upstream packet budget per second across all upstreams; `None` = unlimited.
    pub(crate) upstream_max_pps: Option<u32>,
    /// Upstream TCP pool limits.
    pub(crate) pool: PoolConfig,
    /// Client TCP limits.
    pub(crate) client_tcp: ClientTcpConfig,
    /// Cache behaviour.
    pub(crate) cache: CacheSettings,
    /// Create this dummy interface holding the listen IPs (node-cache `-setupinterface`).
    pub(crate) setup_interface: Option<String>,
    /// Install the NOTRACK/ACCEPT rules of NOTES for the listen IPs.
    pub(crate) setup_iptables: bool,
    /// Leave the interface and rules in place on exit.
    pub(crate) skip_teardown: bool,
    /// How often interface and rules are re-checked.
    pub(crate) sync_interval: Duration,
    /// On SIGTERM, how long in-flight queries may take before the process exits anyway.
    pub(crate) drain_timeout: Duration,
    /// The resolv.conf whose nameservers are the `.` zone's default upstreams.
    pub(crate) resolv_conf: PathBuf,
}

impl Default for ServeConfig {
    fn default() -> Self {
        ServeConfig {
            listen: vec![SocketAddr::from(([127, 0, 0, 1], 5353))],
            metrics: SocketAddr::from(([127, 0, 0, 1], 9253)),
            allow_from: crate::serve::acl::default_list(),
            upstreams: Vec::new(),
            workers: std::thread::available_parallelism().map_or(1, |n| n.get()),
            upstream_timeout: Duration::from_secs(2),
            upstream_first_retransmit: Duration::from_millis(50),
            upstream_0x20: false,
            upstream_max_pps: None,
            pool: PoolConfig {
                max_connections: 8,
                max_pipeline: 64,
                max_queue: 1024,
                idle_timeout: Duration::from_secs(10),
            },
            client_tcp: ClientTcpConfig {
                max_connections: 1024,
                idle_timeout: Duration::from_secs(10),
            },
            cache: CacheSettings {
                size: 10_000,
                max_bytes: 32 << 20,
                admission: Admission::SecondAsk,
                min_ttl: Duration::ZERO,
                max_ttl: Duration::from_secs(3600),
                max_negative_ttl: Duration::from_secs(300),
                serve_stale: true,
                stale_ttl: Duration::from_secs(30),
                stale_max_age: Duration::from_secs(24 * 3600),
                prefetch_hits: 5,
                prefetch_percent: 10,
            },
            setup_interface: None,
            setup_iptables: false,
            skip_teardown: false,
            sync_interval: Duration::from_secs(60),
            drain_timeout: Duration::from_secs(3),
            resolv_conf: PathBuf::from("/etc/resolv.conf"),
        }
    }
}

impl ServeConfig {
    /// The configuration from the command line, the `--config` file it names (read now) and,
    /// when no `--upstream` covers `.`, the nameservers of `--resolv-conf` (read now).
    pub(crate) fn from_args(args: &ServeArgs) -> Result<ServeConfig, ConfigError> {
        let flags = sources::RawLayer::from_flags(args);
        let file = match &args.config {
            Some(path) => Some((path.clone(), sources::RawLayer::from_file(path)?)),
            None => None,
        };
        build::build(flags, file)
    }

    /// True when `serve --check` was asked: validate, print [`ServeConfig::describe`], exit 0.
    pub(crate) fn check_requested(args: &ServeArgs) -> bool {
        args.check
    }

    /// The effective configuration, one `key = value` per line in the `--config` file's own
    /// syntax (it reads back to the same configuration).
    pub(crate) fn describe(&self) -> String {
        describe::describe(self)
    }
}
