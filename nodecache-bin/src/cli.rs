//! The command line (SPEC §3).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use resolver_core::Family;
use resolver_core::policy::SearchMode;

/// Exit code for a bad command line or configuration (sysexits.h `EX_USAGE`).
pub(crate) const EXIT_USAGE: u8 = 64;

/// Kubernetes-aware DNS: node-local cache daemon and resolver diagnostics.
#[derive(Debug, Parser)]
#[command(name = "nodecache", version, about)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Resolve a name as the shim would (same core, same policy, cold cache): addresses on
    /// stdout, the queries sent on stderr.
    Resolve(ResolveArgs),
    /// Show, without sending anything, the queries glibc would send and the ones nodecache sends.
    Explain(ExplainArgs),
    /// Run the node-local caching daemon (boxed: it has many more fields than the others).
    Serve(Box<ServeArgs>),
}

/// Where the resolver configuration comes from.
#[derive(Debug, Args)]
pub(crate) struct ConfigArgs {
    /// resolv.conf to use.
    #[arg(long, value_name = "FILE", default_value = "/etc/resolv.conf")]
    pub(crate) resolv_conf: PathBuf,
    /// hosts file to use.
    #[arg(long, value_name = "FILE", default_value = "/etc/hosts")]
    pub(crate) hosts: PathBuf,
    /// nsswitch.conf to use.
    #[arg(long, value_name = "FILE", default_value = "/etc/nsswitch.conf")]
    pub(crate) nsswitch: PathBuf,
    /// Search policy; default: `kubernetes` when the search list looks like a pod's, else
    /// `glibc` (also set by NODECACHE_SEARCH).
    #[arg(long, value_enum, value_name = "MODE")]
    pub(crate) search: Option<SearchArg>,
}

#[derive(Debug, Args)]
pub(crate) struct ResolveArgs {
    /// The name, as a program would pass it to getaddrinfo.
    pub(crate) name: String,
    #[command(flatten)]
    pub(crate) config: ConfigArgs,
    /// Address family, as getaddrinfo's ai_family.
    #[arg(long, value_enum, default_value_t = FamilyArg::Unspec)]
    pub(crate) family: FamilyArg,
    /// Resolve N times, each with a cold cache, and end stderr with a latency summary line.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub(crate) repeat: u32,
}

#[derive(Debug, Args)]
pub(crate) struct ExplainArgs {
    /// The name, as a program would pass it to getaddrinfo.
    pub(crate) name: String,
    #[command(flatten)]
    pub(crate) config: ConfigArgs,
}

