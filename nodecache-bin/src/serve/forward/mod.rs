//! Forwarding to upstream servers (SPEC §5): zones → upstreams (longest zone wins), UDP with
//! fast retransmit and failover (the core's `RetransmitSchedule`), TC → TCP, `force_tcp` through
//! the bounded TCP pool, identical in-flight questions coalesced, the upstream packet budget,
//! and the loop guard.
//!
//! Layout: [`zones`] picks the servers, [`coalesce`] shares exchanges, [`exchange`] and
//! [`udp`] run one, [`pool`] holds the TCP connections, [`budget`] meters packets,
//! [`loop_guard`] remembers our own queries, [`rtt`] sizes retransmit timers, [`message`]
//! builds queries and checks responses.

mod budget;
mod coalesce;
mod exchange;
mod exchange_state;
mod loop_guard;
mod message;
mod pool;
mod question;
mod random;
mod recycle;
mod socket_pool;
mod udp;
mod zones;

#[cfg(test)]
mod tests;

use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use self::budget::Budget;
use self::coalesce::{InFlight, Joined};
use self::loop_guard::OwnQueries;
use self::pool::Pools;
use self::recycle::Datagram;
use self::socket_pool::UdpSockets;
use self::zones::{Route, ZoneTable};
use crate::serve::config::{ServeConfig, ZoneUpstream};
use crate::serve::metrics::Metrics;
use resolver_core::transport::RttTable;
use std::net::SocketAddr;

pub(crate) use self::question::Question;
#[cfg(test)]
pub(crate) use self::question::QuestionName;
pub(crate) use self::socket_pool::Burst;

/// Who wants the answer: prefetches yield to clients under the packet budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Priority {
    /// A client is waiting.
    Client,
    /// Refreshing a popular entry before it expires.
    Prefetch,
}

/// An upstream's answer to a question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UpstreamResponse {
    /// The whole response as received (UDP datagram or TCP message without the length
    /// prefix), already checked: QR set, ID and question ours, from the server asked.
    /// Its rcode is NOERROR or NXDOMAIN; other rcodes make the forwarder try elsewhere.
    /// Its buffer goes back to a per-thread free list when dropped (see [`recycle`]).
    pub(crate) message: Datagram,
    /// Which server answered.
    pub(crate) server: SocketAddr,
    /// When it was received (the exchange's clock reading of that turn): the cache stores
    /// the answer as of then, with no clock read of its own (callgrind, with the exchange's
    /// fewer reads: 7 `Instant::now` per miss became 3).
    pub(crate) received_at: std::time::Instant,
}

/// The answer [`Forwarder::forward`] gives: the leader's own when nobody else asked the same
/// question meanwhile (almost every miss: no reference count, no allocation for it), shared
/// when followers joined.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Forwarded {
    /// Nobody else waited for this exchange.
    Owned(UpstreamResponse),
    /// The exchange's result, shared with the followers that joined it.
    Shared(Arc<UpstreamResponse>),
}

impl std::ops::Deref for Forwarded {
    type Target = UpstreamResponse;

    fn deref(&self) -> &UpstreamResponse {
        match self {
            Forwarded::Owned(response) => response,
            Forwarded::Shared(response) => response,
        }
    }
}

/// Why no upstream answer could be had.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum ForwardError {
    /// Nothing usable arrived before the upstream timeout.
    #[error("upstream timeout")]
    Timeout,
    /// Every server answered SERVFAIL/REFUSED/… or could not be reached.
    #[error("every upstream failed")]
    AllFailed,
    /// The upstream packet budget is spent (prefetches are refused first).
    #[error("upstream packet budget spent")]
    OverBudget,
    /// The TCP pool's wait queue is full.
    #[error("upstream TCP queue full")]
    QueueFull,
}

/// Forwards questions upstream. `Send + Sync`; share it by `Arc`. Must be created inside the
/// tokio runtime.
#[derive(Debug)]
pub(crate) struct Forwarder {
    shared: Arc<Shared>,
}

/// Everything exchanges share.
#[derive(Debug)]
struct Shared {
    /// Swapped whole by `replace_upstreams`; an exchange takes its route once at the start.
    zones: RwLock<Arc<ZoneTable>>,
    /// Whole budget of one exchange.
    timeout: Duration,
    /// First UDP retransmit before any RTT is known.
    first_retransmit: Duration,
    /// Randomise the case of UDP query names and require it back (0x20).
    randomize_case: bool,
    metrics: Arc<Metrics>,
    in_flight: InFlight,
    /// `None`: unlimited.
    budget: Option<Budget>,
    own: OwnQueries,
    pools: Pools,
    /// Long-lived UDP sockets per server (each route holds its servers' sets).
    udp: UdpSockets,
    rtt: RttTable,
}

impl Shared {
    /// The route for `name` in the current zone table.
    fn route(&self, name: &[u8]) -> Option<Arc<Route>> {
        // Looked up under the read lock (a few instructions): no reference to the table
        // taken and dropped per miss.
        let zones = self.zones.read().unwrap_or_else(PoisonError::into_inner);
        zones.route(name).cloned()
    }

