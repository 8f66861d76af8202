//! A walk over an upstream response: where every TTL is, where the OPT record is, and the
//! TTLs that decide how long the answer may be cached.

use resolver_core::inline_list::InlineList;

use super::name::skip_name;
use super::query::skip_record;
use super::{HEADER_LEN, flags, offset, read_u16, read_u32, rtype};

/// Why a response cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum WalkError {
    /// Shorter than a header, or QR clear.
    #[error("not a DNS response")]
    NotResponse,
    /// QDCOUNT is not 1.
    #[error("response does not carry exactly one question")]
    QuestionCount,
    /// A name or record runs off the end or is malformed.
    #[error("malformed response body")]
    Malformed,
    /// More records than fit the TTL offset table (offsets are u16: a DNS message is at
    /// most 65535 bytes, so this only rejects nonsense).
    #[error("response too large")]
    TooLarge,
}

/// TTL offsets kept inline for this many records: an ordinary answer (a few address
/// records, maybe a CNAME, an SOA or an NS) fits, so walking it allocates nothing.
const INLINE_TTLS: usize = 16;

/// The TTL offsets of a walked message: in a fixed inline array up to [`INLINE_TTLS`]
/// records, on the heap beyond (dhat: the heap table was one of the ~24 allocations per
/// cache miss, issue 6).
pub(crate) type TtlOffsets = InlineList<u16, INLINE_TTLS>;

/// What [`walk_response`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ResponseLayout {
    /// Offset just past the question.
    pub(crate) question_end: usize,
    /// Offset of the TTL field of every record but OPT, in message order.
    pub(crate) ttl_offsets: TtlOffsets,
    /// Byte range of the OPT record, if any.
    pub(crate) opt: Option<std::ops::Range<usize>>,
    /// Index (within the additional section) of the OPT record.
    pub(crate) opt_index: Option<u16>,
    /// Smallest TTL of the answer section's records; `None` when it is empty.
    pub(crate) min_answer_ttl: Option<u32>,
    /// The negative-caching TTL of RFC 2308 §5 — min(SOA TTL, SOA MINIMUM) of the first SOA
    /// in the authority section; `None` without one.
    pub(crate) negative_ttl: Option<u32>,
    /// Offset just past the last counted record (bytes after it are ignored).
    pub(crate) end: usize,
    /// The header's rcode (low four bits; upstream extended rcodes are not used).
    pub(crate) rcode: u8,
    /// TC was set.
    pub(crate) truncated: bool,
}

/// Walks every section of `msg`, recording TTL offsets, the OPT record, the answer section's
/// smallest TTL and the authority SOA's negative TTL. Never panics on any input.
pub(crate) fn walk_response(msg: &[u8]) -> Result<ResponseLayout, WalkError> {
    let header_flags = read_u16(msg, offset::FLAGS).ok_or(WalkError::NotResponse)?;
    if msg.len() < HEADER_LEN || header_flags & flags::QR == 0 {
        return Err(WalkError::NotResponse);
    }
    let count = |at| read_u16(msg, at).ok_or(WalkError::NotResponse);
    if count(offset::QDCOUNT)? != 1 {
        return Err(WalkError::QuestionCount);
    }
    let question_end = skip_name(msg, HEADER_LEN)
        .and_then(|pos| pos.checked_add(4))
        .filter(|&end| end <= msg.len())
        .ok_or(WalkError::Malformed)?;
    let sections = [
        count(offset::ANCOUNT)?,
        count(offset::NSCOUNT)?,
        count(offset::ARCOUNT)?,
    ];
    let mut layout = ResponseLayout {
        question_end,
        ttl_offsets: TtlOffsets::new(),
        opt: None,
        opt_index: None,
        min_answer_ttl: None,
        negative_ttl: None,
        end: question_end,
        rcode: (header_flags & flags::RCODE_MASK) as u8,
        truncated: header_flags & flags::TC != 0,
    };
    let mut pos = question_end;
    for (section, records) in sections.into_iter().enumerate() {
        for index in 0..records {
            let record = skip_record(msg, pos).ok_or(WalkError::Malformed)?;
            match (section, record.rtype) {
                // The OPT "TTL" is the extended rcode and flags (RFC 6891 §6.1.3), not a TTL.
                (2, rtype::OPT) => {
                    if layout.opt.is_none() {
                        layout.opt = Some(pos..record.end);
                        layout.opt_index = Some(index);
                    }
                }
                _ => {
                    let at = u16::try_from(record.ttl_at).map_err(|_| WalkError::TooLarge)?;
                    layout.ttl_offsets.push(at);
                    // RFC 2181 §8: a TTL with the top bit set is treated as zero.
                    let ttl = if record.ttl > i32::MAX as u32 {
                        0
                    } else {
                        record.ttl
                    };
                    if section == 0 {
                        layout.min_answer_ttl =
                            Some(layout.min_answer_ttl.map_or(ttl, |min| min.min(ttl)));
                    }
                    if section == 1 && record.rtype == rtype::SOA && layout.negative_ttl.is_none() {
                        // MINIMUM is the last field of the SOA RDATA (RFC 1035 §3.3.13),
                        // after two names and four other 32-bit fields: at least 22 octets.
                        let minimum = (record.end - record.rdata_at >= 22)
                            .then(|| read_u32(msg, record.end - 4))
                            .flatten()
                            .ok_or(WalkError::Malformed)?;
                        layout.negative_ttl = Some(ttl.min(minimum));
                    }
                }
            }
            pos = record.end;
        }
    }
    layout.end = pos;
    Ok(layout)
}
