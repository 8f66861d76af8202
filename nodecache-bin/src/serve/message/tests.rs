//! Tests of query parsing, the response walk and reply building, including a fuzz-style
//! sweep of truncations and random bytes (nothing may panic).

use testbed::zone::{self, MemoryZone};

use super::name::MAX_NAME_WIRE_LEN;
use super::query::QueryError;
use super::reply::{append_opt, truncate_for_udp, write_header_reply, write_rcode_reply};
use super::*;

/// A query as a stub resolver sends it: `name` in presentation form (its case kept).
pub(crate) fn query(id: u16, name: &str, qtype: u16, edns: Option<(u16, bool, u8)>) -> Vec<u8> {
    let mut msg = id.to_be_bytes().to_vec();
    msg.extend_from_slice(&flags::RD.to_be_bytes());
    let arcount = u16::from(edns.is_some());
    msg.extend_from_slice(&[0, 1, 0, 0, 0, 0]);
    msg.extend_from_slice(&arcount.to_be_bytes());
    for label in name
        .trim_end_matches('.')
        .split('.')
        .filter(|l| !l.is_empty())
    {
        msg.push(label.len() as u8);
        msg.extend_from_slice(label.as_bytes());
    }
    msg.push(0);
    msg.extend_from_slice(&qtype.to_be_bytes());
    msg.extend_from_slice(&CLASS_IN.to_be_bytes());
    if let Some((size, dnssec_ok, version)) = edns {
        msg.push(0);
        msg.extend_from_slice(&rtype::OPT.to_be_bytes());
        msg.extend_from_slice(&size.to_be_bytes());
        msg.extend_from_slice(&[0, version, if dnssec_ok { 0x80 } else { 0 }, 0, 0, 0]);
    }
    msg
}

#[test]
fn parses_question_lower_cased_and_keeps_client_bytes() {
    let msg = query(0x1234, "WwW.ExAmple.COM", 1, None);
    let parsed = parse_query(&msg).expect("parses");
    assert_eq!(parsed.id, 0x1234);
    assert_eq!(parsed.name.as_wire(), b"\x03www\x07example\x03com\x00");
    assert_eq!((parsed.qtype, parsed.qclass), (1, CLASS_IN));
    assert_eq!(parsed.question_end, msg.len());
    assert_eq!(&msg[HEADER_LEN + 1..HEADER_LEN + 4], b"WwW");
    assert!(parsed.recursion_desired());
    assert_eq!(parsed.edns, None);
    assert_eq!(parsed.udp_limit(), 512);
}

#[test]
fn parses_edns_size_do_and_version() {
    let cases = [
        ((4096, true, 0), 4096),
        ((1232, false, 0), 1232),
        // RFC 6891 §6.2.3: below 512 counts as 512.
        ((100, false, 0), 512),
        ((1232, false, 1), 1232),
    ];
    for ((size, dnssec_ok, version), limit) in cases {
        let msg = query(1, "a.b", 28, Some((size, dnssec_ok, version)));
        let parsed = parse_query(&msg).expect("parses");
        let edns = parsed.edns.expect("edns");
        assert_eq!(
            (edns.udp_size, edns.dnssec_ok, edns.version),
            (size, dnssec_ok, version)
        );
        assert_eq!(parsed.udp_limit(), limit);
    }
}

#[test]
fn classifies_bad_queries() {
    let good = query(7, "example.com", 1, Some((1232, false, 0)));
    let mut response = good.clone();
    response[2] |= 0x80;
    let mut notify = good.clone();
    notify[2] |= 4 << 3;
    let mut two_questions = good.clone();
    two_questions[5] = 2;
    let mut no_question = good.clone();
    no_question[5] = 0;
    let mut two_opts = good.clone();
    two_opts[11] = 2;
    two_opts.extend_from_slice(&good[good.len() - 11..]);
    let mut pointer_name = good[..HEADER_LEN].to_vec();
    pointer_name.extend_from_slice(&[0xc0, 0x0c, 0, 1, 0, 1]);
    let mut long_label = good[..HEADER_LEN].to_vec();
    long_label[11] = 0;
    long_label.push(64);
    long_label.extend_from_slice(&[b'a'; 64]);
    long_label.extend_from_slice(&[0, 0, 1, 0, 1]);
    let cases: Vec<(&str, &[u8], QueryError, Option<u16>)> = vec![
        ("empty", &[], QueryError::NoHeader, None),
        ("short", &good[..11], QueryError::NoHeader, None),
        ("response", &response, QueryError::IsResponse, None),
        (
            "notify",
            &notify,
            QueryError::NotQuery(4),
            Some(rcode::NOTIMP),
        ),
        (
            "qdcount 2",
            &two_questions,
            QueryError::BadBody,
            Some(rcode::FORMERR),
        ),
        (
            "qdcount 0",
            &no_question,
            QueryError::BadBody,
            Some(rcode::FORMERR),
        ),
        (
            "two OPT",
            &two_opts,
            QueryError::BadBody,
            Some(rcode::FORMERR),
        ),
        (
            "pointer",
            &pointer_name,
            QueryError::BadBody,
            Some(rcode::FORMERR),
        ),
        (
            "label 64",
            &long_label,
            QueryError::BadBody,
            Some(rcode::FORMERR),
        ),
        (
            "cut OPT",
            &good[..good.len() - 1],
            QueryError::BadBody,
            Some(rcode::FORMERR),
        ),
    ];
    for (what, msg, error, reply) in cases {
        assert_eq!(parse_query(msg).map(|_| ()), Err(error), "{what}");
        assert_eq!(error.reply_rcode(), reply, "{what}");
    }
}

