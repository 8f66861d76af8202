//! Fault tests of [`SystemTransport`] against the scripted fake server, on 127.0.0.0/8 only.
//! No test sleeps: each waits only for the exchange it measures.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use hickory_proto::op::ResponseCode;

use super::test_server::{DECOY_ADDR, Decoy, FakeServer, Script, Seen};
use super::*;
use crate::wire::{parse_address_answer, rtype};

const QNAME: &str = "www.example.com";
const GOOD: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
const OTHER: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 2);

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn config(servers: &[&FakeServer], timeout: Duration, attempts: u8) -> TransportConfig {
    TransportConfig {
        nameservers: servers.iter().map(|s| s.addr).collect(),
        timeout,
        attempts,
        rotate: false,
        use_vc: false,
        edns0: false,
        trust_ad: false,
        first_retransmit: DEFAULT_FIRST_RETRANSMIT,
    }
}

/// Runs one exchange and returns it with its duration.
fn ask(
    transport: &SystemTransport,
    config: &TransportConfig,
) -> (Result<Exchange, Error>, Duration) {
    let started = Instant::now();
    let result = transport.exchange(QNAME, rtype::A, config);
    (result, started.elapsed())
}

fn addrs(exchange: &Exchange) -> Vec<IpAddr> {
    parse_address_answer(&exchange.response, QNAME, rtype::A)
        .expect("a valid answer")
        .addrs
}

fn rcode_of(exchange: &Exchange) -> u8 {
    wire::Header::parse(&exchange.response)
        .expect("header")
        .rcode()
}

#[test]
fn answer_on_first_try() {
    let server = FakeServer::start(Script::answering(GOOD));
    let (result, _) = ask(&SystemTransport::new(), &config(&[&server], ms(5000), 2));
    let exchange = result.expect("answered");
    assert_eq!(addrs(&exchange), vec![IpAddr::V4(GOOD)]);
    assert_eq!(exchange.server, server.addr);
    assert_eq!((exchange.queries_sent, exchange.retransmits), (1, 0));
    assert!(!exchange.over_tcp && !exchange.tcp_fallback);
}

#[test]
fn dropped_first_datagram_costs_one_rto_not_seconds() {
    let server = FakeServer::start(Script {
        drop_first: 1,
        ..Script::answering(GOOD)
    });
    let (result, took) = ask(&SystemTransport::new(), &config(&[&server], ms(5000), 2));
    let exchange = result.expect("answered");
    assert_eq!(addrs(&exchange), vec![IpAddr::V4(GOOD)]);
    assert_eq!((exchange.queries_sent, exchange.retransmits), (2, 1));
    assert!(
        took >= DEFAULT_FIRST_RETRANSMIT && took < ms(250),
        "took {took:?}"
    );
}

#[test]
fn late_answer_to_the_first_datagram_still_counts() {
    // Replies come 120 ms after each query: the answer to the first datagram arrives after
    // the retransmit at 50 ms went out, on the same socket with the same ID.
    let server = FakeServer::start(Script {
        delay: ms(120),
        ..Script::answering(GOOD)
    });
    let (result, took) = ask(&SystemTransport::new(), &config(&[&server], ms(5000), 2));
    let exchange = result.expect("answered");
    assert_eq!(addrs(&exchange), vec![IpAddr::V4(GOOD)]);
    assert_eq!(exchange.retransmits, 1);
    assert!(took < ms(240), "took {took:?}: waited for the second reply");
}

#[test]
fn each_question_of_a_lookup_has_its_own_port_and_ignores_earlier_answers() {
    // Replies come 120 ms after each query, one at a time: the A question is retransmitted at
    // 50 ms (from the same port, with the same ID) and answered at 120 ms; the answer to its
    // retransmission arrives while the AAAA question waits, and must not be taken for the
    // AAAA answer. SPEC §4: each query its own random source port.
    let server = FakeServer::start(Script {
        delay: ms(120),
        ..Script::answering(GOOD)
    });
    let transport = SystemTransport::new();
    let config = config(&[&server], ms(5000), 2);
    let mut sockets = LookupSockets::new();
    let a = transport
        .exchange_in(&mut sockets, QNAME, rtype::A, &config)
        .expect("A answered");
    assert_eq!(addrs(&a), vec![IpAddr::V4(GOOD)]);
    let a_sources = server.udp_sources();
    assert!(
        a_sources.len() >= 2,
        "A and its retransmission: {a_sources:?}"
    );
    assert!(
        a_sources.iter().all(|&s| s == a_sources[0]),
        "a question keeps its port for its retransmissions: {a_sources:?}"
    );
    let aaaa = transport
        .exchange_in(&mut sockets, QNAME, rtype::AAAA, &config)
        .expect("AAAA answered");
    let answer = parse_address_answer(&aaaa.response, QNAME, rtype::AAAA).expect("AAAA answer");
    assert!(
        answer.addrs.is_empty(),
        "the A answer was taken: {answer:?}"
    );
    let sources = server.udp_sources();
    let aaaa_source = sources.last().copied();
    assert_ne!(
        aaaa_source,
        Some(a_sources[0]),
        "the AAAA question reused the A question's port: {sources:?}"
    );
}

