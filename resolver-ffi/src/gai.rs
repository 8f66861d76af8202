//! `getaddrinfo`, `freeaddrinfo`, `gai_strerror`: the exports, thin, over [`decide`].
//!
//! The rules are glibc's (`nss/getaddrinfo.c`), in glibc's order: `"*"` means NULL; both
//! NULL is `EAI_NONAME`; unknown flags `EAI_BADFLAGS`; `AI_CANONNAME` without a node
//! `EAI_BADFLAGS`; a family other than `AF_UNSPEC`/`AF_INET`/`AF_INET6` `EAI_FAMILY`;
//! `AI_ADDRCONFIG` narrows the family to the one the host has (or fails with `EAI_NONAME`);
//! then the service ([`crate::service`]), then the node: NULL (loopback, or the wildcard with
//! `AI_PASSIVE`), numeric (`inet_aton` forms, IPv6 with a numeric `%scope`), else the
//! resolver. Results are sorted like glibc ([`crate::order`]), one entry per address and
//! (socket type, protocol) pair.
//!
//! Handed to libc: `AI_IDN` with a non-ASCII node, `AI_CANONIDN` with a punycode canonical
//! name (glibc needs libidn2 for those; ASCII names pass through it unchanged), interface-name
//! scopes (`fe80::1%eth0`), names that are not UTF-8, nsswitch sources the core does not
//! implement.

use std::ffi::{CStr, c_char, c_int};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV6};
use std::sync::Arc;
use std::time::Instant;

use libc::{AF_INET, AF_INET6, AF_UNSPEC, addrinfo};
use resolver_core::resolver::{LookupAnswer, QueryEvent, inet_aton_exact};
use resolver_core::{Family, LookupOptions};

use crate::addrinfo::{Entry, build_list, free_list};
use crate::boundary::ReentryGuard;
use crate::consts::*;
use crate::errors::{Failure, classify, eai_code, eai_code_inet_shortcut};
use crate::log::shim_log;
use crate::order::sorted_order;
use crate::real;
use crate::service::{ServTuple, getservbyname, parse_service, serv_tuples};
use crate::state::{ShimState, disabled, state};

/// What to do with one call.
#[derive(Debug)]
pub(crate) enum Decision<T> {
    /// Answer it ourselves.
    Serve(T),
    /// Hand it to libc, for the reason given.
    Bypass(&'static str),
    /// Fail with this code.
    Error(c_int),
}

/// The arguments of one getaddrinfo call, read from C.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Request<'a> {
    pub(crate) node: Option<&'a CStr>,
    pub(crate) service: Option<&'a CStr>,
    pub(crate) flags: c_int,
    pub(crate) family: c_int,
    pub(crate) socktype: c_int,
    pub(crate) protocol: c_int,
}

impl<'a> Request<'a> {
    /// Reads the C arguments; `hints == NULL` is glibc's default (`AI_V4MAPPED |
    /// AI_ADDRCONFIG`, `AF_UNSPEC`).
    ///
    /// # Safety
    /// `node` and `service` are NULL or valid C strings, `hints` NULL or a valid addrinfo,
    /// all living for `'a`.
    unsafe fn read(node: *const c_char, service: *const c_char, hints: *const addrinfo) -> Self {
        // SAFETY: by the caller's contract.
        let (node, service, hints) = unsafe {
            (
                (!node.is_null()).then(|| CStr::from_ptr(node)),
                (!service.is_null()).then(|| CStr::from_ptr(service)),
                hints.as_ref(),
            )
        };
        Request {
            node,
            service,
            flags: hints.map_or(AI_DEFAULT, |h| h.ai_flags),
            family: hints.map_or(AF_UNSPEC, |h| h.ai_family),
            socktype: hints.map_or(0, |h| h.ai_socktype),
            protocol: hints.map_or(0, |h| h.ai_protocol),
        }
    }
}

/// A served result, before it becomes a C list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Answer {
    pub(crate) entries: Vec<Entry>,
    pub(crate) canonname: Option<String>,
}

/// Addresses found for the node, before sorting and service expansion.
#[derive(Debug)]
struct Found {
    addrs: Vec<(IpAddr, u32)>,
    canonname: Option<String>,
}

