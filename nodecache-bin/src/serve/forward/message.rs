//! The query the forwarder sends upstream and the checks a response must pass before it is
//! believed (RFC 5452 §9.1: ID, source, question), on the daemon's wire-form [`Question`].

use super::Question;
use crate::serve::message::{HEADER_LEN, MAX_NAME_WIRE_LEN};

/// EDNS0 UDP payload size we advertise upstream: the DNS Flag Day 2020 value, which fits an
/// IPv6 minimum MTU without fragmentation (RFC 6891 §6.2.5 leaves the choice to the sender).
pub(super) const UPSTREAM_EDNS_SIZE: u16 = 1232;

/// QR: the message is a response.
const FLAG_QR: u16 = 0x8000;
/// TC: the response was truncated.
const FLAG_TC: u16 = 0x0200;
/// RD: recursion desired — upstreams are recursive resolvers.
const FLAG_RD: u16 = 0x0100;
/// OPT pseudo-RR type (RFC 6891 §6.1.1).
const TYPE_OPT: u16 = 41;
/// RCODE NOERROR.
const RCODE_NOERROR: u16 = 0;
/// RCODE NXDOMAIN.
const RCODE_NXDOMAIN: u16 = 3;

/// Why a received message is not the response to our query: it is ignored, and the forwarder
/// keeps waiting (RFC 5452 §9.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub(super) enum MessageError {
    /// Shorter than its header and question.
    #[error("message too short")]
    Short,
    /// QR clear or opcode not QUERY.
    #[error("not a response to a query")]
    NotResponse,
    /// Another query's ID.
    #[error("ID does not match")]
    IdMismatch,
    /// Not exactly our question (name compared case-insensitively, type, class).
    #[error("question does not match")]
    QuestionMismatch,
}

/// What a response that is ours says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Verdict {
    /// NOERROR or NXDOMAIN, complete: the answer.
    Answer,
    /// TC set: ask the same server over TCP (RFC 7766 §5 / RFC 1035 §4.2.1).
    Truncated,
    /// Any other rcode (SERVFAIL, REFUSED, NOTIMP, FORMERR, …): ask another server.
    ServerFailed,
}

/// Length of the OPT record we append: root owner, TYPE, CLASS, TTL, RDLEN (RFC 6891 §6.1.2).
const OPT_LEN: usize = 11;
/// Longest query we send: header, the longest name, QTYPE and QCLASS, the OPT record.
const MAX_QUERY_LEN: usize = HEADER_LEN + MAX_NAME_WIRE_LEN + 4 + OPT_LEN;

/// One encoded query, in a fixed buffer: a name is at most 255 octets, so every query fits
/// in [`MAX_QUERY_LEN`] and encoding one allocates nothing (callgrind: the `Vec` it replaced
/// was ~210 of encode's ~385 instructions per miss, in malloc and free).
#[derive(Clone)]
pub(super) struct Query {
    bytes: [u8; MAX_QUERY_LEN],
    /// Octets in use.
    len: u16,
    /// Length of the question name, which starts right after the header.
    name_len: u8,
}

impl std::fmt::Debug for Query {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Query").field(&self.as_bytes()).finish()
    }
}

impl Query {
    /// The message to send.
    pub(super) fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..usize::from(self.len)).unwrap_or_default()
    }

    /// The question name as it goes out (with 0x20, in the case chosen for it).
    #[cfg(test)]
    pub(super) fn name(&self) -> &[u8] {
        self.bytes
            .get(HEADER_LEN..HEADER_LEN + usize::from(self.name_len))
            .unwrap_or_default()
    }

    /// Puts the name in the case `case` chooses.
    pub(super) fn apply_case(&mut self, case: &CaseBits) {
        let end = HEADER_LEN + usize::from(self.name_len);
        if let Some(name) = self.bytes.get_mut(HEADER_LEN..end) {
            case.apply(name);
        }
    }
}

