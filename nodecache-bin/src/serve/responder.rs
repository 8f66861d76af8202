//! Answering one client query, the same for UDP and TCP: parse, policy checks, cache hit
//! inline ([`Responder::answer_now`]), or forward and reply later
//! ([`Responder::answer_forwarded`]), with serve-stale and prefetch.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use resolver_core::cache::CacheKey;

use crate::serve::acl::Acl;
use crate::serve::cache::{AnswerCache, CacheHit, TtlView};
use crate::serve::config::ServeConfig;
use crate::serve::drain::{InFlight, InFlightGuard};
use crate::serve::forward::{Forwarder, Priority};
use crate::serve::message::reply::{truncate_for_udp, write_header_reply, write_rcode_reply};
use crate::serve::message::{
    CLASS_IN, HEADER_LEN, ParsedQuery, flags, offset, parse_query, rcode, read_u16, rtype,
};
use crate::serve::metrics::{Metrics, Proto};

mod pending;
mod spare;

use self::pending::{MAX_QUESTION_END, question_of};
pub(crate) use self::pending::{MissOutcome, PendingQuery};

/// Largest DNS message over TCP (RFC 1035 §4.2.2: a two-octet length prefix).
pub(crate) const MAX_TCP_MESSAGE: usize = 65535;

/// Query types a cache does not serve: IXFR, AXFR (zone transfers go to the primary, not
/// through a node cache), MAILB, MAILA (obsolete, RFC 883 leftovers).
const UNSERVED_QTYPES: std::ops::RangeInclusive<u16> = 251..=254;

/// What [`Responder::answer_now`] decided.
#[derive(Debug)]
pub(crate) enum Immediate {
    /// The reply is in the output buffer: send it.
    Reply,
    /// Send nothing (not a query, or no header to answer).
    Drop,
    /// The answer needs the upstream: hand this to [`Responder::answer_forwarded`].
    Forward(Box<PendingQuery>),
}

/// Everything a serving task needs to answer queries. Share it by `Arc`.
#[derive(Debug)]
pub(crate) struct Responder {
    /// Who is answered (`allow_from`).
    acl: Acl,
    cache: AnswerCache,
    forwarder: Arc<Forwarder>,
    metrics: Arc<Metrics>,
    in_flight: Arc<InFlight>,
}

impl Responder {
    /// A responder with an empty cache sized by `config`.
    pub(crate) fn new(
        config: &ServeConfig,
        forwarder: Arc<Forwarder>,
        metrics: Arc<Metrics>,
    ) -> Responder {
        Responder {
            acl: Acl::from_config(config),
            cache: AnswerCache::new(&config.cache, Arc::clone(&metrics)),
            forwarder,
            metrics,
            in_flight: Arc::new(InFlight::default()),
        }
    }

    /// The metrics this responder counts into.
    pub(crate) fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// The in-flight counter SIGTERM waits on.
    pub(crate) fn in_flight(&self) -> &Arc<InFlight> {
        &self.in_flight
    }

    /// True when `client` may be answered (`allow_from`). The TCP listener asks this at
    /// accept; a refused connection is the caller's to count in `acl_refused`.
    pub(crate) fn allows(&self, client: std::net::IpAddr) -> bool {
        self.acl.allows(client)
    }

    /// [`Responder::answer_now`] for a query from `client`, after the access check: a client
    /// outside `allow_from` gets REFUSED (RFC 5358 §4: no open resolver), counted in
    /// `acl_refused` (and in the request and response counters like any query); a message
    /// from it that is not a query gets nothing. This is what the UDP loop calls.
    pub(crate) fn answer_client(
        self: &Arc<Self>,
        msg: &[u8],
        proto: Proto,
        client: SocketAddr,
        received: Instant,
        out: &mut Vec<u8>,
    ) -> Immediate {
        if self.acl.allows(client.ip()) {
            return self.answer_now(msg, proto, client.is_ipv6(), received, out);
        }
        self.metrics.acl_refused.inc();
        let Ok(query) = parse_query(msg) else {
            return Immediate::Drop;
        };
        self.count_request(proto, client.is_ipv6(), Some(query.qtype));
        write_rcode_reply(msg, &query, rcode::REFUSED, out);
        self.finish(&query, proto, received, out);
        Immediate::Reply
    }

    /// The answer cache (the fuzz targets warm it without an upstream).
    pub(crate) fn answer_cache(&self) -> &AnswerCache {
        &self.cache
    }

