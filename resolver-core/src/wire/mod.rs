//! A small DNS message codec (RFC 1035 §4, RFC 6891 for EDNS0): encodes queries, validates and
//! decodes the responses the resolver needs (addresses, CNAME chains, negative TTLs).
//!
//! Hand-written rather than hickory-proto's `Message` because the hot paths must not allocate
//! and the daemon needs the byte offsets of TTLs to rewrite cached answers in place; the tests
//! cross-check it against hickory-proto.
//!
//! Submodules: `names` (labels, compression pointers), `answer` (address answers, CNAME chains,
//! negative TTLs). Nothing here panics on any input: every read is bounds-checked.

mod answer;
mod names;
#[cfg(test)]
mod tests;

pub use answer::{AddressAnswer, parse_address_answer};

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
        let field = |i: usize| read_u16(msg, 2 * i).ok_or(WireError::ShortMessage);
        Ok(Header {
            id: field(0)?,
            flags: field(1)?,
            qdcount: field(2)?,
            ancount: field(3)?,
            nscount: field(4)?,
            arcount: field(5)?,
        })
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

/// Length of the fixed header.
pub const HEADER_LEN: usize = 12;

const FLAG_RD: u16 = 0x0100;
const FLAG_AD: u16 = 0x0020;

/// Big-endian u16 at `pos`, if the message is long enough.
pub(crate) fn read_u16(msg: &[u8], pos: usize) -> Option<u16> {
    let bytes = msg.get(pos..pos.checked_add(2)?)?;
    Some(u16::from_be_bytes([bytes[0], bytes[1]]))
}

/// Big-endian u32 at `pos`, if the message is long enough.
pub(crate) fn read_u32(msg: &[u8], pos: usize) -> Option<u32> {
    let bytes = msg.get(pos..pos.checked_add(4)?)?;
    Some(u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
}

/// Appends a query for (`qname`, `qtype`, IN) to `buf` (cleared first).
///
/// `qname` is presentation text without escapes; one trailing dot is allowed. An empty name,
/// an empty label, a label over 63 octets or a name over 255 octets on the wire is
/// [`WireError::InvalidName`] (RFC 1035 §2.3.4). With `edns_udp_size` an OPT record is added
/// (RFC 6891 §6.1.2: owner root, CLASS = UDP payload size, TTL 0 = extended rcode 0,
/// version 0, DO clear, no options).
pub fn encode_query(
    buf: &mut Vec<u8>,
    id: u16,
    qname: &str,
    qtype: u16,
    flags: QueryFlags,
) -> Result<(), WireError> {
    buf.clear();
    let mut bits = 0u16;
    if flags.recursion_desired {
        bits |= FLAG_RD;
    }
    if flags.authentic_data {
        bits |= FLAG_AD;
    }
    let arcount = u16::from(flags.edns_udp_size.is_some());
    for field in [id, bits, 1, 0, 0, arcount] {
        buf.extend_from_slice(&field.to_be_bytes());
    }
    if let Err(e) = names::encode(buf, qname) {
        buf.clear();
        return Err(e);
    }
    buf.extend_from_slice(&qtype.to_be_bytes());
    buf.extend_from_slice(&CLASS_IN.to_be_bytes());
    if let Some(size) = flags.edns_udp_size {
        buf.push(0);
        buf.extend_from_slice(&rtype::OPT.to_be_bytes());
        buf.extend_from_slice(&size.to_be_bytes());
        buf.extend_from_slice(&0u32.to_be_bytes());
        buf.extend_from_slice(&0u16.to_be_bytes());
    }
    Ok(())
}

/// Checks that `msg` is the response to our query: QR set, opcode QUERY, same ID, exactly one
/// question equal to (`qname`, `qtype`, IN) compared case-insensitively (RFC 5452 §9.1).
/// A response that fails this is not ours and must be ignored, not treated as an answer.
///
/// Allocation-free. Only the header and the question are read: the rest is decoded (and
/// checked) by [`parse_address_answer`].
pub fn validate_response(
    msg: &[u8],
    id: u16,
    qname: &str,
    qtype: u16,
) -> Result<Header, WireError> {
    let header = Header::parse(msg)?;
    if !header.is_response() || header.opcode() != 0 {
        return Err(WireError::NotResponse);
    }
    if header.id != id {
        return Err(WireError::IdMismatch);
    }
    if header.qdcount != 1 {
        return Err(WireError::QuestionMismatch);
    }
    let (same_name, end) = names::eq_text(msg, HEADER_LEN, qname)?;
    let got_type = read_u16(msg, end).ok_or(WireError::ShortMessage)?;
    let got_class = read_u16(msg, end + 2).ok_or(WireError::ShortMessage)?;
    if !same_name || got_type != qtype || got_class != CLASS_IN {
        return Err(WireError::QuestionMismatch);
    }
    Ok(header)
}
