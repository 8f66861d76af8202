//! The codec against messages built and parsed by hickory-proto.

use std::net::{IpAddr, Ipv6Addr};
use std::str::FromStr;

use hickory_proto::op::{Message, MessageType, OpCode, ResponseCode};
use hickory_proto::rr::{DNSClass, Record, RecordType};

use super::*;

#[test]
fn hickory_decodes_our_queries() {
    struct Case {
        qname: &'static str,
        qtype: u16,
        flags: QueryFlags,
    }
    let plain = QueryFlags::default();
    let edns_ad = QueryFlags {
        recursion_desired: true,
        edns_udp_size: Some(EDNS_UDP_SIZE),
        authentic_data: true,
    };
    let no_rd = QueryFlags {
        recursion_desired: false,
        ..plain
    };
    let cases = [
        Case {
            qname: "www.example.com",
            qtype: rtype::A,
            flags: plain,
        },
        Case {
            qname: "WWW.Example.com.",
            qtype: rtype::AAAA,
            flags: edns_ad,
        },
        Case {
            qname: "kubernetes.default.svc.cluster.local",
            qtype: rtype::SRV,
            flags: no_rd,
        },
    ];
    let mut buf = Vec::new();
    for (i, case) in cases.iter().enumerate() {
        let id = 0xBEEF ^ i as u16;
        encode_query(&mut buf, id, case.qname, case.qtype, case.flags).expect("valid name");
        let msg = Message::from_vec(&buf).expect("hickory parses our query");
        assert_eq!(msg.id(), id);
        assert_eq!(msg.message_type(), MessageType::Query);
        assert_eq!(msg.op_code(), OpCode::Query);
        assert_eq!(msg.recursion_desired(), case.flags.recursion_desired);
        assert_eq!(msg.authentic_data(), case.flags.authentic_data);
        assert_eq!(msg.queries().len(), 1);
        let query = &msg.queries()[0];
        let want = case.qname.trim_end_matches('.');
        assert_eq!(query.name().to_ascii().trim_end_matches('.'), want);
        assert_eq!(u16::from(query.query_type()), case.qtype);
        assert_eq!(query.query_class(), DNSClass::IN);
        assert!(msg.answers().is_empty() && msg.name_servers().is_empty());
        match case.flags.edns_udp_size {
            Some(size) => {
                let edns = msg.extensions().as_ref().expect("OPT record");
                assert_eq!(edns.max_payload(), size);
                assert_eq!(edns.version(), 0);
                assert!(!edns.flags().dnssec_ok);
            }
            None => assert!(msg.extensions().is_none()),
        }
    }
}

#[test]
fn encode_rejects_invalid_names_and_leaves_buffer_empty() {
    let mut buf = vec![1, 2, 3];
    for bad in [
        "",
        ".",
        "a..b",
        &"x".repeat(64),
        &format!("{}.com", "a.".repeat(126)),
    ] {
        assert_eq!(
            encode_query(&mut buf, 1, bad, rtype::A, QueryFlags::default()),
            Err(WireError::InvalidName),
            "{bad}"
        );
        assert!(buf.is_empty());
    }
}

#[test]
fn header_matches_hickory() {
    let msg = response(
        "a.example.",
        RecordType::A,
        ResponseCode::NXDomain,
        vec![],
        vec![soa("example.", 60, 30)],
    );
    let header = Header::parse(&msg).expect("header");
    assert_eq!(header.id, 0x1234);
    assert!(header.is_response() && !header.is_truncated() && !header.is_authoritative());
    assert_eq!((header.opcode(), header.rcode()), (0, rcode::NXDOMAIN));
    assert_eq!(
        (
            header.qdcount,
            header.ancount,
            header.nscount,
            header.arcount
        ),
        (1, 0, 1, 1)
    );
    assert_eq!(Header::parse(&msg[..11]), Err(WireError::ShortMessage));
}

