//! Helpers shared by the `box_*` tests (issue 5 faults, floods, security): a zone with a
//! wildcard for unique names, the daemon's /metrics and /proc figures, dnsperf with
//! per-query latencies.
#![allow(dead_code, unreachable_pub)] // Each test binary uses a different subset.

use std::path::{Path, PathBuf};
use std::time::Duration;

use testbed::{BOX_ADMIN, Corpus, Daemon, NODE_LOCAL_ADDR, Netns, NodeBox};

/// The binary under test.
pub const NODECACHE: &str = env!("CARGO_BIN_EXE_nodecache");

/// Every name below `wild.test.` exists (a wildcard): unique names for uncached lookups.
pub const WILD_ZONE: &str = "wild.test";
/// The wildcard's address.
pub const WILD_ADDR: &str = "198.18.3.3";
/// TTL of the `stale.test.` names: short, so they expire during an outage.
pub const SHORT_TTL_SECS: u32 = 2;
/// How many `sN.stale.test.` names the zone has.
pub const SHORT_TTL_NAMES: usize = 20;

/// How many `hotN.hot.test.` names (TTL 300, longer than any flood) the zone has.
pub const HOT_NAMES: usize = 20;

/// The Corpus zone plus `*.wild.test.`, `s0..s19.stale.test.` (TTL 2) and
/// `hot0..hot19.hot.test.` (TTL 300).
pub fn box_zone() -> String {
    let mut zone = Corpus.zone();
    for i in 0..HOT_NAMES {
        zone.push_str(&format!("hot{i}.hot.test. 300 IN A 198.18.5.{}\n", i + 1));
    }
    zone.push_str(&format!("*.{WILD_ZONE}. 30 IN A {WILD_ADDR}\n"));
    for i in 0..SHORT_TTL_NAMES {
        zone.push_str(&format!(
            "s{i}.stale.test. {SHORT_TTL_SECS} IN A 198.18.4.{}\n",
            i + 1
        ));
    }
    zone
}

/// The address `sN.stale.test.` has.
pub fn stale_name_addr(i: usize) -> String {
    format!("198.18.4.{}", i + 1)
}

/// A node box serving [`box_zone`].
pub fn new_box() -> NodeBox {
    NodeBox::with_zone(&box_zone()).expect("node box")
}

/// The daemon in `nodebox`'s host namespace with its default flags plus `extra`.
pub fn start_daemon(nodebox: &NodeBox, extra: &[&str]) -> Daemon {
    nodebox
        .start_daemon(Path::new(NODECACHE), extra)
        .unwrap_or_else(|e| panic!("starting nodecache serve: {e}"))
}

/// The daemon's /metrics text (curl in the host namespace).
pub fn metrics_text(nodebox: &NodeBox) -> String {
    let out = nodebox
        .host()
        .exec(
            "curl",
            &["-s", "-m", "5", &format!("http://{BOX_ADMIN}/metrics")],
            Duration::from_secs(10),
        )
        .expect("curl runs");
    out.stdout
}

/// One metric now (the first sample of `family`).
/// Panics when the family is absent: a misspelt name must not read as zero.
pub fn metric(nodebox: &NodeBox, family: &str) -> f64 {
    let text = metrics_text(nodebox);
    testbed::metric_sample(&text, family, &[])
        .unwrap_or_else(|| panic!("no {family} in /metrics:\n{text}"))
}

/// What /proc/PID/status says of the daemon's memory and threads.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcFigures {
    /// Resident set now, KiB.
    pub rss_kib: u64,
    /// Peak resident set, KiB.
    pub hwm_kib: u64,
    /// Threads.
    pub threads: u64,
}

/// Reads /proc/`pid`/status.
pub fn proc_figures(pid: u32) -> ProcFigures {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |key: &str| -> u64 {
        status
            .lines()
            .find_map(|line| line.strip_prefix(key))
            .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
            .unwrap_or(0)
    };
    ProcFigures {
        rss_kib: field("VmRSS:"),
        hwm_kib: field("VmHWM:"),
        threads: field("Threads:"),
    }
}

/// Writes `lines` (dnsperf's `name type` lines) to a file in `dir`.
pub fn query_file(dir: &Path, name: &str, lines: impl Iterator<Item = String>) -> PathBuf {
    let path = dir.join(name);
    let mut text = String::new();
    for line in lines {
        text.push_str(&line);
        text.push('\n');
    }
    std::fs::write(&path, text).expect("query file");
    path
}

