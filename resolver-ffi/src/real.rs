//! The real libc functions behind the interposed ones, looked up once with
//! `dlsym(RTLD_NEXT, …)`.
//!
//! `RTLD_NEXT` finds the next definition after this object in the lookup order: libc's when
//! the shim is preloaded (or linked into a test executable). When the shim was `dlopen`ed
//! after libc there is no "next" one, so `RTLD_DEFAULT` is tried, refusing our own definition
//! (that would recurse forever). A function that cannot be found makes the call fail with the
//! function's own error convention (`EAI_SYSTEM` / `ENOSYS`, NULL / `NO_RECOVERY`); nothing
//! panics.

use std::ffi::{CStr, c_char, c_int, c_void};
use std::ptr;
use std::sync::atomic::{AtomicPtr, Ordering};

use libc::{addrinfo, hostent, size_t};

use crate::consts::{EAI_SYSTEM, NETDB_INTERNAL, NO_RECOVERY};

/// Marks a symbol that was looked up and not found (never a valid code address).
const MISSING: *mut c_void = ptr::dangling_mut::<c_void>();

/// Looks `symbol` up, refusing `own` (the shim's own definition).
fn lookup(symbol: &CStr, own: usize) -> *mut c_void {
    for handle in [libc::RTLD_NEXT, libc::RTLD_DEFAULT] {
        // SAFETY: `symbol` is NUL-terminated; the pseudo-handles are valid for dlsym.
        let found = unsafe { libc::dlsym(handle, symbol.as_ptr()) };
        if !found.is_null() && found as usize != own {
            return found;
        }
    }
    MISSING
}

/// The cached address of `symbol`, or `None` when libc has none.
fn cached(slot: &AtomicPtr<c_void>, symbol: &CStr, own: usize) -> Option<*mut c_void> {
    let mut found = slot.load(Ordering::Acquire);
    if found.is_null() {
        found = lookup(symbol, own);
        // Racing threads find the same address; the last store wins harmlessly.
        slot.store(found, Ordering::Release);
    }
    (found != MISSING).then_some(found)
}

type GetaddrinfoFn = unsafe extern "C" fn(
    *const c_char,
    *const c_char,
    *const addrinfo,
    *mut *mut addrinfo,
) -> c_int;
type FreeaddrinfoFn = unsafe extern "C" fn(*mut addrinfo);
type GaiStrerrorFn = unsafe extern "C" fn(c_int) -> *const c_char;
type GethostbynameFn = unsafe extern "C" fn(*const c_char) -> *mut hostent;
type Gethostbyname2Fn = unsafe extern "C" fn(*const c_char, c_int) -> *mut hostent;
type GethostbynameRFn = unsafe extern "C" fn(
    *const c_char,
    *mut hostent,
    *mut c_char,
    size_t,
    *mut *mut hostent,
    *mut c_int,
) -> c_int;
type Gethostbyname2RFn = unsafe extern "C" fn(
    *const c_char,
    c_int,
    *mut hostent,
    *mut c_char,
    size_t,
    *mut *mut hostent,
    *mut c_int,
) -> c_int;

/// Declares `fn $getter() -> Option<$ty>` resolving `$symbol` once, refusing `$own`.
macro_rules! real_symbol {
    ($getter:ident, $symbol:literal, $ty:ty, $own:path) => {
        fn $getter() -> Option<$ty> {
            static SLOT: AtomicPtr<c_void> = AtomicPtr::new(ptr::null_mut());
            let own: $ty = $own;
            let address = cached(&SLOT, $symbol, own as usize)?;
            // SAFETY: the symbol is libc's function of this exact C prototype (netdb.h).
            Some(unsafe { std::mem::transmute::<*mut c_void, $ty>(address) })
        }
    };
}

real_symbol!(
    getaddrinfo_fn,
    c"getaddrinfo",
    GetaddrinfoFn,
    crate::gai::getaddrinfo
);
real_symbol!(
    freeaddrinfo_fn,
    c"freeaddrinfo",
    FreeaddrinfoFn,
    crate::gai::freeaddrinfo
);
real_symbol!(
    gai_strerror_fn,
    c"gai_strerror",
    GaiStrerrorFn,
    crate::gai::gai_strerror
);
real_symbol!(
    gethostbyname_fn,
    c"gethostbyname",
    GethostbynameFn,
    crate::hostent::gethostbyname
);
real_symbol!(
    gethostbyname2_fn,
    c"gethostbyname2",
    Gethostbyname2Fn,
    crate::hostent::gethostbyname2
);
real_symbol!(
    gethostbyname_r_fn,
    c"gethostbyname_r",
    GethostbynameRFn,
    crate::hostent::gethostbyname_r
);
real_symbol!(
    gethostbyname2_r_fn,
    c"gethostbyname2_r",
    Gethostbyname2RFn,
    crate::hostent::gethostbyname2_r
);

