//! Driving one uncached lookup: hosts file, search plan, questions through the question cache
//! and the transport.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::answer::{LookupAnswer, NegativeAnswer, Source};
use super::{Derived, Family, LookupOptions, Resolver};
use crate::cache::{CacheKey, CacheLookup};
use crate::config::{HostsSources, SystemConfig};
use crate::error::Error;
use crate::lookup::{FailureKind, Lookup, QueryOutcome, QueryTypes, Step};
use crate::stats::Stats;
use crate::transport::LookupSockets;
use crate::wire::{self, rcode, rtype};

/// One question of a lookup, as `nodecache resolve` and the shim's log show it.
#[derive(Debug)]
pub struct QueryEvent<'a> {
    /// Absolute name asked (no trailing dot).
    pub name: &'a str,
    /// Record type asked.
    pub qtype: u16,
    /// What came back.
    pub outcome: &'a QueryOutcome,
    /// Answered by the question cache; nothing was sent.
    pub from_cache: bool,
    /// The nameserver that answered.
    pub server: Option<SocketAddr>,
    /// The answer came over TCP.
    pub over_tcp: bool,
    /// Packets sent for this question (retransmits included).
    pub queries_sent: u32,
    /// Time spent on this question.
    pub elapsed: Duration,
}

/// TTL given to answers from the hosts file: the file is re-checked every second anyway, and a
/// change flushes the caches.
const HOSTS_TTL: Duration = Duration::from_secs(60);