/// Per-query results of a verbose dnsperf run.
#[derive(Debug, Default)]
pub struct Timed {
    /// (rcode, latency) per answered query.
    pub answers: Vec<(String, Duration)>,
    /// dnsperf's summary `Queries lost:`.
    pub lost: u64,
    /// dnsperf's output.
    pub output: String,
}

impl Timed {
    /// The `pct` percentile latency (nearest rank) of the answered queries.
    pub fn percentile(&self, pct: f64) -> Duration {
        let mut times: Vec<Duration> = self.answers.iter().map(|(_, t)| *t).collect();
        times.sort();
        let rank = ((pct / 100.0) * times.len() as f64).ceil() as usize;
        times
            .get(rank.saturating_sub(1).min(times.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    }

    /// Answers with `rcode`.
    pub fn count(&self, rcode: &str) -> usize {
        self.answers.iter().filter(|(r, _)| r == rcode).count()
    }
}

/// Runs dnsperf in `ns` against the node-local address once through `file`, one query
/// outstanding (`-q 1`: each latency is one lookup's own), `timeout` per query, with `-v`
/// so each answer is reported as `> RCODE name type latency`.
pub fn dnsperf_timed(ns: &Netns, file: &Path, timeout: Duration) -> Timed {
    let args = [
        "-s".to_owned(),
        NODE_LOCAL_ADDR.to_string(),
        "-d".to_owned(),
        file.display().to_string(),
        "-n".to_owned(),
        "1".to_owned(),
        "-q".to_owned(),
        "1".to_owned(),
        "-t".to_owned(),
        format!("{}", timeout.as_secs_f64()),
        "-v".to_owned(),
    ];
    let out = ns
        .exec("dnsperf", &args, Duration::from_secs(300))
        .expect("dnsperf runs");
    let mut timed = Timed {
        output: out.stdout.clone(),
        ..Timed::default()
    };
    for line in out.stdout.lines() {
        let Some(rest) = line.strip_prefix("> ") else {
            if let Some(lost) = line.trim().strip_prefix("Queries lost:") {
                timed.lost = lost
                    .split_whitespace()
                    .next()
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(0);
            }
            continue;
        };
        let words: Vec<&str> = rest.split_whitespace().collect();
        if let (Some(rcode), Some(secs)) = (words.first(), words.last())
            && let Ok(secs) = secs.parse::<f64>()
        {
            timed
                .answers
                .push(((*rcode).to_owned(), Duration::from_secs_f64(secs)));
        }
    }
    timed
}

/// dnsperf in `ns` at the node-local address like `testbed::dnsperf`, but with up to
/// `outstanding` queries in flight (`-q`; dnsperf's default of 100 would cap a flood against a
/// slow server at 100 / latency queries per second) and `max_qps` 0 meaning no limit.
pub fn dnsperf_flood(
    ns: &Netns,
    file: &Path,
    max_qps: u32,
    duration: Duration,
    timeout: Duration,
    outstanding: u32,
) -> testbed::DnsperfReport {
    let mut args = vec![
        "-s".to_owned(),
        NODE_LOCAL_ADDR.to_string(),
        "-d".to_owned(),
        file.display().to_string(),
        "-l".to_owned(),
        format!("{}", duration.as_secs_f64()),
        "-t".to_owned(),
        format!("{}", timeout.as_secs_f64()),
        "-c".to_owned(),
        "4".to_owned(),
        "-q".to_owned(),
        outstanding.to_string(),
    ];
    if max_qps > 0 {
        args.extend(["-Q".to_owned(), max_qps.to_string()]);
    }
    let out = ns
        .exec(
            "dnsperf",
            &args,
            duration + timeout + Duration::from_secs(60),
        )
        .expect("dnsperf runs");
    testbed::DnsperfReport::parse(&out.stdout)
        .unwrap_or_else(|| panic!("no dnsperf summary:\n{}{}", out.stdout, out.stderr))
}

pub use testbed::poll;

/// The node-local DNS address the pods ask (port 53).
pub fn node_local() -> std::net::SocketAddr {
    std::net::SocketAddr::from((NODE_LOCAL_ADDR, 53))
}

/// A field `key N` from a helper script's output (`… key N …`).
pub fn field(text: &str, key: &str) -> Option<f64> {
    text.lines().find_map(|line| {
        let mut words = line.split_whitespace();
        while let Some(word) = words.next() {
            if word == key {
                return words.next()?.parse().ok();
            }
        }
        None
    })
}