/// Sets the calling thread's `errno`.
pub(crate) fn set_errno(value: c_int) {
    // SAFETY: __errno_location returns this thread's errno slot, always valid.
    unsafe { *libc::__errno_location() = value };
}

unsafe extern "C" {
    /// The calling thread's `h_errno` (glibc and musl both export this name).
    fn __h_errno_location() -> *mut c_int;
}

/// Sets the calling thread's `h_errno`.
pub(crate) fn set_h_errno(value: c_int) {
    // SAFETY: __h_errno_location returns this thread's h_errno slot, always valid.
    unsafe { *__h_errno_location() = value };
}

/// libc's `getaddrinfo`.
///
/// # Safety
/// As for `getaddrinfo(3)`: valid C strings or NULL, `hints` NULL or valid, `res` valid.
pub unsafe fn getaddrinfo(
    node: *const c_char,
    service: *const c_char,
    hints: *const addrinfo,
    res: *mut *mut addrinfo,
) -> c_int {
    match getaddrinfo_fn() {
        // SAFETY: forwarded unchanged under the caller's guarantees.
        Some(real) => unsafe { real(node, service, hints, res) },
        None => {
            set_errno(libc::ENOSYS);
            EAI_SYSTEM
        }
    }
}

/// libc's `freeaddrinfo`. Without one the list is leaked (freeing memory of unknown layout
/// would be worse).
///
/// # Safety
/// `ai` is NULL or a list that libc's `getaddrinfo` returned and nobody freed yet.
pub unsafe fn freeaddrinfo(ai: *mut addrinfo) {
    if let Some(real) = freeaddrinfo_fn() {
        // SAFETY: forwarded unchanged under the caller's guarantees.
        unsafe { real(ai) }
    }
}

/// libc's `gai_strerror`, or a fixed text when libc has none.
pub fn gai_strerror(code: c_int) -> *const c_char {
    match gai_strerror_fn() {
        // SAFETY: gai_strerror accepts any int and returns a static string.
        Some(real) => unsafe { real(code) },
        None => c"Unknown error".as_ptr(),
    }
}

/// libc's `gethostbyname`.
///
/// # Safety
/// `name` is a valid C string.
pub unsafe fn gethostbyname(name: *const c_char) -> *mut hostent {
    match gethostbyname_fn() {
        // SAFETY: forwarded unchanged under the caller's guarantees.
        Some(real) => unsafe { real(name) },
        None => {
            set_h_errno(NO_RECOVERY);
            ptr::null_mut()
        }
    }
}

/// libc's `gethostbyname2`.
///
/// # Safety
/// `name` is a valid C string.
pub unsafe fn gethostbyname2(name: *const c_char, af: c_int) -> *mut hostent {
    match gethostbyname2_fn() {
        // SAFETY: forwarded unchanged under the caller's guarantees.
        Some(real) => unsafe { real(name, af) },
        None => {
            set_h_errno(NO_RECOVERY);
            ptr::null_mut()
        }
    }
}

/// libc's `gethostbyname_r`.
///
/// # Safety
/// As for `gethostbyname_r(3)`.
pub unsafe fn gethostbyname_r(
    name: *const c_char,
    ret: *mut hostent,
    buf: *mut c_char,
    buflen: size_t,
    result: *mut *mut hostent,
    h_errnop: *mut c_int,
) -> c_int {
    match gethostbyname_r_fn() {
        // SAFETY: forwarded unchanged under the caller's guarantees.
        Some(real) => unsafe { real(name, ret, buf, buflen, result, h_errnop) },
        // SAFETY: the caller passes valid result/h_errnop pointers (or NULL, checked).
        None => unsafe { missing_r(result, h_errnop) },
    }
}

/// libc's `gethostbyname2_r`.
///
/// # Safety
/// As for `gethostbyname2_r(3)`.
pub unsafe fn gethostbyname2_r(
    name: *const c_char,
    af: c_int,
    ret: *mut hostent,
    buf: *mut c_char,
    buflen: size_t,
    result: *mut *mut hostent,
    h_errnop: *mut c_int,
) -> c_int {
    match gethostbyname2_r_fn() {
        // SAFETY: forwarded unchanged under the caller's guarantees.
        Some(real) => unsafe { real(name, af, ret, buf, buflen, result, h_errnop) },
        // SAFETY: the caller passes valid result/h_errnop pointers (or NULL, checked).
        None => unsafe { missing_r(result, h_errnop) },
    }
}

/// The `_r` failure for a missing libc function: no result, `NETDB_INTERNAL`, `ENOSYS`.
unsafe fn missing_r(result: *mut *mut hostent, h_errnop: *mut c_int) -> c_int {
    if !result.is_null() {
        // SAFETY: non-NULL and valid by the caller's contract.
        unsafe { *result = ptr::null_mut() };
    }
    if !h_errnop.is_null() {
        // SAFETY: non-NULL and valid by the caller's contract.
        unsafe { *h_errnop = NETDB_INTERNAL };
    }
    set_errno(libc::ENOSYS);
    libc::ENOSYS
}
