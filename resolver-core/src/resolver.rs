//! The public blocking API: [`Resolver`].
//!
//! ```no_run
//! use resolver_core::Resolver;
//! let resolver = Resolver::from_system();
//! for addr in resolver.lookup_socket_addrs("web.default", 8080)? {
//!     println!("{addr}");
//! }
//! # Ok::<(), resolver_core::Error>(())
//! ```
//!
//! One call goes: numeric host → hosts file (when nsswitch puts `files` first) → whole-lookup
//! cache → search plan → per question: question cache, else the transport. Results of whole
//! lookups are cached for the shortest TTL that went into them, so a warm lookup is one hash
//! probe (SPEC §4: "cheap on a hit (sub-µs)").

mod answer;
mod builder;
mod engine;

pub use crate::config::inet_aton_exact;
pub use answer::{LookupAnswer, Source, parse_ipv6};
pub use builder::{ResolverBuilder, parse_search_mode};
pub use engine::QueryEvent;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use parking_lot::Mutex;

use crate::addrconfig::AddrConfig;
use crate::cache::{Cache, CacheKey, CacheLookup};
use crate::config::{SystemConfig, WatchedConfig};
use crate::error::Error;
use crate::lookup::QueryOutcome;
use crate::policy::{SearchMode, SearchPolicy};
use crate::stats::{Stats, StatsSnapshot};
use crate::transport::{LookupSockets, Transport, TransportConfig};

/// Address family asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    /// IPv4 and IPv6 (`AF_UNSPEC`).
    Unspec,
    /// IPv4 only (`AF_INET`).
    Inet,
    /// IPv6 only (`AF_INET6`).
    Inet6,
}

/// Options of one lookup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LookupOptions {
    /// Families wanted.
    pub family: Family,
    /// `AI_ADDRCONFIG`: ask A only when the host has a non-loopback IPv4 address, AAAA only
    /// when it has a non-loopback IPv6 address (glibc's `__check_pf`).
    pub addrconfig: bool,
}

impl Default for LookupOptions {
    /// `AF_UNSPEC` with `AI_ADDRCONFIG`: what glibc does for `hints == NULL` and what
    /// `getent ahosts` asks.
    fn default() -> Self {
        LookupOptions {
            family: Family::Unspec,
            addrconfig: true,
        }
    }
}

impl LookupOptions {
    /// The 16-bit tag under which results of these options are cached for `host`. The cache
    /// key drops a trailing dot, but `api.` (absolute) and `api` (searched) are different
    /// lookups, so absoluteness is part of the tag.
    fn cache_tag(&self, host: &str) -> u16 {
        let absolute = u16::from(crate::name::is_absolute(host)) << 3;
        let family = match self.family {
            Family::Unspec => 0,
            Family::Inet => 1,
            Family::Inet6 => 2,
        };
        0x8000 | family | (u16::from(self.addrconfig) << 2) | absolute
    }
}

/// Derived state that depends on one configuration generation.
#[derive(Debug)]
struct Derived {
    generation: u64,
    policy: Arc<SearchPolicy>,
    transport: Arc<TransportConfig>,
}

/// A stub resolver with a cache. Cheap to share: wrap it in an `Arc` and use it from any thread.
#[derive(Debug)]
pub struct Resolver {
    config: WatchedConfig,
    search_mode: Option<SearchMode>,
    transport: Arc<dyn Transport>,
    /// Whole lookups: (options, name as given) → answer.
    results: Option<Cache<Arc<LookupAnswer>>>,
    /// Single questions: (qtype, absolute name) → outcome. Shared by lookups, so the NXDOMAIN
    /// of `x.default.svc.cluster.local` is asked once for every name that tries it.
    questions: Option<Cache<Arc<QueryOutcome>>>,
    derived: Mutex<Option<Arc<Derived>>>,
    seen_generation: AtomicU64,
    addrconfig: AddrConfig,
    stats: Stats,
}

impl Resolver {
    /// A resolver configured from `/etc/resolv.conf`, `/etc/hosts`, `/etc/nsswitch.conf` and
    /// the environment (`LOCALDOMAIN`, `RES_OPTIONS`, `NODECACHE_SEARCH`), with the cache on.
    pub fn from_system() -> Self {
        ResolverBuilder::new().build()
    }

    /// A builder for non-default settings (other files, cache off, another transport).
    pub fn builder() -> ResolverBuilder {
        ResolverBuilder::new()
    }

    /// Looks up every address of `host` (AF_UNSPEC, AI_ADDRCONFIG).
    pub fn lookup_ip(&self, host: &str) -> Result<Arc<LookupAnswer>, Error> {
        self.lookup(host, LookupOptions::default())
    }

    /// Looks up `host` and pairs every address with `port`, ready for `TcpStream::connect`.
    pub fn lookup_socket_addrs(&self, host: &str, port: u16) -> Result<Vec<SocketAddr>, Error> {
        let answer = self.lookup_ip(host)?;
        Ok(answer
            .addrs
            .iter()
            .map(|&ip| SocketAddr::new(ip, port))
            .collect())
    }