#[test]
fn name_over_255_octets_is_rejected() {
    let label = "a".repeat(63);
    // 4 × 64 + 1 = 257 octets.
    let name = [label.as_str(); 4].join(".");
    assert_eq!(
        parse_query(&query(1, &name, 1, None)).map(|_| ()),
        Err(QueryError::BadBody)
    );
    // 3 × 64 + 62 + 1 = 255 octets: the longest legal name.
    let longest = format!("{}.{}", [label.as_str(); 3].join("."), "b".repeat(61));
    let parsed = parse_query(&query(1, &longest, 1, None)).expect("255 octets");
    assert_eq!(parsed.name.as_wire().len(), MAX_NAME_WIRE_LEN);
}

#[test]
fn rcode_reply_echoes_question_and_edns() {
    let msg = query(0xbeef, "Example.COM", 1, Some((4096, true, 0)));
    let parsed = parse_query(&msg).expect("parses");
    let mut out = Vec::new();
    write_rcode_reply(&msg, &parsed, rcode::REFUSED, &mut out);
    assert_eq!(read_u16(&out, offset::ID), Some(0xbeef));
    let reply_flags = read_u16(&out, offset::FLAGS).unwrap();
    assert_eq!(reply_flags & flags::RCODE_MASK, rcode::REFUSED);
    assert_ne!(reply_flags & flags::QR, 0);
    assert_ne!(reply_flags & flags::RD, 0);
    assert_eq!(
        &out[HEADER_LEN..parsed.question_end],
        &msg[HEADER_LEN..parsed.question_end]
    );
    let layout = walk_response(&out).expect("walkable");
    let opt = layout.opt.expect("OPT echoed");
    // DO echoed, version 0, our payload size.
    assert_eq!(
        &out[opt.start + 3..opt.start + 5],
        &OUR_UDP_PAYLOAD.to_be_bytes()
    );
    assert_eq!(out[opt.start + 7], 0x80);

    // BADVERS: extended rcode 16 = header 0 + OPT upper bits 1.
    let msg = query(2, "a", 1, Some((1232, false, 3)));
    let parsed = parse_query(&msg).expect("parses");
    write_rcode_reply(&msg, &parsed, rcode::BADVERS, &mut out);
    assert_eq!(
        read_u16(&out, offset::FLAGS).unwrap() & flags::RCODE_MASK,
        0
    );
    let opt = walk_response(&out).unwrap().opt.unwrap();
    assert_eq!((out[opt.start + 5], out[opt.start + 6]), (1, 0));

    // No EDNS in, no OPT out.
    let msg = query(3, "a", 1, None);
    let parsed = parse_query(&msg).expect("parses");
    write_rcode_reply(&msg, &parsed, rcode::SERVFAIL, &mut out);
    assert_eq!(walk_response(&out).unwrap().opt, None);
    assert_eq!(read_u16(&out, offset::ARCOUNT), Some(0));
}

#[test]
fn header_reply_keeps_id_and_opcode() {
    let mut msg = query(0x0102, "a", 1, None);
    msg[2] |= 4 << 3;
    let mut out = Vec::new();
    assert!(write_header_reply(&msg, rcode::NOTIMP, &mut out));
    assert_eq!(out.len(), HEADER_LEN);
    assert_eq!(read_u16(&out, 0), Some(0x0102));
    let reply_flags = read_u16(&out, 2).unwrap();
    assert_eq!((reply_flags >> 11) & 0xf, 4);
    assert_eq!(reply_flags & flags::RCODE_MASK, rcode::NOTIMP);
    assert!(!write_header_reply(&msg[..5], rcode::FORMERR, &mut out));
    assert!(out.is_empty());
}

fn big_zone() -> MemoryZone {
    (1..=40).fold(MemoryZone::default(), |zone, i| {
        zone.with("big.example.org", zone::a(&format!("198.18.3.{i}")))
    })
}