    /// Answers `msg` from what is at hand: errors and policy refusals, cache hits (with a
    /// prefetch started when due). A miss comes back as [`Immediate::Forward`]. Writes the
    /// reply into `out` (cleared first); on the hit path nothing else is allocated.
    pub(crate) fn answer_now(
        self: &Arc<Self>,
        msg: &[u8],
        proto: Proto,
        from_ipv6: bool,
        received: Instant,
        out: &mut Vec<u8>,
    ) -> Immediate {
        let query = match parse_query(msg) {
            Ok(query) => query,
            Err(error) => {
                if error.reply_rcode() != Some(rcode::NOTIMP) {
                    self.metrics.malformed_dropped.inc();
                }
                let Some(reply_rcode) = error.reply_rcode() else {
                    return Immediate::Drop;
                };
                if !write_header_reply(msg, reply_rcode, out) {
                    return Immediate::Drop;
                }
                self.count_request(proto, from_ipv6, None);
                self.metrics.response(reply_rcode as u8, received.elapsed());
                return Immediate::Reply;
            }
        };
        self.count_request(proto, from_ipv6, Some(query.qtype));
        let refusal = match query {
            // RFC 6891 §6.1.3: an unknown version gets BADVERS with our version (0).
            ParsedQuery {
                edns: Some(edns), ..
            } if edns.version != 0 => Some(rcode::BADVERS),
            // Only class IN is served: CHAOS (version.bind …) and HESIOD questions would be
            // about the upstream, not this daemon, and class IN is all resolvers send.
            ParsedQuery { qclass, .. } if qclass != CLASS_IN => Some(rcode::REFUSED),
            ParsedQuery { qtype, .. } if UNSERVED_QTYPES.contains(&qtype) => Some(rcode::NOTIMP),
            // RFC 6891 §6.1.1: OPT is a pseudo-record, never a question.
            ParsedQuery {
                qtype: rtype::OPT, ..
            } => Some(rcode::FORMERR),
            _ => None,
        };
        if let Some(refusal) = refusal {
            write_rcode_reply(msg, &query, refusal, out);
            self.finish(&query, proto, received, out);
            return Immediate::Reply;
        }
        // Hashed once: the hash serves the lookup and, on a miss, the store.
        let key = AnswerCache::key(&query.name, query.qtype).map(|key| {
            let hash = self.cache.key_hash(&key);
            (key, hash)
        });
        let lookup = match &key {
            Some((key, hash)) => self.cache.lookup_hashed(key, *hash, received),
            None => {
                self.metrics.cache_misses.inc();
                CacheHit::Miss
            }
        };
        let stale = match lookup {
            CacheHit::Fresh {
                answer,
                age,
                prefetch,
            } => {
                answer.write_reply(msg, &query, TtlView::Fresh { age }, out);
                if let (true, Some((key, _))) = (prefetch, key) {
                    self.spawn_prefetch(&query, key);
                }
                self.finish(&query, proto, received, out);
                return Immediate::Reply;
            }
            // RFC 8767 §5: after a failed refresh, serve stale at once for a while instead
            // of making every client wait for the upstream timeout again.
            CacheHit::Stale(answer) if answer.refresh_failed_recently(received) => {
                self.metrics.cache_served_stale.inc();
                let view = TtlView::Stale {
                    ttl: self.cache.stale_answer_ttl(),
                };
                answer.write_reply(msg, &query, view, out);
                self.finish(&query, proto, received, out);
                return Immediate::Reply;
            }
            CacheHit::Stale(answer) => Some(answer),
            CacheHit::Miss => None,
        };
        // parse_query read the question, so it is in `msg` and no longer than the array.
        let Some(question) = msg
            .get(..query.question_end)
            .filter(|question| question.len() <= MAX_QUESTION_END)
        else {
            self.metrics.malformed_dropped.inc();
            return Immediate::Drop;
        };
        let in_flight = Some(self.in_flight.enter());
        // A spare box is filled field by field (no 848-octet move into a new box); the
        // client's bytes are copied into the box, not into an array that is then moved.
        let mut pending = match spare::take() {
            Some(mut spare) => {
                spare.query = query;
                spare.key = key;
                spare.stale = stale;
                spare.received = received;
                spare.proto = proto;
                spare.in_flight = in_flight;
                spare
            }
            None => Box::new(PendingQuery {
                query,
                client_msg: [0; MAX_QUESTION_END],
                key,
                stale,
                received,
                proto,
                in_flight,
            }),
        };
        if let Some(ours) = pending.client_msg.get_mut(..question.len()) {
            ours.copy_from_slice(question);
        }
        Immediate::Forward(pending)
    }

    /// Answers a cache miss: [`Responder::forward`], then [`Responder::write_forwarded`].
    /// Returns the query's in-flight guard: the caller drops it once the reply is sent, so a
    /// drain waits for the send too. (TCP's path; UDP runs the two halves apart and writes
    /// the reply straight into its send batch.)
    pub(crate) async fn answer_forwarded(
        &self,
        pending: Box<PendingQuery>,
        out: &mut Vec<u8>,
    ) -> InFlightGuard {
        // The query stays in its box while the upstream is asked: unpacked, its parsed
        // question and cache key (~800 octets) would sit in the future of every miss, and
        // the task carrying it would pass 1 KiB, where glibc's malloc leaves its per-thread
        // cache for the slow path (it consolidates every freed small chunk first: 1–2 % of
        // a miss in perf).
        let outcome = self.forward(&pending).await;
        self.write_forwarded(pending, outcome, out)
    }

