//! Entry point for the criterion bench `nodecache-bin/benches/packet.rs` (issue 6), re-exported
//! by the crate's `#[doc(hidden)] pub mod bench`. Not an API: it drives the daemon's in-process
//! hit path, [`Responder::answer_now`] on a warm cache, with no socket and no checks around it,
//! so the bench measures exactly what a UDP worker does per cache hit between `recvmmsg` and
//! `sendmmsg`. (The fuzzing entry `serve::fuzzing::PacketPath` checks every reply, which a
//! fuzzer wants and a timing does not.)

use std::sync::Arc;
use std::time::Instant;

use crate::serve::cache::AnswerCache;
use crate::serve::config::ServeConfig;
use crate::serve::forward::Forwarder;
use crate::serve::message::{HEADER_LEN, parse_query};
use crate::serve::metrics::{Metrics, Proto};
use crate::serve::responder::{Immediate, Responder};

/// Why [`HitPath::warm`] did not cache an answer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WarmError {
    /// The query does not parse as a client query.
    #[error("the query does not parse")]
    BadQuery,
    /// The query's name cannot be a cache key.
    #[error("the query's name is not a cache key")]
    NoKey,
    /// The cache refused the response (does not walk, not cacheable, other question).
    #[error("the cache refused the response")]
    NotStored,
}

/// A responder with its own cache and a forwarder that is never asked (no upstream is
/// configured and a miss stops at [`Immediate::Forward`]).
#[derive(Debug)]
pub struct HitPath {
    responder: Arc<Responder>,
    out: Vec<u8>,
}

impl HitPath {
    /// A hit path with an empty cache of `capacity` entries, prefetch off (a prefetch would
    /// spawn a task on a runtime the bench does not have).
    pub fn new(capacity: usize) -> std::io::Result<HitPath> {
        let mut config = ServeConfig::default();
        config.cache.size = capacity;
        config.cache.prefetch_hits = 0;
        let metrics = Arc::new(Metrics::default());
        let forwarder = Arc::new(Forwarder::new(&config, Arc::clone(&metrics))?);
        Ok(HitPath {
            responder: Arc::new(Responder::new(&config, forwarder, metrics)),
            out: Vec::with_capacity(512),
        })
    }

    /// Caches `response` as the upstream's answer to `query` (whose question it must carry).
    pub fn warm(&self, query: &[u8], response: &[u8]) -> Result<(), WarmError> {
        let parsed = parse_query(query).map_err(|_| WarmError::BadQuery)?;
        let key = AnswerCache::key(&parsed.name, parsed.qtype).ok_or(WarmError::NoKey)?;
        self.responder
            .answer_cache()
            .store(
                Some(&key),
                response,
                parsed.question_end - HEADER_LEN,
                Instant::now(),
            )
            .map(|_| ())
            .map_err(|_| WarmError::NotStored)
    }

    /// Answers the UDP datagram `query` as a worker would; the reply when it was answered at
    /// once (a hit, a refusal or an error), `None` when dropped or a miss.
    pub fn answer(&mut self, query: &[u8]) -> Option<&[u8]> {
        match self
            .responder
            .answer_now(query, Proto::Udp, false, Instant::now(), &mut self.out)
        {
            Immediate::Reply => Some(&self.out),
            Immediate::Drop | Immediate::Forward(_) => None,
        }
    }
}