/// The 0x20 case choice of one exchange (draft-vixie-dnsext-dns0x20-00 §3): one random bit
/// per letter of the name, which an off-path spoofer must guess as well. Every datagram of
/// the exchange carries the name in this case (a late answer to the first one still counts),
/// and every answer must carry it back. Only these 32 octets are kept, not the cased name:
/// the query is encoded anew for each send (a miss sends once) rather than kept in the
/// exchange's future, which it pushed past the 1,032 octets where glibc's malloc leaves its
/// per-thread cache (dhat: the boxed exchange was 1,296 octets with the query in it, 1,016
/// without; callgrind: ~750 instructions per miss less with this and `try_send`).
#[derive(Debug, Clone, Copy)]
pub(super) struct CaseBits([u8; 32]);

impl CaseBits {
    /// A fresh random choice.
    pub(super) fn random() -> CaseBits {
        let mut bits = [0u8; 32];
        super::random::fill(&mut bits);
        CaseBits(bits)
    }

    /// Sets the case of each ASCII letter of `name` (wire form) by the bits. Only label
    /// bytes are touched (the walk skips length octets, which are below 64 and so never
    /// letters anyway); 32 octets give 256 distinct bits, reused beyond (a name has at most
    /// ~250 letters).
    pub(super) fn apply(&self, name: &mut [u8]) {
        let mut pos = 0usize;
        let mut bit = 0usize;
        while let Some(&len) = name.get(pos) {
            if len == 0 {
                break;
            }
            let end = pos + 1 + usize::from(len);
            for byte in name.get_mut(pos + 1..end).into_iter().flatten() {
                if byte.is_ascii_alphabetic() {
                    let flip = self
                        .0
                        .get((bit / 8) % self.0.len())
                        .is_some_and(|b| b >> (bit % 8) & 1 == 1);
                    bit += 1;
                    *byte = if flip {
                        byte.to_ascii_uppercase()
                    } else {
                        byte.to_ascii_lowercase()
                    };
                }
            }
            pos = end;
        }
    }
}

/// Our query for `question` with `id`: RD set, one question (the name bytes as given), one
/// OPT record advertising [`UPSTREAM_EDNS_SIZE`] (RFC 6891 §6.1.2: owner root, CLASS = UDP
/// payload size, TTL 0 = extended rcode 0, version 0, DO clear, no options).
pub(super) fn encode_query(id: u16, question: &Question) -> Query {
    let name: &[u8] = &question.name;
    let mut query = Query {
        bytes: [0; MAX_QUERY_LEN],
        len: 0,
        // At most 255: a question's name is (see `MAX_NAME_WIRE_LEN`).
        name_len: u8::try_from(name.len()).unwrap_or(u8::MAX),
    };
    let mut used = 0usize;
    let [type_high, type_low] = question.qtype.to_be_bytes();
    let [class_high, class_low] = question.qclass.to_be_bytes();
    let [size_high, size_low] = UPSTREAM_EDNS_SIZE.to_be_bytes();
    let [opt_high, opt_low] = TYPE_OPT.to_be_bytes();
    let [id_high, id_low] = id.to_be_bytes();
    let [rd_high, rd_low] = FLAG_RD.to_be_bytes();
    // ID, flags, QDCOUNT 1, ANCOUNT 0, NSCOUNT 0, ARCOUNT 1.
    let header = [id_high, id_low, rd_high, rd_low, 0, 1, 0, 0, 0, 0, 0, 1];
    // QTYPE, QCLASS, then the OPT record: root owner, TYPE, CLASS = payload size, TTL 0,
    // RDLEN 0.
    let tail = [
        type_high, type_low, class_high, class_low, 0, opt_high, opt_low, size_high, size_low, 0,
        0, 0, 0, 0, 0,
    ];
    for part in [&header[..], name, &tail[..]] {
        let end = used + part.len();
        // Fits: the buffer has room for the longest name a question holds.
        if let Some(slot) = query.bytes.get_mut(used..end) {
            slot.copy_from_slice(part);
            used = end;
        }
    }
    query.len = u16::try_from(used).unwrap_or(0);
    query
}

/// True when the question name of `message` is `name` in the case `case` chose, octet for
/// octet (the 0x20 check; servers copy the question as received, RFC 1035 §7.3 / RFC 4343
/// §4.1).
pub(super) fn question_case_matches(message: &[u8], name: &[u8], case: &CaseBits) -> bool {
    let mut sent = [0u8; MAX_NAME_WIRE_LEN];
    let Some(sent) = sent.get_mut(..name.len()) else {
        return false;
    };
    sent.copy_from_slice(name);
    case.apply(sent);
    message
        .get(HEADER_LEN..HEADER_LEN + sent.len())
        .is_some_and(|received| received == sent)
}