#[test]
fn work_while_waiting_runs_once_per_lookup() {
    let server = FakeServer::start(Script::answering(GOOD));
    let transport = SystemTransport::new();
    let config = config(&[&server], ms(5000), 2);
    let mut runs = 0;
    let mut work = || runs += 1;
    let mut sockets = LookupSockets::with_work_while_waiting(&mut work);
    for qtype in [rtype::A, rtype::AAAA, rtype::A] {
        transport
            .exchange_in(&mut sockets, QNAME, qtype, &config)
            .expect("answered");
    }
    drop(sockets);
    assert_eq!(runs, 1);
}

#[test]
fn dead_first_server_fails_over_fast_and_moves_behind() {
    let dead = FakeServer::start(Script::silent());
    let good = FakeServer::start(Script::answering(GOOD));
    let transport = SystemTransport::new();
    let config = config(&[&dead, &good], ms(5000), 2);
    let (result, took) = ask(&transport, &config);
    let exchange = result.expect("answered");
    assert_eq!(exchange.server, good.addr);
    assert_eq!(exchange.queries_sent, 2);
    assert!(took < ms(1000), "took {took:?}");
    // The dead server timed out: the next question goes to the good one first.
    let (result, _) = ask(&transport, &config);
    let exchange = result.expect("answered");
    assert_eq!((exchange.server, exchange.queries_sent), (good.addr, 1));
}

#[test]
fn truncated_answer_is_asked_again_over_tcp() {
    let server = FakeServer::start(Script {
        truncate_udp: true,
        tcp: true,
        ..Script::answering(GOOD)
    });
    let (result, _) = ask(&SystemTransport::new(), &config(&[&server], ms(2000), 1));
    let exchange = result.expect("answered");
    assert!(exchange.over_tcp && exchange.tcp_fallback);
    assert_eq!(exchange.server, server.addr);
    assert_eq!(exchange.queries_sent, 2);
    assert_eq!(addrs(&exchange), vec![IpAddr::V4(GOOD)]);
    let tcp_queries = server.seen().iter().filter(|seen| seen.tcp).count();
    assert_eq!(tcp_queries, 1);
}

#[test]
fn udp_answer_beyond_the_advertised_size_is_used_up_to_the_limit() {
    // 3,000-odd octets: more than the 512 we advertise without EDNS, yet not cut.
    let server = FakeServer::start(Script {
        udp_records: 200,
        ..Script::answering(GOOD)
    });
    let (result, _) = ask(&SystemTransport::new(), &config(&[&server], ms(2000), 1));
    let exchange = result.expect("answered");
    assert!(exchange.response.len() > 512 && exchange.response.len() <= udp::MAX_UDP_ANSWER);
    assert!(!exchange.over_tcp);
    assert_eq!(exchange.queries_sent, 1);
    assert_eq!(addrs(&exchange), vec![IpAddr::V4(GOOD); 200]);
}

#[test]
fn udp_answer_cut_by_the_receive_buffer_is_asked_again_over_tcp() {
    // 400 records (~6,400 octets) do not fit the receive buffer: the kernel cuts the datagram,
    // and the complete answer must come over TCP, as if TC had been set.
    let server = FakeServer::start(Script {
        udp_records: 400,
        tcp: true,
        ..Script::answering(GOOD)
    });
    let (result, _) = ask(&SystemTransport::new(), &config(&[&server], ms(2000), 1));
    let exchange = result.expect("answered");
    assert!(exchange.over_tcp && exchange.tcp_fallback);
    assert_eq!(exchange.queries_sent, 2);
    assert_eq!(addrs(&exchange), vec![IpAddr::V4(GOOD)]);
}