pub(super) fn resolve(
    resolver: &Resolver,
    config: &SystemConfig,
    derived: &Derived,
    host: &str,
    options: LookupOptions,
    on_event: &mut dyn FnMut(&QueryEvent<'_>),
    sockets: &mut LookupSockets<'_>,
) -> Result<Arc<LookupAnswer>, Error> {
    let (files, dns, files_first) = match &config.nsswitch.sources {
        HostsSources::Serve {
            files,
            dns,
            files_first,
        } => (*files, *dns, *files_first),
        HostsSources::NotMine { what } => return Err(Error::UnsupportedSource(what.clone())),
    };
    if files
        && (files_first || !dns)
        && let Some(answer) = from_hosts(resolver, config, host, options.family)
    {
        return Ok(Arc::new(answer));
    }
    let result = if dns {
        from_dns(resolver, config, derived, host, options, on_event, sockets)
    } else {
        Err(Error::NxDomain)
    };
    // `dns [!UNAVAIL=return] files` (glibc's built-in default before 2.33): the hosts file only
    // when DNS could not be used at all — no nameserver, or sockets failing — never after a
    // negative answer or a timeout (those are NOTFOUND / TRYAGAIN, which return).
    let dns_unavailable = matches!(result, Err(Error::NoNameservers | Error::Io { .. }));
    if files
        && dns
        && !files_first
        && dns_unavailable
        && let Some(answer) = from_hosts(resolver, config, host, options.family)
    {
        return Ok(Arc::new(answer));
    }
    result
}

fn from_hosts(
    resolver: &Resolver,
    config: &SystemConfig,
    host: &str,
    family: Family,
) -> Option<LookupAnswer> {
    // glibc's files backend answers per family (an AF_INET lookup reads `::1` as 127.0.0.1).
    let entry = match family {
        Family::Unspec => config.hosts.lookup(host),
        Family::Inet => config.hosts.lookup_inet(host),
        Family::Inet6 => config.hosts.lookup_inet6(host),
    }?;
    if entry.addrs.is_empty() {
        return None;
    }
    Stats::add(&resolver.stats.hosts_hits, 1);
    // A scanned entry (the file's first lookup) is moved, an indexed one copied.
    let entry = entry.into_owned();
    Some(LookupAnswer::positive(
        entry.addrs,
        entry.canonical,
        Source::Hosts,
        HOSTS_TTL,
    ))
}

/// The record types to ask: glibc's rules for the family, `AI_ADDRCONFIG` and `no-aaaa`.
fn query_types(resolver: &Resolver, config: &SystemConfig, options: LookupOptions) -> QueryTypes {
    let (has_v4, has_v6) = if options.addrconfig {
        let seen = resolver.addrconfig.current();
        (seen.ipv4, seen.ipv6)
    } else {
        (true, true)
    };
    let no_aaaa = config.resolv.no_aaaa;
    match options.family {
        Family::Unspec => QueryTypes {
            a: has_v4,
            aaaa: has_v6 && !no_aaaa,
        },
        Family::Inet => QueryTypes {
            a: true,
            aaaa: false,
        },
        Family::Inet6 => QueryTypes {
            a: false,
            aaaa: !no_aaaa,
        },
    }
}

fn from_dns(
    resolver: &Resolver,
    config: &SystemConfig,
    derived: &Derived,
    host: &str,
    options: LookupOptions,
    on_event: &mut dyn FnMut(&QueryEvent<'_>),
    sockets: &mut LookupSockets<'_>,
) -> Result<Arc<LookupAnswer>, Error> {
    let plan = derived.policy.plan(host)?;
    let mut lookup = Lookup::new(plan, query_types(resolver, config, options));
    // The whole answer lives as long as the shortest-lived answer that decided it, negative
    // ones included: a Service created under an earlier search candidate must win once the
    // NXDOMAIN for that candidate expires.
    let mut ttl = Duration::MAX;
    loop {
        let (name, qtype) = match lookup.next_step() {
            Step::Ask { name, qtype } => (name.to_owned(), qtype),
            Step::Done(Ok(found)) => {
                let answer =
                    LookupAnswer::positive(found.addrs, found.canonical_name, Source::Dns, ttl);
                return Ok(Arc::new(answer));
            }
            Step::Done(Err(error)) => {
                let negative = match &error {
                    Error::NxDomain => NegativeAnswer::NxDomain,
                    Error::NoData => NegativeAnswer::NoData,
                    Error::NoRecovery => NegativeAnswer::NoRecovery,
                    _ => return Err(error),
                };
                return Ok(Arc::new(LookupAnswer::negative(negative, ttl)));
            }
        };
        let (outcome, outcome_ttl) = ask(resolver, derived, sockets, &name, qtype, on_event);
        ttl = ttl.min(outcome_ttl);
        lookup.record(Arc::unwrap_or_clone(outcome));
    }
}

/// One question: from the question cache, else over the wire (and then cached).
fn ask(
    resolver: &Resolver,
    derived: &Derived,
    sockets: &mut LookupSockets<'_>,
    name: &str,
    qtype: u16,
    on_event: &mut dyn FnMut(&QueryEvent<'_>),
) -> (Arc<QueryOutcome>, Duration) {
    let started = Instant::now();
    let key = CacheKey::new(qtype, name);
    if let (Some(cache), Some(key)) = (&resolver.questions, &key)
        && let CacheLookup::Fresh { value, remaining } = cache.get(key, started)
    {
        on_event(&QueryEvent {
            name,
            qtype,
            outcome: &value,
            from_cache: true,
            server: None,
            over_tcp: false,
            queries_sent: 0,
            elapsed: started.elapsed(),
        });
        return (value, remaining);
    }
    let exchange = resolver
        .transport
        .exchange_in(sockets, name, qtype, &derived.transport);
    let (outcome, ttl, server, over_tcp, sent) = match exchange {
        Ok(exchange) => {
            Stats::add(
                &resolver.stats.queries_sent,
                u64::from(exchange.queries_sent),
            );
            Stats::add(&resolver.stats.retransmits, u64::from(exchange.retransmits));
            Stats::add(
                &resolver.stats.tcp_fallbacks,
                u64::from(exchange.tcp_fallback),
            );
            let (outcome, ttl) = interpret(&exchange.response, name, qtype);
            (
                outcome,
                ttl,
                Some(exchange.server),
                exchange.over_tcp,
                exchange.queries_sent,
            )
        }
        Err(error) => {
            let kind = if let Error::Timeout(budget) = error {
                FailureKind::Timeout(budget)
            } else {
                FailureKind::Network
            };
            (QueryOutcome::Failed(kind), Duration::ZERO, None, false, 0)
        }
    };
    let outcome = Arc::new(outcome);
    let negative = !matches!(*outcome, QueryOutcome::Answer { .. });
    let cacheable = matches!(
        *outcome,
        QueryOutcome::Answer { .. } | QueryOutcome::NoData | QueryOutcome::NxDomain
    );
    if let (Some(cache), Some(key), true) = (&resolver.questions, &key, cacheable) {
        cache.insert(key, outcome.clone(), ttl, negative, started);
    }
    on_event(&QueryEvent {
        name,
        qtype,
        outcome: &outcome,
        from_cache: false,
        server,
        over_tcp,
        queries_sent: sent,
        elapsed: started.elapsed(),
    });
    // Failures are not cached and must not stretch the answer's life either.
    let ttl = if cacheable { ttl } else { Duration::ZERO };
    (outcome, ttl)
}

/// Reads a validated response into a search outcome and its TTL.
pub(crate) fn interpret(response: &[u8], name: &str, qtype: u16) -> (QueryOutcome, Duration) {
    let header = match wire::Header::parse(response) {
        Ok(header) => header,
        Err(_) => return (QueryOutcome::Failed(FailureKind::Network), Duration::ZERO),
    };
    let parsed = match header.rcode() {
        rcode::NOERROR | rcode::NXDOMAIN => wire::parse_address_answer(response, name, qtype),
        rcode::SERVFAIL => return (QueryOutcome::ServFail, Duration::ZERO),
        other => {
            return (
                QueryOutcome::Failed(FailureKind::Rcode(other)),
                Duration::ZERO,
            );
        }
    };
    let Ok(parsed) = parsed else {
        return (QueryOutcome::Failed(FailureKind::Network), Duration::ZERO);
    };
    let ttl = Duration::from_secs(u64::from(parsed.ttl));
    let outcome = if header.rcode() == rcode::NXDOMAIN {
        QueryOutcome::NxDomain
    } else if header.ancount > 0 {
        QueryOutcome::Answer {
            addrs: parsed.addrs,
            canonical_name: parsed.canonical_name,
        }
    } else {
        QueryOutcome::NoData
    };
    debug_assert!(qtype == rtype::A || qtype == rtype::AAAA);
    (outcome, ttl)
}
