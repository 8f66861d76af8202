//! The C API beyond interposition (`include/nodecache.h`): statistics of this process's
//! lookups, a cache flush and the version.

use std::ffi::{c_char, c_int};

use crate::state::{disabled, existing_state};

/// Counters of the lookups this process made through the shim (since it started, or since
/// it was forked: a child counts its own).
#[repr(C)]
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct NodecacheStats {
    /// DNS queries put on the wire (UDP datagrams including retransmits, plus TCP queries).
    pub queries_sent: u64,
    /// Lookups answered entirely from the cache.
    pub cache_hits: u64,
    /// Lookups that needed at least one query (or the hosts file).
    pub cache_misses: u64,
    /// UDP retransmissions (included in `queries_sent`).
    pub retransmits: u64,
    /// Questions re-asked over TCP because the UDP answer was truncated.
    pub tcp_fallbacks: u64,
    /// Name lookups asked of the resolver (numeric hosts are answered without it and are not
    /// counted).
    pub lookups: u64,
    /// Lookups answered from the hosts file.
    pub hosts_hits: u64,
}

/// Fills `*out` with this process's counters.
///
/// Returns 0, or -1 when `out` is NULL or the shim is disabled (`NODECACHE_DISABLE=1`).
/// Before the first lookup every counter is 0.
///
/// # Safety
/// `out` is NULL or points to writable storage for a `struct nodecache_stats`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nodecache_stats(out: *mut NodecacheStats) -> c_int {
    ffi_boundary!(-1, {
        if out.is_null() || disabled() {
            return -1;
        }
        let stats = existing_state()
            .and_then(|s| s.built_resolver())
            .map(|r| r.stats())
            .unwrap_or_default();
        let copy = NodecacheStats {
            queries_sent: stats.queries_sent,
            cache_hits: stats.cache_hits,
            cache_misses: stats.cache_misses,
            retransmits: stats.retransmits,
            tcp_fallbacks: stats.tcp_fallbacks,
            lookups: stats.lookups,
            hosts_hits: stats.hosts_hits,
        };
        // SAFETY: non-NULL and writable by the caller's contract.
        unsafe { out.write(copy) };
        0
    })
}

/// Drops every cached answer of this process (positive and negative), so the next lookup
/// of each name asks the nameservers again.
///
/// # Safety
/// None: callable at any time from any thread.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nodecache_cache_flush() {
    ffi_boundary!((), {
        // A resolver not built yet has nothing cached.
        if !disabled()
            && let Some(resolver) = existing_state().and_then(|s| s.built_resolver())
        {
            resolver.flush_cache();
        }
    })
}

/// The shim's version, a static NUL-terminated string such as `"0.1.0"`.
///
/// # Safety
/// None: the result is static and must not be freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nodecache_version() -> *const c_char {
    const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), "\0");
    VERSION.as_ptr().cast()
}
