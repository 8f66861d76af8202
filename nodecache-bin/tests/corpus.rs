//! `nodecache resolve` against glibc over the whole corpus, in a Kubernetes-like pod
//! (resolv.conf with `ndots:5` and three search domains): same answers, at most half the
//! queries on the wire (SPEC §4). Run with `--nocapture` to see the per-name table.

mod common;

use testbed::{Capture, CapturedQuery, Corpus, LookupResult, Node, glibc_lookup, require_netns};

use common::{RESOLVE_TIMEOUT, outcome, resolve, same_answer};

/// Resolves every name with `lookup`, one capture segment per name; returns the results and
/// the queries each name sent.
fn run_side(
    node: &Node,
    names: &[&str],
    mut lookup: impl FnMut(&str) -> LookupResult,
) -> (Vec<LookupResult>, Vec<Vec<CapturedQuery>>) {
    let mut capture: Capture = node.capture().expect("tcpdump starts");
    let mut results = Vec::new();
    for name in names {
        capture.mark().expect("segment marker");
        results.push(lookup(name));
    }
    let queries = capture.finish().expect("capture complete");
    // Segment i + 1 holds the queries of name i (segment 0 is before the first mark).
    let per_name = (1..=names.len())
        .map(|segment| {
            queries
                .iter()
                .filter(|q| q.segment == segment)
                .cloned()
                .collect()
        })
        .collect();
    (results, per_name)
}

#[test]
fn corpus_same_answers_as_glibc_with_at_most_half_the_queries() {
    if !require_netns("corpus_same_answers_as_glibc_with_at_most_half_the_queries") {
        return;
    }
    let node = Node::new().expect("node");
    let corpus = Corpus.names();
    let names: Vec<&str> = corpus.iter().map(|n| n.name).collect();

    let (glibc, glibc_queries) = run_side(&node, &names, |name| {
        glibc_lookup(node.pod(), name).expect("getent runs")
    });
    let (ours, our_queries) = run_side(&node, &names, |name| {
        resolve(node.pod(), &[name], RESOLVE_TIMEOUT)
    });

    let mut table = format!(
        "{:<40} {:>5} {:>9}  {:<12} {:<12}\n",
        "name", "glibc", "nodecache", "glibc", "nodecache"
    );
    let mut mismatches = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let agree = same_answer(&glibc[i], &ours[i]);
        table.push_str(&format!(
            "{name:<40} {:>5} {:>9}  {:<12} {:<12}{}\n",
            glibc_queries[i].len(),
            our_queries[i].len(),
            outcome(&glibc[i]),
            outcome(&ours[i]),
            if agree { "" } else { "  MISMATCH" },
        ));
        if !agree {
            mismatches.push(format!(
                "{name}: glibc {:?} {:?}, nodecache {:?} {:?}\n  nodecache stderr: {}",
                glibc[i].status,
                glibc[i].addrs,
                ours[i].status,
                ours[i].addrs,
                ours[i].output.stderr.trim(),
            ));
        }
    }
    let glibc_total: usize = glibc_queries.iter().map(Vec::len).sum();
    let our_total: usize = our_queries.iter().map(Vec::len).sum();
    table.push_str(&format!(
        "{:<40} {glibc_total:>5} {our_total:>9}\n",
        "TOTAL"
    ));
    println!("{table}");

    assert!(
        mismatches.is_empty(),
        "nodecache disagrees with glibc:\n{}\n\n{table}",
        mismatches.join("\n")
    );
    assert!(
        our_total * 2 <= glibc_total,
        "nodecache sent {our_total} queries, glibc {glibc_total}: more than half\n\n{table}"
    );
}
