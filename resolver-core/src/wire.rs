//! A small DNS message codec (RFC 1035 §4, RFC 6891 for EDNS0): encodes queries, validates and
//! decodes the responses the resolver needs (addresses, CNAME chains, negative TTLs).
//!
//! Hand-written rather than hickory-proto's `Message` because the hot paths must not allocate
//! and the daemon needs the byte offsets of TTLs to rewrite cached answers in place; the tests
//! cross-check it against hickory-proto.
// TODO(helper:wire): implement the bodies.

use std::net::IpAddr;

/// Record types used here (RFC 1035 §3.2.2, RFC 3596).
pub mod rtype {
    /// IPv4 address.
    pub const A: u16 = 1;
    /// Canonical name.
    pub const CNAME: u16 = 5;
    /// Start of authority.
    pub const SOA: u16 = 6;
    /// Pointer.
    pub const PTR: u16 = 12;
    /// Text.
    pub const TXT: u16 = 16;
    /// IPv6 address.
    pub const AAAA: u16 = 28;
    /// Service locator.
    pub const SRV: u16 = 33;
    /// EDNS0 pseudo-record.
    pub const OPT: u16 = 41;
}

/// Response codes (RFC 1035 §4.1.1).
pub mod rcode {
    /// No error.
    pub const NOERROR: u8 = 0;
    /// Format error.
    pub const FORMERR: u8 = 1;
    /// Server failure.
    pub const SERVFAIL: u8 = 2;
    /// Name error.
    pub const NXDOMAIN: u8 = 3;
    /// Not implemented.
    pub const NOTIMP: u8 = 4;
    /// Refused.
    pub const REFUSED: u8 = 5;
}

/// DNS class IN.
pub const CLASS_IN: u16 = 1;
/// Largest UDP payload without EDNS0 (RFC 1035 §4.2.1).
pub const MAX_UDP_PLAIN: usize = 512;
/// UDP payload glibc advertises with `options edns0`.
pub const EDNS_UDP_SIZE: u16 = 1200;

/// Why a message could not be encoded or does not decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WireError {
    /// The message ends before a field it announces.
    #[error("message truncated")]
    ShortMessage,
    /// A compression pointer loops or points forward.
    #[error("bad compression pointer")]
    BadPointer,
    /// A label type other than 0b00 or 0b11, or a name over 255 octets.
    #[error("bad name")]
    BadName,
    /// The name to encode is not valid.
    #[error("invalid name to encode")]
    InvalidName,
    /// Not a response (QR clear) or an opcode other than QUERY.
    #[error("not a response")]
    NotResponse,
    /// The ID differs from the query's.
    #[error("ID mismatch")]
    IdMismatch,
    /// The question section is not the one question asked.
    #[error("question mismatch")]
    QuestionMismatch,
    /// An A or AAAA record whose RDATA has the wrong length.
    #[error("bad record data")]
    BadRdata,
}

/// Options of an outgoing query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueryFlags {
    /// RD bit (always set by a stub resolver).
    pub recursion_desired: bool,
    /// Add an OPT record advertising this UDP payload size (RFC 6891).
    pub edns_udp_size: Option<u16>,
    /// AD bit (`options trust-ad`, RFC 6840 §5.7).
    pub authentic_data: bool,
}

impl Default for QueryFlags {
    fn default() -> Self {
        QueryFlags {
            recursion_desired: true,
            edns_udp_size: None,
            authentic_data: false,
        }
    }
}

/// The fixed 12-byte header (RFC 1035 §4.1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Query ID.
    pub id: u16,
    /// The 16 flag bits as on the wire.
    pub flags: u16,
    /// QDCOUNT.
    pub qdcount: u16,
    /// ANCOUNT.
    pub ancount: u16,
    /// NSCOUNT.
    pub nscount: u16,
    /// ARCOUNT.
    pub arcount: u16,
}

impl Header {
    /// Reads the header of a message.
    pub fn parse(msg: &[u8]) -> Result<Header, WireError> {
        let _ = msg;
        todo!()
    }
    /// QR bit.
    pub fn is_response(&self) -> bool {
        self.flags & 0x8000 != 0
    }
    /// TC bit.
    pub fn is_truncated(&self) -> bool {
        self.flags & 0x0200 != 0
    }
    /// AA bit.
    pub fn is_authoritative(&self) -> bool {
        self.flags & 0x0400 != 0
    }
    /// RCODE (low 4 bits; extended rcodes from OPT are not used here).
    pub fn rcode(&self) -> u8 {
        (self.flags & 0x000f) as u8
    }
    /// OPCODE.
    pub fn opcode(&self) -> u8 {
        ((self.flags >> 11) & 0x0f) as u8
    }
}

/// Appends a query for (`qname`, `qtype`, IN) to `buf` (cleared first).
pub fn encode_query(
    buf: &mut Vec<u8>,
    id: u16,
    qname: &str,
    qtype: u16,
    flags: QueryFlags,
) -> Result<(), WireError> {
    let _ = (buf, id, qname, qtype, flags);
    todo!()
}

/// Checks that `msg` is the response to our query: QR set, opcode QUERY, same ID, exactly one
/// question equal to (`qname`, `qtype`, IN) compared case-insensitively (RFC 5452 §9.1).
/// A response that fails this is not ours and must be ignored, not treated as an answer.
pub fn validate_response(
    msg: &[u8],
    id: u16,
    qname: &str,
    qtype: u16,
) -> Result<Header, WireError> {
    let _ = (msg, id, qname, qtype);
    todo!()
}

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
    /// positive answer; for NXDOMAIN/NODATA `min(SOA TTL, SOA MINIMUM)` (RFC 2308 §5), or
    /// 0 when the response carries no SOA.
    pub ttl: u32,
    /// TC bit.
    pub truncated: bool,
}

/// Decodes the address answer for (`qname`, `qtype`) from a response already checked by
/// [`validate_response`]. Records of other types, other owners or class are skipped.
pub fn parse_address_answer(
    msg: &[u8],
    qname: &str,
    qtype: u16,
) -> Result<AddressAnswer, WireError> {
    let _ = (msg, qname, qtype);
    todo!()
}