/// `nodecache serve`. Every value is taken as text and parsed by `serve::config`, so a bad
/// value gives the same one-line error (naming the flag) whether it came from here or from the
/// `--config` file, whose keys are the flag names with `_` for `-` (`--cache-size` ↔
/// `cache_size`). A flag given here wins over the file; the file wins over the default.
#[derive(Debug, Default, Args)]
pub(crate) struct ServeArgs {
    /// TOML configuration file (keys as the flags, `-` written `_`; zones as `[[upstream]]`
    /// tables with `zone`, `servers`, `force_tcp`).
    #[arg(long, value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,
    /// Parse and validate everything, print the effective configuration as TOML and exit
    /// (0, or 64 with the error); nothing is bound.
    #[arg(long)]
    pub(crate) check: bool,
    /// DNS listen address, UDP and TCP (repeatable) [default: 127.0.0.1:5353].
    #[arg(long, value_name = "ADDR:PORT")]
    pub(crate) listen: Vec<String>,
    /// Forward queries at or below ZONE to these servers, tried in order (repeatable; port
    /// default 53; IPv6 as `[::1]:53`). Zone `.` defaults to the nameservers of --resolv-conf.
    #[arg(long, value_name = "ZONE=ADDR[:PORT][,ADDR[:PORT]...]")]
    pub(crate) upstream: Vec<String>,
    /// Ask this zone's servers over TCP only, through the bounded pool (repeatable).
    #[arg(long, value_name = "ZONE")]
    pub(crate) force_tcp: Vec<String>,
    /// Admin listener for /metrics, /health and /ready [default: 127.0.0.1:9253].
    #[arg(long, value_name = "ADDR:PORT")]
    pub(crate) metrics: Option<String>,
    /// Most cached entries, positive and negative together [default: 10000].
    #[arg(long, value_name = "N")]
    pub(crate) cache_size: Option<String>,
    /// Memory bound for cached answers: bytes, or with a unit (`64M`, `32MiB`) [default: 32MiB].
    #[arg(long, value_name = "SIZE")]
    pub(crate) cache_max_bytes: Option<String>,
    /// Which answers a full cache stores: `second-ask` stores a name's answer in place of a
    /// fresh entry only on its second miss within about one cache-full of new names (names
    /// asked once cannot push out names asked all the time); `always` stores every answer,
    /// pushing out the least recently used entry (plain LRU) [default: second-ask].
    #[arg(long, value_name = "second-ask|always")]
    pub(crate) cache_admission: Option<String>,
    /// TTL floor for cached answers (`500ms`, `2s`, `5m`, `1h` or seconds) [default: 0s].
    #[arg(long, value_name = "DURATION")]
    pub(crate) min_ttl: Option<String>,
    /// TTL ceiling for positive answers [default: 1h].
    #[arg(long, value_name = "DURATION")]
    pub(crate) max_ttl: Option<String>,
    /// TTL ceiling for negative answers (RFC 2308) [default: 5m].
    #[arg(long, value_name = "DURATION")]
    pub(crate) max_negative_ttl: Option<String>,
    /// Answer from expired entries when upstreams fail (RFC 8767) [default: true].
    #[arg(long, value_name = "true|false")]
    pub(crate) serve_stale: Option<String>,
    /// TTL written into answers served stale (RFC 8767 §4 recommends 30 s) [default: 30s].
    #[arg(long, value_name = "DURATION")]
    pub(crate) stale_ttl: Option<String>,
    /// How long past expiry an entry may still be served stale when upstreams fail
    /// (RFC 8767 §5 suggests 1–3 days) [default: 1d].
    #[arg(long, value_name = "DURATION")]
    pub(crate) stale_max_age: Option<String>,
    /// Prefetch entries asked this many times during their TTL; 0 disables [default: 5].
    #[arg(long, value_name = "N")]
    pub(crate) prefetch_hits: Option<String>,
    /// Prefetch when less than this percentage of the TTL remains, 0–100 [default: 10].
    #[arg(long, value_name = "PERCENT")]
    pub(crate) prefetch_percent: Option<String>,
    /// Time to get an upstream answer before SERVFAIL (or a stale answer) [default: 2s].
    #[arg(long, value_name = "DURATION")]
    pub(crate) upstream_timeout: Option<String>,
    /// First UDP retransmit to an upstream, then doubling with failover [default: 50ms].
    #[arg(long, value_name = "DURATION")]
    pub(crate) upstream_first_retransmit: Option<String>,
    /// Upstream packet budget per second, all upstreams together; 0 = unlimited
    /// [default: 0].
    #[arg(long, value_name = "N")]
    pub(crate) upstream_max_pps: Option<String>,
    /// Randomise the case of upstream query names and require it back in answers
    /// (draft-vixie-dnsext-dns0x20: more bits against spoofed answers) [default: false].
    #[arg(long, value_name = "true|false")]
    pub(crate) upstream_0x20: Option<String>,
    /// Client address ranges answered (repeatable, comma-separated; `default` stands for
    /// loopback, link-local and the private ranges); others get REFUSED (UDP) or a closed
    /// connection (TCP) [default: default].
    #[arg(long, value_name = "CIDR[,CIDR...]")]
    pub(crate) allow_from: Vec<String>,
    /// Upstream TCP pool: most connections per server [default: 8].
    #[arg(long, value_name = "N")]
    pub(crate) pool_max_connections: Option<String>,
    /// Upstream TCP pool: most queries outstanding per connection [default: 64].
    #[arg(long, value_name = "N")]
    pub(crate) pool_max_pipeline: Option<String>,
    /// Upstream TCP pool: most queries waiting for a connection [default: 1024].
    #[arg(long, value_name = "N")]
    pub(crate) pool_max_queue: Option<String>,
    /// Upstream TCP pool: close a connection idle this long [default: 10s].
    #[arg(long, value_name = "DURATION")]
    pub(crate) pool_idle_timeout: Option<String>,
    /// Client TCP: most connections open at once [default: 1024].
    #[arg(long, value_name = "N")]
    pub(crate) tcp_max_connections: Option<String>,
    /// Client TCP: close a connection idle this long [default: 10s].
    #[arg(long, value_name = "DURATION")]
    pub(crate) tcp_idle_timeout: Option<String>,
    /// Worker threads (UDP serving threads, and the TCP runtime's), 1–1024 [default: one per core].
    #[arg(long, value_name = "N")]
    pub(crate) workers: Option<String>,
    /// Create this dummy interface holding the listen IPs (node-cache `-setupinterface`).
    #[arg(long, value_name = "NAME")]
    pub(crate) setup_interface: Option<String>,
    /// Install iptables NOTRACK/ACCEPT rules for the listen IPs.
    #[arg(long)]
    pub(crate) setup_iptables: bool,
    /// Leave the interface and rules in place on exit.
    #[arg(long)]
    pub(crate) skip_teardown: bool,
    /// How often the interface and rules are re-checked [default: 60s].
    #[arg(long, value_name = "DURATION")]
    pub(crate) sync_interval: Option<String>,
    /// On SIGTERM, how long in-flight queries may take before exiting anyway [default: 3s].
    #[arg(long, value_name = "DURATION")]
    pub(crate) drain_timeout: Option<String>,
    /// resolv.conf whose nameservers are the `.` zone's default upstreams
    /// [default: /etc/resolv.conf].
    #[arg(long, value_name = "FILE")]
    pub(crate) resolv_conf: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum FamilyArg {
    /// IPv4 and IPv6 (AF_UNSPEC).
    Unspec,
    /// IPv4 only (AF_INET).
    Inet,
    /// IPv6 only (AF_INET6).
    Inet6,
}

impl From<FamilyArg> for Family {
    fn from(arg: FamilyArg) -> Family {
        match arg {
            FamilyArg::Unspec => Family::Unspec,
            FamilyArg::Inet => Family::Inet,
            FamilyArg::Inet6 => Family::Inet6,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum SearchArg {
    /// glibc's search sequence pruned by the Kubernetes DNS schema.
    Kubernetes,
    /// glibc's exact search sequence.
    Glibc,
}

impl From<SearchArg> for SearchMode {
    fn from(arg: SearchArg) -> SearchMode {
        match arg {
            SearchArg::Kubernetes => SearchMode::Kubernetes,
            SearchArg::Glibc => SearchMode::Glibc,
        }
    }
}

impl ConfigArgs {
    /// A resolver builder reading these files, honouring NODECACHE_SEARCH unless `--search`.
    pub(crate) fn builder(&self) -> resolver_core::resolver::ResolverBuilder {
        let mut builder = resolver_core::resolver::ResolverBuilder::from_env()
            .resolv_conf(&self.resolv_conf)
            .hosts(&self.hosts)
            .nsswitch(&self.nsswitch);
        if let Some(mode) = self.search {
            builder = builder.search_mode(mode.into());
        }
        builder
    }
}
