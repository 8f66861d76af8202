//! `libnodecache.so`: the LD_PRELOAD shim that answers libc's resolver calls with
//! nodecache's resolver (SPEC §3, issue 3).
//!
//! Exports, each with libc's exact prototype and glibc's semantics: `getaddrinfo`,
//! `freeaddrinfo`, `gai_strerror`, `gethostbyname`, `gethostbyname2`, `gethostbyname_r`,
//! `gethostbyname2_r`; plus a small C API (`include/nodecache.h`): `nodecache_stats`,
//! `nodecache_cache_flush`, `nodecache_version`.
//!
//! Shape of every export (the project's standard): the body runs inside
//! [`ffi_boundary!`] (no panic reaches C; a panic hands the call to libc); it reads the C
//! arguments, asks safe Rust logic for a decision — serve, hand to libc ("bypass"), or fail
//! with a code — and carries it out. Whatever the shim cannot answer exactly as glibc would
//! goes to the real libc function (`dlsym(RTLD_NEXT)`, [`real`]).
//!
//! Environment: `NODECACHE_DISABLE=1` (pure pass-through), `NODECACHE_LOG=info|debug`
//! (stderr), `NODECACHE_CACHE=off`, `NODECACHE_SEARCH=kubernetes|glibc` (resolver-core).
//!
//! Module map: [`boundary`] (panic boundary, re-entry guard), `log`, [`real`], `state`
//! (per-process resolver, fork handling), `errors` (core errors → EAI/h_errno), `service`,
//! `order` + `sources` + `gai_conf` (glibc's RFC 3484 sort), [`addrinfo`] (lists), `registry` (which lists are ours),
//! `gai`, `hostent`, [`capi`].

#[macro_use]
pub mod boundary;
pub mod addrinfo;
pub mod capi;
pub mod consts;
mod errors;
#[doc(hidden)]
pub mod fuzzing;
mod gai;
mod gai_conf;
mod hostent;
mod log;
mod netlink;
pub mod order;
pub mod real;
mod registry;
mod service;
mod sources;
mod state;

pub use capi::{NodecacheStats, nodecache_cache_flush, nodecache_stats, nodecache_version};
pub use gai::{freeaddrinfo, gai_strerror, getaddrinfo};
pub use hostent::{gethostbyname, gethostbyname_r, gethostbyname2, gethostbyname2_r};
pub use log::panic_caught;
#[doc(hidden)]
pub use state::install_resolver;