#[test]
fn walk_finds_ttls_min_ttl_and_soa_negative_ttl() {
    let zone = big_zone()
        .with("alias.example", zone::cname("big.example.org"))
        .with("v6.example", zone::aaaa("2001:db8::1"));
    let msg = zone.respond("alias.example", 1);
    let layout = walk_response(&msg).expect("walks");
    assert_eq!(layout.ttl_offsets.len(), 41);
    assert_eq!(layout.min_answer_ttl, Some(30));
    assert_eq!(layout.negative_ttl, None);
    assert_eq!(layout.end, msg.len());
    for &at in layout.ttl_offsets.iter() {
        assert_eq!(read_u32(&msg, usize::from(at)), Some(30));
    }

    let nxdomain = zone.respond("nope.example", 1);
    let layout = walk_response(&nxdomain).expect("walks");
    assert_eq!(layout.rcode, 3);
    assert_eq!(layout.min_answer_ttl, None);
    assert_eq!(layout.negative_ttl, Some(30));

    // NODATA with an SOA whose MINIMUM is below its TTL: RFC 2308 §5 takes the smaller.
    let mut nodata = zone.respond("v6.example", 1);
    let soa_ttl_at = usize::from(*walk_response(&nodata).unwrap().ttl_offsets.last().unwrap());
    assert!(write_u32(&mut nodata, soa_ttl_at, 600));
    let len = nodata.len();
    assert!(write_u32(&mut nodata, len - 4, 5));
    assert_eq!(walk_response(&nodata).unwrap().negative_ttl, Some(5));
}

#[test]
fn walk_skips_opt_ttl_and_reports_its_range() {
    let mut msg = big_zone().respond("big.example.org", 1);
    let answers = walk_response(&msg).unwrap().ttl_offsets.len();
    let opt_start = msg.len();
    assert_eq!(read_u16(&msg, offset::ARCOUNT), Some(0));
    append_opt(&mut msg, true, 0);
    assert_eq!(read_u16(&msg, offset::ARCOUNT), Some(1));
    let layout = walk_response(&msg).expect("walks");
    assert_eq!(layout.opt, Some(opt_start..msg.len()));
    assert_eq!(layout.opt_index, Some(0));
    assert_eq!(layout.ttl_offsets.len(), answers);
}

#[test]
fn truncation_keeps_header_question_and_opt() {
    let query_msg = query(9, "BIG.example.org", 1, Some((512, true, 0)));
    let parsed = parse_query(&query_msg).unwrap();
    let mut out = big_zone().respond("big.example.org", 1);
    assert!(out.len() > 512);
    assert!(truncate_for_udp(
        &mut out,
        parsed.question_end,
        512,
        parsed.edns
    ));
    let layout = walk_response(&out).expect("still a response");
    assert!(layout.truncated);
    assert!(layout.ttl_offsets.is_empty());
    assert!(layout.opt.is_some());
    assert!(out.len() <= 512);
    // Short enough: untouched.
    let before = out.clone();
    assert!(!truncate_for_udp(
        &mut out,
        parsed.question_end,
        512,
        parsed.edns
    ));
    assert_eq!(out, before);
}

/// A small xorshift generator: deterministic, so a failure reproduces.
fn xorshift(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

#[test]
fn never_panics_on_truncations_mutations_and_random_bytes() {
    let samples = [
        query(1, "www.example.com", 1, Some((1232, true, 0))),
        big_zone().respond("big.example.org", 1),
        big_zone().respond("nope", 28),
    ];
    let mut out = Vec::new();
    let mut exercise = |bytes: &[u8]| {
        if let Ok(parsed) = parse_query(bytes) {
            write_rcode_reply(bytes, &parsed, rcode::SERVFAIL, &mut out);
            assert!(walk_response(&out).is_ok(), "our own reply walks");
        }
        let _ = write_header_reply(bytes, rcode::FORMERR, &mut out);
        if let Ok(layout) = walk_response(bytes) {
            assert!(layout.end <= bytes.len());
            for &at in layout.ttl_offsets.iter() {
                assert!(read_u32(bytes, usize::from(at)).is_some());
            }
        }
    };
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    for sample in &samples {
        for len in 0..=sample.len() {
            exercise(&sample[..len]);
        }
        for _ in 0..3000 {
            let mut mutated = sample.clone();
            for _ in 0..1 + xorshift(&mut state) % 4 {
                let at = (xorshift(&mut state) as usize) % mutated.len();
                mutated[at] = xorshift(&mut state) as u8;
            }
            exercise(&mutated);
        }
    }
    for _ in 0..5000 {
        let len = (xorshift(&mut state) % 600) as usize;
        let bytes: Vec<u8> = (0..len).map(|_| xorshift(&mut state) as u8).collect();
        exercise(&bytes);
    }
}
