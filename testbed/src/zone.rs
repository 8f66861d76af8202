//! A zone in memory that answers questions with real DNS messages, for tests that drive the
//! resolver through its `Transport` seam without sockets (resolver-core's and the shim's).
//!
//! Answers follow CNAME chains (every record TTL 30 s), unknown names are NXDOMAIN, and every
//! answer without records carries the root SOA (negative TTL 30 s, RFC 2308 §5) so negative
//! answers are cacheable as a real server's are.

use std::collections::HashMap;

use hickory_proto::op::{Message, MessageType, Query, ResponseCode};
use hickory_proto::rr::rdata::{A, AAAA, CNAME, SOA};
use hickory_proto::rr::{Name, RData, Record, RecordType};

/// TTL of every record and of the negative answers.
const TTL: u32 = 30;
/// Longest CNAME chain followed, so a loop in the test data cannot hang a test.
const MAX_CHAIN: usize = 8;

/// Name (without trailing dot) → records.
#[derive(Debug, Default, Clone)]
pub struct MemoryZone {
    records: HashMap<String, Vec<RData>>,
}

impl MemoryZone {
    /// Adds a record at `name`.
    pub fn with(mut self, name: &str, rdata: RData) -> Self {
        self.records
            .entry(name.to_string())
            .or_default()
            .push(rdata);
        self
    }

    /// The response to (`qname`, `qtype`, IN), ID 0. Panics on a name hickory cannot parse:
    /// test data is written by hand.
    pub fn respond(&self, qname: &str, qtype: u16) -> Vec<u8> {
        let name = Name::from_ascii(format!("{qname}.")).expect("valid test name");
        let rtype = RecordType::from(qtype);
        let mut message = Message::new();
        message
            .set_message_type(MessageType::Response)
            .set_recursion_desired(true)
            .set_recursion_available(true);
        message.add_query(Query::query(name.clone(), rtype));
        let (mut owner, mut current, mut exists) = (name, qname.to_string(), false);
        for _ in 0..MAX_CHAIN {
            let Some(rdatas) = self.records.get(&current) else {
                break;
            };
            exists = true;
            let mut next = None;
            for rdata in rdatas {
                if let RData::CNAME(target) = rdata {
                    next = Some(target.0.to_ascii().trim_end_matches('.').to_string());
                } else if rdata.record_type() != rtype {
                    continue;
                }
                message.add_answer(Record::from_rdata(owner.clone(), TTL, rdata.clone()));
            }
            let Some(target) = next else { break };
            owner = Name::from_ascii(format!("{target}.")).expect("valid CNAME target");
            current = target;
        }
        if !exists {
            message.set_response_code(ResponseCode::NXDomain);
        }
        if message.answers().is_empty() {
            let soa = SOA::new(Name::root(), Name::root(), 1, 60, 60, 60, TTL);
            message.add_name_server(Record::from_rdata(Name::root(), TTL, RData::SOA(soa)));
        }
        message.to_vec().expect("encodable test message")
    }
}

/// An A record.
pub fn a(ip: &str) -> RData {
    RData::A(A(ip.parse().expect("IPv4 test address")))
}

/// An AAAA record.
pub fn aaaa(ip: &str) -> RData {
    RData::AAAA(AAAA(ip.parse().expect("IPv6 test address")))
}

/// A CNAME record pointing at `target`.
pub fn cname(target: &str) -> RData {
    RData::CNAME(CNAME(
        Name::from_ascii(format!("{target}.")).expect("valid CNAME target"),
    ))
}
