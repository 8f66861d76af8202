//! `nodecache serve` answers like its upstream (NSD), over UDP and TCP, with the wire details
//! clients check: EDNS, ID and question case echoed, truncation (issue 4 acceptance).

mod serve_common;

use testbed::{Corpus, Node, require_netns};

use serve_common::{NODECACHE, ask, ask_nsd, records, start_daemon};

/// SPEC §3: "A laptop runs it with no flag at all": 127.0.0.1:5353, upstream = the
/// nameservers of /etc/resolv.conf (in the pod namespace: NSD).
#[test]
fn no_flag_serves_on_loopback_5353_from_resolv_conf() {
    if !require_netns("no_flag_serves_on_loopback_5353_from_resolv_conf") {
        return;
    }
    let node = Node::new().expect("node");
    let daemon = testbed::Daemon::start_binary(node.pod(), std::path::Path::new(NODECACHE), &[])
        .unwrap_or_else(|e| panic!("starting nodecache serve with no flag: {e}"));
    for transport in ["+notcp", "+tcp"] {
        let got = ask(&node, &["www.example.com", "A", transport]);
        let expected = ask_nsd(&node, &["www.example.com", "A"]);
        assert_eq!(got.status, "NOERROR", "{}\n{}", got.output, daemon.stderr());
        assert_eq!(records(&got), records(&expected), "{transport}");
    }
}

#[test]
fn answers_the_corpus_over_udp_and_tcp_like_nsd() {
    if !require_netns("answers_the_corpus_over_udp_and_tcp_like_nsd") {
        return;
    }
    let node = Node::new().expect("node");
    let daemon = start_daemon(&node, &[]);
    let questions: &[&[&str]] = &[
        &["www.example.com", "A"],
        &["www.example.com", "AAAA"],
        &["web.default.svc.cluster.local", "A"],
        &["_http._tcp.web.default.svc.cluster.local", "SRV"],
        &["alias1.example.net", "A"],
        &["example.com", "MX"],
        &["txt-only.example.org", "A"],
        &["nope.example.com", "A"],
    ];
    for question in questions {
        let expected = ask_nsd(&node, question);
        assert!(!expected.status.is_empty(), "NSD answers {question:?}");
        for transport in ["+notcp", "+tcp"] {
            // Twice: the miss (forwarded) and the hit (from the cache).
            for round in ["miss", "hit"] {
                let mut args = question.to_vec();
                args.push(transport);
                let got = ask(&node, &args);
                assert_eq!(
                    got.status,
                    expected.status,
                    "{question:?} {transport} {round}\n{}\nstderr:\n{}",
                    got.output,
                    daemon.stderr()
                );
                assert_eq!(
                    records(&got),
                    records(&expected),
                    "{question:?} {transport} {round}"
                );
                assert!(got.has_flag("qr") && got.has_flag("ra") && !got.has_flag("aa"));
            }
        }
    }
}

#[test]
fn echoes_edns_id_and_question_case() {
    if !require_netns("echoes_edns_id_and_question_case") {
        return;
    }
    let node = Node::new().expect("node");
    let _daemon = start_daemon(&node, &[]);
    for round in ["miss", "hit"] {
        let with_edns = ask(&node, &["WwW.ExAmPlE.cOm", "A", "+dnssec", "+bufsize=1400"]);
        assert_eq!(with_edns.status, "NOERROR", "{round}\n{}", with_edns.output);
        assert!(
            with_edns.has_opt,
            "{round}: OPT echoed\n{}",
            with_edns.output
        );
        assert!(
            with_edns.edns_flags.iter().any(|f| f == "do"),
            "{round}: DO echoed"
        );
        assert_eq!(with_edns.edns_udp, Some(1232), "{round}: our payload size");
        // dig checks the ID itself and prints the question as the reply carries it.
        assert_eq!(
            with_edns.question, "WwW.ExAmPlE.cOm. IN A",
            "{round}: 0x20 case kept"
        );
        assert_eq!(with_edns.answers[0].name, "WwW.ExAmPlE.cOm.", "{round}");

        let plain = ask(&node, &["wWw.example.COM", "A", "+noedns"]);
        assert_eq!(plain.status, "NOERROR", "{round}");
        assert!(
            !plain.has_opt,
            "{round}: no OPT without EDNS\n{}",
            plain.output
        );
        assert_eq!(plain.question, "wWw.example.COM. IN A", "{round}");
    }
    // EDNS version 1: BADVERS (RFC 6891 §6.1.3).
    let badvers = ask(&node, &["www.example.com", "+edns=1", "+noednsnegotiation"]);
    assert_eq!(badvers.status, "BADVERS", "{}", badvers.output);
    // Class CHAOS: refused.
    let chaos = ask(&node, &["version.bind", "TXT", "CH"]);
    assert_eq!(chaos.status, "REFUSED", "{}", chaos.output);
}

#[test]
fn big_answer_truncates_over_udp_and_arrives_over_tcp_or_with_edns() {
    if !require_netns("big_answer_truncates_over_udp_and_arrives_over_tcp_or_with_edns") {
        return;
    }
    let node = Node::new().expect("node");
    let daemon = start_daemon(&node, &[]);
    for round in ["first", "again"] {
        let plain = ask(&node, &[Corpus::BIG_NAME, "A", "+noedns"]);
        assert!(
            plain.retried_tcp,
            "{round}: TC over UDP without EDNS\n{}",
            plain.output
        );
        assert_eq!(
            plain.rdata("A").len(),
            40,
            "{round}: all 40 records over TCP\n{}\nstderr:\n{}",
            plain.output,
            daemon.stderr()
        );
        let edns = ask(&node, &[Corpus::BIG_NAME, "A", "+bufsize=4096", "+ignore"]);
        assert!(
            !edns.has_flag("tc"),
            "{round}: fits in 4096\n{}",
            edns.output
        );
        assert_eq!(edns.rdata("A").len(), 40, "{round}\n{}", edns.output);
    }
}

#[test]
fn garbage_is_dropped_and_the_daemon_keeps_answering() {
    if !require_netns("garbage_is_dropped_and_the_daemon_keeps_answering") {
        return;
    }
    let node = Node::new().expect("node");
    let mut daemon = start_daemon(&node, &[]);
    // Random bytes, a lone byte, a header with QR set, a header claiming a question it
    // does not have, and an unterminated name; bash's /dev/udp sends each as one datagram.
    let datagrams = [
        r"\x8f\x13\xff\xff\xde\xad\xbe\xef\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09",
        r"\x00",
        r"\x12\x34\x81\x80\x00\x01\x00\x00\x00\x00\x00\x00",
        r"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00",
        r"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x3fabc",
    ];
    for datagram in datagrams {
        let script = format!("printf '{datagram}' > /dev/udp/127.0.0.1/5353");
        node.pod()
            .exec("bash", &["-c", &script], std::time::Duration::from_secs(5))
            .expect("bash runs")
            .ok()
            .expect("datagram sent");
    }
    let answer = ask(&node, &["www.example.com", "A"]);
    assert_eq!(
        answer.status,
        "NOERROR",
        "{}\n{}",
        answer.output,
        daemon.stderr()
    );
    assert!(daemon.is_running());
}
