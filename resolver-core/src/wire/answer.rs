//! Address answers: following the CNAME chain through the answer section and choosing the TTL
//! a cache may keep the result for (RFC 1034 §3.6.2, RFC 2308).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::names;
use super::{CLASS_IN, HEADER_LEN, Header, WireError, rcode, read_u16, read_u32, rtype};

/// Longest CNAME chain followed. Real chains are a few links (CDNs use 2–4); the bound stops
/// loops (`a → b → a`) and chains built to waste our time. glibc's `getanswer_r` has no chain
/// limit but only reads as many records as the message holds; 16 is what BIND's resolver
/// allows (`max-restarts` default 11) with a margin.
const MAX_CHAIN: usize = 16;

/// The part of a response an address lookup needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddressAnswer {
    /// RCODE of the response.
    pub rcode: u8,
    /// Addresses of `qtype` owned by the end of the CNAME chain that starts at `qname`,
    /// in answer-section order.
    pub addrs: Vec<IpAddr>,
    /// The end of the CNAME chain when it differs from `qname` (glibc's `ai_canonname`).
    pub canonical_name: Option<String>,
    /// How long this answer may be cached: the minimum TTL of the chain and addresses for a
    /// positive answer; for NXDOMAIN/NODATA `min(SOA TTL, SOA MINIMUM)` (RFC 2308 §5), capped
    /// by the TTLs of the CNAMEs followed to get there, or 0 when the response carries no SOA.
    pub ttl: u32,
    /// TC bit.
    pub truncated: bool,
}

/// One resource record, located in the message (RFC 1035 §4.1.3).
#[derive(Debug, Clone, Copy)]
struct Record {
    owner: usize,
    rtype: u16,
    class: u16,
    ttl: u32,
    rdata: usize,
    rdlen: usize,
}

/// Reads the record at `pos`; returns it and the position after it.
fn read_record(msg: &[u8], pos: usize) -> Result<(Record, usize), WireError> {
    let fixed = names::skip_name(msg, pos)?;
    let field = |offset: usize| read_u16(msg, fixed + offset).ok_or(WireError::ShortMessage);
    let rtype = field(0)?;
    let class = field(2)?;
    let raw_ttl = read_u32(msg, fixed + 4).ok_or(WireError::ShortMessage)?;
    let rdlen = usize::from(field(8)?);
    let rdata = fixed + 10;
    let end = rdata + rdlen;
    if end > msg.len() {
        return Err(WireError::ShortMessage);
    }
    // RFC 2181 §8: a TTL with the most significant bit set is treated as zero.
    let ttl = if raw_ttl > i32::MAX as u32 {
        0
    } else {
        raw_ttl
    };
    let record = Record {
        owner: pos,
        rtype,
        class,
        ttl,
        rdata,
        rdlen,
    };
    Ok((record, end))
}

/// The name a CNAME chain has reached: the question's text, or a name inside the message.
#[derive(Debug, Clone, Copy)]
enum ChainName<'q> {
    Question(&'q str),
    InMessage(usize),
}

impl ChainName<'_> {
    fn owns(self, msg: &[u8], record: &Record) -> Result<bool, WireError> {
        match self {
            ChainName::Question(text) => names::eq_text(msg, record.owner, text).map(|(eq, _)| eq),
            ChainName::InMessage(pos) => names::eq_wire(msg, pos, record.owner),
        }
    }
}

/// `min(SOA TTL, SOA MINIMUM)` of the first SOA (class IN) in `authority` (RFC 2308 §5).
fn negative_ttl(msg: &[u8], authority: &[Record]) -> Result<Option<u32>, WireError> {
    let Some(soa) = authority
        .iter()
        .find(|r| r.rtype == rtype::SOA && r.class == CLASS_IN)
    else {
        return Ok(None);
    };
    // RDATA: MNAME, RNAME, then SERIAL REFRESH RETRY EXPIRE MINIMUM (RFC 1035 §3.3.13).
    let rdata_end = soa.rdata + soa.rdlen;
    let rname = names::skip_name(msg, soa.rdata)?;
    let numbers = names::skip_name(msg, rname)?;
    if numbers + 20 != rdata_end {
        return Err(WireError::BadRdata);
    }
    let minimum = read_u32(msg, numbers + 16).ok_or(WireError::ShortMessage)?;
    Ok(Some(soa.ttl.min(minimum)))
}

