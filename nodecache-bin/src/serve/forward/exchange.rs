//! One upstream exchange for a question: route it to its zone's servers, then UDP with
//! retransmit and failover (see [`super::udp`]) or, for `force_tcp` zones, the TCP pool with
//! failover. Also the TCP ask shared by both (the TC fallback uses it too).

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::time::Instant;

use super::message::{Verdict, check_response, encode_query, message_id};
use super::pool::PoolError;
use super::zones::Route;
use super::{ForwardError, Priority, Question, Shared, UpstreamResponse};
use crate::serve::message::{flags, offset, read_u16};

/// What one TCP question to one server gave.
#[derive(Debug)]
pub(super) enum TcpOutcome {
    /// A usable answer (NOERROR or NXDOMAIN, question checked).
    Answer(UpstreamResponse),
    /// The server failed, answered with a failure rcode, or the connection broke.
    ServerFailed,
    /// The server's pool queue was full.
    QueueFull,
    /// The packet budget refused the message.
    OverBudget,
}

/// Runs the exchange for `question`; `client_waiting` says whose packets they are (see
/// [`priority`]).
///
/// An `async` block, not an `async fn`, so its arguments are kept once in the future (see
/// [`super::udp::exchange`]).
#[allow(
    clippy::manual_async_fn,
    reason = "an `async fn` keeps its arguments twice in its future"
)]
pub(super) fn run<'a>(
    shared: &'a Shared,
    question: &'a Question,
    client_waiting: Option<&'a AtomicBool>,
) -> impl Future<Output = Result<UpstreamResponse, ForwardError>> + Send + 'a {
    async move {
        let route = shared
            .route(&question.name)
            .ok_or(ForwardError::AllFailed)?;
        let started = Instant::now();
        let result = if route.force_tcp {
            // Boxed with its timer so the TCP path's state does not grow every UDP exchange's
            // future.
            let tcp = Box::pin(tokio::time::timeout_at(
                started + shared.timeout,
                tcp_only(shared, &route, question, client_waiting),
            ));
            tcp.await.unwrap_or(Err(ForwardError::Timeout))
        } else {
            super::udp::exchange(shared, &route, question, client_waiting, started).await
        };
        if let Ok(response) = &result {
            // The answer's own clock reading: no second read here.
            let took = response
                .received_at
                .saturating_duration_since(started.into_std());
            // The route's servers are few (a zone lists a handful): a scan, no map.
            let answered = route
                .servers
                .iter()
                .zip(&route.sockets)
                .find(|(server, _)| **server == response.server);
            if let Some((_, sockets)) = answered {
                let rcode =
                    read_u16(&response.message, offset::FLAGS).unwrap_or(0) & flags::RCODE_MASK;
                sockets.durations().observe(rcode, took);
            }
        }
        result
    }
}

/// Whose packets an exchange sends now: a client's when a client led it (`None`, see
/// [`super::coalesce::Lead::client_waiting`]) or has joined it since.
pub(super) fn priority(client_waiting: Option<&AtomicBool>) -> Priority {
    if client_waiting.is_none_or(|flag| flag.load(Ordering::Relaxed)) {
        Priority::Client
    } else {
        Priority::Prefetch
    }
}

/// `force_tcp`: each server once over the pool, in order, each given an equal share of the
/// time left (TCP retransmits by itself; a second query on it would only add load).
async fn tcp_only(
    shared: &Shared,
    route: &Route,
    question: &Question,
    client_waiting: Option<&AtomicBool>,
) -> Result<UpstreamResponse, ForwardError> {
    let deadline = Instant::now() + shared.timeout;
    let order = shared
        .rtt
        .order(&route.servers, 0, std::time::Instant::now());
    let mut queue_full = false;
    for (tried, index) in order.iter().enumerate() {
        let Some(&server) = route.servers.get(*index) else {
            continue;
        };
        let left = u32::try_from(order.len() - tried).unwrap_or(1).max(1);
        let share: Duration = deadline.saturating_duration_since(Instant::now()) / left;
        let ask = ask_tcp(shared, server, question, priority(client_waiting));
        match tokio::time::timeout(share, ask).await {
            Ok(TcpOutcome::Answer(response)) => return Ok(response),
            Ok(TcpOutcome::OverBudget) => return Err(ForwardError::OverBudget),
            Ok(TcpOutcome::QueueFull) => queue_full = true,
            Ok(TcpOutcome::ServerFailed) | Err(_) => {}
        }
    }
    Err(if queue_full {
        ForwardError::QueueFull
    } else {
        ForwardError::AllFailed
    })
}

/// Asks `server` over its pool. Costs one budget token.
pub(super) async fn ask_tcp(
    shared: &Shared,
    server: std::net::SocketAddr,
    question: &Question,
    priority: Priority,
) -> TcpOutcome {
    if !shared.spend(priority) {
        return TcpOutcome::OverBudget;
    }
    // The pool replaces the ID with one unique on its connection.
    let message = encode_query(0, question);
    shared.metrics.upstream_sends.inc();
    let pool = shared.pools.get(server);
    match pool.query(message.as_bytes(), question, &shared.own).await {
        Ok(response) => {
            let id = message_id(&response).unwrap_or(0);
            let received_at = std::time::Instant::now();
            shared.rtt.answered(server, received_at);
            match check_response(&response, id, question) {
                Ok(Verdict::Answer) => TcpOutcome::Answer(UpstreamResponse {
                    message: response.into(),
                    server,
                    received_at,
                }),
                // TC over TCP cannot be completed anywhere; the question is the server's
                // to answer, so any other verdict means try the next server.
                _ => TcpOutcome::ServerFailed,
            }
        }
        Err(PoolError::QueueFull) => TcpOutcome::QueueFull,
        Err(_) => TcpOutcome::ServerFailed,
    }
}
