//! `gethostbyname`, `gethostbyname2` and their `_r` variants, glibc's semantics.
//!
//! - `gethostbyname(name)` is `gethostbyname2(name, AF_INET)`.
//! - Families other than `AF_INET`/`AF_INET6`, numeric hosts (glibc's
//!   `__nss_hostname_digits_dots` answers those without any lookup) and names that are not
//!   UTF-8 go to libc.
//! - Failures set `h_errno` (`*h_errnop` for `_r`): `HOST_NOT_FOUND`, `NO_DATA`, `TRY_AGAIN`,
//!   `NO_RECOVERY` ([`crate::errors`]). The `_r` variants return 0 for a negative answer,
//!   `EAGAIN` for `TRY_AGAIN`, and `ERANGE` (with `NETDB_INTERNAL`) when the caller's buffer
//!   is too small, as glibc's `nss/getXXbyYY_r.c` does.
//! - The non-`_r` variants return per-thread storage (glibc's is per process; per thread is
//!   what careless multi-threaded callers need anyway).
//! - `h_aliases` is empty: the core reports the canonical name, not the CNAME chain or the
//!   hosts line's other names.

use std::cell::RefCell;
use std::ffi::{CStr, c_char, c_int};
use std::mem::{align_of, size_of};
use std::net::IpAddr;
use std::ptr;

use libc::{AF_INET, AF_INET6, hostent, size_t};
use resolver_core::resolver::Source;
use resolver_core::{Family, LookupOptions};

use crate::boundary::ReentryGuard;
use crate::consts::{HOST_NOT_FOUND, NETDB_INTERNAL};
use crate::errors::{Failure, classify, h_errno};
use crate::log::shim_log;
use crate::real::{self, set_errno, set_h_errno};
use crate::state::{disabled, state};

/// A found host, before it is laid out for C.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Host {
    pub(crate) name: String,
    pub(crate) family: c_int,
    pub(crate) addrs: Vec<IpAddr>,
    /// Answered by the hosts file (glibc's `_r` functions then leave `HOST_NOT_FOUND` in
    /// `*h_errnop` even on success, a trace of its NSS loop; we do the same).
    pub(crate) from_hosts: bool,
}