    /// Takes a budget token for one packet; false (counted) when over budget.
    fn spend(&self, priority: Priority) -> bool {
        let allowed = self
            .budget
            .as_ref()
            .is_none_or(|budget| budget.try_take(priority));
        if !allowed {
            self.metrics.budget_drops.inc();
        }
        allowed
    }
}

/// Removes a question from the in-flight map when its exchange ends, however it ends: by
/// [`Finish::followers`], or when the leader's future is dropped (its followers then see
/// their channel closed and start over).
#[derive(Debug)]
struct Finish<'a> {
    shared: &'a Shared,
    question: &'a Question,
    done: bool,
}

impl Finish<'_> {
    /// Ends the exchange; where its followers wait, if any joined.
    fn followers(mut self) -> Option<coalesce::Followers> {
        self.done = true;
        self.shared.in_flight.finish(self.question)
    }
}

impl Drop for Finish<'_> {
    fn drop(&mut self) {
        if !self.done {
            self.shared.in_flight.finish(self.question);
        }
    }
}

impl Forwarder {
    /// A forwarder for `config.upstreams`.
    pub(crate) fn new(config: &ServeConfig, metrics: Arc<Metrics>) -> std::io::Result<Forwarder> {
        let udp = UdpSockets::new(Arc::clone(&metrics));
        Ok(Forwarder {
            shared: Arc::new(Shared {
                zones: RwLock::new(Arc::new(ZoneTable::new(&config.upstreams, &udp))),
                timeout: config.upstream_timeout,
                first_retransmit: config.upstream_first_retransmit,
                randomize_case: config.upstream_0x20,
                pools: Pools::new(&config.pool, Arc::clone(&metrics)),
                udp,
                metrics,
                in_flight: InFlight::default(),
                budget: config.upstream_max_pps.map(Budget::new),
                own: OwnQueries::default(),
                rtt: RttTable::default(),
            }),
        })
    }

    /// The upstream answer to `question`. Identical questions in flight share one upstream
    /// exchange (its result then [`Forwarded::Shared`]).
    ///
    /// The first asker (the leader) runs the exchange inside its own future: no task is
    /// spawned per miss. Should the leader's future be dropped (its client gave up), the
    /// in-flight entry goes with it and the others who asked start the exchange anew, one of
    /// them leading.
    pub(crate) async fn forward(
        &self,
        question: &Question,
        priority: Priority,
    ) -> Result<Forwarded, ForwardError> {
        let mut counted = false;
        loop {
            let lead = match self.shared.in_flight.join(question, priority) {
                Joined::Follower(outcome) => {
                    if !counted {
                        self.shared.metrics.coalesced.inc();
                        counted = true;
                    }
                    match coalesce::wait(outcome).await {
                        Some(result) => return result.map(Forwarded::Shared),
                        // The leader gave up: lead or follow again.
                        None => continue,
                    }
                }
                Joined::Leader(lead) => lead,
            };
            let shared = &*self.shared;
            let finish = Finish {
                shared,
                question,
                done: false,
            };
            // Inline, not boxed: the exchange's large state lives in a box reused from a
            // per-thread free list (see `exchange_state`), so its future is small.
            let result = exchange::run(shared, question, lead.client_waiting.as_deref()).await;
            if matches!(
                result,
                Err(ForwardError::Timeout | ForwardError::AllFailed | ForwardError::QueueFull)
            ) {
                shared.metrics.upstream_failures.inc();
            }
            let Some(followers) = finish.followers() else {
                return result.map(Forwarded::Owned);
            };
            // Shared only now that someone else waits for it (dhat: the `Arc` every miss
            // made was one allocation per miss).
            let result = result.map(Arc::new);
            // Followers that gave up meanwhile are fine.
            let _ = followers.send(Some(result.clone()));
            return result.map(Forwarded::Shared);
        }
    }

    /// True when a query the daemon received is one of its own upstream queries (same ID and
    /// question as one in flight): the upstream forwards back to us. The caller counts
    /// `loops_detected`.
    pub(crate) fn is_own_query(&self, id: u16, question: &Question) -> bool {
        self.shared.own.contains(id, question)
    }

    /// Replaces the zone table (SIGHUP). Questions in flight finish with the old servers.
    pub(crate) fn replace_upstreams(&self, upstreams: &[ZoneUpstream]) {
        let table = Arc::new(ZoneTable::new(upstreams, &self.shared.udp));
        *self
            .shared
            .zones
            .write()
            .unwrap_or_else(PoisonError::into_inner) = table;
        let servers: Vec<SocketAddr> = upstreams
            .iter()
            .flat_map(|zone| zone.servers.iter().copied())
            .collect();
        self.shared.udp.keep_only(&servers);
    }
}

/// A random query ID (RFC 5452 §4.3).
fn rand_id() -> u16 {
    random::u16()
}