#[test]
fn failed_tcp_fallback_tries_the_other_servers_over_tcp() {
    // The first server truncates but has no TCP listener: connection refused.
    let no_tcp = FakeServer::start(Script {
        truncate_udp: true,
        ..Script::answering(GOOD)
    });
    let full = FakeServer::start(Script {
        tcp: true,
        ..Script::answering(OTHER)
    });
    let (result, _) = ask(
        &SystemTransport::new(),
        &config(&[&no_tcp, &full], ms(2000), 1),
    );
    let exchange = result.expect("answered");
    assert!(exchange.over_tcp && exchange.tcp_fallback);
    assert_eq!(exchange.server, full.addr);
    assert_eq!(addrs(&exchange), vec![IpAddr::V4(OTHER)]);
}

#[test]
fn garbage_wrong_id_and_wrong_source_are_ignored() {
    let decoys = [
        vec![Decoy::Garbage],
        vec![Decoy::WrongId],
        vec![Decoy::WrongSource],
        vec![Decoy::Garbage, Decoy::WrongId, Decoy::WrongSource],
    ];
    for decoys in decoys {
        let server = FakeServer::start(Script {
            decoys: decoys.clone(),
            ..Script::answering(GOOD)
        });
        let (result, _) = ask(&SystemTransport::new(), &config(&[&server], ms(2000), 1));
        let exchange = result.expect("answered");
        assert_eq!(addrs(&exchange), vec![IpAddr::V4(GOOD)], "{decoys:?}");
        assert_ne!(addrs(&exchange), vec![IpAddr::V4(DECOY_ADDR)]);
        assert_eq!(exchange.queries_sent, 1, "{decoys:?}");
    }
}

#[test]
fn servfail_sends_to_the_next_server_at_once() {
    for rcode in [
        ResponseCode::ServFail,
        ResponseCode::Refused,
        ResponseCode::NotImp,
        ResponseCode::FormErr,
    ] {
        let failing = FakeServer::start(Script {
            rcode,
            ..Script::answering(GOOD)
        });
        let good = FakeServer::start(Script::answering(OTHER));
        // A first retransmit of 1 s: only the rcode can explain a quick second query.
        let mut config = config(&[&failing, &good], ms(2000), 1);
        config.first_retransmit = ms(1000);
        let (result, took) = ask(&SystemTransport::new(), &config);
        let exchange = result.expect("answered");
        assert_eq!(exchange.server, good.addr, "{rcode}");
        assert_eq!(addrs(&exchange), vec![IpAddr::V4(OTHER)]);
        assert_eq!(exchange.queries_sent, 2);
        assert!(took < ms(500), "{rcode}: took {took:?}");
    }
}

#[test]
fn every_server_refusing_returns_the_last_refusal() {
    let servfail = FakeServer::start(Script {
        rcode: ResponseCode::ServFail,
        ..Script::answering(GOOD)
    });
    let refused = FakeServer::start(Script {
        rcode: ResponseCode::Refused,
        ..Script::answering(GOOD)
    });
    let mut config = config(&[&servfail, &refused], ms(2000), 1);
    config.first_retransmit = ms(1000);
    let (result, took) = ask(&SystemTransport::new(), &config);
    let exchange = result.expect("a response, for the lookup engine to interpret");
    assert_eq!(exchange.server, refused.addr);
    assert_eq!(rcode_of(&exchange), wire::rcode::REFUSED);
    assert!(took < ms(500), "took {took:?}");
}

#[test]
fn nxdomain_is_an_answer() {
    let server = FakeServer::start(Script {
        rcode: ResponseCode::NXDomain,
        ..Script::answering(GOOD)
    });
    let other = FakeServer::start(Script::answering(OTHER));
    let (result, _) = ask(
        &SystemTransport::new(),
        &config(&[&server, &other], ms(2000), 1),
    );
    let exchange = result.expect("answered");
    assert_eq!(
        (exchange.server, rcode_of(&exchange)),
        (server.addr, wire::rcode::NXDOMAIN)
    );
    assert_eq!(exchange.queries_sent, 1);
}

