//! Where the addresses of one getaddrinfo call come from: the NULL node, numeric hosts, or
//! the resolver per family (glibc's NSS loop), then glibc's sort and the service expansion.

use std::ffi::{CStr, c_int};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV6};
use std::sync::Arc;

use libc::{AF_INET, AF_INET6, AF_UNSPEC};
use resolver_core::resolver::{LookupAnswer, QueryEvent, inet_aton_exact};
use resolver_core::{Family, LookupOptions};

use super::Decision;
use super::buffers::CallBuffers;
use crate::addrinfo::Entry;
use crate::consts::*;
use crate::errors::{Failure, classify, eai_code, eai_code_inet_shortcut};
use crate::log::shim_log;
use crate::order::sorted_order;
use crate::service::ServTuple;
use crate::state::ShimState;

/// glibc `get_local_addresses`: IPv6 then IPv4, the wildcard with `AI_PASSIVE`, else loopback.
pub(super) fn local_addresses(family: c_int, flags: c_int, out: &mut CallBuffers) {
    let passive = flags & AI_PASSIVE != 0;
    let v6 = IpAddr::V6(if passive {
        Ipv6Addr::UNSPECIFIED
    } else {
        Ipv6Addr::LOCALHOST
    });
    let v4 = IpAddr::V4(if passive {
        Ipv4Addr::UNSPECIFIED
    } else {
        Ipv4Addr::LOCALHOST
    });
    match family {
        AF_INET => out.addrs.push((v4, 0)),
        AF_INET6 => out.addrs.push((v6, 0)),
        _ => out.addrs.extend([(v6, 0), (v4, 0)]),
    }
}

/// glibc `text_to_binary_address`: `Serve(true)` for a numeric host (its address now in
/// `out`), `Serve(false)` for a name.
pub(super) fn numeric_host(
    node: &CStr,
    family: c_int,
    flags: c_int,
    out: &mut CallBuffers,
) -> Decision<bool> {
    let Ok(text) = node.to_str() else {
        return Decision::Serve(false);
    };
    let mut one = |addr: IpAddr, scope: u32| {
        out.addrs.push((addr, scope));
        if flags & AI_CANONNAME != 0 {
            out.set_canonname(text);
        }
        Decision::Serve(true)
    };
    if let Some(v4) = inet_aton_exact(text) {
        return match family {
            AF_UNSPEC | AF_INET => one(IpAddr::V4(v4), 0),
            AF_INET6 if flags & AI_V4MAPPED != 0 => one(IpAddr::V6(v4.to_ipv6_mapped()), 0),
            _ => Decision::Error(EAI_ADDRFAMILY),
        };
    }
    let (address, scope) = match text.split_once('%') {
        Some((address, scope)) => (address, Some(scope)),
        None => (text, None),
    };
    let Ok(v6) = address.parse::<Ipv6Addr>() else {
        return Decision::Serve(false);
    };
    let addr = match family {
        AF_UNSPEC | AF_INET6 => IpAddr::V6(v6),
        AF_INET => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => return Decision::Error(EAI_ADDRFAMILY),
        },
        _ => return Decision::Error(EAI_ADDRFAMILY),
    };
    let scope_id = match scope {
        None => 0,
        // glibc __inet6_scopeid_pton: a decimal number that fits in 32 bits (an interface
        // name is tried first for link-local addresses; those calls go to libc).
        Some(scope) if scope.bytes().next().is_some_and(|b| b.is_ascii_digit()) => {
            match scope.parse::<u32>() {
                Ok(id) => id,
                Err(_) if scope.bytes().all(|b| b.is_ascii_digit()) => {
                    return Decision::Error(EAI_NONAME);
                }
                Err(_) => return Decision::Bypass("IPv6 scope is not a number"),
            }
        }
        Some(_) => return Decision::Bypass("IPv6 scope is an interface name"),
    };
    one(addr, scope_id)
}

