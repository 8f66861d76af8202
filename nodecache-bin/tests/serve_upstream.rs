//! What reaches the upstream from `nodecache serve`: repeated and concurrent questions, and
//! what clients get when the upstream is gone (serve-stale, SERVFAIL) — issue 4 acceptance.

mod serve_common;

use std::sync::Barrier;
use std::thread;
use std::time::{Duration, Instant};

use testbed::{Corpus, Node, require_netns};

use serve_common::{ask, poll, start_daemon};

/// Queries for `name` among the captured ones (any case, any transport).
fn upstream_queries(queries: &[testbed::CapturedQuery], name: &str, qtype: &str) -> usize {
    queries
        .iter()
        .filter(|q| q.qname.eq_ignore_ascii_case(name) && q.qtype == qtype)
        .count()
}

#[test]
fn repeated_questions_reach_the_upstream_once() {
    if !require_netns("repeated_questions_reach_the_upstream_once") {
        return;
    }
    let node = Node::new().expect("node");
    let daemon = start_daemon(&node, &[]);
    let capture = node.capture().expect("capture");
    for name in ["www.example.com", "WWW.example.COM", "www.example.com"] {
        for transport in ["+notcp", "+tcp"] {
            assert_eq!(ask(&node, &[name, "A", transport]).status, "NOERROR");
            // Negative answers are cached too (RFC 2308; the corpus SOA gives 5 s).
            assert_eq!(
                ask(&node, &["nope.example.com", "A", transport]).status,
                "NXDOMAIN"
            );
        }
    }
    let queries = capture.finish().expect("capture finishes");
    assert_eq!(
        upstream_queries(&queries, "www.example.com", "A"),
        1,
        "{queries:#?}\n{}",
        daemon.stderr()
    );
    assert_eq!(
        upstream_queries(&queries, "nope.example.com", "A"),
        1,
        "{queries:#?}"
    );
}

#[test]
fn concurrent_identical_questions_reach_the_upstream_at_most_twice() {
    if !require_netns("concurrent_identical_questions_reach_the_upstream_at_most_twice") {
        return;
    }
    const CLIENTS: usize = 50;
    let node = Node::new().expect("node");
    let _daemon = start_daemon(&node, &[]);
    let capture = node.capture().expect("capture");
    let start = Barrier::new(CLIENTS);
    let statuses: Vec<String> = thread::scope(|scope| {
        let clients: Vec<_> = (0..CLIENTS)
            .map(|_| {
                scope.spawn(|| {
                    start.wait();
                    ask(
                        &node,
                        &["dual.default.svc.cluster.local", "AAAA", "+time=5"],
                    )
                    .status
                })
            })
            .collect();
        clients
            .into_iter()
            .map(|c| c.join().expect("client thread"))
            .collect()
    });
    assert!(statuses.iter().all(|s| s == "NOERROR"), "{statuses:?}");
    let queries = capture.finish().expect("capture finishes");
    let upstream = upstream_queries(&queries, "dual.default.svc.cluster.local", "AAAA");
    assert!(
        upstream <= 2,
        "{upstream} upstream queries for {CLIENTS} clients"
    );
}

/// The corpus plus a name whose answer expires after one second.
fn zone_with_short_ttl() -> String {
    format!("{}short.example.org. 1 IN A 198.18.6.1\n", Corpus.zone())
}

#[test]
fn upstream_down_serves_stale_and_servfails_unknown_names_fast() {
    if !require_netns("upstream_down_serves_stale_and_servfails_unknown_names_fast") {
        return;
    }
    let mut node = Node::builder()
        .zone(zone_with_short_ttl())
        .build()
        .expect("node");
    let daemon = start_daemon(&node, &[]);
    let fresh = ask(&node, &["short.example.org", "A"]);
    assert_eq!(fresh.rdata("A"), ["198.18.6.1"], "{}", fresh.output);
    assert!(fresh.answers[0].ttl <= 1);
    node.stop_nsd().expect("NSD stops");

    // Until the entry expires it is a fresh hit; afterwards the upstream fails and the
    // expired entry is served with TTL 30 (RFC 8767 §4).
    let mut last = None;
    let stale = poll(Duration::from_secs(10), || {
        let answer = ask(&node, &["short.example.org", "A"]);
        let is_stale = answer.status == "NOERROR"
            && answer.answers.first().is_some_and(|r| r.ttl == 30)
            && answer.rdata("A") == ["198.18.6.1"];
        last = Some(answer);
        is_stale
    });
    assert!(
        stale,
        "no stale answer: {:?}\nstderr:\n{}",
        last.map(|a| a.output),
        daemon.stderr()
    );

    let start = Instant::now();
    let unknown = ask(&node, &["never-cached.example.org", "A", "+time=5"]);
    let elapsed = start.elapsed();
    assert_eq!(unknown.status, "SERVFAIL", "{}", unknown.output);
    assert!(
        elapsed < Duration::from_secs(3),
        "SERVFAIL took {elapsed:?}"
    );
}
