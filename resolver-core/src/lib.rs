//! `resolver-core`: the resolver shared by the `libnodecache.so` shim and the `nodecache` binary.
//!
//! Layers, bottom up (see `ARCHITECTURE.md` at the repository root):
//! - [`config`]: `/etc/resolv.conf` (with `LOCALDOMAIN` / `RES_OPTIONS`), `/etc/hosts`,
//!   the `hosts:` line of `/etc/nsswitch.conf`, each reloaded when its file changes.
//! - [`name`]: DNS name helpers shared by the policy and the wire codec.
//! - [`policy`]: which candidate names to ask, in which order (glibc's sequence, or the
//!   Kubernetes-pruned one), each with the reason.
//! - [`wire`]: a small allocation-free DNS message codec (queries out, responses in).
//! - [`transport`]: the [`transport::Transport`] trait and the system implementation
//!   (UDP with fast retransmit and failover, TCP on truncation or `use-vc`).
//! - [`cache`]: a bounded, sharded, TTL-honouring cache for answers, positive and negative.
//! - [`lookup`]: the sans-IO lookup state machine (A then AAAA per candidate).
//! - [`resolver`]: the public blocking API for services, [`Resolver`].
#![forbid(unsafe_code)]

pub mod addrconfig;
pub mod cache;
pub mod config;
pub mod error;
pub mod inline_list;
pub mod lookup;
pub mod name;
pub mod policy;
pub mod resolver;
pub mod stats;
pub mod transport;
pub mod wire;

pub use error::Error;
pub use resolver::{Family, LookupOptions, Resolver};