    /// Asks the upstream for a cache miss: the upstream's answer (cached when cacheable),
    /// else a stale answer when there is one (RFC 8767), else SERVFAIL. A query that is one
    /// of our own upstream queries come back (a forwarding loop) gets SERVFAIL at once.
    pub(crate) async fn forward(&self, pending: &PendingQuery) -> MissOutcome {
        let PendingQuery {
            query, key, stale, ..
        } = pending;
        let question = question_of(query);
        if self.forwarder.is_own_query(query.id, &question) {
            self.metrics.loops_detected.inc();
            return MissOutcome::Rcode(rcode::SERVFAIL);
        }
        let question_len = query.question_end - HEADER_LEN;
        // Every upstream failure (and an unusable upstream answer) ends the same way: the
        // stale entry if there is one (RFC 8767), else SERVFAIL.
        if let Ok(response) = self.forwarder.forward(&question, Priority::Client).await {
            let stored = self.cache.store_hashed(
                key.as_ref().map(|(key, hash)| (key, *hash)),
                &response.message,
                question_len,
                response.received_at,
            );
            if let Ok(answer) = stored {
                return MissOutcome::Answer(answer, TtlView::Fresh { age: 0 });
            }
        }
        match stale.as_ref().filter(|_| self.cache.serves_stale()) {
            Some(answer) => {
                answer.mark_refresh_failed(Instant::now());
                self.metrics.cache_served_stale.inc();
                let view = TtlView::Stale {
                    ttl: self.cache.stale_answer_ttl(),
                };
                MissOutcome::Answer(Arc::clone(answer), view)
            }
            None => MissOutcome::Rcode(rcode::SERVFAIL),
        }
    }

    /// Writes the reply to a cache miss into `out` (cleared first) from what
    /// [`Responder::forward`] found, and counts it. Returns the query's in-flight guard
    /// (see [`Responder::answer_forwarded`]).
    pub(crate) fn write_forwarded(
        &self,
        mut pending: Box<PendingQuery>,
        outcome: MissOutcome,
        out: &mut Vec<u8>,
    ) -> InFlightGuard {
        let client_msg = pending.client_msg();
        match outcome {
            MissOutcome::Answer(answer, view) => {
                answer.write_reply(client_msg, &pending.query, view, out);
                self.cache.let_go(answer);
            }
            MissOutcome::Rcode(code) => write_rcode_reply(client_msg, &pending.query, code, out),
        }
        self.finish(&pending.query, pending.proto, pending.received, out);
        let in_flight = pending.in_flight.take();
        // The stale answer is let go now, not when the box is next used.
        pending.stale = None;
        spare::keep(pending);
        // Every pending query is made with its guard, so this `enter` never runs; it keeps
        // the path panic-free (a guard entered and dropped at once changes nothing).
        in_flight.unwrap_or_else(|| self.in_flight.enter())
    }

    /// Refreshes a popular entry in the background (counted in `cache_prefetches`).
    fn spawn_prefetch(self: &Arc<Self>, query: &ParsedQuery, key: CacheKey) {
        self.metrics.cache_prefetches.inc();
        let question = question_of(query);
        let question_len = query.question_end - HEADER_LEN;
        let responder = Arc::clone(self);
        tokio::spawn(async move {
            if let Ok(response) = responder
                .forwarder
                .forward(&question, Priority::Prefetch)
                .await
            {
                let _ = responder.cache.store(
                    Some(&key),
                    &response.message,
                    question_len,
                    Instant::now(),
                );
            }
        });
    }

    /// Truncates a UDP reply that is too large for the client (a TCP one that is too large
    /// for the length prefix), and counts the response.
    fn finish(&self, query: &ParsedQuery, proto: Proto, received: Instant, out: &mut Vec<u8>) {
        let limit = match proto {
            Proto::Udp => query.udp_limit(),
            Proto::Tcp => MAX_TCP_MESSAGE,
        };
        if truncate_for_udp(out, query.question_end, limit, query.edns) {
            self.metrics.truncated.inc();
        }
        let reply_rcode = read_u16(out, offset::FLAGS).unwrap_or(0) & flags::RCODE_MASK;
        self.metrics.response(reply_rcode as u8, received.elapsed());
    }

    /// Counts a query by transport, client family and type (CoreDNS's labels); a query
    /// whose question could not be read counts as type `other`.
    fn count_request(&self, proto: Proto, from_ipv6: bool, qtype: Option<u16>) {
        self.metrics.request(proto, from_ipv6, qtype.unwrap_or(0));
    }
}
