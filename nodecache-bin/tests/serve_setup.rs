//! `nodecache serve --setup-interface/--setup-iptables` as a process, in namespaces the tests
//! create: what the node looks like while it runs and after SIGTERM.
//!
//! IGNORED until `serve::run` serves and parses the SPEC §3 flags (the issue 4 serving and
//! config work); then drop the `#[ignore]`s. The same behaviour is tested today, without the
//! process, by the unit tests in `src/serve/setup/tests.rs`, which drive `NodeSetup` directly.
//!
//! The daemon gets an explicit upstream on 127.0.0.1 and a resolv.conf in a temp file, never
//! the host's.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use testbed::{Netns, require_netns, run};

const NODECACHE: &str = env!("CARGO_BIN_EXE_nodecache");
const LISTEN: &str = "169.254.20.10";
const DEADLINE: Duration = Duration::from_secs(10);

struct Bed {
    ns: Netns,
    run_dir: tempfile::TempDir,
    resolv_conf: tempfile::NamedTempFile,
}

impl Bed {
    fn new() -> Bed {
        let ns = Netns::new().expect("netns");
        let resolv_conf = tempfile::NamedTempFile::new().expect("resolv.conf");
        std::fs::write(resolv_conf.path(), "nameserver 127.0.0.1\n").expect("write");
        Bed {
            ns,
            run_dir: tempfile::tempdir().expect("run dir"),
            resolv_conf,
        }
    }

    /// `nodecache serve` in the namespace with the setup flags `extra`.
    fn spawn(&self, extra: &[&str]) -> Child {
        let mut cmd = self.ns.command(NODECACHE);
        cmd.args(["serve", "--listen", &format!("{LISTEN}:53")])
            .args(["--metrics", &format!("{LISTEN}:9253")])
            .args(["--upstream", ".=127.0.0.1:5300", "--sync-interval", "200ms"])
            .arg("--resolv-conf")
            .arg(self.resolv_conf.path())
            .args(extra)
            .env("NODECACHE_RUN_DIR", self.run_dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        cmd.spawn().expect("spawn nodecache serve")
    }

    fn our_rules(&self) -> usize {
        let out = self
            .ns
            .exec::<&str>("iptables-save", &[], DEADLINE)
            .expect("iptables-save");
        out.stdout
            .lines()
            .filter(|l| l.contains("nodecache: "))
            .count()
    }

    /// Polls until `done` or the deadline; false on timeout.
    fn wait_for(&self, mut done: impl FnMut(&Bed) -> bool) -> bool {
        let start = Instant::now();
        while start.elapsed() < DEADLINE {
            if done(self) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        done(self)
    }
}

fn sigterm_and_wait(child: &mut Child) -> std::process::ExitStatus {
    let mut kill = Command::new("kill");
    kill.args(["-TERM", &child.id().to_string()]);
    run(kill, DEADLINE).expect("kill -TERM");
    let start = Instant::now();
    while start.elapsed() < DEADLINE {
        if let Some(status) = child.try_wait().expect("wait") {
            return status;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    panic!("nodecache serve did not exit within {DEADLINE:?} of SIGTERM");
}

#[test]
fn no_dummy_support_is_one_clear_line_and_leaves_nothing() {
    if !require_netns("no_dummy_support_is_one_clear_line_and_leaves_nothing") {
        return;
    }
    let bed = Bed::new();
    if bed
        .ns
        .ip(&["link", "add", "probe0", "type", "dummy"])
        .is_ok()
    {
        println!("skipped: this kernel has dummy interfaces");
        return;
    }
    let mut child = bed.spawn(&["--setup-interface", "nodelocaldns", "--setup-iptables"]);
    let exited = bed.wait_for(|_| child.try_wait().is_ok_and(|status| status.is_some()));
    if !exited {
        let _ = child.kill();
    }
    let out = child.wait_with_output().expect("wait");
    assert!(exited, "nodecache serve kept running without its interface");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("nodelocaldns") && stderr.contains("CONFIG_DUMMY"),
        "{stderr}"
    );
    assert!(bed.ns.ip(&["link", "show", "dev", "nodelocaldns"]).is_err());
    assert_eq!(bed.our_rules(), 0);
}

#[test]
fn rules_live_as_long_as_the_last_instance_and_come_back_when_deleted() {
    if !require_netns("rules_live_as_long_as_the_last_instance_and_come_back_when_deleted") {
        return;
    }
    let bed = Bed::new();
    bed.ns
        .ip(&["addr", "add", &format!("{LISTEN}/32"), "dev", "lo"])
        .expect("listen address");
    let mut first = bed.spawn(&["--setup-iptables"]);
    assert!(bed.wait_for(|b| b.our_rules() == 12), "rules installed");
    let mut second = bed.spawn(&["--setup-iptables"]);

    // Deleted by hand, put back by the next resync (200 ms).
    let deleted = bed.ns.exec(
        "iptables",
        &["-w", "-t", "raw", "-F", "PREROUTING"],
        DEADLINE,
    );
    assert!(deleted.expect("flush").success());
    assert!(bed.wait_for(|b| b.our_rules() == 12), "rules put back");

    assert!(sigterm_and_wait(&mut first).success());
    assert_eq!(bed.our_rules(), 12, "kept for the second instance");
    assert!(sigterm_and_wait(&mut second).success());
    assert_eq!(bed.our_rules(), 0, "removed by the last instance");

    let mut kept = bed.spawn(&["--setup-iptables", "--skip-teardown"]);
    assert!(bed.wait_for(|b| b.our_rules() == 12));
    assert!(sigterm_and_wait(&mut kept).success());
    assert_eq!(bed.our_rules(), 12, "--skip-teardown");
}
