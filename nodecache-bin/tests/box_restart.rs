//! Issue 5, deliverables 2 and 3: restarts and crashes without losing DNS.
//!
//! Rolling restart: two instances share 169.254.20.10:53 (SO_REUSEPORT); under a steady 2,000
//! queries/s from the pod each is stopped with SIGTERM and started again in turn, and not one
//! query may be lost or answered with an error. Crash: a SIGKILLed instance (an OOM kill) must
//! not take the node's DNS with it. The design is in README.md ("Upgrades and crashes").

use std::path::Path;
use std::thread;
use std::time::Duration;

use testbed::{DnsperfReport, NODE_LOCAL_ADDR, NodeBox, dnsperf, require_netns};

const NODECACHE: &str = env!("CARGO_BIN_EXE_nodecache");

/// Names the corpus answers with addresses: every answer must be NOERROR.
const QUERIES: &str = "www.example.com A\nwww.example.com AAAA\nweb.default.svc.cluster.local A\n\
                       alias1.example.net A\nexample.com MX\n";

/// The steady load of the issue.
const QPS: u32 = 2_000;

fn query_file(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("queries.txt");
    std::fs::write(&path, QUERIES).expect("query file");
    path
}

fn load(nodebox: &NodeBox, file: &Path, seconds: u64) -> DnsperfReport {
    dnsperf(
        nodebox.pod(),
        NODE_LOCAL_ADDR,
        file,
        QPS,
        Duration::from_secs(seconds),
        Duration::from_secs(2),
    )
    .expect("dnsperf")
}

fn assert_nothing_lost(report: &DnsperfReport, what: &str) {
    println!(
        "{what}: sent {} completed {} lost {} qps {:.0} rcodes {:?}",
        report.sent, report.completed, report.lost, report.qps, report.rcodes
    );
    assert!(report.sent >= u64::from(QPS) * 5, "{}", report.output);
    assert_eq!(report.lost, 0, "{what}: queries lost\n{}", report.output);
    assert_eq!(
        report.rcode("NOERROR"),
        report.completed,
        "{what}: answers other than NOERROR\n{}",
        report.output
    );
}

#[test]
fn rolling_restart_of_two_instances_loses_no_query() {
    if !require_netns("rolling_restart_of_two_instances_loses_no_query") {
        return;
    }
    let nodebox = NodeBox::new().expect("node box");
    let binary = Path::new(NODECACHE);
    let mut instances = [
        Some(nodebox.start_daemon(binary, &[]).expect("first instance")),
        Some(nodebox.start_daemon(binary, &[]).expect("second instance")),
    ];
    let dir = tempfile::tempdir().expect("tempdir");
    let file = query_file(dir.path());
    let report = thread::scope(|scope| {
        let load = scope.spawn(|| load(&nodebox, &file, 14));
        // Two rounds: each instance is stopped and started again twice while the load runs.
        // The pauses pace the restarts over the load (each instance serves for a while
        // between them); nothing waits on them for a result.
        for round in 0..2 {
            for (index, slot) in instances.iter_mut().enumerate() {
                thread::sleep(Duration::from_millis(1500));
                let daemon = slot.take().expect("instance running");
                let (status, took) = daemon.terminate().expect("instance stops");
                assert_eq!(status.code(), Some(0));
                println!("round {round}: instance {index} drained and exited in {took:?}");
                *slot = Some(
                    nodebox
                        .start_daemon(binary, &[])
                        .expect("instance starts again"),
                );
            }
        }
        load.join().expect("load thread")
    });
    drop(instances);
    assert_nothing_lost(&report, "rolling restart");
}

/// The `nodecache:` rules in the host namespace (`iptables-save`, raw and filter tables).
fn nodecache_rules(nodebox: &NodeBox) -> Vec<String> {
    let out = nodebox
        .host()
        .exec::<&str>("iptables-save", &[], Duration::from_secs(10))
        .expect("iptables-save");
    out.stdout
        .lines()
        .filter(|line| line.contains("nodecache:"))
        .map(str::to_owned)
        .collect()
}

#[test]
fn a_killed_instance_leaves_the_other_serving_and_a_restart_adopts_the_node_setup() {
    if !require_netns(
        "a_killed_instance_leaves_the_other_serving_and_a_restart_adopts_the_node_setup",
    ) {
        return;
    }
    let nodebox = NodeBox::new().expect("node box");
    let binary = Path::new(NODECACHE);
    let run_dir = tempfile::tempdir().expect("run dir");
    let run_dir_env = run_dir.path().display().to_string();
    let setup = ["--setup-iptables"];
    // The run directory (flock coordination) is this test's, not the host's /run/nodecache,
    // which parallel boxes using the same node-local address would otherwise share.
    let env = [("NODECACHE_RUN_DIR", run_dir_env.as_str())];
    let start = || {
        nodebox
            .start_daemon_env(binary, &env, &setup)
            .expect("instance starts")
    };
    let first = start();
    let second = start();
    let rules = nodecache_rules(&nodebox);
    assert!(!rules.is_empty(), "no rules installed");

    let dir = tempfile::tempdir().expect("tempdir");
    let file = query_file(dir.path());
    let report = thread::scope(|scope| {
        let load = scope.spawn(|| load(&nodebox, &file, 8));
        // Pace the crash into the middle of the load.
        thread::sleep(Duration::from_secs(2));
        first.kill(); // SIGKILL, as the OOM killer does: no drain, no teardown.
        load.join().expect("load thread")
    });
    println!(
        "SIGKILL of one of two: sent {} completed {} lost {} rcodes {:?}",
        report.sent, report.completed, report.lost, report.rcodes
    );
    // Only what sat in the killed socket's queue at that instant can be lost (the client's
    // retransmission recovers it); everything after goes to the survivor.
    assert!(report.lost * 1000 <= report.sent, "{}", report.output);
    assert_eq!(
        report.rcode("NOERROR"),
        report.completed,
        "{}",
        report.output
    );
    // The survivor kept the node setup: nothing was torn down by the crash.
    assert_eq!(nodecache_rules(&nodebox), rules);

    // Now the survivor crashes too: rules stay (nobody to remove them) ...
    second.kill();
    assert_eq!(nodecache_rules(&nodebox), rules);
    // ... and a new instance (the DaemonSet's restart) adopts them without duplicates, serves,
    // and as the last instance removes them on SIGTERM.
    let again = start();
    assert_eq!(
        nodecache_rules(&nodebox),
        rules,
        "rules duplicated or changed"
    );
    let after = load(&nodebox, &file, 2);
    assert_eq!(after.lost, 0, "{}", after.output);
    let (status, _) = again.terminate().expect("exits");
    assert_eq!(status.code(), Some(0));
    assert!(
        nodecache_rules(&nodebox).is_empty(),
        "rules left after the last instance"
    );
}
