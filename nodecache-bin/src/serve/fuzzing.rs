//! Entry points for the fuzz targets (`fuzz/` at the workspace root), re-exported by the
//! crate's `#[doc(hidden)] pub mod fuzzing`. Not an API: each function drives one piece of
//! the daemon's packet path on untrusted bytes and checks what must hold of its output, so
//! that a fuzzer finds wrong replies as well as panics.
//!
//! The forwarder is real but never asked: prefetch is off and a cache miss stops at
//! [`Immediate::Forward`], which is where the UDP/TCP loops would hand the query to the
//! upstream. No socket is opened.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::serve::cache::TtlView;
use crate::serve::config::ServeConfig;
use crate::serve::forward::Forwarder;
use crate::serve::message::reply::truncate_for_udp;
use crate::serve::message::{
    HEADER_LEN, ParsedQuery, QueryName, flags, offset, parse_query, read_u16, rtype, walk_response,
};
use crate::serve::metrics::{Metrics, Proto};
use crate::serve::responder::{Immediate, MAX_TCP_MESSAGE, Responder};

/// Entry lifetime of the fuzz caches: long enough that warm entries never expire during a
/// run, so the hit path stays reachable for hours.
const FUZZ_TTL: Duration = Duration::from_secs(7 * 24 * 3600);

/// Why [`PacketPath::new`] failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FuzzSetupError {
    /// The forwarder could not be built.
    #[error("forwarder: {0}")]
    Forwarder(#[from] std::io::Error),
}

/// A responder with its own cache and a forwarder that is never asked.
#[derive(Debug)]
pub struct PacketPath {
    responder: Arc<Responder>,
    out: Vec<u8>,
}

/// What one query came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueryOutcome {
    /// Dropped unanswered (no header, or a response).
    Dropped,
    /// Answered at once (refusal, error or cache hit); the reply's length.
    Replied(usize),
    /// A cache miss: would go upstream.
    Forwarded,
}

impl PacketPath {
    /// A packet path with an empty cache of `capacity` entries; every TTL is clamped to a
    /// week so stored answers stay fresh for the whole run.
    pub fn new(capacity: usize) -> Result<PacketPath, FuzzSetupError> {
        let mut config = ServeConfig::default();
        config.cache.size = capacity;
        config.cache.min_ttl = FUZZ_TTL;
        config.cache.max_ttl = FUZZ_TTL;
        config.cache.max_negative_ttl = FUZZ_TTL;
        // A prefetch would spawn a task and ask the upstream: the fuzzers have neither.
        config.cache.prefetch_hits = 0;
        let metrics = Arc::new(Metrics::default());
        let forwarder = Arc::new(Forwarder::new(&config, Arc::clone(&metrics))?);
        Ok(PacketPath {
            responder: Arc::new(Responder::new(&config, forwarder, metrics)),
            out: Vec::new(),
        })
    }

    /// Caches `upstream` (a response) under the question it carries, as if it had answered
    /// that question; false when it is not usable or not cacheable.
    pub fn warm(&self, upstream: &[u8]) -> bool {
        let Some(query) = query_for(upstream, None) else {
            return false;
        };
        let Ok(parsed) = parse_query(&query) else {
            return false;
        };
        let cache = self.responder.answer_cache();
        let key = crate::serve::cache::AnswerCache::key(&parsed.name, parsed.qtype);
        key.is_some()
            && cache
                .store(
                    key.as_ref(),
                    upstream,
                    parsed.question_end - HEADER_LEN,
                    Instant::now(),
                )
                .is_ok()
    }

    /// Runs a client datagram (or TCP message) through [`Responder::answer_now`] and checks
    /// the reply. Panics when a reply breaks a rule every reply must keep.
    pub fn answer_query(&mut self, msg: &[u8], tcp: bool, from_ipv6: bool) -> QueryOutcome {
        let proto = if tcp { Proto::Tcp } else { Proto::Udp };
        match self
            .responder
            .answer_now(msg, proto, from_ipv6, Instant::now(), &mut self.out)
        {
            Immediate::Drop => QueryOutcome::Dropped,
            Immediate::Forward(_) => QueryOutcome::Forwarded,
            Immediate::Reply => {
                check_reply(msg, &self.out, tcp);
                QueryOutcome::Replied(self.out.len())
            }
        }
    }

