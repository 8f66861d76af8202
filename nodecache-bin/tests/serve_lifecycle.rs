//! `nodecache serve` start-up and shutdown: bind errors, SIGTERM with and without queries in
//! flight, SIGHUP, and the memory held after caching 10,000 names (issue 4 acceptance).

mod serve_common;

use std::thread;
use std::time::Duration;

use testbed::{DEAD_DNS_ADDR, Node, kubernetes_resolv_conf, require_netns};

use serve_common::{ask, poll, start_daemon, start_daemon_with};

/// SPEC §3 / issue 4: SIGTERM exits promptly.
const EXIT_BOUND: Duration = Duration::from_secs(5);

#[test]
fn sigterm_when_idle_exits_zero_promptly() {
    if !require_netns("sigterm_when_idle_exits_zero_promptly") {
        return;
    }
    let node = Node::new().expect("node");
    let daemon = start_daemon(&node, &[]);
    assert_eq!(ask(&node, &["www.example.com", "A"]).status, "NOERROR");
    // SIGHUP re-reads the configuration and keeps serving.
    daemon.signal("HUP").expect("SIGHUP sent");
    assert!(poll(Duration::from_secs(5), || daemon
        .stderr()
        .contains("SIGHUP")));
    assert_eq!(ask(&node, &["www.example.com", "A"]).status, "NOERROR");
    let (status, elapsed) = daemon.terminate().expect("exits");
    assert_eq!(status.code(), Some(0));
    assert!(elapsed < EXIT_BOUND, "took {elapsed:?}");
}

#[test]
fn sigterm_with_queries_in_flight_answers_them_and_exits_zero() {
    if !require_netns("sigterm_with_queries_in_flight_answers_them_and_exits_zero") {
        return;
    }
    // The only upstream drops everything: every miss waits for the upstream timeout.
    let node = Node::builder()
        .dead_server()
        .resolv_conf(kubernetes_resolv_conf(&[DEAD_DNS_ADDR]))
        .build()
        .expect("node");
    let dead = format!(".={DEAD_DNS_ADDR}");
    let daemon = start_daemon_with(&node, &["--upstream", &dead]);
    let blackhole = &node.blackholes()[0];
    let (statuses, exit) = thread::scope(|scope| {
        let clients: Vec<_> = (0..5)
            .map(|i| {
                let node = &node;
                scope.spawn(move || {
                    let name = format!("slow{i}.example.org");
                    ask(node, &[&name, "A", "+time=8"]).status
                })
            })
            .collect();
        // In flight once the upstream queries reach the blackhole.
        assert!(poll(Duration::from_secs(5), || blackhole
            .dropped()
            .is_ok_and(|n| n >= 5)));
        let exit = daemon.terminate().expect("exits");
        let statuses: Vec<String> = clients
            .into_iter()
            .map(|c| c.join().expect("client"))
            .collect();
        (statuses, exit)
    });
    let (status, elapsed) = exit;
    assert_eq!(status.code(), Some(0));
    assert!(elapsed < EXIT_BOUND, "took {elapsed:?}");
    // Drained, not dropped: each got its SERVFAIL before the daemon exited.
    assert!(statuses.iter().all(|s| s == "SERVFAIL"), "{statuses:?}");
}

#[test]
fn second_instance_shares_the_ports_and_a_taken_port_is_one_line() {
    if !require_netns("second_instance_shares_the_ports_and_a_taken_port_is_one_line") {
        return;
    }
    let node = Node::new().expect("node");
    let first = start_daemon(&node, &[]);
    // SO_REUSEPORT (SPEC §3): a second instance binds the same addresses.
    let second = start_daemon(&node, &[]);
    assert_eq!(ask(&node, &["www.example.com", "A"]).status, "NOERROR");
    let (status, _) = first.terminate().expect("first exits");
    assert_eq!(status.code(), Some(0));
    assert_eq!(ask(&node, &["www.example.com", "A"]).status, "NOERROR");
    drop(second);
    // A port held by a socket without SO_REUSEPORT cannot be shared: one line, exit 1.
    let holder = node
        .pod()
        .command("python3")
        .args(["-c", "import socket,time\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\ns.bind(('127.0.0.1',5353))\nprint('bound',flush=True)\ntime.sleep(30)"])
        .stdout(std::process::Stdio::piped())
        .spawn();
    let Ok(mut holder) = holder else {
        println!("skipped the taken-port case: no python3");
        return;
    };
    let mut line = String::new();
    if let Some(stdout) = holder.stdout.take() {
        let _ = std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut line);
    }
    let output = node
        .pod()
        .exec(serve_common::NODECACHE, &["serve"], Duration::from_secs(10))
        .expect("runs");
    let _ = holder.kill();
    let _ = holder.wait();
    assert_eq!(line.trim(), "bound");
    assert_eq!(output.code(), Some(1), "{}", output.stderr);
    assert_eq!(output.stderr.lines().count(), 1, "{}", output.stderr);
    assert!(
        output.stderr.contains("127.0.0.1:5353"),
        "{}",
        output.stderr
    );
}
