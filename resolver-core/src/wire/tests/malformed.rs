//! Hand-made malformed messages, truncations and corruptions: errors, never panics.

use std::net::IpAddr;

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::RecordType;

use super::*;

/// A hand-made response for `a.` IN A whose one answer is `rdata` under the given TYPE.
pub(super) fn hand_made(answer_owner: &[u8], rtype_: u16, rdata: &[u8]) -> Vec<u8> {
    let mut msg = vec![0x12, 0x34, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0];
    msg.extend_from_slice(b"\x01a\x00\x00\x01\x00\x01");
    msg.extend_from_slice(answer_owner);
    msg.extend_from_slice(&rtype_.to_be_bytes());
    msg.extend_from_slice(&[0, 1, 0, 0, 0, 60]);
    msg.extend_from_slice(&u16::try_from(rdata.len()).expect("short").to_be_bytes());
    msg.extend_from_slice(rdata);
    msg
}

#[test]
fn malformed_hand_made_answers() {
    // (what, message, expected addresses)
    type Case = (&'static str, Vec<u8>, Result<Vec<IpAddr>, WireError>);
    let cases: Vec<Case> = vec![
        (
            "valid",
            hand_made(b"\xC0\x0C", rtype::A, &[192, 0, 2, 1]),
            Ok(vec![v4([192, 0, 2, 1])]),
        ),
        (
            "A rdata 5 octets",
            hand_made(b"\xC0\x0C", rtype::A, &[192, 0, 2, 1, 0]),
            Err(WireError::BadRdata),
        ),
        (
            "owner points at itself",
            hand_made(b"\xC0\x13", rtype::A, &[192, 0, 2, 1]),
            Err(WireError::BadPointer),
        ),
        (
            "owner points forward",
            hand_made(b"\xC0\x30", rtype::A, &[192, 0, 2, 1]),
            Err(WireError::BadPointer),
        ),
        (
            "CNAME rdata loops",
            hand_made(b"\xC0\x0C", rtype::CNAME, b"\x01b\xC0\x1F"),
            Err(WireError::BadPointer),
        ),
        (
            "CNAME rdata longer than name",
            hand_made(b"\xC0\x0C", rtype::CNAME, b"\x01b\x00\x00"),
            Err(WireError::BadRdata),
        ),
        // A high-bit TTL is 0 (RFC 2181 §8), checked below.
    ];
    for (what, msg, want) in cases {
        let got = parse_address_answer(&msg, "a", rtype::A).map(|ans| ans.addrs);
        assert_eq!(got, want, "{what}");
    }
    let mut high_ttl = hand_made(b"\xC0\x0C", rtype::A, &[192, 0, 2, 1]);
    high_ttl[12 + 7 + 6] = 0x80;
    assert_eq!(
        parse_address_answer(&high_ttl, "a", rtype::A).map(|ans| ans.ttl),
        Ok(0)
    );
}

#[test]
fn question_pointer_loop_is_rejected() {
    let msg = [
        0x12, 0x34, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0, 0xC0, 0x0C, 0, 1, 0, 1,
    ];
    assert_eq!(
        validate_response(&msg, 0x1234, "a", rtype::A),
        Err(WireError::BadPointer)
    );
    assert_eq!(
        parse_address_answer(&msg, "a", rtype::A),
        Err(WireError::BadPointer)
    );
}

/// Responses exercising every section: chain, SOA, OPT.
fn corpus() -> Vec<(Vec<u8>, &'static str, u16)> {
    vec![
        (
            response(
                "www.example.com.",
                RecordType::A,
                ResponseCode::NoError,
                vec![
                    cname("www.example.com.", 30, "cdn.example.net."),
                    a("cdn.example.net.", 60, [198, 51, 100, 7]),
                ],
                vec![],
            ),
            "www.example.com",
            rtype::A,
        ),
        (
            response(
                "nope.example.",
                RecordType::AAAA,
                ResponseCode::NXDomain,
                vec![],
                vec![soa("example.", 20, 300)],
            ),
            "nope.example",
            rtype::AAAA,
        ),
        (
            hand_made(b"\xC0\x0C", rtype::A, &[192, 0, 2, 1]),
            "a",
            rtype::A,
        ),
    ]
}

#[test]
fn every_truncation_is_an_error_never_a_panic() {
    for (msg, qname, qtype) in corpus() {
        assert!(parse_address_answer(&msg, qname, qtype).is_ok());
        for len in 0..msg.len() {
            let prefix = &msg[..len];
            assert!(
                parse_address_answer(prefix, qname, qtype).is_err(),
                "prefix {len} of {msg:?}"
            );
            let _ = validate_response(prefix, 0x1234, qname, qtype);
        }
    }
}

#[test]
fn corrupted_octets_never_panic() {
    // A deterministic xorshift generator: every run checks the same 20k corruptions.
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for (msg, qname, qtype) in corpus() {
        for _ in 0..20_000 / 3 {
            let mut bad = msg.clone();
            for _ in 0..1 + next() % 4 {
                let at = (next() % bad.len() as u64) as usize;
                bad[at] = next() as u8;
            }
            let _ = validate_response(&bad, 0x1234, qname, qtype);
            let _ = parse_address_answer(&bad, qname, qtype);
        }
    }
}
