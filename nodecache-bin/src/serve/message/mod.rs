//! Client queries and upstream responses on the wire, without a full decode.
//!
//! The daemon never re-encodes a DNS message: a query is checked and its question picked out
//! ([`parse_query`]), an upstream response is walked once to find where its TTLs and its OPT
//! record are ([`walk_response`]), and replies are bytes copied and patched in place
//! ([`reply`]). Every function here takes untrusted bytes and returns an error instead of
//! panicking: no indexing that input can push out of bounds.

mod name;
mod query;
pub(crate) mod reply;
mod response;
#[cfg(test)]
pub(crate) mod tests;

pub(crate) use name::{MAX_NAME_WIRE_LEN, QueryName};
pub(crate) use query::{ParsedQuery, parse_query};
pub(crate) use response::{ResponseLayout, WalkError, walk_response};

/// Length of the fixed DNS header (RFC 1035 §4.1.1).
pub(crate) const HEADER_LEN: usize = 12;

/// Header flag bits (RFC 1035 §4.1.1, RFC 4035 §3.2 for AD and CD).
pub(crate) mod flags {
    /// Query (0) or response (1).
    pub(crate) const QR: u16 = 0x8000;
    /// Authoritative answer.
    #[cfg(test)]
    pub(crate) const AA: u16 = 0x0400;
    /// Truncated.
    pub(crate) const TC: u16 = 0x0200;
    /// Recursion desired.
    pub(crate) const RD: u16 = 0x0100;
    /// Recursion available.
    pub(crate) const RA: u16 = 0x0080;
    /// Authentic data (RFC 4035 §3.2.3).
    pub(crate) const AD: u16 = 0x0020;
    /// Checking disabled (RFC 4035 §3.2.2).
    pub(crate) const CD: u16 = 0x0010;
    /// Low four bits of the response code.
    pub(crate) const RCODE_MASK: u16 = 0x000f;
}

/// Response codes the daemon sends (RFC 1035 §4.1.1, RFC 6891 §9 for BADVERS).
pub(crate) mod rcode {
    /// No error.
    pub(crate) const NOERROR: u16 = 0;
    /// The query could not be interpreted.
    pub(crate) const FORMERR: u16 = 1;
    /// No answer could be had.
    pub(crate) const SERVFAIL: u16 = 2;
    /// The name does not exist.
    pub(crate) const NXDOMAIN: u16 = 3;
    /// The kind of query is not supported.
    pub(crate) const NOTIMP: u16 = 4;
    /// Policy: not answered.
    pub(crate) const REFUSED: u16 = 5;
    /// Unsupported EDNS version (extended rcode 16: upper bits go in the OPT record).
    pub(crate) const BADVERS: u16 = 16;
}

/// Record types the daemon looks at.
pub(crate) mod rtype {
    /// Start of authority (RFC 1035 §3.3.13).
    pub(crate) const SOA: u16 = 6;
    /// EDNS0 pseudo-record (RFC 6891 §6.1.2).
    pub(crate) const OPT: u16 = 41;
}

/// Class IN.
pub(crate) const CLASS_IN: u16 = 1;

/// Largest UDP reply sent to a client that did not use EDNS (RFC 1035 §2.3.4).
pub(crate) const PLAIN_UDP_LIMIT: usize = 512;

/// The UDP payload size the daemon advertises in its OPT records: the DNS Flag Day 2020
/// value, which avoids IP fragmentation on common paths.
pub(crate) const OUR_UDP_PAYLOAD: u16 = 1232;

/// Reads a big-endian u16 at `pos`; `None` past the end.
pub(crate) fn read_u16(msg: &[u8], pos: usize) -> Option<u16> {
    let bytes = msg.get(pos..pos.checked_add(2)?)?;
    Some(u16::from_be_bytes([*bytes.first()?, *bytes.get(1)?]))
}

/// Reads a big-endian u32 at `pos`; `None` past the end.
pub(crate) fn read_u32(msg: &[u8], pos: usize) -> Option<u32> {
    let bytes: [u8; 4] = msg.get(pos..pos.checked_add(4)?)?.try_into().ok()?;
    Some(u32::from_be_bytes(bytes))
}

/// Writes a big-endian u16 at `pos`; false (and nothing written) past the end.
pub(crate) fn write_u16(msg: &mut [u8], pos: usize, value: u16) -> bool {
    match pos.checked_add(2).and_then(|end| msg.get_mut(pos..end)) {
        Some(slot) => {
            slot.copy_from_slice(&value.to_be_bytes());
            true
        }
        None => false,
    }
}

/// Writes a big-endian u32 at `pos`; false (and nothing written) past the end.
pub(crate) fn write_u32(msg: &mut [u8], pos: usize, value: u32) -> bool {
    match pos.checked_add(4).and_then(|end| msg.get_mut(pos..end)) {
        Some(slot) => {
            slot.copy_from_slice(&value.to_be_bytes());
            true
        }
        None => false,
    }
}

/// Header field offsets (RFC 1035 §4.1.1).
pub(crate) mod offset {
    /// Message ID.
    pub(crate) const ID: usize = 0;
    /// Flags and rcode.
    pub(crate) const FLAGS: usize = 2;
    /// QDCOUNT.
    pub(crate) const QDCOUNT: usize = 4;
    /// ANCOUNT.
    pub(crate) const ANCOUNT: usize = 6;
    /// NSCOUNT.
    pub(crate) const NSCOUNT: usize = 8;
    /// ARCOUNT.
    pub(crate) const ARCOUNT: usize = 10;
}