#[test]
fn validate_response_checks_every_field() {
    let good = response(
        "www.Example.com.",
        RecordType::A,
        ResponseCode::NoError,
        vec![a("www.example.com.", 60, [192, 0, 2, 1])],
        vec![],
    );
    let patched = |offset: usize, value: u8| {
        let mut msg = good.clone();
        msg[offset] = value;
        msg
    };
    let mut class_ch = good.clone();
    // The question's class is the 2 octets after QTYPE: header 12 + name 17 + type 2.
    class_ch[12 + 17 + 2..12 + 17 + 4].copy_from_slice(&3u16.to_be_bytes());
    // (what, message, qname, qtype, expected)
    type Case = (
        &'static str,
        Vec<u8>,
        &'static str,
        u16,
        Result<(), WireError>,
    );
    let cases: Vec<Case> = vec![
        ("ok", good.clone(), "www.example.com", rtype::A, Ok(())),
        (
            "case-insensitive",
            good.clone(),
            "WWW.EXAMPLE.COM.",
            rtype::A,
            Ok(()),
        ),
        (
            "QR clear",
            patched(2, good[2] & 0x7F),
            "www.example.com",
            rtype::A,
            Err(WireError::NotResponse),
        ),
        (
            "opcode STATUS",
            patched(2, good[2] | 0x10),
            "www.example.com",
            rtype::A,
            Err(WireError::NotResponse),
        ),
        (
            "wrong ID",
            patched(1, 0x35),
            "www.example.com",
            rtype::A,
            Err(WireError::IdMismatch),
        ),
        (
            "QDCOUNT 0",
            patched(5, 0),
            "www.example.com",
            rtype::A,
            Err(WireError::QuestionMismatch),
        ),
        (
            "QDCOUNT 2",
            patched(5, 2),
            "www.example.com",
            rtype::A,
            Err(WireError::QuestionMismatch),
        ),
        (
            "other name",
            good.clone(),
            "www.example.org",
            rtype::A,
            Err(WireError::QuestionMismatch),
        ),
        (
            "parent name",
            good.clone(),
            "example.com",
            rtype::A,
            Err(WireError::QuestionMismatch),
        ),
        (
            "other type",
            good.clone(),
            "www.example.com",
            rtype::AAAA,
            Err(WireError::QuestionMismatch),
        ),
        (
            "class CH",
            class_ch,
            "www.example.com",
            rtype::A,
            Err(WireError::QuestionMismatch),
        ),
        (
            "header only",
            good[..12].to_vec(),
            "www.example.com",
            rtype::A,
            Err(WireError::ShortMessage),
        ),
        (
            "no qclass",
            good[..12 + 17 + 2].to_vec(),
            "www.example.com",
            rtype::A,
            Err(WireError::ShortMessage),
        ),
    ];
    for (what, msg, qname, qtype, want) in cases {
        assert_eq!(
            validate_response(&msg, 0x1234, qname, qtype).map(|_| ()),
            want,
            "{what}"
        );
    }
}