    /// The upstream answer path: `upstream` is taken as the response to a client query made
    /// from its own question (`edns`: the client's OPT as (UDP size, DO)); it is stored the
    /// way [`Responder::answer_forwarded`] stores it, the reply written from it (fresh and
    /// stale), then the same query answered again through `answer_now` (a cache hit when
    /// the answer was cacheable). Every reply is checked as in [`PacketPath::answer_query`];
    /// a reply built from a response that walks must walk too.
    pub fn store_upstream(&mut self, upstream: &[u8], edns: Option<(u16, bool)>, tcp: bool) {
        let cache = self.responder.answer_cache();
        let upstream_walks = walk_response(upstream).is_ok();
        let Some(query) = query_for(upstream, edns) else {
            // No question to ask: the walk and the store must still fail cleanly.
            let _ = cache.store(None, upstream, 0, Instant::now());
            return;
        };
        let Ok(parsed) = parse_query(&query) else {
            return;
        };
        let key = crate::serve::cache::AnswerCache::key(&parsed.name, parsed.qtype);
        let question_len = parsed.question_end - HEADER_LEN;
        let Ok(answer) = cache.store(key.as_ref(), upstream, question_len, Instant::now()) else {
            return;
        };
        let limit = if tcp {
            MAX_TCP_MESSAGE
        } else {
            parsed.udp_limit()
        };
        for view in [TtlView::Fresh { age: 0 }, TtlView::Stale { ttl: 30 }] {
            answer.write_reply(&query, &parsed, view, &mut self.out);
            truncate_for_udp(&mut self.out, parsed.question_end, limit, parsed.edns);
            check_reply(&query, &self.out, tcp);
            if upstream_walks {
                check_walks(&self.out);
            }
        }
        if let QueryOutcome::Replied(_) = self.answer_query(&query, tcp, false)
            && upstream_walks
        {
            check_walks(&self.out);
        }
    }
}

/// The client query `upstream` answers: its ID, RD and CD, its question copied as is, and an
/// OPT record when `edns` is given. `None` when `upstream` has no readable question.
fn query_for(upstream: &[u8], edns: Option<(u16, bool)>) -> Option<Vec<u8>> {
    let header = upstream.get(..HEADER_LEN)?;
    let (_, name_end) = QueryName::parse(upstream, HEADER_LEN)?;
    let question = upstream.get(HEADER_LEN..name_end.checked_add(4)?)?;
    let upstream_flags = read_u16(upstream, offset::FLAGS)?;
    let mut query = header.get(..2)?.to_vec();
    query.extend_from_slice(&(upstream_flags & (flags::RD | flags::CD | flags::AD)).to_be_bytes());
    query.extend_from_slice(&[0, 1, 0, 0, 0, 0, 0, u8::from(edns.is_some())]);
    query.extend_from_slice(question);
    if let Some((udp_size, dnssec_ok)) = edns {
        query.push(0);
        query.extend_from_slice(&rtype::OPT.to_be_bytes());
        query.extend_from_slice(&udp_size.to_be_bytes());
        query.extend_from_slice(&[0, 0, if dnssec_ok { 0x80 } else { 0 }, 0, 0, 0]);
    }
    Some(query)
}

/// What every reply to `query` must be: a header with the query's ID, QR set, opcode
/// echoed; no longer than the client accepts (512 or its EDNS size over UDP, RFC 1035
/// §4.2.1 and RFC 6891 §6.2.5; 65535 over TCP); and, when the query parsed and the reply
/// carries a question, the client's question bytes exactly (RFC 5452 §9.1: clients match
/// on them, 0x20 clients on their case too).
fn check_reply(query: &[u8], reply: &[u8], tcp: bool) {
    assert!(reply.len() >= HEADER_LEN, "reply shorter than a header");
    assert_eq!(
        read_u16(reply, offset::ID),
        read_u16(query, offset::ID),
        "reply ID is not the query's"
    );
    let reply_flags = read_u16(reply, offset::FLAGS).unwrap_or(0);
    let query_flags = read_u16(query, offset::FLAGS).unwrap_or(0);
    assert!(reply_flags & flags::QR != 0, "reply without QR");
    assert_eq!(
        reply_flags & 0x7800,
        query_flags & 0x7800,
        "reply opcode differs"
    );
    let Ok(parsed) = parse_query(query) else {
        return;
    };
    let limit = if tcp {
        MAX_TCP_MESSAGE
    } else {
        ParsedQuery::udp_limit(&parsed)
    };
    assert!(
        reply.len() <= limit,
        "reply of {} > limit {limit}",
        reply.len()
    );
    if read_u16(reply, offset::QDCOUNT) == Some(1) {
        assert_eq!(
            reply.get(HEADER_LEN..parsed.question_end),
            query.get(HEADER_LEN..parsed.question_end),
            "reply question is not the client's"
        );
    }
}

/// A reply built from a well-formed upstream response is itself well-formed.
fn check_walks(reply: &[u8]) {
    if let Err(error) = walk_response(reply) {
        panic!("reply from a well-formed answer does not walk: {error}");
    }
}
