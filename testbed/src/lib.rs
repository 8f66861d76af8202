//! `testbed`: a Kubernetes-like node built in Linux network namespaces, for nodecache's
//! integration tests (SPEC §6).
//!
//! One [`Node`] is two namespaces joined by a veth pair:
//!
//! ```text
//!   pod  (eth0 198.18.0.2/24, fe80::/64)  <── veth ──>  dns (eth0 198.18.0.53/24 [+ .54, .99 …])
//!   /etc/netns/<pod>/resolv.conf: Kubernetes-like           nsd -d, authoritative for ".",
//!   (ndots:5, three search domains)                        serving the [`Corpus`]
//! ```
//!
//! Building blocks, each usable on its own:
//! - [`Netns`]: a uniquely named namespace, removed on drop, with per-namespace `/etc` files
//!   and command execution with a timeout ([`run`]).
//! - [`Nsd`]: NSD in a namespace with a generated config in a temporary directory.
//! - [`Capture`]: tcpdump on an interface, returning the DNS queries seen ([`CapturedQuery`]).
//! - [`Loss`] / [`Blackhole`]: iptables rules on the receiving side (SPEC §6).
//! - [`Corpus`]: the names the tests resolve and the root zone that answers them.
//! - [`glibc_lookup`]: what glibc's `getaddrinfo` returns in the pod (through `getent ahosts`).
//! - [`Shim`]: the built `libnodecache.so` (glibc or musl [`Libc`]); [`CProgram`]: the C test
//!   programs of `tests/c/` built with gcc or musl-gcc and run with or without the shim
//!   preloaded, their output parsed by [`CLookup`] and [`CSummary`]; [`HttpServer`]: a page
//!   to fetch by name.
//! - [`Daemon`]: `nodecache serve` in a namespace; [`dig`]: one query with dig, parsed.
//! - [`NodeBox`]: a node in a box, pod → host (the daemon on 169.254.20.10) → upstream (NSD),
//!   with loss on either [`Hop`]; [`dnsperf`] drives load and parses its [`DnsperfReport`].
//! - [`SlowUpstream`] and [`Spoofer`]: fakes for faults NSD will not produce (a 2 s answer,
//!   forged answers), small Python 3 programs run in a namespace.
//!
//! Everything needs root and the tools named in [`REQUIRED_TOOLS`]; tests call
//! [`require_netns`] first, which fails the test with the missing tool's name, or skips it when
//! `NODECACHE_SKIP_NETNS=1` is set.
//!
//! Only addresses from the benchmarking range 198.18.0.0/15 (and 2001:db8::/32 in AAAA records)
//! are used, and only inside namespaces this crate created (SPEC §6).

mod capture;
mod corpus;
mod cprog;
mod creport;
mod daemon;
mod dig;
mod error;
mod examples;
mod fakedns;
mod http;
mod iptables;
mod lookup;
mod netns;
mod node;
mod nodebox;
mod nsd;
mod preflight;
mod process;
mod shim;
mod wait;
pub mod zone;

pub use capture::{Capture, CapturedQuery, Transport};
pub use corpus::{Corpus, CorpusName, Expected};
pub use cprog::{CProgram, c_sources_dir};
pub use creport::{CLookup, CSummary};
pub use daemon::{Daemon, NODECACHE_BIN_ENV, find_nodecache};
pub use dig::{DigAnswer, DigRecord, dig};
pub use error::Error;
pub use examples::{kubernetes_examples_dir, kubernetes_manifests};
pub use fakedns::{POISON_ADDR, SPOOF_SOURCE, SlowUpstream, Spoofer};
pub use http::HttpServer;
pub use iptables::{Blackhole, IptablesRule, Loss};
pub use lookup::{Family, LookupResult, LookupStatus, glibc_lookup, glibc_lookup_family};
pub use netns::Netns;
pub use node::{
    DEAD_DNS_ADDR, DNS_ADDR, DNS_IFACE, Node, NodeBuilder, POD_ADDR, POD_IFACE, SECOND_DNS_ADDR,
    kubernetes_resolv_conf,
};
pub use nodebox::{
    BOX_ADMIN, BOX_HOST_POD_SIDE, BOX_HOST_UPSTREAM_SIDE, BOX_POD_ADDR, BOX_UPSTREAM_ADDR,
    DnsperfReport, Hop, NODE_LOCAL_ADDR, NodeBox, dnsperf,
};
pub use nsd::Nsd;
pub use preflight::{
    REQUIRED_TOOLS, SKIP_ENV, missing_programs, missing_requirements, require_netns,
    require_programs,
};
pub use process::{RunOutput, run};
pub use shim::{Libc, MUSL_TARGET, SHIM_FILE, Shim, target_dirs};
pub use wait::{metric_sample, poll};

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
