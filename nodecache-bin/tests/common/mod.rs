//! Helpers shared by the integration tests: running `nodecache` in the pod namespace and
//! reading its output (SPEC §3).
//!
//! Every test builds its own [`testbed::Node`] (two network namespaces, NSD, a veth pair), so
//! tests are independent and nextest can run them in parallel. They need root and the tools in
//! [`testbed::REQUIRED_TOOLS`]; without them a test fails naming what is missing, unless
//! `NODECACHE_SKIP_NETNS=1` is set, in which case it prints `skipped: …` and passes.
#![allow(dead_code, unreachable_pub)] // Each test binary uses a different subset.

use std::time::Duration;

use testbed::{LookupResult, LookupStatus, Netns, RunOutput};

/// The binary under test, built by cargo for the integration tests.
pub const NODECACHE: &str = env!("CARGO_BIN_EXE_nodecache");

/// Bound for one `nodecache resolve` of one name.
pub const RESOLVE_TIMEOUT: Duration = Duration::from_secs(30);

/// Runs `nodecache <args…>` in `ns`.
pub fn nodecache(ns: &Netns, args: &[&str], timeout: Duration) -> RunOutput {
    ns.exec(NODECACHE, args, timeout)
        .unwrap_or_else(|e| panic!("running nodecache {args:?}: {e}"))
}

/// `nodecache resolve <args…>` in `ns`, as a [`LookupResult`] (stdout: one address per line;
/// exit 0 found, 2 not found, 1 error).
pub fn resolve(ns: &Netns, args: &[&str], timeout: Duration) -> LookupResult {
    let mut full = vec!["resolve"];
    full.extend_from_slice(args);
    let output = nodecache(ns, &full, timeout);
    LookupResult::from_output(output).unwrap_or_else(|e| panic!("{e}"))
}

/// The last line of `nodecache resolve --repeat N`'s stderr:
/// `summary: lookups=N failures=F p50_us=X p99_us=Y max_us=Z`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    pub lookups: u64,
    pub failures: u64,
    pub p50_us: u64,
    pub p99_us: u64,
    pub max_us: u64,
}

impl Summary {
    /// Finds and parses the summary line in `stderr`.
    pub fn parse(stderr: &str) -> Option<Self> {
        let line = stderr.lines().rev().find(|l| l.starts_with("summary:"))?;
        let field = |key: &str| -> Option<u64> {
            line.split_whitespace()
                .find_map(|word| word.strip_prefix(key)?.strip_prefix('='))
                .and_then(|v| v.parse().ok())
        };
        Some(Self {
            lookups: field("lookups")?,
            failures: field("failures")?,
            p50_us: field("p50_us")?,
            p99_us: field("p99_us")?,
            max_us: field("max_us")?,
        })
    }
}

/// "found 2" / "not found" / "failed (exit 1)", for tables.
pub fn outcome(result: &LookupResult) -> String {
    match result.status {
        LookupStatus::Found => format!("found {}", result.addrs.len()),
        LookupStatus::NotFound => "not found".to_owned(),
        LookupStatus::Failed(Some(code)) => format!("failed (exit {code})"),
        LookupStatus::Failed(None) => "failed (signal)".to_owned(),
    }
}

/// True when both lookups agree: same status, and the same address set when found.
pub fn same_answer(a: &LookupResult, b: &LookupResult) -> bool {
    a.status == b.status && (a.status != LookupStatus::Found || a.addrs == b.addrs)
}