/// The outcome of one lookup.
#[derive(Debug)]
pub(crate) enum HostDecision {
    Serve(Host),
    Bypass(&'static str),
    Failed(Failure),
}

/// glibc's `__nss_hostname_digits_dots` test: names libc answers without any lookup.
fn is_numeric_form(name: &[u8]) -> bool {
    let all_digits_dots = !name.is_empty() && name.iter().all(|b| b.is_ascii_digit() || *b == b'.');
    let ipv6_like = name.contains(&b':')
        && name
            .iter()
            .all(|b| b.is_ascii_hexdigit() || *b == b':' || *b == b'.');
    all_digits_dots || ipv6_like
}

/// Decides one gethostbyname2 call.
pub(crate) fn decide_host(name: &CStr, af: c_int) -> HostDecision {
    let family = match af {
        AF_INET => Family::Inet,
        AF_INET6 => Family::Inet6,
        _ => return HostDecision::Bypass("family is not AF_INET or AF_INET6"),
    };
    if is_numeric_form(name.to_bytes()) {
        return HostDecision::Bypass("numeric host");
    }
    let Ok(text) = name.to_str() else {
        return HostDecision::Bypass("name is not UTF-8");
    };
    let options = LookupOptions {
        family,
        addrconfig: false,
    };
    match state().resolver().lookup(text, options) {
        Ok(answer) => {
            let addrs: Vec<IpAddr> = answer
                .addrs
                .iter()
                .copied()
                .filter(|a| a.is_ipv4() == (af == AF_INET))
                .collect();
            if addrs.is_empty() {
                return HostDecision::Failed(Failure::NoData);
            }
            let name = if answer.canonical_name.is_empty() {
                text.to_owned()
            } else {
                answer.canonical_name.clone()
            };
            HostDecision::Serve(Host {
                name,
                family: af,
                addrs,
                from_hosts: answer.source == Source::Hosts,
            })
        }
        Err(error) => match classify(&error) {
            None => HostDecision::Bypass("nsswitch source not handled by nodecache"),
            Some(failure) => HostDecision::Failed(failure),
        },
    }
}

/// Bytes a host needs in a caller's buffer that starts at `base` (alignment included).
fn needed(host: &Host, base: usize) -> usize {
    let pointer = size_of::<*mut c_char>();
    let pad = base.wrapping_neg() % align_of::<*mut c_char>();
    let length = address_length(host.family);
    pad + (host.addrs.len() + 1) * pointer
        + pointer
        + host.addrs.len() * length
        + host.name.len()
        + 1
}

fn address_length(family: c_int) -> usize {
    if family == AF_INET6 { 16 } else { 4 }
}

/// Lays `host` out in `buffer` and points `out` at it. `Err(())` when it does not fit.
///
/// # Safety
/// `out` is valid for writes; `buffer` is valid for `length` bytes of writes and outlives
/// every use of `*out`.
unsafe fn fill(
    host: &Host,
    out: *mut hostent,
    buffer: *mut c_char,
    length: usize,
) -> Result<(), ()> {
    let base = buffer as usize;
    if host.name.as_bytes().contains(&0) || needed(host, base) > length {
        return Err(());
    }
    let pad = base.wrapping_neg() % align_of::<*mut c_char>();
    let addr_length = address_length(host.family);
    // SAFETY: every offset below stays within `needed(host, base) <= length` bytes of
    // `buffer`; the pointer arrays start at an aligned offset.
    unsafe {
        let addr_list = buffer.add(pad).cast::<*mut c_char>();
        let aliases = addr_list.add(host.addrs.len() + 1);
        let mut data = aliases.add(1).cast::<c_char>();
        for (i, addr) in host.addrs.iter().enumerate() {
            let bytes: &[u8] = match addr {
                IpAddr::V4(v4) => &v4.octets(),
                IpAddr::V6(v6) => &v6.octets(),
            };
            let bytes = bytes.get(..addr_length).ok_or(())?;
            ptr::copy_nonoverlapping(bytes.as_ptr(), data.cast::<u8>(), addr_length);
            *addr_list.add(i) = data;
            data = data.add(addr_length);
        }
        *addr_list.add(host.addrs.len()) = ptr::null_mut();
        *aliases = ptr::null_mut();
        let name = data;
        ptr::copy_nonoverlapping(host.name.as_ptr(), name.cast::<u8>(), host.name.len());
        *name.add(host.name.len()) = 0;
        (*out).h_name = name;
        (*out).h_aliases = aliases;
        (*out).h_addrtype = host.family;
        (*out).h_length = addr_length as c_int;
        (*out).h_addr_list = addr_list;
    }
    Ok(())
}

/// Per-thread storage for the non-`_r` functions.
#[derive(Debug)]
struct Storage {
    entry: hostent,
    buffer: Vec<u8>,
}

thread_local! {
    static STORAGE: RefCell<Option<Box<Storage>>> = const { RefCell::new(None) };
}

/// Lays `host` out in this thread's storage; `None` when the storage is in use.
fn store(host: &Host, cell: &RefCell<Option<Box<Storage>>>) -> Option<*mut hostent> {
    let mut slot = cell.try_borrow_mut().ok()?;
    let storage = slot.get_or_insert_with(|| {
        Box::new(Storage {
            // SAFETY: hostent is plain data; all-zero (NULL pointers) is valid.
            entry: unsafe { std::mem::zeroed() },
            buffer: Vec::new(),
        })
    });
    let want = needed(host, 0) + align_of::<*mut c_char>();
    if storage.buffer.len() < want {
        storage.buffer.resize(want, 0);
    }
    let length = storage.buffer.len();
    let buffer = storage.buffer.as_mut_ptr().cast::<c_char>();
    // SAFETY: the thread's own storage, sized above; it stays valid until the next call on
    // this thread, as glibc's static storage does until the next call.
    match unsafe { fill(host, &mut storage.entry, buffer, length) } {
        Ok(()) => Some(&mut storage.entry as *mut hostent),
        Err(()) => {
            set_h_errno(NETDB_INTERNAL);
            Some(ptr::null_mut())
        }
    }
}

/// The shared body of gethostbyname and gethostbyname2.
fn lookup_static(name: *const c_char, af: c_int) -> Option<*mut hostent> {
    if disabled() {
        return None;
    }
    let _guard = ReentryGuard::enter()?;
    if name.is_null() {
        return None;
    }
    // SAFETY: a non-NULL name is a valid C string by the caller's contract.
    let name = unsafe { CStr::from_ptr(name) };
    match decide_host(name, af) {
        HostDecision::Serve(host) => {
            // A thread that is exiting has no storage left: libc answers it instead.
            STORAGE.try_with(|cell| store(&host, cell)).ok().flatten()
        }
        HostDecision::Failed(failure) => {
            set_h_errno(h_errno(failure));
            Some(ptr::null_mut())
        }
        HostDecision::Bypass(why) => {
            shim_log!(
                Info,
                "gethostbyname2({name:?}, {af}): handed to libc: {why}"
            );
            None
        }
    }
}

/// Like glibc's `gethostbyname`: IPv4 addresses of `name`.
///
/// # Safety
/// `name` is a valid C string. The result points to per-thread storage overwritten by the
/// next call on the same thread.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gethostbyname(name: *const c_char) -> *mut hostent {
    // SAFETY: the caller's argument, forwarded unchanged.
    let libc = || unsafe { real::gethostbyname(name) };
    ffi_boundary!(libc(), {
        lookup_static(name, AF_INET).unwrap_or_else(libc)
    })
}

