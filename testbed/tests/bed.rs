//! Self-tests of the test bed, with glibc (`getent`), dig and tcpdump only: the corpus zone
//! gives glibc the expected answers, captures see glibc's queries, loss and blackholes work,
//! NSD restarts. Needs root and the tools in `testbed::REQUIRED_TOOLS`; set
//! `NODECACHE_SKIP_NETNS=1` to skip where they are missing.

use std::time::{Duration, Instant};

use testbed::{
    Corpus, DEAD_DNS_ADDR, DNS_ADDR, Expected, LookupStatus, Node, SECOND_DNS_ADDR, Transport,
    glibc_lookup, kubernetes_resolv_conf, require_netns,
};

#[test]
fn glibc_gets_the_expected_answer_for_every_corpus_name() {
    if !require_netns("glibc_gets_the_expected_answer_for_every_corpus_name") {
        return;
    }
    let node = Node::new().expect("node");
    let mut capture = node.capture().expect("capture");
    let names = Corpus.names();
    let mut results = Vec::new();
    for entry in &names {
        capture.mark().expect("mark");
        results.push(glibc_lookup(node.pod(), entry.name).expect("getent runs"));
    }
    let queries = capture.finish().expect("capture finishes");

    let mut table = String::from("name                                      queries  result\n");
    let mut wrong = Vec::new();
    for (i, (entry, result)) in names.iter().zip(&results).enumerate() {
        let sent = queries.iter().filter(|q| q.segment == i + 1).count();
        let outcome = match &entry.expected {
            Expected::Addrs(addrs) => {
                result.status == LookupStatus::Found && &result.addrs == addrs
            }
            Expected::NotFound => result.status == LookupStatus::NotFound,
        };
        table.push_str(&format!(
            "{:<42}{sent:>7}  {:?} {}\n",
            entry.name,
            result.status,
            if outcome { "ok" } else { "WRONG" }
        ));
        if !outcome {
            wrong.push(format!(
                "{}: got {:?} {:?}",
                entry.name, result.status, result.addrs
            ));
        }
    }
    println!("{table}total glibc queries: {}", queries.len());
    assert!(
        wrong.is_empty(),
        "glibc disagrees with the corpus:\n{}\n{table}",
        wrong.join("\n")
    );
    assert_eq!(
        queries.iter().filter(|q| q.segment == 0).count(),
        0,
        "nothing is sent before the first mark"
    );
}

#[test]
fn glibc_sends_eight_queries_for_an_external_name_and_uses_tcp_on_truncation() {
    if !require_netns("glibc_sends_eight_queries_for_an_external_name") {
        return;
    }
    let node = Node::new().expect("node");
    let capture = node.capture().expect("capture");
    let www = glibc_lookup(node.pod(), Corpus::EXTERNAL_NAME).expect("getent");
    assert_eq!(www.status, LookupStatus::Found);
    let queries = capture.finish().expect("capture");
    let described: Vec<String> = queries
        .iter()
        .map(|q| format!("{:?} {} {}", q.transport, q.qtype, q.qname))
        .collect();
    // 3 search suffixes + the name itself, A and AAAA each (AAAA because of the link-local
    // IPv6 address and AI_ADDRCONFIG).
    assert_eq!(queries.len(), 8, "{described:#?}");
    assert_eq!(
        queries.iter().filter(|q| q.qtype == "AAAA").count(),
        4,
        "{described:#?}"
    );
    assert_eq!(
        queries.last().map(|q| q.qname.as_str()),
        Some("www.example.com"),
        "{described:#?}"
    );

    let capture = node.capture().expect("capture");
    let big = glibc_lookup(node.pod(), Corpus::BIG_NAME).expect("getent");
    assert_eq!(big.addrs.len(), 40, "{:?}", big.output);
    let queries = capture.finish().expect("capture");
    let tcp: Vec<_> = queries
        .iter()
        .filter(|q| q.transport == Transport::Tcp)
        .collect();
    // glibc writes A and AAAA on one connection with one writev: both must be decoded.
    assert!(
        tcp.iter()
            .any(|q| q.qtype == "A" && q.qname == Corpus::BIG_NAME),
        "{queries:#?}"
    );
    assert!(tcp.iter().any(|q| q.qtype == "AAAA"), "{queries:#?}");
}

#[test]
fn loss_drops_queries_and_blackhole_silences_an_address() {
    if !require_netns("loss_drops_queries_and_blackhole_silences_an_address") {
        return;
    }
    let node = Node::builder().dead_server().build().expect("node");
    {
        let loss = node.add_loss(1.0).expect("loss rule");
        let out = node
            .pod()
            .exec(
                "dig",
                &[
                    "+tries=1",
                    "+time=1",
                    &format!("@{DNS_ADDR}"),
                    "www.example.com.",
                ],
                Duration::from_secs(10),
            )
            .expect("dig");
        assert!(!out.success(), "100% loss: {}", out.stdout);
        assert!(loss.dropped().expect("counter") >= 1);
    }
    // The rule is gone with the guard.
    let out = node
        .pod()
        .exec(
            "dig",
            &["+short", &format!("@{DNS_ADDR}"), "www.example.com."],
            Duration::from_secs(10),
        )
        .expect("dig");
    assert_eq!(out.stdout.trim(), "198.18.2.1");

    let start = Instant::now();
    let out = node
        .pod()
        .exec(
            "dig",
            &[
                "+tries=1",
                "+time=1",
                &format!("@{DEAD_DNS_ADDR}"),
                "www.example.com.",
            ],
            Duration::from_secs(10),
        )
        .expect("dig");
    assert!(!out.success());
    // A timeout, not a refusal: the blackhole gives no ICMP.
    assert!(
        start.elapsed() >= Duration::from_millis(900),
        "{:?}",
        start.elapsed()
    );
    assert!(node.blackholes()[0].dropped().expect("counter") >= 1);
}

#[test]
fn nsd_restarts_and_serves_a_second_address() {
    if !require_netns("nsd_restarts_and_serves_a_second_address") {
        return;
    }
    let mut node = Node::builder()
        .second_server()
        .resolv_conf(kubernetes_resolv_conf(&[SECOND_DNS_ADDR]))
        .build()
        .expect("node");
    let found = glibc_lookup(node.pod(), "web").expect("getent");
    assert_eq!(found.status, LookupStatus::Found);
    node.stop_nsd().expect("stop");
    let refused = node
        .pod()
        .exec(
            "dig",
            &["+tries=1", "+time=1", &format!("@{DNS_ADDR}"), "."],
            Duration::from_secs(10),
        )
        .expect("dig");
    assert!(
        !refused.success(),
        "stopped NSD answered: {}",
        refused.stdout
    );
    node.start_nsd().expect("restart");
    let again = glibc_lookup(node.pod(), "web").expect("getent");
    assert_eq!(again.addrs, found.addrs);
}