    /// Looks `host` up with the given options.
    pub fn lookup(&self, host: &str, options: LookupOptions) -> Result<Arc<LookupAnswer>, Error> {
        self.lookup_with_events(host, options, &mut |_| {})
    }

    /// Like [`Resolver::lookup`], reporting every question asked (from the cache or the wire)
    /// to `on_event`, for `nodecache resolve` and the shim's debug log.
    pub fn lookup_with_events(
        &self,
        host: &str,
        options: LookupOptions,
        on_event: &mut dyn FnMut(&QueryEvent<'_>),
    ) -> Result<Arc<LookupAnswer>, Error> {
        self.lookup_with_sockets(host, options, on_event, LookupSockets::new())
    }

    /// [`Resolver::lookup_with_events`], running `work` once while the lookup's first
    /// question is out (after its first datagram is sent, before its answer is read): work
    /// the caller expects to do after the lookup, hidden in the nameserver's round trip
    /// instead of added to it ([`LookupSockets::with_work_while_waiting`]). Not run when no
    /// question goes out (an answer from the caches or the hosts file).
    pub fn lookup_overlapping(
        &self,
        host: &str,
        options: LookupOptions,
        on_event: &mut dyn FnMut(&QueryEvent<'_>),
        work: &mut dyn FnMut(),
    ) -> Result<Arc<LookupAnswer>, Error> {
        let sockets = LookupSockets::with_work_while_waiting(work);
        self.lookup_with_sockets(host, options, on_event, sockets)
    }

    /// The lookup behind both: `sockets` (one UDP socket and ID pool for all the questions
    /// of this lookup) is closed when it ends.
    fn lookup_with_sockets(
        &self,
        host: &str,
        options: LookupOptions,
        on_event: &mut dyn FnMut(&QueryEvent<'_>),
        mut sockets: LookupSockets<'_>,
    ) -> Result<Arc<LookupAnswer>, Error> {
        Stats::add(&self.stats.lookups, 1);
        if let Some(answer) = answer::numeric(host, options.family) {
            return answer.map(Arc::new);
        }
        let config = self.config.current();
        self.forget_if_reloaded(&config);
        let now = Instant::now();
        let key = CacheKey::new(options.cache_tag(host), host);
        if let (Some(cache), Some(key)) = (&self.results, &key)
            && let CacheLookup::Fresh { value, .. } = cache.get(key, now)
        {
            Stats::add(&self.stats.cache_hits, 1);
            return value.into_result();
        }
        Stats::add(&self.stats.cache_misses, 1);
        let derived = self.derived(&config);
        let answer = engine::resolve(
            self,
            &config,
            &derived,
            host,
            options,
            on_event,
            &mut sockets,
        );
        if let (Some(cache), Some(key), Ok(answer)) = (&self.results, &key, &answer) {
            cache.insert(key, answer.clone(), answer.ttl, answer.is_negative(), now);
        }
        answer?.into_result()
    }

    /// Counters of what this resolver did.
    pub fn stats(&self) -> StatsSnapshot {
        self.stats.snapshot()
    }

    /// Drops every cached answer.
    pub fn flush_cache(&self) {
        if let Some(cache) = &self.results {
            cache.clear();
        }
        if let Some(cache) = &self.questions {
            cache.clear();
        }
    }

    /// The search policy for the current configuration (for `nodecache explain`).
    pub fn policy(&self) -> Arc<SearchPolicy> {
        let config = self.config.current();
        self.derived(&config).policy.clone()
    }

    /// Re-reads the configuration files now instead of at the next once-a-second check (for
    /// SIGHUP in the daemon, and tests). A change flushes the caches on the next lookup.
    pub fn reload_config(&self) -> Arc<SystemConfig> {
        self.config.refresh_now()
    }

    /// The configuration in force.
    pub fn system_config(&self) -> Arc<SystemConfig> {
        self.config.current()
    }

    /// A changed configuration invalidates every cached answer: the search list, hosts file
    /// or nameservers that produced them are gone.
    fn forget_if_reloaded(&self, config: &SystemConfig) {
        // A plain load first: the warm path must not write a cache line every thread shares.
        let seen = &self.seen_generation;
        if seen.load(Ordering::Relaxed) != config.generation
            && seen.swap(config.generation, Ordering::Relaxed) != config.generation
        {
            self.flush_cache();
        }
    }

    fn derived(&self, config: &SystemConfig) -> Arc<Derived> {
        let mut slot = self.derived.lock();
        if let Some(derived) = slot.as_ref().filter(|d| d.generation == config.generation) {
            return derived.clone();
        }
        let derived = Arc::new(Derived {
            generation: config.generation,
            policy: Arc::new(SearchPolicy::new(&config.resolv, self.search_mode)),
            transport: Arc::new(TransportConfig::from_resolv_conf(&config.resolv)),
        });
        *slot = Some(derived.clone());
        derived
    }
}

impl LookupAnswer {
    /// Turns a cached negative answer back into its error.
    fn into_result(self: Arc<Self>) -> Result<Arc<LookupAnswer>, Error> {
        match self.negative {
            None => Ok(self),
            Some(negative) => Err(negative.into_error()),
        }
    }
}

#[cfg(test)]
mod tests;
