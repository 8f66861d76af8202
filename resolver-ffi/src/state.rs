//! The per-process state behind the exports: one [`Resolver`] built lazily from the
//! environment, the `AI_ADDRCONFIG` detector and the source-address cache.
//!
//! Fork safety: after `fork` only the forking thread exists in the child, and any lock
//! another thread held stays held forever. The state is therefore per process: a
//! `pthread_atfork` child handler drops the pointer to the parent's state (leaking it: its
//! locks may be held, so it is never touched again) and the child builds its own on first
//! use. The address-list registry is shared across fork on purpose (the child may free lists
//! the parent built), so its locks are taken before fork and released on both sides
//! ([`crate::registry`]).
//! Children created without running atfork handlers (raw `clone`, `vfork`) must `exec` or
//! `_exit` at once anyway (POSIX).
//!
//! No background thread is ever started: configuration files are re-checked by the calling
//! thread, at most once a second (resolver-core).

use std::ptr;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU8, Ordering};

use resolver_core::Resolver;
use resolver_core::addrconfig::AddrConfig;
use resolver_core::resolver::ResolverBuilder;

use crate::log::shim_log;
use crate::order::Policy;
use crate::sources::SourceCache;

/// Everything one process (one side of a fork) uses.
#[derive(Debug)]
pub(crate) struct ShimState {
    /// The resolver (`NODECACHE_CACHE`, `NODECACHE_SEARCH` applied by `from_env`), built by
    /// the first call that resolves a name: numeric hosts and service-only calls need no
    /// configuration file, as with glibc (issue 6: work only when needed).
    resolver: OnceLock<Resolver>,
    /// Families with a non-loopback address, glibc's `__check_pf` view.
    pub(crate) addrconfig: AddrConfig,
    /// Source addresses for the result sort.
    pub(crate) sources: SourceCache,
    /// Result-sort tables: glibc's defaults, or `/etc/gai.conf` (read once per process, like
    /// glibc without `reload yes`), read on the first sort of two or more addresses: a lookup
    /// with one address, or none, has nothing to order (issue 6: work only when needed).
    policy: OnceLock<Policy>,
}

impl ShimState {
    /// The resolver, built from the environment and the configuration files on first use.
    pub(crate) fn resolver(&self) -> &Resolver {
        self.resolver
            .get_or_init(|| ResolverBuilder::from_env().build())
    }

    /// The resolver if a call built it already (for the C API, which must not build one).
    pub(crate) fn built_resolver(&self) -> Option<&Resolver> {
        self.resolver.get()
    }

    /// The result-sort tables, from `/etc/gai.conf` on first use.
    pub(crate) fn policy(&self) -> &Policy {
        self.policy.get_or_init(crate::gai_conf::load)
    }
}

static STATE: AtomicPtr<ShimState> = AtomicPtr::new(ptr::null_mut());
static ATFORK_REGISTERED: AtomicBool = AtomicBool::new(false);

/// The state of this process, built on first use.
pub(crate) fn state() -> &'static ShimState {
    let current = STATE.load(Ordering::Acquire);
    if !current.is_null() {
        // SAFETY: a non-null STATE always points to a leaked Box that is never freed.
        return unsafe { &*current };
    }
    register_atfork();
    let fresh = Box::into_raw(Box::new(ShimState {
        resolver: OnceLock::new(),
        addrconfig: AddrConfig::with_detector(crate::netlink::detect_families),
        sources: SourceCache::default(),
        policy: OnceLock::new(),
    }));
    match STATE.compare_exchange(ptr::null_mut(), fresh, Ordering::AcqRel, Ordering::Acquire) {
        Ok(_) => {
            shim_log!(Info, "resolver ready");
            // SAFETY: just published; never freed.
            unsafe { &*fresh }
        }
        Err(winner) => {
            // Another thread built one first; ours was never shared.
            // SAFETY: `fresh` came from Box::into_raw above and nobody else saw it.
            drop(unsafe { Box::from_raw(fresh) });
            // SAFETY: as above, a leaked Box that is never freed.
            unsafe { &*winner }
        }
    }
}

/// Installs `resolver` as this process's resolver instead of the one built from the
/// environment, for tests that script the network ([`resolver_core::transport::Transport`]).
/// Returns false (and changes nothing) when the state already exists.
#[doc(hidden)]
pub fn install_resolver(resolver: Resolver) -> bool {
    register_atfork();
    let fresh = Box::into_raw(Box::new(ShimState {
        resolver: OnceLock::from(resolver),
        addrconfig: AddrConfig::with_detector(crate::netlink::detect_families),
        sources: SourceCache::default(),
        policy: OnceLock::from(Policy::default()),
    }));
    match STATE.compare_exchange(ptr::null_mut(), fresh, Ordering::AcqRel, Ordering::Acquire) {
        Ok(_) => true,
        Err(_) => {
            // SAFETY: `fresh` came from Box::into_raw above and nobody else saw it.
            drop(unsafe { Box::from_raw(fresh) });
            false
        }
    }
}

/// The state if it was already built (for the C API, which must not build one).
pub(crate) fn existing_state() -> Option<&'static ShimState> {
    let current = STATE.load(Ordering::Acquire);
    // SAFETY: a non-null STATE always points to a leaked Box that is never freed.
    (!current.is_null()).then(|| unsafe { &*current })
}

extern "C" fn before_fork() {
    crate::registry::lock_all();
}

extern "C" fn after_fork_in_parent() {
    crate::registry::unlock_all();
}

extern "C" fn after_fork_in_child() {
    crate::registry::unlock_all();
    // The parent's state may have locks held by threads that do not exist here: forget it.
    STATE.store(ptr::null_mut(), Ordering::Release);
}

/// Registers the fork handlers once. A flag instead of `Once`, so that a fork racing the
/// registration cannot leave the child waiting on a `Once` that will never complete.
fn register_atfork() {
    if ATFORK_REGISTERED.swap(true, Ordering::AcqRel) {
        return;
    }
    // SAFETY: the handlers are plain functions that stay valid for the life of the process.
    let rc = unsafe {
        libc::pthread_atfork(
            Some(before_fork),
            Some(after_fork_in_parent),
            Some(after_fork_in_child),
        )
    };
    if rc != 0 {
        shim_log!(
            Info,
            "pthread_atfork failed ({rc}); a forked child reuses the parent's state"
        );
    }
}

const UNREAD: u8 = 0;
const ON: u8 = 1;
const OFF: u8 = 2;
static DISABLED: AtomicU8 = AtomicU8::new(UNREAD);

/// `NODECACHE_DISABLE=1`: every export passes straight through to libc. Read once.
#[inline]
pub(crate) fn disabled() -> bool {
    match DISABLED.load(Ordering::Relaxed) {
        ON => true,
        OFF => false,
        _ => {
            let on =
                std::env::var_os("NODECACHE_DISABLE").is_some_and(|v| !v.is_empty() && v != "0");
            DISABLED.store(if on { ON } else { OFF }, Ordering::Relaxed);
            on
        }
    }
}