/// Replaces the ID of an encoded message (the TCP pool picks IDs unique per connection).
pub(super) fn set_id(message: &mut [u8], id: u16) {
    if let Some(bytes) = message.get_mut(0..2) {
        bytes.copy_from_slice(&id.to_be_bytes());
    }
}

/// The ID of a message, if it has one.
pub(super) fn message_id(message: &[u8]) -> Option<u16> {
    read_u16(message, 0)
}

/// Checks that `message` answers our query `id` for `question` and classifies it.
///
/// The question must be exactly one entry whose name equals ours octet for octet, ignoring
/// ASCII case (RFC 4343 §3; length octets are below 64 and compression pointers at or above
/// 0xC0, so neither is touched by case folding and a compressed name never matches).
pub(super) fn check_response(
    message: &[u8],
    id: u16,
    question: &Question,
) -> Result<Verdict, MessageError> {
    let got_id = read_u16(message, 0).ok_or(MessageError::Short)?;
    let flags = read_u16(message, 2).ok_or(MessageError::Short)?;
    let qdcount = read_u16(message, 4).ok_or(MessageError::Short)?;
    // Opcode bits 11..14 must be QUERY (0).
    if flags & FLAG_QR == 0 || (flags >> 11) & 0x0f != 0 {
        return Err(MessageError::NotResponse);
    }
    if got_id != id {
        return Err(MessageError::IdMismatch);
    }
    if qdcount != 1 {
        return Err(MessageError::QuestionMismatch);
    }
    let name_end = HEADER_LEN + question.name.len();
    let name = message
        .get(HEADER_LEN..name_end)
        .ok_or(MessageError::Short)?;
    let qtype = read_u16(message, name_end).ok_or(MessageError::Short)?;
    let qclass = read_u16(message, name_end + 2).ok_or(MessageError::Short)?;
    if !name.eq_ignore_ascii_case(&question.name)
        || qtype != question.qtype
        || qclass != question.qclass
    {
        return Err(MessageError::QuestionMismatch);
    }
    let rcode = flags & 0x000f;
    Ok(if rcode != RCODE_NOERROR && rcode != RCODE_NXDOMAIN {
        Verdict::ServerFailed
    } else if flags & FLAG_TC != 0 {
        Verdict::Truncated
    } else {
        Verdict::Answer
    })
}

/// Big-endian u16 at `pos`, if the message is long enough.
fn read_u16(message: &[u8], pos: usize) -> Option<u16> {
    let bytes = message.get(pos..pos.checked_add(2)?)?;
    Some(u16::from_be_bytes([*bytes.first()?, *bytes.get(1)?]))
}

#[cfg(test)]
mod tests {
    use super::super::QuestionName;
    use super::*;

    fn question() -> Question {
        Question {
            name: QuestionName::new(b"\x03www\x07example\x03com\x00").expect("name"),
            qtype: 1,
            qclass: 1,
        }
    }

    /// A response to `query` with `flags` and the question name replaced by `name`.
    fn response(query: &[u8], flags: u16, name: &[u8]) -> Vec<u8> {
        let mut out = query[..2].to_vec();
        out.extend_from_slice(&flags.to_be_bytes());
        out.extend_from_slice(&[0, 1, 0, 0, 0, 0, 0, 0]);
        out.extend_from_slice(name);
        out.extend_from_slice(&[0, 1, 0, 1]);
        out
    }