/// Like glibc's `gethostbyname2`: addresses of `name` in family `af`.
///
/// # Safety
/// `name` is a valid C string. The result points to per-thread storage overwritten by the
/// next call on the same thread.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gethostbyname2(name: *const c_char, af: c_int) -> *mut hostent {
    // SAFETY: the caller's arguments, forwarded unchanged.
    let libc = || unsafe { real::gethostbyname2(name, af) };
    ffi_boundary!(libc(), { lookup_static(name, af).unwrap_or_else(libc) })
}

/// The shared body of the `_r` functions; `None` means "hand to libc".
///
/// # Safety
/// As for `gethostbyname2_r(3)`.
unsafe fn lookup_reentrant(
    name: *const c_char,
    af: c_int,
    ret: *mut hostent,
    buf: *mut c_char,
    buflen: size_t,
    result: *mut *mut hostent,
    h_errnop: *mut c_int,
) -> Option<c_int> {
    if disabled() || name.is_null() || ret.is_null() || result.is_null() || h_errnop.is_null() {
        return None;
    }
    let _guard = ReentryGuard::enter()?;
    // SAFETY: valid C string by the caller's contract.
    let name = unsafe { CStr::from_ptr(name) };
    let decision = decide_host(name, af);
    // SAFETY: result and h_errnop are non-NULL and writable by the caller's contract.
    unsafe {
        *result = ptr::null_mut();
        match decision {
            HostDecision::Serve(host) => {
                if buf.is_null() || fill(&host, ret, buf, buflen).is_err() {
                    *h_errnop = NETDB_INTERNAL;
                    set_errno(libc::ERANGE);
                    return Some(libc::ERANGE);
                }
                *result = ret;
                *h_errnop = if host.from_hosts { HOST_NOT_FOUND } else { 0 };
                Some(0)
            }
            HostDecision::Failed(failure) => {
                *h_errnop = h_errno(failure);
                if failure == Failure::TryAgain {
                    set_errno(libc::EAGAIN);
                    Some(libc::EAGAIN)
                } else {
                    Some(0)
                }
            }
            HostDecision::Bypass(why) => {
                shim_log!(
                    Info,
                    "gethostbyname2_r({name:?}, {af}): handed to libc: {why}"
                );
                None
            }
        }
    }
}

/// Like glibc's `gethostbyname_r`.
///
/// # Safety
/// As for `gethostbyname_r(3)`: `name` a valid C string, `ret` and `result` and `h_errnop`
/// valid for writes, `buf` valid for `buflen` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gethostbyname_r(
    name: *const c_char,
    ret: *mut hostent,
    buf: *mut c_char,
    buflen: size_t,
    result: *mut *mut hostent,
    h_errnop: *mut c_int,
) -> c_int {
    // SAFETY: the caller's arguments, forwarded unchanged.
    let libc = || unsafe { real::gethostbyname_r(name, ret, buf, buflen, result, h_errnop) };
    // SAFETY: by the caller's contract.
    let ours = || unsafe { lookup_reentrant(name, AF_INET, ret, buf, buflen, result, h_errnop) };
    ffi_boundary!(libc(), { ours().unwrap_or_else(libc) })
}

/// Like glibc's `gethostbyname2_r`.
///
/// # Safety
/// As for `gethostbyname2_r(3)`: `name` a valid C string, `ret` and `result` and `h_errnop`
/// valid for writes, `buf` valid for `buflen` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gethostbyname2_r(
    name: *const c_char,
    af: c_int,
    ret: *mut hostent,
    buf: *mut c_char,
    buflen: size_t,
    result: *mut *mut hostent,
    h_errnop: *mut c_int,
) -> c_int {
    // SAFETY: the caller's arguments, forwarded unchanged.
    let libc = || unsafe { real::gethostbyname2_r(name, af, ret, buf, buflen, result, h_errnop) };
    // SAFETY: by the caller's contract.
    let ours = || unsafe { lookup_reentrant(name, af, ret, buf, buflen, result, h_errnop) };
    ffi_boundary!(libc(), { ours().unwrap_or_else(libc) })
}

#[cfg(test)]
mod tests;