#[test]
fn parse_address_answers_built_by_hickory() {
    struct Case {
        what: &'static str,
        qname: &'static str,
        qtype: RecordType,
        rcode: ResponseCode,
        answers: Vec<Record>,
        authority: Vec<Record>,
        addrs: Vec<IpAddr>,
        canonical: Option<&'static str>,
        ttl: u32,
    }
    let ip6 = IpAddr::V6(Ipv6Addr::from_str("2001:db8::1").expect("v6"));
    let cases = vec![
        Case {
            what: "two addresses, min TTL",
            qname: "www.example.com.",
            qtype: RecordType::A,
            rcode: ResponseCode::NoError,
            answers: vec![
                a("www.example.com.", 300, [192, 0, 2, 1]),
                a("www.example.com.", 120, [192, 0, 2, 2]),
            ],
            authority: vec![],
            addrs: vec![v4([192, 0, 2, 1]), v4([192, 0, 2, 2])],
            canonical: None,
            ttl: 120,
        },
        Case {
            what: "CNAME chain in order, mixed case, chain TTL lowest",
            qname: "www.example.com.",
            qtype: RecordType::A,
            rcode: ResponseCode::NoError,
            answers: vec![
                cname("WWW.example.COM.", 30, "cdn.Example.net."),
                cname("cdn.example.net.", 600, "edge.cdn.example.net."),
                a("EDGE.cdn.example.net.", 60, [198, 51, 100, 7]),
            ],
            authority: vec![],
            addrs: vec![v4([198, 51, 100, 7])],
            canonical: Some("edge.cdn.example.net"),
            ttl: 30,
        },
        Case {
            what: "CNAME chain in reverse order with unrelated records",
            qname: "www.example.com.",
            qtype: RecordType::A,
            rcode: ResponseCode::NoError,
            answers: vec![
                a("other.example.", 5, [203, 0, 113, 9]),
                a("edge.example.net.", 90, [198, 51, 100, 8]),
                cname("mid.example.net.", 100, "edge.example.net."),
                cname("www.example.com.", 200, "mid.example.net."),
                a("www.example.com.", 1, [203, 0, 113, 1]),
            ],
            authority: vec![],
            addrs: vec![v4([198, 51, 100, 8])],
            canonical: Some("edge.example.net"),
            ttl: 90,
        },
        Case {
            what: "AAAA",
            qname: "v6.example.",
            qtype: RecordType::AAAA,
            rcode: ResponseCode::NoError,
            answers: vec![
                a("v6.example.", 60, [192, 0, 2, 1]),
                aaaa("v6.example.", 45, "2001:db8::1"),
            ],
            authority: vec![],
            addrs: vec![ip6],
            canonical: None,
            ttl: 45,
        },
        Case {
            what: "NXDOMAIN: SOA TTL below MINIMUM",
            qname: "nope.example.",
            qtype: RecordType::A,
            rcode: ResponseCode::NXDomain,
            answers: vec![],
            authority: vec![soa("example.", 20, 300)],
            addrs: vec![],
            canonical: None,
            ttl: 20,
        },
        Case {
            what: "NODATA after a CNAME: MINIMUM below SOA TTL",
            qname: "alias.example.",
            qtype: RecordType::AAAA,
            rcode: ResponseCode::NoError,
            answers: vec![cname("alias.example.", 300, "v4only.example.")],
            authority: vec![soa("example.", 900, 15)],
            addrs: vec![],
            canonical: Some("v4only.example"),
            ttl: 15,
        },
        Case {
            what: "NODATA without SOA",
            qname: "v4only.example.",
            qtype: RecordType::AAAA,
            rcode: ResponseCode::NoError,
            answers: vec![],
            authority: vec![],
            addrs: vec![],
            canonical: None,
            ttl: 0,
        },
        Case {
            what: "SERVFAIL is never cached here",
            qname: "broken.example.",
            qtype: RecordType::A,
            rcode: ResponseCode::ServFail,
            answers: vec![],
            authority: vec![soa("example.", 900, 900)],
            addrs: vec![],
            canonical: None,
            ttl: 0,
        },
        Case {
            what: "CNAME loop ends without addresses",
            qname: "loop1.example.",
            qtype: RecordType::A,
            rcode: ResponseCode::NoError,
            answers: vec![
                cname("loop1.example.", 60, "loop2.example."),
                cname("loop2.example.", 60, "loop1.example."),
            ],
            authority: vec![],
            addrs: vec![],
            // 16 links (even) lead back to the question name.
            canonical: None,
            ttl: 0,
        },
    ];
    for case in cases {
        let msg = response(
            case.qname,
            case.qtype,
            case.rcode,
            case.answers,
            case.authority,
        );
        let qtype = u16::from(case.qtype);
        validate_response(&msg, 0x1234, case.qname, qtype).expect(case.what);
        let got = parse_address_answer(&msg, case.qname, qtype).expect(case.what);
        assert_eq!(got.rcode, case.rcode.low(), "{}", case.what);
        assert_eq!(got.addrs, case.addrs, "{}", case.what);
        assert_eq!(
            got.canonical_name.as_deref(),
            case.canonical,
            "{}",
            case.what
        );
        assert_eq!(got.ttl, case.ttl, "{}", case.what);
        assert!(!got.truncated, "{}", case.what);
    }
}

#[test]
fn hickory_compresses_and_we_follow_pointers() {
    let msg = response(
        "www.example.com.",
        RecordType::A,
        ResponseCode::NoError,
        vec![a("www.example.com.", 60, [192, 0, 2, 1])],
        vec![],
    );
    // The answer's owner is a pointer to the question name at offset 12.
    assert!(
        msg.windows(2).any(|w| w == [0xC0, 0x0C]),
        "hickory did not compress: {msg:?}"
    );
    let got = parse_address_answer(&msg, "www.example.com", rtype::A).expect("parses");
    assert_eq!(got.addrs, vec![v4([192, 0, 2, 1])]);
}

#[test]
fn chain_longer_than_the_bound_is_cut() {
    let links: Vec<Record> = (0..20)
        .map(|i| {
            cname(
                &format!("n{i}.example."),
                60,
                &format!("n{}.example.", i + 1),
            )
        })
        .collect();
    let mut answers = links;
    answers.push(a("n20.example.", 60, [192, 0, 2, 20]));
    let msg = response(
        "n0.example.",
        RecordType::A,
        ResponseCode::NoError,
        answers,
        vec![],
    );
    let got = parse_address_answer(&msg, "n0.example.", rtype::A).expect("parses");
    assert!(got.addrs.is_empty());
    assert_eq!(got.canonical_name.as_deref(), Some("n16.example"));
}