    #[test]
    fn randomized_case_keeps_the_name_and_is_checked_exactly() {
        let q = question();
        let plain = encode_query(9, &q);
        let mut seen_upper = false;
        let mut seen_lower = false;
        for _ in 0..20 {
            let case = CaseBits::random();
            let mut query = plain.clone();
            query.apply_case(&case);
            let mixed = query.name().to_vec();
            let mut again = encode_query(9, &q);
            again.apply_case(&case);
            assert_eq!(again.as_bytes(), query.as_bytes(), "one choice, one case");
            assert!(mixed.eq_ignore_ascii_case(&q.name));
            assert_eq!(mixed[0], 3, "length octets untouched");
            assert_eq!(query.as_bytes().len(), plain.as_bytes().len());
            assert!(
                query.as_bytes()[..12] == plain.as_bytes()[..12]
                    && query.as_bytes()[12 + mixed.len()..] == plain.as_bytes()[12 + mixed.len()..],
                "only the name changes"
            );
            seen_upper |= mixed.iter().any(u8::is_ascii_uppercase);
            seen_lower |= mixed.iter().any(u8::is_ascii_lowercase);
            let answer = response(query.as_bytes(), 0x8180, &mixed);
            assert_eq!(check_response(&answer, 9, &q), Ok(Verdict::Answer));
            assert!(question_case_matches(&answer, &q.name, &case));
            // An answer with the name in another case (a spoofer who guessed the ID and
            // port but not the case) is refused.
            let flipped: Vec<u8> = mixed
                .iter()
                .map(|b| {
                    if b.is_ascii_alphabetic() {
                        b ^ 0x20
                    } else {
                        *b
                    }
                })
                .collect();
            assert!(!question_case_matches(
                &response(query.as_bytes(), 0x8180, &flipped),
                &q.name,
                &case
            ));
            assert!(!question_case_matches(&answer[..20], &q.name, &case));
        }
        assert!(seen_upper && seen_lower, "20 names of 13 letters each vary");
        let case = CaseBits([0xff; 32]);
        let mut root = *b"\x00";
        case.apply(&mut root);
        assert_eq!(&root, b"\x00");
        let mut cut = *b"\x05ab";
        case.apply(&mut cut);
        assert_eq!(&cut, b"\x05ab", "a cut-off name is left alone");
    }

    #[test]
    fn longest_name_fits() {
        let mut q = question();
        let mut name = [63u8; 255];
        name[254] = 0;
        q.name = QuestionName::new(&name).expect("255 octets");
        let query = encode_query(1, &q);
        assert_eq!(query.as_bytes().len(), MAX_QUERY_LEN);
        assert_eq!(query.name(), &name[..]);
        assert_eq!(&query.as_bytes()[MAX_QUERY_LEN - 11..][..3], &[0, 0, 41]);
    }

    #[test]
    fn query_has_rd_question_and_opt() {
        let query = encode_query(0xbeef, &question());
        let query = query.as_bytes();
        assert_eq!(&query[..12], &[0xbe, 0xef, 1, 0, 0, 1, 0, 0, 0, 0, 0, 1]);
        let opt = &query[query.len() - 11..];
        assert_eq!(opt, &[0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0]);
    }

    #[test]
    fn responses_are_classified_and_foreign_ones_rejected() {
        let q = question();
        let query = encode_query(7, &q);
        let query = query.as_bytes();
        let name: &[u8] = &q.name;
        let upper = b"\x03WWW\x07Example\x03COM\x00";
        /// (flags, question name, ID, expected).
        type Case<'a> = (u16, &'a [u8], u16, Result<Verdict, MessageError>);
        let cases: &[Case<'_>] = &[
            (0x8180, name, 7, Ok(Verdict::Answer)),
            (0x8183, upper, 7, Ok(Verdict::Answer)),
            (0x8380, name, 7, Ok(Verdict::Truncated)),
            (0x8182, name, 7, Ok(Verdict::ServerFailed)),
            (0x8185, name, 7, Ok(Verdict::ServerFailed)),
            (0x0100, name, 7, Err(MessageError::NotResponse)),
            (0x8180, name, 8, Err(MessageError::IdMismatch)),
            (
                0x8180,
                b"\x03wwx\x07example\x03com\x00",
                7,
                Err(MessageError::QuestionMismatch),
            ),
            (0x8180, b"\xc0\x0c", 7, Err(MessageError::Short)),
        ];
        for (flags, name, id, want) in cases {
            let mut message = response(query, *flags, name);
            set_id(&mut message, *id);
            assert_eq!(
                check_response(&message, 7, &q),
                *want,
                "{flags:#x} {name:?}"
            );
        }
        assert_eq!(check_response(&[1, 2, 3], 7, &q), Err(MessageError::Short));
    }
}
