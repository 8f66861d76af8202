//! The node in a box (issue 5): a pod resolving through `nodecache serve` on 169.254.20.10 in
//! the host namespace, NSD upstream. This file checks the box itself carries traffic as a
//! node would; the restart, fault and flood tests build on it.

use std::path::Path;
use std::time::Duration;

use testbed::{NODE_LOCAL_ADDR, NodeBox, dig, dnsperf, require_netns};

const NODECACHE: &str = env!("CARGO_BIN_EXE_nodecache");

#[test]
fn a_pod_resolves_through_the_node_local_daemon_under_steady_load() {
    if !require_netns("a_pod_resolves_through_the_node_local_daemon_under_steady_load") {
        return;
    }
    let nodebox = NodeBox::new().expect("node box");
    let daemon = nodebox
        .start_daemon(Path::new(NODECACHE), &[])
        .expect("daemon starts");
    let target = std::net::SocketAddr::from((NODE_LOCAL_ADDR, 53));
    let answer = dig(nodebox.pod(), target, &["www.example.com", "A"]).expect("dig");
    assert_eq!(
        answer.status,
        "NOERROR",
        "{}\n{}",
        answer.output,
        daemon.stderr()
    );

    let dir = tempfile::tempdir().expect("tempdir");
    let queries = dir.path().join("queries.txt");
    std::fs::write(
        &queries,
        "www.example.com A\nwww.example.com AAAA\nweb.default.svc.cluster.local A\nnope.example.com A\n",
    )
    .expect("query file");
    let report = dnsperf(
        nodebox.pod(),
        NODE_LOCAL_ADDR,
        &queries,
        500,
        Duration::from_secs(2),
        Duration::from_secs(2),
    )
    .expect("dnsperf");
    assert!(report.sent >= 500, "{}", report.output);
    assert_eq!(report.lost, 0, "{}", report.output);
    assert_eq!(
        report.rcode("NOERROR") + report.rcode("NXDOMAIN"),
        report.completed,
        "{}",
        report.output
    );
}
