//! A cache miss waiting for the upstream: the pending query (boxed, and the box reused per
//! thread, see `spare`), what the upstream gave it, and the forwarder's form of its question.

use std::sync::Arc;
use std::time::Instant;

use resolver_core::cache::{CacheKey, KeyHash};

use crate::serve::cache::{StoredAnswer, TtlView};
use crate::serve::drain::InFlightGuard;
use crate::serve::forward::Question;
use crate::serve::message::{HEADER_LEN, MAX_NAME_WIRE_LEN, ParsedQuery};
use crate::serve::metrics::Proto;

/// Longest client message up to the end of its question: header, a name of at most 255
/// octets (RFC 1035 §2.3.4), QTYPE and QCLASS.
pub(super) const MAX_QUESTION_END: usize = HEADER_LEN + MAX_NAME_WIRE_LEN + 4;

/// A query waiting for the upstream.
#[derive(Debug)]
pub(crate) struct PendingQuery {
    pub(super) query: ParsedQuery,
    /// The client's message up to the end of its question (all a reply needs of it: the
    /// question as the client spelt it), held inline: the pending query is boxed anyway,
    /// and a box of its own cost a malloc and a free per miss.
    pub(super) client_msg: [u8; MAX_QUESTION_END],
    /// The cache key and its hash, when the name can be cached.
    pub(super) key: Option<(CacheKey, KeyHash)>,
    /// An expired entry to serve if the upstream fails (RFC 8767).
    pub(super) stale: Option<Arc<StoredAnswer>>,
    pub(super) received: Instant,
    pub(super) proto: Proto,
    /// Keeps the query counted until its reply is written (taken out then, when the box is
    /// kept for the next miss).
    pub(super) in_flight: Option<InFlightGuard>,
}

impl PendingQuery {
    /// The client's message up to the end of its question.
    pub(super) fn client_msg(&self) -> &[u8] {
        self.client_msg
            .get(..self.query.question_end)
            .unwrap_or_default()
    }
}

/// What the upstream gave a cache miss: what its reply is written from.
#[derive(Debug)]
pub(crate) enum MissOutcome {
    /// Reply with this answer (the upstream's, or a stale one), TTLs written as the view says.
    Answer(Arc<StoredAnswer>, TtlView),
    /// Reply with this rcode and no records (SERVFAIL).
    Rcode(u16),
}

/// The forwarder's form of the query's question (the name copied inline: no allocation).
pub(super) fn question_of(query: &ParsedQuery) -> Question {
    Question {
        name: (&query.name).into(),
        qtype: query.qtype,
        qclass: query.qclass,
    }
}
