//! `nodecache explain` prints glibc's candidate sequence and nodecache's pruned one without
//! sending a single packet (SPEC §3).

mod common;

use std::time::Duration;

use testbed::{DNS_ADDR, Node, kubernetes_resolv_conf, require_netns};

use common::nodecache;

/// glibc's candidates for `www.example.com` with `ndots:5` and the pod's three search domains
/// (res_query.c `__res_context_search`: 2 dots < ndots, so the suffixes first, the name last).
const GLIBC_CANDIDATES: [&str; 4] = [
    "www.example.com.default.svc.cluster.local",
    "www.example.com.svc.cluster.local",
    "www.example.com.cluster.local",
    "www.example.com",
];

/// The words of `text` with surrounding punctuation and a trailing dot removed, so
/// `www.example.com.` and `(www.example.com)` both count as `www.example.com`.
fn words(text: &str) -> Vec<&str> {
    text.split_whitespace()
        .map(|w| w.trim_matches(|c: char| "()[]{}<>,;:'\"`".contains(c)))
        .map(|w| w.strip_suffix('.').unwrap_or(w))
        .collect()
}

#[test]
fn explain_lists_glibc_candidates_marks_pruned_ones_and_sends_nothing() {
    if !require_netns("explain_lists_glibc_candidates_marks_pruned_ones_and_sends_nothing") {
        return;
    }
    let node = Node::new().expect("node");
    let dir = tempfile::tempdir().expect("temp dir");
    let resolv = dir.path().join("resolv.conf");
    std::fs::write(&resolv, kubernetes_resolv_conf(&[DNS_ADDR])).expect("write resolv.conf");
    let resolv = resolv.to_str().expect("utf-8 temp path");

    let capture = node.capture().expect("tcpdump");
    let out = nodecache(
        node.pod(),
        &["explain", "www.example.com", "--resolv-conf", resolv],
        Duration::from_secs(30),
    );
    let queries = capture.finish().expect("capture");
    println!("{}", out.stdout);

    assert!(
        out.success(),
        "exit {:?}; stderr: {}",
        out.code(),
        out.stderr
    );
    let seen = words(&out.stdout);
    for candidate in GLIBC_CANDIDATES {
        assert!(
            seen.contains(&candidate),
            "glibc candidate {candidate} not listed:\n{}",
            out.stdout
        );
    }
    assert!(
        out.stdout.to_lowercase().contains("prune"),
        "no candidate marked as pruned:\n{}",
        out.stdout
    );
    assert!(queries.is_empty(), "explain sent queries: {queries:#?}");
}

#[test]
fn words_strip_punctuation_and_trailing_dots() {
    let cases = [
        (
            "A www.example.com. (pruned)",
            vec!["A", "www.example.com", "pruned"],
        ),
        (
            "1: \"www.example.com.cluster.local\",",
            vec!["1", "www.example.com.cluster.local"],
        ),
    ];
    for (text, expected) in cases {
        assert_eq!(words(text), expected, "{text:?}");
    }
}
