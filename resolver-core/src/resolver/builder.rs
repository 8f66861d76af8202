//! Building a [`Resolver`] with non-default settings.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use parking_lot::Mutex;

use crate::addrconfig::AddrConfig;
use crate::cache::{Cache, CacheConfig};
use crate::config::{ConfigPaths, WatchedConfig};
use crate::policy::SearchMode;
use crate::resolver::Resolver;
use crate::stats::Stats;
use crate::transport::{SystemTransport, Transport};

/// Settings for a [`Resolver`].
#[derive(Debug)]
pub struct ResolverBuilder {
    paths: ConfigPaths,
    cache: Option<CacheConfig>,
    search_mode: Option<SearchMode>,
    transport: Option<Arc<dyn Transport>>,
}

impl Default for ResolverBuilder {
    fn default() -> Self {
        ResolverBuilder::new()
    }
}

/// Cache limits for a stub resolver inside one process. Positive answers are kept for their
/// TTL up to 5 minutes; negative ones at most 30 s, so a Service created after a failed lookup
/// becomes visible quickly even when the zone's SOA minimum is long.
fn stub_cache_config() -> CacheConfig {
    CacheConfig {
        capacity: 4096,
        shards: 16,
        min_ttl: Duration::ZERO,
        max_ttl: Duration::from_secs(300),
        max_negative_ttl: Duration::from_secs(30),
        stale_window: Duration::ZERO,
    }
}

impl ResolverBuilder {
    /// System files, cache on, search mode detected from resolv.conf. Reads no
    /// `NODECACHE_*` variable (see [`ResolverBuilder::from_env`]).
    pub fn new() -> Self {
        ResolverBuilder {
            paths: ConfigPaths::default(),
            cache: Some(stub_cache_config()),
            search_mode: None,
            transport: None,
        }
    }

    /// Like [`ResolverBuilder::new`], then applies `NODECACHE_CACHE=off` and
    /// `NODECACHE_SEARCH=kubernetes|glibc` (SPEC §3). Unknown values are ignored.
    pub fn from_env() -> Self {
        let mut builder = ResolverBuilder::new();
        if std::env::var_os("NODECACHE_CACHE").is_some_and(|v| v == "off" || v == "0") {
            builder = builder.cache(false);
        }
        if let Some(mode) = std::env::var("NODECACHE_SEARCH")
            .ok()
            .and_then(|v| parse_search_mode(&v))
        {
            builder = builder.search_mode(mode);
        }
        builder
    }

    /// Reads resolv.conf from `path` instead of `/etc/resolv.conf`.
    pub fn resolv_conf(mut self, path: impl Into<PathBuf>) -> Self {
        self.paths.resolv_conf = path.into();
        self
    }

    /// Reads the hosts file from `path`.
    pub fn hosts(mut self, path: impl Into<PathBuf>) -> Self {
        self.paths.hosts = path.into();
        self
    }

    /// Reads nsswitch.conf from `path`.
    pub fn nsswitch(mut self, path: impl Into<PathBuf>) -> Self {
        self.paths.nsswitch = path.into();
        self
    }

    /// Turns the cache on (the default) or off.
    pub fn cache(mut self, enabled: bool) -> Self {
        self.cache = enabled.then(stub_cache_config);
        self
    }

    /// Sets the cache limits (turning it on).
    pub fn cache_config(mut self, config: CacheConfig) -> Self {
        self.cache = Some(config);
        self
    }

    /// Forces a search mode instead of detecting it.
    pub fn search_mode(mut self, mode: SearchMode) -> Self {
        self.search_mode = Some(mode);
        self
    }

    /// Uses another transport (tests use scripted ones).
    pub fn transport(mut self, transport: Arc<dyn Transport>) -> Self {
        self.transport = Some(transport);
        self
    }

    /// Loads the configuration and builds the resolver. Missing files are treated as glibc
    /// treats them (empty), so this cannot fail.
    pub fn build(self) -> Resolver {
        Resolver {
            config: WatchedConfig::load(self.paths),
            search_mode: self.search_mode,
            transport: self
                .transport
                .unwrap_or_else(|| Arc::new(SystemTransport::new())),
            results: self.cache.clone().map(Cache::new),
            questions: self.cache.map(Cache::new),
            derived: Mutex::new(None),
            seen_generation: AtomicU64::new(0),
            addrconfig: AddrConfig::new(),
            stats: Stats::default(),
        }
    }
}

/// Parses a search mode name (`kubernetes` or `glibc`, case-insensitive).
pub fn parse_search_mode(text: &str) -> Option<SearchMode> {
    match text.trim().to_ascii_lowercase().as_str() {
        "kubernetes" | "k8s" => Some(SearchMode::Kubernetes),
        "glibc" => Some(SearchMode::Glibc),
        _ => None,
    }
}