/// Decodes the address answer for (`qname`, `qtype`) from a response already checked by
/// [`super::validate_response`]. Records of other types, other owners or class are skipped.
///
/// Every section is read to its end, so a message cut short anywhere is an error. The CNAME
/// chain is followed in whatever order its records appear, at most 16 links.
pub fn parse_address_answer(
    msg: &[u8],
    qname: &str,
    qtype: u16,
) -> Result<AddressAnswer, WireError> {
    let header = Header::parse(msg)?;
    let mut pos = HEADER_LEN;
    for _ in 0..header.qdcount {
        pos = names::skip_name(msg, pos)? + 4;
    }
    if pos > msg.len() {
        return Err(WireError::ShortMessage);
    }
    let mut answers = Vec::new();
    let mut authority = Vec::new();
    let sections = [header.ancount, header.nscount, header.arcount];
    for (section, &count) in sections.iter().enumerate() {
        for _ in 0..count {
            let (record, next) = read_record(msg, pos)?;
            pos = next;
            match section {
                0 => answers.push(record),
                1 => authority.push(record),
                _ => {}
            }
        }
    }

    // Follow the chain: each step is the CNAME owned by the current name (RFC 1034 §3.6.2).
    let mut current = ChainName::Question(qname);
    let mut chain_ttl = u32::MAX;
    if qtype != rtype::CNAME {
        'chain: for _ in 0..MAX_CHAIN {
            for record in &answers {
                if record.rtype == rtype::CNAME
                    && record.class == CLASS_IN
                    && current.owns(msg, record)?
                {
                    let target_end = names::skip_name(msg, record.rdata)?;
                    if target_end != record.rdata + record.rdlen {
                        return Err(WireError::BadRdata);
                    }
                    chain_ttl = chain_ttl.min(record.ttl);
                    current = ChainName::InMessage(record.rdata);
                    continue 'chain;
                }
            }
            break;
        }
    }

    let mut addrs = Vec::new();
    let mut addr_ttl = u32::MAX;
    for record in &answers {
        if record.rtype != qtype || record.class != CLASS_IN || !current.owns(msg, record)? {
            continue;
        }
        let rdata = msg
            .get(record.rdata..record.rdata + record.rdlen)
            .ok_or(WireError::ShortMessage)?;
        let addr = match qtype {
            rtype::A => <[u8; 4]>::try_from(rdata).map(|b| IpAddr::V4(Ipv4Addr::from(b))),
            rtype::AAAA => <[u8; 16]>::try_from(rdata).map(|b| IpAddr::V6(Ipv6Addr::from(b))),
            _ => continue,
        };
        addrs.push(addr.map_err(|_| WireError::BadRdata)?);
        addr_ttl = addr_ttl.min(record.ttl);
    }

    let canonical_name = match current {
        ChainName::InMessage(pos) => {
            let text = names::to_text(msg, pos)?;
            let asked = qname.strip_suffix('.').unwrap_or(qname);
            (!text.eq_ignore_ascii_case(asked)).then_some(text)
        }
        ChainName::Question(_) => None,
    };

    let code = header.rcode();
    let ttl = if !addrs.is_empty() {
        chain_ttl.min(addr_ttl)
    } else if code == rcode::NXDOMAIN || code == rcode::NOERROR {
        // A negative answer reached through a CNAME must not outlive the CNAME itself
        // (RFC 2308 §5: the negative TTL applies to the end of the chain).
        negative_ttl(msg, &authority)?.unwrap_or(0).min(chain_ttl)
    } else {
        0
    };
    Ok(AddressAnswer {
        rcode: code,
        addrs,
        canonical_name,
        ttl,
        truncated: header.is_truncated(),
    })
}
