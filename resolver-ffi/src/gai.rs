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

mod addresses;
mod buffers;

use std::ffi::{CStr, c_char, c_int};
use std::time::Instant;

use libc::{AF_INET, AF_INET6, AF_UNSPEC, addrinfo};

use crate::addrinfo::{build_list, free_list};
use crate::boundary::ReentryGuard;
use crate::consts::*;
use crate::log::shim_log;
use crate::real;
use crate::service::{getservbyname, parse_service, serv_tuples};
use crate::state::{ShimState, disabled, state};
use addresses::{expand, local_addresses, numeric_host, resolve};
use buffers::CallBuffers;
pub(crate) use buffers::with_buffers;

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

#[cfg(test)]
thread_local! {
    /// Set by a test to make the next `decide` on this thread panic.
    static PANIC_IN_DECIDE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// glibc's getaddrinfo decision for one call. `Serve` means the result is in `out.entries`
/// (and `out.canonname()`).
pub(crate) fn decide(
    state: &ShimState,
    request: &Request<'_>,
    out: &mut CallBuffers,
) -> Decision<()> {
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
    match node {
        None => local_addresses(family, flags, out),
        Some(node) => match numeric_host(node, family, flags, out) {
            Decision::Serve(true) => {}
            Decision::Serve(false) if flags & AI_NUMERICHOST != 0 => {
                return Decision::Error(EAI_NONAME);
            }
            Decision::Serve(false) => match node.to_str() {
                Ok(name) => match resolve(state, name, family, flags, out) {
                    Decision::Serve(()) => {}
                    Decision::Bypass(why) => return Decision::Bypass(why),
                    Decision::Error(code) => return Decision::Error(code),
                },
                Err(_) => return Decision::Bypass("node is not UTF-8"),
            },
            Decision::Bypass(why) => return Decision::Bypass(why),
            Decision::Error(code) => return Decision::Error(code),
        },
    }
    // AI_CANONIDN decodes punycode labels of the canonical name with libidn2; names without
    // any come back unchanged.
    if flags & AI_CANONIDN != 0 && out.canonname().is_some_and(has_punycode_label) {
        return Decision::Bypass("AI_CANONIDN with a punycode canonical name");
    }
    expand(state, &tuples, out);
    Decision::Serve(())
}

/// Whether `name` holds an `xn--` label prefix (any case), without allocating.
fn has_punycode_label(name: &str) -> bool {
    name.as_bytes()
        .windows(4)
        .any(|window| window.eq_ignore_ascii_case(b"xn--"))
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
        with_buffers(|buffers| match decide(state(), &request, buffers) {
            Decision::Serve(()) => {
                match build_list(&buffers.entries, request.flags, buffers.canonname()) {
                    Ok(list) => {
                        shim_log!(
                            Debug,
                            "getaddrinfo({:?}, {:?}): {} entries in {} us",
                            request.node,
                            request.service,
                            buffers.entries.len(),
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
        })
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
mod tests;
