//! Helpers shared by the `serve_*` integration tests: starting `nodecache serve` in a test
//! node's pod namespace and asking it (or NSD) with dig.
#![allow(dead_code, unreachable_pub, unused_imports)] // Each test binary uses a different subset.

use std::collections::BTreeSet;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;

use testbed::{DNS_ADDR, Daemon, DigAnswer, NODECACHE_BIN_ENV, Node, dig};

/// The binary under test.
pub const NODECACHE: &str = env!("CARGO_BIN_EXE_nodecache");

/// Where the daemon listens with no flag (SPEC §3), inside the pod namespace.
pub const DAEMON_ADDR: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(Ipv4Addr::LOCALHOST), 5353);

/// NSD, the upstream.
pub const NSD_ADDR: SocketAddr = SocketAddr::new(std::net::IpAddr::V4(DNS_ADDR), 53);

/// The flags that point the daemon at NSD and let the test bed's 198.18.0.0/15 clients in
/// besides the default ranges (`allow_from`'s default refuses them). (The pod namespace's
/// /etc/resolv.conf names NSD too, which is what a daemon started with no flag uses: see
/// the `no_flag` test.)
pub fn upstream_args() -> Vec<&'static str> {
    vec![
        "--upstream",
        ".=198.18.0.53",
        "--allow-from",
        "default,198.18.0.0/15",
    ]
}

/// `nodecache serve` in the node's pod namespace, upstream NSD, plus `extra` flags. The
/// binary is cargo's test build, or the one named by `NODECACHE_BIN` (to measure a release
/// build).
pub fn start_daemon(node: &Node, extra: &[&str]) -> Daemon {
    let mut args = upstream_args();
    args.extend_from_slice(extra);
    start_daemon_with(node, &args)
}

/// `nodecache serve ARGS…` in the node's pod namespace, exactly these flags.
pub fn start_daemon_with(node: &Node, args: &[&str]) -> Daemon {
    let binary = std::env::var_os(NODECACHE_BIN_ENV).unwrap_or_else(|| NODECACHE.into());
    Daemon::start_binary(node.pod(), Path::new(&binary), args)
        .unwrap_or_else(|e| panic!("starting nodecache serve: {e}"))
}

/// dig at the daemon from the pod namespace.
pub fn ask(node: &Node, args: &[&str]) -> DigAnswer {
    dig(node.pod(), DAEMON_ADDR, args).unwrap_or_else(|e| panic!("dig {args:?}: {e}"))
}

/// dig at NSD directly from the pod namespace.
pub fn ask_nsd(node: &Node, args: &[&str]) -> DigAnswer {
    dig(node.pod(), NSD_ADDR, args).unwrap_or_else(|e| panic!("dig {args:?}: {e}"))
}

/// The (type, rdata) pairs of an answer section, as a set (order and TTLs aside).
pub fn records(answer: &DigAnswer) -> BTreeSet<(String, String)> {
    answer
        .answers
        .iter()
        .map(|r| (r.rtype.clone(), r.rdata.to_ascii_lowercase()))
        .collect()
}

pub use testbed::poll;
