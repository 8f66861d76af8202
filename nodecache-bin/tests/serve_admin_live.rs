//! A running `nodecache serve` seen from outside: `/metrics` carries the CoreDNS names with
//! values that follow the traffic, `/ready` and `/health` answer, and SIGHUP applies a changed
//! `--config` file (issue 4 acceptance and deliverable 7).

mod serve_common;

use std::time::Duration;

use testbed::{DEAD_DNS_ADDR, DNS_ADDR, Netns, Node, metric_sample, require_netns};

use serve_common::{ask, poll, start_daemon, start_daemon_with};

/// The default admin address, inside the pod namespace.
const ADMIN: &str = "http://127.0.0.1:9253";

/// `curl` in `ns`: (HTTP status, body).
fn http_get(ns: &Netns, url: &str) -> (u16, String) {
    let out = ns
        .exec(
            "curl",
            &["-s", "-m", "5", "-w", "\n%{http_code}", url],
            Duration::from_secs(10),
        )
        .expect("curl runs");
    let text = out.stdout.clone();
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", text.as_str()));
    (code.trim().parse().unwrap_or(0), body.to_owned())
}

#[test]
fn metrics_follow_the_traffic_with_coredns_names() {
    if !require_netns("metrics_follow_the_traffic_with_coredns_names") {
        return;
    }
    let node = Node::new().expect("node");
    let daemon = start_daemon(&node, &[]);
    assert_eq!(http_get(node.pod(), &format!("{ADMIN}/health")).0, 200);
    assert_eq!(http_get(node.pod(), &format!("{ADMIN}/ready")).0, 200);
    for _ in 0..3 {
        assert_eq!(ask(&node, &["www.example.com", "A"]).status, "NOERROR");
    }
    assert_eq!(ask(&node, &["nope.example.com", "A"]).status, "NXDOMAIN");
    let (status, text) = http_get(node.pod(), &format!("{ADMIN}/metrics"));
    assert_eq!(status, 200, "{}", daemon.stderr());
    let requests = metric_sample(
        &text,
        "coredns_dns_requests_total",
        &["proto=\"udp\"", "type=\"A\""],
    );
    assert_eq!(requests, Some(4.0), "{text}");
    assert_eq!(
        metric_sample(&text, "coredns_dns_responses_total", &["rcode=\"NOERROR\""]),
        Some(3.0),
        "{text}"
    );
    assert_eq!(
        metric_sample(
            &text,
            "coredns_dns_responses_total",
            &["rcode=\"NXDOMAIN\""]
        ),
        Some(1.0),
        "{text}"
    );
    // Two misses (one per name), two hits.
    assert_eq!(
        metric_sample(&text, "coredns_cache_misses_total", &[]),
        Some(2.0),
        "{text}"
    );
    assert_eq!(
        metric_sample(&text, "coredns_cache_hits_total", &["type=\"success\""]),
        Some(2.0),
        "{text}"
    );
    assert_eq!(
        metric_sample(&text, "coredns_cache_entries", &["type=\"success\""]),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        metric_sample(&text, "coredns_cache_entries", &["type=\"denial\""]),
        Some(1.0),
        "{text}"
    );
    for family in [
        "coredns_dns_request_duration_seconds_bucket",
        "coredns_proxy_request_duration_seconds_bucket",
        "coredns_cache_served_stale_total",
        "nodecache_pool_connections",
        "nodecache_coalesced_total",
    ] {
        assert!(
            text.lines().any(|line| line.starts_with(family)),
            "{family} missing:\n{text}"
        );
    }
    // Draining: /ready turns 503 before the process is gone; here just check it exits.
    let (exit, _) = daemon.terminate().expect("exits");
    assert_eq!(exit.code(), Some(0));
}

#[test]
fn sighup_applies_a_changed_config_file() {
    if !require_netns("sighup_applies_a_changed_config_file") {
        return;
    }
    let node = Node::builder().dead_server().build().expect("node");
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("nodecache.toml");
    let write = |upstream: std::net::Ipv4Addr| {
        std::fs::write(
            &config,
            format!(
                "upstream_timeout = \"500ms\"\n[[upstream]]\nzone = \".\"\nservers = [\"{upstream}\"]\n"
            ),
        )
        .expect("config written");
    };
    write(DEAD_DNS_ADDR);
    let config_arg = config.to_str().expect("utf-8 path");
    let daemon = start_daemon_with(&node, &["--config", config_arg]);
    assert_eq!(ask(&node, &["www.example.com", "A"]).status, "SERVFAIL");
    write(DNS_ADDR);
    daemon.signal("HUP").expect("SIGHUP sent");
    // Applied once an uncached name resolves through NSD (bounded poll, no fixed sleep).
    let mut last = String::new();
    let applied = poll(Duration::from_secs(5), || {
        last = ask(&node, &["web.default.svc.cluster.local", "A"]).status;
        last == "NOERROR"
    });
    assert!(applied, "last status {last}\n{}", daemon.stderr());
}
