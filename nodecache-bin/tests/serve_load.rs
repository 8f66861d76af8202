//! `nodecache serve` under load from dnsperf: peak memory after caching 10,000 names (the
//! issue's bar: under 32 MiB) and a throughput sanity figure for cache hits. Skipped when
//! dnsperf is not installed.

mod serve_common;

use std::fmt::Write as _;
use std::time::Duration;

use testbed::{Corpus, Node, require_netns, require_programs};

use serve_common::{ask, start_daemon};

/// Names cached.
const NAMES: usize = 10_000;
/// Issue 4: peak RSS after caching 10,000 names.
const RSS_BOUND_KIB: u64 = 32 * 1024;

/// A number after `label` in dnsperf's report ("Queries per second:  81234.5").
fn report_value(report: &str, label: &str) -> Option<f64> {
    let line = report.lines().find(|l| l.trim_start().starts_with(label))?;
    line.split_once(':')?
        .1
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

#[test]
fn ten_thousand_cached_names_stay_under_32_mib() {
    if !require_netns("ten_thousand_cached_names_stay_under_32_mib")
        || !require_programs("ten_thousand_cached_names_stay_under_32_mib", &["dnsperf"])
    {
        return;
    }
    let zone = format!("{}*.load.example.org. 300 IN A 198.18.7.1\n", Corpus.zone());
    let node = Node::builder().zone(zone).build().expect("node");
    let daemon = start_daemon(&node, &[]);
    let dir = tempfile::tempdir().expect("tempdir");
    let queries = dir.path().join("queries.txt");
    let mut text = String::new();
    for i in 0..NAMES {
        let _ = writeln!(text, "n{i}.load.example.org A");
    }
    std::fs::write(&queries, text).expect("query file");
    let file = queries.to_str().expect("utf-8 path");
    let base = ["-s", "127.0.0.1", "-p", "5353", "-d", file, "-q", "64"];

    // Fill: every name once (misses, forwarded to NSD).
    let mut fill = base.to_vec();
    fill.extend(["-n", "1"]);
    let filled = node
        .pod()
        .exec("dnsperf", &fill, Duration::from_secs(60))
        .expect("dnsperf runs");
    let completed = report_value(&filled.stdout, "Queries completed:").unwrap_or(0.0);
    let peak = daemon.peak_rss_kib().expect("VmHWM");
    // Every name is a hit now.
    let hit = ask(&node, &["n9999.load.example.org", "A"]);
    assert_eq!(hit.rdata("A"), ["198.18.7.1"]);

    // Throughput of hits, for the record (dnsperf and the daemon share the 2 cores).
    let mut hits = base.to_vec();
    hits.extend(["-l", "3"]);
    let measured = node
        .pod()
        .exec("dnsperf", &hits, Duration::from_secs(30))
        .expect("dnsperf runs");
    let qps = report_value(&measured.stdout, "Queries per second:").unwrap_or(0.0);
    let peak_after = daemon.peak_rss_kib().expect("VmHWM");
    println!(
        "cached {completed} names: VmHWM {peak} KiB after filling, {peak_after} KiB after \
         {qps:.0} hits/s for 3 s"
    );
    assert!(completed >= NAMES as f64 * 0.99, "{}", filled.stdout);
    assert!(peak_after < RSS_BOUND_KIB, "VmHWM {peak_after} KiB");
}
