//! Parsing a client's query: the header, exactly one question, and the EDNS0 OPT record.

use super::name::{QueryName, skip_name};
use super::{HEADER_LEN, PLAIN_UDP_LIMIT, flags, offset, rcode, read_u16, read_u32, rtype};

/// What the client said in its OPT record (RFC 6891 §6.1.2, §6.1.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Edns {
    /// The client's UDP payload size as sent (may be below 512).
    pub(crate) udp_size: u16,
    /// The DO bit (RFC 3225 §3).
    pub(crate) dnssec_ok: bool,
    /// EDNS version; anything but 0 gets BADVERS (RFC 6891 §6.1.3).
    pub(crate) version: u8,
}

/// A client query that passed [`parse_query`]. Borrows nothing: the question's original
/// bytes (for echoing the client's case) are `msg[HEADER_LEN..question_end]`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ParsedQuery {
    /// Message ID, echoed in the reply.
    pub(crate) id: u16,
    /// The client's header flags word (RD and CD are echoed, AD and DO steer AD).
    pub(crate) flags: u16,
    /// The question name, lower-cased wire form.
    pub(crate) name: QueryName,
    /// QTYPE.
    pub(crate) qtype: u16,
    /// QCLASS.
    pub(crate) qclass: u16,
    /// Offset just past the question in the query (and in every reply the daemon builds).
    pub(crate) question_end: usize,
    /// The OPT record, when the client sent one.
    pub(crate) edns: Option<Edns>,
}

impl ParsedQuery {
    /// Largest UDP reply this client accepts: 512 without EDNS, else its advertised size
    /// but never below 512 (RFC 6891 §6.2.3: values below 512 are treated as 512).
    pub(crate) fn udp_limit(&self) -> usize {
        self.edns.map_or(PLAIN_UDP_LIMIT, |edns| {
            usize::from(edns.udp_size).max(PLAIN_UDP_LIMIT)
        })
    }

    /// True when the client set RD.
    #[cfg(test)]
    pub(crate) fn recursion_desired(&self) -> bool {
        self.flags & flags::RD != 0
    }
}

/// Why a query is not answered normally.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum QueryError {
    /// Shorter than a header: nothing to reply to.
    #[error("shorter than a DNS header")]
    NoHeader,
    /// QR is set: a response, never answered (answering responses is how reflection loops
    /// between two servers start).
    #[error("a response, not a query")]
    IsResponse,
    /// An opcode other than QUERY (RFC 1035 §4.1.1): NOTIMP.
    #[error("opcode {0} is not implemented")]
    NotQuery(u8),
    /// A valid header with a body that does not parse: FORMERR.
    #[error("malformed query body")]
    BadBody,
}

impl QueryError {
    /// The rcode to reply with, `None` when the datagram is dropped unanswered.
    pub(crate) fn reply_rcode(&self) -> Option<u16> {
        match self {
            QueryError::NoHeader | QueryError::IsResponse => None,
            QueryError::NotQuery(_) => Some(rcode::NOTIMP),
            QueryError::BadBody => Some(rcode::FORMERR),
        }
    }
}

/// Parses a client query.
///
/// Accepted: QR clear, opcode QUERY, QDCOUNT 1 (RFC 9619: a QUERY carries exactly one
/// question) with an uncompressed name, any answer/authority records (skipped), and in the
/// additional section at most one OPT record owned by the root (RFC 6891 §6.1.1: more than
/// one is FORMERR). Bytes after the last counted record are ignored.
pub(crate) fn parse_query(msg: &[u8]) -> Result<ParsedQuery, QueryError> {
    let (Some(id), Some(header_flags)) = (read_u16(msg, offset::ID), read_u16(msg, offset::FLAGS))
    else {
        return Err(QueryError::NoHeader);
    };
    if msg.len() < HEADER_LEN {
        return Err(QueryError::NoHeader);
    }
    if header_flags & flags::QR != 0 {
        return Err(QueryError::IsResponse);
    }
    let opcode = ((header_flags >> 11) & 0x0f) as u8;
    if opcode != 0 {
        return Err(QueryError::NotQuery(opcode));
    }
    let count = |at| read_u16(msg, at).ok_or(QueryError::NoHeader);
    if count(offset::QDCOUNT)? != 1 {
        return Err(QueryError::BadBody);
    }
    // Built in place and filled in: the name (255 octets) is read where it stays rather
    // than moved out of the name parser (callgrind, issue 6: two copies less per query).
    let mut query = ParsedQuery {
        id,
        flags: header_flags,
        name: QueryName::ROOT,
        qtype: 0,
        qclass: 0,
        question_end: 0,
        edns: None,
    };
    let pos = query
        .name
        .read(msg, HEADER_LEN)
        .ok_or(QueryError::BadBody)?;
    query.qtype = read_u16(msg, pos).ok_or(QueryError::BadBody)?;
    query.qclass = read_u16(msg, pos + 2).ok_or(QueryError::BadBody)?;
    let question_end = pos + 4;
    query.question_end = question_end;

    let mut pos = question_end;
    for _ in 0..(u32::from(count(offset::ANCOUNT)?) + u32::from(count(offset::NSCOUNT)?)) {
        pos = skip_record(msg, pos).ok_or(QueryError::BadBody)?.end;
    }
    let mut edns = None;
    for _ in 0..count(offset::ARCOUNT)? {
        let record = skip_record(msg, pos).ok_or(QueryError::BadBody)?;
        if record.rtype == rtype::OPT {
            // RFC 6891 §6.1.1: the OPT owner MUST be 0 (root); a second OPT is FORMERR.
            if edns.is_some() || msg.get(pos) != Some(&0) {
                return Err(QueryError::BadBody);
            }
            // RFC 6891 §6.1.3: TTL = extended RCODE (8) | VERSION (8) | DO (1) | Z (15).
            let ttl = record.ttl.to_be_bytes();
            edns = Some(Edns {
                udp_size: record.class,
                dnssec_ok: ttl[2] & 0x80 != 0,
                version: ttl[1],
            });
        }
        pos = record.end;
    }
    query.edns = edns;
    Ok(query)
}

/// The fixed fields of one resource record and where it ends.
#[derive(Debug, Clone, Copy)]
pub(super) struct RecordSpan {
    /// TYPE.
    pub(super) rtype: u16,
    /// CLASS.
    pub(super) class: u16,
    /// TTL.
    pub(super) ttl: u32,
    /// Offset of the TTL field.
    pub(super) ttl_at: usize,
    /// Offset of RDATA.
    pub(super) rdata_at: usize,
    /// Offset just past the record.
    pub(super) end: usize,
}

/// Skips the resource record at `start` (RFC 1035 §4.1.3); `None` when it runs off the end.
pub(super) fn skip_record(msg: &[u8], start: usize) -> Option<RecordSpan> {
    let fixed = skip_name(msg, start)?;
    let rtype = read_u16(msg, fixed)?;
    let class = read_u16(msg, fixed + 2)?;
    let ttl = read_u32(msg, fixed + 4)?;
    let rdlength = read_u16(msg, fixed + 8)?;
    let rdata_at = fixed + 10;
    let end = rdata_at + usize::from(rdlength);
    if end > msg.len() {
        return None;
    }
    Some(RecordSpan {
        rtype,
        class,
        ttl,
        ttl_at: fixed + 4,
        rdata_at,
        end,
    })
}