#[test]
fn all_silent_times_out_within_budget() {
    let first = FakeServer::start(Script::silent());
    let second = FakeServer::start(Script::silent());
    let (result, took) = ask(
        &SystemTransport::new(),
        &config(&[&first, &second], ms(300), 1),
    );
    match result {
        Err(Error::Timeout(budget)) => assert_eq!(budget, ms(300)),
        other => panic!("expected a timeout, got {other:?}"),
    }
    assert!(took >= ms(300) && took < ms(550), "took {took:?}");
    // 0, 50, 150 ms, then the next (350 ms) is past the budget.
    let sent = first.seen().len() + second.seen().len();
    assert_eq!(sent, 3);
}

#[test]
fn use_vc_asks_over_tcp_only_and_fails_over() {
    let no_tcp = FakeServer::start(Script::answering(GOOD));
    let tcp = FakeServer::start(Script {
        tcp: true,
        ..Script::answering(OTHER)
    });
    let mut config = config(&[&no_tcp, &tcp], ms(1000), 1);
    config.use_vc = true;
    let (result, _) = ask(&SystemTransport::new(), &config);
    let exchange = result.expect("answered");
    assert!(exchange.over_tcp && !exchange.tcp_fallback);
    assert_eq!(
        (exchange.server, exchange.queries_sent, exchange.retransmits),
        (tcp.addr, 1, 0)
    );
    assert_eq!(addrs(&exchange), vec![IpAddr::V4(OTHER)]);
    assert!(no_tcp.seen().is_empty(), "no UDP with use-vc");
    // Nobody accepts TCP: an I/O error naming a server, not a timeout.
    let mut config = self::config(&[&no_tcp], ms(1000), 2);
    config.use_vc = true;
    let (result, took) = ask(&SystemTransport::new(), &config);
    assert!(
        matches!(
            result,
            Err(Error::Io {
                server: Some(_),
                ..
            })
        ),
        "{result:?}"
    );
    assert!(took < ms(500), "took {took:?}");
}

#[test]
fn rotate_starts_each_question_one_server_further() {
    let first = FakeServer::start(Script::answering(GOOD));
    let second = FakeServer::start(Script::answering(OTHER));
    let transport = SystemTransport::new();
    let mut config = config(&[&first, &second], ms(2000), 1);
    let servers: Vec<SocketAddr> = (0..3)
        .map(|_| ask(&transport, &config).0.expect("answered").server)
        .collect();
    assert_eq!(servers, vec![first.addr; 3]);
    config.rotate = true;
    let servers: Vec<SocketAddr> = (0..4)
        .map(|_| ask(&transport, &config).0.expect("answered").server)
        .collect();
    assert_eq!(
        servers,
        vec![first.addr, second.addr, first.addr, second.addr]
    );
}

#[test]
fn edns0_and_trust_ad_reach_the_wire() {
    let server = FakeServer::start(Script::answering(GOOD));
    let transport = SystemTransport::new();
    let mut config = config(&[&server], ms(2000), 1);
    ask(&transport, &config).0.expect("answered");
    config.edns0 = true;
    config.trust_ad = true;
    ask(&transport, &config).0.expect("answered");
    let plain = Seen {
        tcp: false,
        edns_size: None,
        authentic_data: false,
    };
    let edns = Seen {
        tcp: false,
        edns_size: Some(wire::EDNS_UDP_SIZE),
        authentic_data: true,
    };
    assert_eq!(server.seen(), vec![plain, edns]);
}

#[test]
fn configuration_and_name_errors() {
    let mut config = TransportConfig {
        nameservers: Vec::new(),
        timeout: ms(100),
        attempts: 1,
        rotate: false,
        use_vc: false,
        edns0: false,
        trust_ad: false,
        first_retransmit: DEFAULT_FIRST_RETRANSMIT,
    };
    let transport = SystemTransport::new();
    let result = transport.exchange(QNAME, rtype::A, &config);
    assert!(matches!(result, Err(Error::NoNameservers)), "{result:?}");
    // Checked before anything is sent: the (unused) address is never contacted.
    config
        .nameservers
        .push(SocketAddr::from(([127, 0, 0, 1], 9)));
    let result = transport.exchange("a..b", rtype::A, &config);
    assert!(
        result.as_ref().is_err_and(Error::is_invalid_input),
        "{result:?}"
    );
}

#[test]
fn budget_is_timeout_times_attempts() {
    let mut config = config(&[], ms(5000), 2);
    assert_eq!(config.total_budget(), ms(10_000));
    config.attempts = 0;
    assert_eq!(config.total_budget(), ms(5000));
}
