//! Building replies in a caller's buffer: error replies, the daemon's OPT record, and UDP
//! truncation.

use super::query::{Edns, ParsedQuery};
use super::{HEADER_LEN, OUR_UDP_PAYLOAD, flags, offset, read_u16, rtype, write_u16};

/// The header flags of a reply to a client whose query carried `client_flags`: QR and RA
/// set, RD and CD copied (RFC 1035 §4.1.1, RFC 4035 §3.2.2), opcode QUERY, AA and TC clear
/// (a cache is not authoritative), AD as given, and the low bits of `rcode`.
pub(crate) fn reply_flags(client_flags: u16, authentic_data: bool, rcode: u16) -> u16 {
    let mut reply = flags::QR | flags::RA | (client_flags & (flags::RD | flags::CD));
    if authentic_data {
        reply |= flags::AD;
    }
    reply | (rcode & flags::RCODE_MASK)
}

/// Appends the daemon's OPT record (RFC 6891 §6.1.2): owner root, our UDP payload size,
/// the upper eight bits of an extended `rcode`, version 0, DO echoed (RFC 3225 §3), no
/// options; and counts it in ARCOUNT.
pub(crate) fn append_opt(out: &mut Vec<u8>, dnssec_ok: bool, rcode: u16) {
    out.push(0);
    out.extend_from_slice(&rtype::OPT.to_be_bytes());
    out.extend_from_slice(&OUR_UDP_PAYLOAD.to_be_bytes());
    let extended = (rcode >> 4) as u8;
    out.extend_from_slice(&[extended, 0, if dnssec_ok { 0x80 } else { 0 }, 0]);
    out.extend_from_slice(&0u16.to_be_bytes());
    let arcount = read_u16(out, offset::ARCOUNT).unwrap_or(0);
    write_u16(out, offset::ARCOUNT, arcount.saturating_add(1));
}

/// Writes a reply to `query` (found in `msg`) with no records but the question, `rcode`,
/// and an OPT record when the client sent one (always for BADVERS, whose upper bits only
/// the OPT record can carry).
pub(crate) fn write_rcode_reply(msg: &[u8], query: &ParsedQuery, rcode: u16, out: &mut Vec<u8>) {
    out.clear();
    out.extend_from_slice(&query.id.to_be_bytes());
    out.extend_from_slice(&reply_flags(query.flags, false, rcode).to_be_bytes());
    out.extend_from_slice(&[0, 1, 0, 0, 0, 0, 0, 0]);
    out.extend_from_slice(msg.get(HEADER_LEN..query.question_end).unwrap_or_default());
    if let Some(edns) = query.edns {
        append_opt(out, edns.dnssec_ok, rcode);
    }
}

/// Writes a header-only reply (QDCOUNT 0) with `rcode` to a query whose body could not be
/// used (FORMERR) or whose opcode is not implemented (NOTIMP). The ID and opcode are echoed,
/// RD copied. False, with `out` empty, when `msg` has no complete header.
pub(crate) fn write_header_reply(msg: &[u8], rcode: u16, out: &mut Vec<u8>) -> bool {
    out.clear();
    let (Some(id), Some(client_flags)) = (read_u16(msg, offset::ID), read_u16(msg, offset::FLAGS))
    else {
        return false;
    };
    if msg.len() < HEADER_LEN {
        return false;
    }
    let opcode = client_flags & 0x7800;
    out.extend_from_slice(&id.to_be_bytes());
    out.extend_from_slice(&(reply_flags(client_flags, false, rcode) | opcode).to_be_bytes());
    out.extend_from_slice(&[0; 8]);
    true
}

/// Cuts a reply in `out` that is longer than `limit` down to its header and question, sets
/// TC and puts the OPT record back if the client sent EDNS, so the client retries over TCP
/// (RFC 1035 §4.2.1, RFC 6891 §7, RFC 7766 §5). True when it truncated.
pub(crate) fn truncate_for_udp(
    out: &mut Vec<u8>,
    question_end: usize,
    limit: usize,
    edns: Option<Edns>,
) -> bool {
    if out.len() <= limit || out.len() < question_end {
        return false;
    }
    out.truncate(question_end);
    let header_flags = read_u16(out, offset::FLAGS).unwrap_or(flags::QR);
    write_u16(out, offset::FLAGS, header_flags | flags::TC);
    for at in [offset::ANCOUNT, offset::NSCOUNT, offset::ARCOUNT] {
        write_u16(out, at, 0);
    }
    if let Some(edns) = edns {
        append_opt(out, edns.dnssec_ok, 0);
    }
    true
}
