//! Tests of the codec: cross-checks against hickory-proto, and malformed input.

mod hickory;
mod malformed;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use hickory_proto::op::{Edns, Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::rdata::{A, AAAA, CNAME, SOA};
use hickory_proto::rr::{Name, RData, Record, RecordType};

use super::*;

pub(super) fn name(text: &str) -> Name {
    Name::from_ascii(text).expect("test name")
}

pub(super) fn a(owner: &str, ttl: u32, ip: [u8; 4]) -> Record {
    Record::from_rdata(name(owner), ttl, RData::A(A(Ipv4Addr::from(ip))))
}

pub(super) fn aaaa(owner: &str, ttl: u32, ip: &str) -> Record {
    let ip = Ipv6Addr::from_str(ip).expect("test address");
    Record::from_rdata(name(owner), ttl, RData::AAAA(AAAA(ip)))
}

pub(super) fn cname(owner: &str, ttl: u32, target: &str) -> Record {
    Record::from_rdata(name(owner), ttl, RData::CNAME(CNAME(name(target))))
}

pub(super) fn soa(owner: &str, ttl: u32, minimum: u32) -> Record {
    let data = SOA::new(
        name("ns1.example."),
        name("hostmaster.example."),
        7,
        3600,
        600,
        86400,
        minimum,
    );
    Record::from_rdata(name(owner), ttl, RData::SOA(data))
}

/// A response to (`qname`, `qtype`) with ID 0x1234, built and serialised by hickory.
pub(super) fn response(
    qname: &str,
    qtype: RecordType,
    rcode: ResponseCode,
    answers: Vec<Record>,
    authority: Vec<Record>,
) -> Vec<u8> {
    let mut msg = Message::new();
    msg.set_id(0x1234)
        .set_message_type(MessageType::Response)
        .set_op_code(OpCode::Query)
        .set_recursion_desired(true)
        .set_recursion_available(true)
        .set_response_code(rcode)
        .add_query(Query::query(name(qname), qtype));
    msg.add_answers(answers).add_name_servers(authority);
    let mut edns = Edns::new();
    edns.set_max_payload(1232);
    msg.set_edns(edns);
    msg.to_vec().expect("hickory encodes")
}

pub(super) fn v4(ip: [u8; 4]) -> IpAddr {
    IpAddr::V4(Ipv4Addr::from(ip))
}