#[cfg(test)]
thread_local! {
    /// Set by a test to make the next `decide` on this thread panic.
    static PANIC_IN_DECIDE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// glibc's getaddrinfo decision for one call.
pub(crate) fn decide(state: &ShimState, request: &Request<'_>) -> Decision<Answer> {
    #[cfg(test)]
    if PANIC_IN_DECIDE.with(|flag| flag.replace(false)) {
        panic!("panic injected by a test");
    }
    let node = request.node.filter(|n| n.to_bytes() != b"*");
    let service = request.service.filter(|s| s.to_bytes() != b"*");
    let flags = request.flags;
    if node.is_none() && service.is_none() {
        return Decision::Error(EAI_NONAME);
    }
    if flags & !AI_KNOWN != 0 {
        return Decision::Error(EAI_BADFLAGS);
    }
    if flags & AI_CANONNAME != 0 && node.is_none() {
        return Decision::Error(EAI_BADFLAGS);
    }
    if ![AF_UNSPEC, AF_INET, AF_INET6].contains(&request.family) {
        return Decision::Error(EAI_FAMILY);
    }
    // glibc's IDNA conversion (inet/idna.c) leaves ASCII names as they are without loading
    // libidn2, so only non-ASCII names need libc. `getent ahosts` always sets AI_IDN.
    if flags & AI_IDN != 0 && node.is_some_and(|n| !n.to_bytes().is_ascii()) {
        return Decision::Bypass("AI_IDN with a non-ASCII name");
    }
    let mut family = request.family;
    if flags & AI_ADDRCONFIG != 0 {
        // glibc: narrow AF_UNSPEC to the one family the host has; ask for a family the
        // host lacks and nothing can be returned.
        let seen = state.addrconfig.current();
        if family == AF_UNSPEC && (seen.ipv4 || seen.ipv6) {
            if seen.ipv4 != seen.ipv6 {
                family = if seen.ipv4 { AF_INET } else { AF_INET6 };
            }
        } else if (family == AF_INET && !seen.ipv4) || (family == AF_INET6 && !seen.ipv6) {
            return Decision::Error(EAI_NONAME);
        }
    }
    let service = match parse_service(service, flags) {
        Ok(service) => service,
        Err(code) => return Decision::Error(code),
    };
    let tuples = match serv_tuples(
        request.socktype,
        request.protocol,
        service,
        &mut getservbyname,
    ) {
        Ok(tuples) => tuples,
        Err(code) => return Decision::Error(code),
    };
    let found = match node {
        None => local_addresses(family, flags),
        Some(node) => match numeric_host(node, family, flags) {
            Decision::Serve(Some(found)) => found,
            Decision::Serve(None) if flags & AI_NUMERICHOST != 0 => {
                return Decision::Error(EAI_NONAME);
            }
            Decision::Serve(None) => match node.to_str() {
                Ok(name) => match resolve(state, name, family, flags) {
                    Decision::Serve(found) => found,
                    Decision::Bypass(why) => return Decision::Bypass(why),
                    Decision::Error(code) => return Decision::Error(code),
                },
                Err(_) => return Decision::Bypass("node is not UTF-8"),
            },
            Decision::Bypass(why) => return Decision::Bypass(why),
            Decision::Error(code) => return Decision::Error(code),
        },
    };
    // AI_CANONIDN decodes punycode labels of the canonical name with libidn2; names without
    // any come back unchanged.
    if flags & AI_CANONIDN != 0
        && found
            .canonname
            .as_deref()
            .is_some_and(|c| c.to_ascii_lowercase().contains("xn--"))
    {
        return Decision::Bypass("AI_CANONIDN with a punycode canonical name");
    }
    Decision::Serve(expand(state, found, &tuples))
}

/// glibc `get_local_addresses`: IPv6 then IPv4, the wildcard with `AI_PASSIVE`, else loopback.
fn local_addresses(family: c_int, flags: c_int) -> Found {
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
    let addrs = match family {
        AF_INET => vec![(v4, 0)],
        AF_INET6 => vec![(v6, 0)],
        _ => vec![(v6, 0), (v4, 0)],
    };
    Found {
        addrs,
        canonname: None,
    }
}

/// glibc `text_to_binary_address`: `Serve(Some)` for a numeric host, `Serve(None)` for a name.
fn numeric_host(node: &CStr, family: c_int, flags: c_int) -> Decision<Option<Found>> {
    let Ok(text) = node.to_str() else {
        return Decision::Serve(None);
    };
    let canonname = (flags & AI_CANONNAME != 0).then(|| text.to_owned());
    let one = |addr: IpAddr, scope: u32| {
        Decision::Serve(Some(Found {
            addrs: vec![(addr, scope)],
            canonname: canonname.clone(),
        }))
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
        return Decision::Serve(None);
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
    state
        .resolver
        .lookup_with_events(name, options, &mut log_query)
        .map_err(|error| match classify(&error) {
            None => Missed::Bypass("nsswitch source not handled by nodecache"),
            Some(failure) => {
                shim_log!(Debug, "lookup {name} ({family:?}): {error}");
                Missed::Failed(failure)
            }
        })
}

/// Looks a name up through the resolver, per family as glibc's NSS loop does.
fn resolve(state: &ShimState, name: &str, family: c_int, flags: c_int) -> Decision<Found> {
    let canon = |answer: &LookupAnswer| {
        (flags & AI_CANONNAME != 0).then(|| {
            if answer.canonical_name.is_empty() {
                name.to_owned()
            } else {
                answer.canonical_name.clone()
            }
        })
    };
    let mapped = flags & AI_V4MAPPED != 0;
    let core_family = match family {
        AF_INET => Family::Inet,
        AF_INET6 => Family::Inet6,
        _ => Family::Unspec,
    };
    let six = lookup_family(state, name, core_family);
    let got_ipv6 = family == AF_INET6 && six.as_ref().is_ok_and(|a| !a.addrs.is_empty());
    let mut addrs: Vec<(IpAddr, u32)> = Vec::new();
    let mut canonname = None;
    if let Ok(answer) = &six {
        // glibc drops v4-mapped answers to an AF_INET6 question unless AI_ALL.
        let drop_mapped = got_ipv6 && mapped && flags & AI_ALL == 0;
        addrs.extend(
            answer
                .addrs
                .iter()
                .filter(|a| !(drop_mapped && is_v4_mapped(a)))
                .map(|&a| (a, 0)),
        );
        canonname = canon(answer);
    }
    // glibc asks AF_INET after AF_INET6 only with AI_V4MAPPED, and then only with AI_ALL or
    // when IPv6 found nothing; IPv4 answers come back as v4-mapped IPv6 addresses.
    let four = if family == AF_INET6 && mapped && (flags & AI_ALL != 0 || !got_ipv6) {
        let four = lookup_family(state, name, Family::Inet);
        if let Ok(answer) = &four {
            addrs.extend(answer.addrs.iter().filter_map(|a| match a {
                IpAddr::V4(v4) => Some((IpAddr::V6(v4.to_ipv6_mapped()), 0)),
                IpAddr::V6(_) => None,
            }));
            canonname = canonname.or_else(|| canon(answer));
        }
        Some(four)
    } else {
        None
    };
    if !addrs.is_empty() {
        return Decision::Serve(Found { addrs, canonname });
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

/// Sorts the addresses like glibc and pairs each with every service tuple.
fn expand(state: &ShimState, found: Found, tuples: &[ServTuple]) -> Answer {
    let mut addrs = found.addrs;
    if addrs.len() > 1 {
        let port = tuples.first().map_or(0, |t| t.port);
        let destinations: Vec<SocketAddr> = addrs
            .iter()
            .map(|&(ip, scope)| match ip {
                IpAddr::V4(v4) => SocketAddr::from((v4, port)),
                IpAddr::V6(v6) => SocketAddr::V6(SocketAddrV6::new(v6, port, 0, scope)),
            })
            .collect();
        let sources = state.sources.sources_for(&destinations);
        let ips: Vec<IpAddr> = addrs.iter().map(|&(ip, _)| ip).collect();
        let order = sorted_order(&state.policy, &ips, &sources);
        addrs = order
            .into_iter()
            .filter_map(|i| addrs.get(i).copied())
            .collect();
    }
    let entries = addrs
        .iter()
        .flat_map(|&(ip, scope_id)| {
            tuples.iter().map(move |t| Entry {
                ip,
                scope_id,
                socktype: t.socktype,
                protocol: t.protocol,
                port: t.port,
            })
        })
        .collect();
    Answer {
        entries,
        canonname: found.canonname,
    }
}

/// Resolves `node`/`service` like glibc's getaddrinfo (see the module documentation).
///
/// # Safety
/// As for `getaddrinfo(3)`: `node` and `service` are NULL or valid C strings, `hints` is NULL
/// or points to a valid `struct addrinfo`, `res` points to writable storage for a pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn getaddrinfo(
    node: *const c_char,
    service: *const c_char,
    hints: *const addrinfo,
    res: *mut *mut addrinfo,
) -> c_int {
    // SAFETY: the caller's arguments, forwarded unchanged.
    let libc = || unsafe { real::getaddrinfo(node, service, hints, res) };
    ffi_boundary!(libc(), {
        if disabled() {
            return libc();
        }
        let Some(_guard) = ReentryGuard::enter() else {
            return libc();
        };
        if res.is_null() {
            real::set_errno(libc::EINVAL);
            return EAI_SYSTEM;
        }
        // SAFETY: the caller's arguments are valid for the duration of the call.
        let request = unsafe { Request::read(node, service, hints) };
        let started = crate::log::enabled(crate::log::Level::Debug).then(Instant::now);
        match decide(state(), &request) {
            Decision::Serve(answer) => {
                match build_list(&answer.entries, request.flags, answer.canonname.as_deref()) {
                    Ok(list) => {
                        shim_log!(
                            Debug,
                            "getaddrinfo({:?}, {:?}): {} entries in {} us",
                            request.node,
                            request.service,
                            answer.entries.len(),
                            started.map_or(0, |s| s.elapsed().as_micros())
                        );
                        // SAFETY: `res` is non-NULL and writable by the caller's contract.
                        unsafe { *res = list };
                        0
                    }
                    Err(()) => EAI_MEMORY,
                }
            }
            Decision::Error(code) => {
                shim_log!(Info, "getaddrinfo({:?}): error {code}", request.node);
                code
            }
            Decision::Bypass(why) => {
                shim_log!(
                    Info,
                    "getaddrinfo({:?}): handed to libc: {why}",
                    request.node
                );
                // SAFETY: forwarded unchanged.
                unsafe { real::getaddrinfo(node, service, hints, res) }
            }
        }
    })
}

/// Frees a list from `getaddrinfo`: ours node by node, libc's through libc.
///
/// # Safety
/// `ai` is NULL or a list returned by `getaddrinfo` (this one or libc's) and not yet freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn freeaddrinfo(ai: *mut addrinfo) {
    ffi_boundary!((), {
        if !ai.is_null() {
            // SAFETY: by the caller's contract.
            unsafe { free_list(ai) };
        }
    })
}

/// The text for a getaddrinfo error code: libc's own, since the shim returns libc's codes.
///
/// # Safety
/// None beyond the C contract: any `code` is accepted; the result is a static string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gai_strerror(code: c_int) -> *const c_char {
    ffi_boundary!(c"Unknown error".as_ptr(), { real::gai_strerror(code) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::addrinfo::is_ours;
    use std::ptr;

    fn stream_hints() -> addrinfo {
        // SAFETY: addrinfo is plain data; all-zero is valid.
        let mut hints: addrinfo = unsafe { std::mem::zeroed() };
        hints.ai_socktype = libc::SOCK_STREAM;
        hints
    }

    #[test]
    fn a_panic_inside_hands_the_call_to_libc() {
        let hints = stream_hints();
        let mut ours = ptr::null_mut();
        PANIC_IN_DECIDE.with(|flag| flag.set(true));
        // SAFETY: valid C strings, hints and out-pointer.
        let rc = unsafe { getaddrinfo(c"127.0.0.1".as_ptr(), c"80".as_ptr(), &hints, &mut ours) };
        assert_eq!(rc, 0);
        assert!(!ours.is_null());
        // The list came from libc, not from us, and our freeaddrinfo hands it back to libc.
        assert!(!is_ours(ours));
        // SAFETY: a list from getaddrinfo.
        unsafe { freeaddrinfo(ours) };
        assert!(!crate::boundary::is_inside_shim());
        // The next call is served by the shim again.
        let mut again = ptr::null_mut();
        // SAFETY: as above.
        let rc = unsafe { getaddrinfo(c"127.0.0.1".as_ptr(), c"80".as_ptr(), &hints, &mut again) };
        assert_eq!(rc, 0);
        assert!(is_ours(again));
        // SAFETY: a list from getaddrinfo.
        unsafe { freeaddrinfo(again) };
    }

    #[test]
    fn a_call_from_inside_the_shim_goes_to_libc() {
        let hints = stream_hints();
        let guard = ReentryGuard::enter().expect("not inside yet");
        let mut list = ptr::null_mut();
        // SAFETY: valid C strings, hints and out-pointer.
        let rc = unsafe { getaddrinfo(c"127.0.0.1".as_ptr(), c"22".as_ptr(), &hints, &mut list) };
        drop(guard);
        assert_eq!(rc, 0);
        assert!(
            !is_ours(list),
            "a nested call must not be served by the shim"
        );
        // SAFETY: a list from getaddrinfo.
        unsafe { freeaddrinfo(list) };
    }
}