/// Why one per-family lookup produced no answer.
#[derive(Debug, Clone, Copy)]
enum Missed {
    /// Only libc can answer (nsswitch source the core does not implement).
    Bypass(&'static str),
    /// A failure in libc's terms.
    Failed(Failure),
}

/// One per-family lookup through the resolver.
fn lookup_family(
    state: &ShimState,
    name: &str,
    family: Family,
) -> Result<Arc<LookupAnswer>, Missed> {
    // AI_ADDRCONFIG was applied as glibc applies it, by narrowing the family, so the core
    // asks exactly the record types of that family.
    let options = LookupOptions {
        family,
        addrconfig: false,
    };
    // Both families asked: the answer likely has two or more addresses, and their sort needs
    // gai.conf. Read it while the first question is out, not after the answer (issue 6); a
    // warm lookup, or one the hosts file answers, sends nothing and runs none of this.
    let mut load_policy = || {
        if family == Family::Unspec {
            state.policy();
        }
    };
    state
        .resolver()
        .lookup_overlapping(name, options, &mut log_query, &mut load_policy)
        .map_err(|error| match classify(&error) {
            None => Missed::Bypass("nsswitch source not handled by nodecache"),
            Some(failure) => {
                shim_log!(Debug, "lookup {name} ({family:?}): {error}");
                Missed::Failed(failure)
            }
        })
}

/// Looks a name up through the resolver, per family as glibc's NSS loop does; the addresses
/// (and the canonical name with `AI_CANONNAME`) go to `out`.
pub(super) fn resolve(
    state: &ShimState,
    name: &str,
    family: c_int,
    flags: c_int,
    out: &mut CallBuffers,
) -> Decision<()> {
    let want_canon = flags & AI_CANONNAME != 0;
    let mapped = flags & AI_V4MAPPED != 0;
    let core_family = match family {
        AF_INET => Family::Inet,
        AF_INET6 => Family::Inet6,
        _ => Family::Unspec,
    };
    let six = lookup_family(state, name, core_family);
    let got_ipv6 = family == AF_INET6 && six.as_ref().is_ok_and(|a| !a.addrs.is_empty());
    if let Ok(answer) = &six {
        // glibc drops v4-mapped answers to an AF_INET6 question unless AI_ALL.
        let drop_mapped = got_ipv6 && mapped && flags & AI_ALL == 0;
        out.addrs.extend(
            answer
                .addrs
                .iter()
                .filter(|a| !(drop_mapped && is_v4_mapped(a)))
                .map(|&a| (a, 0)),
        );
        if want_canon {
            out.set_canonname(canonical_name(answer, name));
        }
    }
    // glibc asks AF_INET after AF_INET6 only with AI_V4MAPPED, and then only with AI_ALL or
    // when IPv6 found nothing; IPv4 answers come back as v4-mapped IPv6 addresses.
    let four = if family == AF_INET6 && mapped && (flags & AI_ALL != 0 || !got_ipv6) {
        let four = lookup_family(state, name, Family::Inet);
        if let Ok(answer) = &four {
            out.addrs
                .extend(answer.addrs.iter().filter_map(|a| match a {
                    IpAddr::V4(v4) => Some((IpAddr::V6(v4.to_ipv6_mapped()), 0)),
                    IpAddr::V6(_) => None,
                }));
            if want_canon && out.canonname().is_none() {
                out.set_canonname(canonical_name(answer, name));
            }
        }
        Some(four)
    } else {
        None
    };
    if !out.addrs.is_empty() {
        return Decision::Serve(());
    }
    if six.is_ok() && four.as_ref().is_none_or(Result::is_ok) {
        // Answers, but none glibc would return (v4-mapped ones dropped): no entry at all,
        // which glibc reports as EAI_NONAME.
        return Decision::Error(EAI_NONAME);
    }
    let failure = |result: &Result<Arc<LookupAnswer>, Missed>| match result {
        Ok(_) => Ok(Failure::NoData),
        Err(Missed::Failed(failure)) => Ok(*failure),
        Err(Missed::Bypass(why)) => Err(*why),
    };
    let six_failure = failure(&six);
    let four_failure = four.as_ref().map_or(six_failure, failure);
    match (six_failure, four_failure) {
        (Ok(failure), _) if family == AF_INET && flags & AI_CANONNAME == 0 => {
            Decision::Error(eai_code_inet_shortcut(failure))
        }
        (Ok(six), Ok(four)) => Decision::Error(eai_code(six, four)),
        (Err(why), _) | (_, Err(why)) => Decision::Bypass(why),
    }
}

/// The canonical name of an answer for `name`: the end of its CNAME chain, or `name`.
fn canonical_name<'a>(answer: &'a LookupAnswer, name: &'a str) -> &'a str {
    if answer.canonical_name.is_empty() {
        name
    } else {
        &answer.canonical_name
    }
}

fn is_v4_mapped(addr: &IpAddr) -> bool {
    matches!(addr, IpAddr::V6(v6) if v6.to_ipv4_mapped().is_some())
}

/// Logs one question at debug level.
fn log_query(event: &QueryEvent<'_>) {
    shim_log!(
        Debug,
        "  {} type {}: {:?}{} {} packet(s), {} us",
        event.name,
        event.qtype,
        event.outcome,
        if event.from_cache { " (cached)" } else { "" },
        event.queries_sent,
        event.elapsed.as_micros()
    );
}

/// Sorts `out.addrs` like glibc and pairs each with every service tuple into `out.entries`.
/// Everything happens in `out`'s vectors: a warm call reuses their memory.
pub(super) fn expand(state: &ShimState, tuples: &[ServTuple], out: &mut CallBuffers) {
    if out.addrs.len() > 1 {
        let port = tuples.first().map_or(0, |t| t.port);
        let sort = &mut out.sort;
        sort.destinations.clear();
        sort.destinations
            .extend(out.addrs.iter().map(|&(ip, scope)| match ip {
                IpAddr::V4(v4) => SocketAddr::from((v4, port)),
                IpAddr::V6(v6) => SocketAddr::V6(SocketAddrV6::new(v6, port, 0, scope)),
            }));
        state
            .sources
            .sources_for(&sort.destinations, &mut sort.sources);
        sort.ips.clear();
        sort.ips.extend(out.addrs.iter().map(|&(ip, _)| ip));
        sorted_order(state.policy(), &sort.ips, &sort.sources, &mut sort.order);
        sort.sorted.clear();
        sort.sorted
            .extend(sort.order.iter().filter_map(|&i| out.addrs.get(i).copied()));
        std::mem::swap(&mut out.addrs, &mut sort.sorted);
    }
    out.entries.clear();
    out.entries
        .extend(out.addrs.iter().flat_map(|&(ip, scope_id)| {
            tuples.iter().map(move |t| Entry {
                ip,
                scope_id,
                socktype: t.socktype,
                protocol: t.protocol,
                port: t.port,
            })
        }));
}
