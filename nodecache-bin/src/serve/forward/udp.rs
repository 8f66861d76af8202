//! The UDP exchange: per server asked, a random socket of the server's pool (a random
//! ephemeral source port, see [`super::socket_pool`] for the trade-off against a fresh
//! socket per query, RFC 5452 §9.2) and a random ID unique on it, both kept for that server's
//! retransmits so a late answer to the first datagram still counts. Datagrams follow the
//! core's [`RetransmitSchedule`]: first retransmit after `upstream_first_retransmit` (or the
//! server's RTO learnt from RFC 6298 estimates), doubling, round-robin over the zone's
//! servers, nothing after `upstream_timeout`.
//!
//! A datagram is believed only if it comes from a server we sent to and carries our ID and
//! question (RFC 5452 §9.1); anything else is ignored and we keep waiting. A failure rcode
//! skips that server at once; TC asks the same server over TCP.

use std::net::SocketAddr;
use std::sync::atomic::AtomicBool;

use tokio::time::Instant;

use super::exchange::{TcpOutcome, ask_tcp, priority};
use super::exchange_state::{Asked, StateLease};
use super::message::{CaseBits, Verdict, check_response, encode_query, question_case_matches};
use super::recycle::WaiterLease;
use super::socket_pool::{Arrival, Registration, Sending};
use super::zones::Route;
use super::{ForwardError, Question, Shared, UpstreamResponse};

/// What to do with a datagram that arrived.
enum Judged {
    /// Not ours (or not usable): keep waiting.
    Ignore,
    /// The exchange's result.
    Done(Result<UpstreamResponse, ForwardError>),
    /// This server (index) is done for; the others go on.
    ServerFailed(usize),
    /// This server (index, address) answered with TC: ask it over TCP.
    Truncated(usize, SocketAddr),
}

/// Runs the UDP exchange for `question`, begun at `start`, until an answer, every server
/// failing, or the upstream timeout.
///
/// The clock (`clock`) is read only after a wait: at `start`, then once per wake-up, and that
/// reading serves the schedule, the deadline, the send time and the RTT sample alike. A turn
/// that did not wait (a send, an ignored datagram) goes on with the reading it has: the
/// schedule never makes a send due by itself, only time passing does. (callgrind: a miss
/// read it 5 times in here, now 2; with the answer's reading handed up as
/// [`UpstreamResponse::received_at`], 7 times per miss became 3.)
///
/// A function returning an `async` block rather than an `async fn`: the block captures its
/// arguments once, where an `async fn`'s future kept them twice (print-type-sizes: 48
/// octets more in every miss's future).
#[allow(
    clippy::manual_async_fn,
    reason = "an `async fn` keeps its arguments twice in its future"
)]
pub(super) fn exchange<'a>(
    shared: &'a Shared,
    route: &'a Route,
    question: &'a Question,
    client_waiting: Option<&'a AtomicBool>,
    start: Instant,
) -> impl Future<Output = Result<UpstreamResponse, ForwardError>> + Send + 'a {
    async move {
        let servers = &route.servers;
        // Reused from this thread's free list: see `recycle`. Declared before the state, so
        // dropped after it: the state's registrations hold the waiter until they go.
        let waiter = WaiterLease::fresh();
        // Reused from this thread's free list as well (see `exchange_state`): this future
        // holds only a pointer to it.
        let mut lease = StateLease::take(
            &shared.own,
            shared.rtt.schedule(
                servers,
                0,
                start.into_std(),
                shared.first_retransmit,
                shared.timeout,
                shared.timeout,
            ),
            servers.len(),
            // With 0x20 the name goes out in random case; the answer must carry the same case.
            shared.randomize_case.then(CaseBits::random),
        );
        let state = &mut *lease;
        let (schedule, asked) = (&mut state.schedule, &mut state.asked);
        let case = &state.case;
        let mut queue_full = false;
        // `now` is `clock` as an offset from `start`, worked out whenever `clock` is read.
        let mut clock = start;
        let mut now = std::time::Duration::ZERO;
        // The last wait ended on a delivery: the waiter holds a datagram (or more) to judge.
        // Only then is it asked: the wait itself looks first (a `take` before every wait cost
        // ~60 instructions per miss, callgrind), and the datagram stays in the waiter rather
        // than in this future (which must stay within malloc's thread cache: see the tests).
        let mut delivered = false;
        let outcome = loop {
            // Good for the whole turn: only a send (which `continue`s) changes the plan.
            let planned = schedule.next_send();
            if let Some(plan) = planned.filter(|plan| plan.at <= now) {
                let (Some(sockets), Some(record)) =
                    (route.sockets.get(plan.server), asked.get_mut(plan.server))
                else {
                    break Err(ForwardError::AllFailed);
                };
                if !shared.spend(priority(client_waiting)) {
                    if asked.iter().all(|a| a.sends == 0) {
                        break Err(ForwardError::OverBudget);
                    }
                    // Over budget for a retransmit: skip it as if it were lost.
                    schedule.planned_sent(plan, now);
                    continue;
                }
                if record.registration.is_none() {
                    match sockets.register(&waiter, clock) {
                        Ok(registration) => {
                            record.own = Some(shared.own.add(registration.id(), question));
                            record.registration = Some(registration);
                        }
                        Err(_) => {
                            schedule.server_failed(plan.server, now);
                            continue;
                        }
                    }
                }
                let Some(registration) = &record.registration else {
                    continue;
                };
                // Encoded per send (each server's socket has its own ID) in a block of its own, so
                // the query is not part of the exchange's future: only a send that finds the
                // socket's buffer full waits, and that rare wait is boxed with its copy. A first
                // send inside a burst is queued and sent with the burst's (see `socket_pool`).
                let sending = {
                    let mut query = encode_query(registration.id(), question);
                    if let Some(case) = case {
                        query.apply_case(case);
                    }
                    registration.send(&query, &waiter, record.sends == 0)
                };
                let sent = match sending {
                    Sending::Done(done) => done,
                    Sending::Wait(wait) => {
                        let (sent, waited) = wait.await;
                        if waited {
                            // The wait for room may have taken a while.
                            clock = Instant::now();
                            now = clock.saturating_duration_since(start);
                        }
                        sent
                    }
                };
                match sent {
                    Ok(()) => {
                        schedule.planned_sent(plan, now);
                        record.sends += 1;
                        record.first_sent.get_or_insert(clock);
                        shared.metrics.upstream_sends.inc();
                    }
                    Err(_) => schedule.server_failed(plan.server, now),
                }
                continue;
            }
            if schedule.all_failed() {
                break Err(if queue_full {
                    ForwardError::QueueFull
                } else {
                    ForwardError::AllFailed
                });
            }
            // The deadline, `start + timeout`, as an offset (not kept in the future: it must
            // stay within malloc's thread cache, see the tests).
            if now >= shared.timeout {
                break Err(ForwardError::Timeout);
            }
            // Judged in a statement of its own, so neither the datagram nor the verdict is kept
            // in this future across the TCP fallback's wait.
            let failure = match delivered.then(|| waiter.take()).flatten() {
                None => None,
                Some(arrival) => match judge(
                    shared,
                    servers,
                    asked,
                    question,
                    case.as_ref(),
                    arrival,
                    clock,
                ) {
                    Judged::Ignore => continue,
                    Judged::Done(outcome) => break outcome,
                    Judged::ServerFailed(index) => Some((index, None)),
                    // TC (or a datagram our buffer may have cut): the same server over TCP.
                    Judged::Truncated(index, server) => Some((index, Some(server))),
                },
            };
            if let Some((failed, truncated)) = failure {
                if let Some(server) = truncated {
                    shared.metrics.upstream_tcp_fallbacks.inc();
                    // Boxed with its timer: the TCP ask is rare and large, and would otherwise
                    // grow the future of every miss (and the task that carries it).
                    let ask = Box::pin(tokio::time::timeout_at(
                        start + shared.timeout,
                        ask_tcp(shared, server, question, priority(client_waiting)),
                    ));
                    match ask.await {
                        Ok(TcpOutcome::Answer(response)) => break Ok(response),
                        Ok(TcpOutcome::OverBudget) => break Err(ForwardError::OverBudget),
                        Ok(TcpOutcome::QueueFull) => queue_full = true,
                        Ok(TcpOutcome::ServerFailed) => {}
                        Err(_) => break Err(ForwardError::Timeout),
                    }
                }
                // Read again: a TCP fallback may have taken a while.
                clock = Instant::now();
                now = clock.saturating_duration_since(start);
                schedule.server_failed(failed, now);
                continue;
            }
            let wake = start + planned.map_or(shared.timeout, |plan| plan.at.min(shared.timeout));
            // Polled by hand, the waiter first: `select!` drew a random branch order per poll and
            // polled a `Notify` (callgrind, with the fewer clock reads: the exchange ~240
            // instructions per miss less). Inline rather than an `async fn`, whose future kept
            // copies of its arguments (print-type-sizes: 40 octets more in every miss's future).
            let mut sleep = std::pin::pin!(tokio::time::sleep_until(wake));
            delivered = std::future::poll_fn(|cx| {
                if waiter.poll_arrival(cx).is_ready() {
                    return std::task::Poll::Ready(true);
                }
                sleep.as_mut().poll(cx).map(|()| false)
            })
            .await;
            clock = Instant::now();
            now = clock.saturating_duration_since(start);
        };
        let retransmits: u32 = asked.iter().map(|a| a.sends).sum::<u32>().saturating_sub(1);
        // Almost always none: no locked add of zero.
        if retransmits > 0 {
            shared
                .metrics
                .upstream_retransmits
                .add(u64::from(retransmits));
        }
        // A server that missed a retransmit as well goes behind the others for a while.
        for (record, server) in asked.iter().zip(servers) {
            if record.sends >= 2 && !record.answered {
                shared.rtt.mark_down(*server, clock.into_std());
            }
        }
        outcome
    }
}

/// Checks an arrival against the query sent to its server (RFC 5452 §9.1: the server we
/// asked, our ID on that socket, our question and, with 0x20, its case) and classifies it.
fn judge(
    shared: &Shared,
    servers: &[SocketAddr],
    asked: &mut [Asked],
    question: &Question,
    case: Option<&CaseBits>,
    arrival: Arrival,
    clock: Instant,
) -> Judged {
    let Arrival {
        datagram,
        server,
        cut,
    } = arrival;
    // The reader matched the socket's ID; the server may be listed twice, so match both.
    let found = servers
        .iter()
        .zip(asked.iter_mut())
        .enumerate()
        .find(|(_, (s, a))| {
            **s == server
                && a.sends > 0
                && a.registration
                    .as_ref()
                    .is_some_and(|r| datagram.get(..2) == Some(&r.id().to_be_bytes()[..]))
        });
    let Some((index, (_, record))) = found else {
        shared.metrics.upstream_rejected.inc();
        return Judged::Ignore;
    };
    let id = record.registration.as_ref().map_or(0, Registration::id);
    let verdict = match check_response(&datagram, id, question) {
        Ok(verdict)
            if case.is_none_or(|case| question_case_matches(&datagram, &question.name, case)) =>
        {
            verdict
        }
        _ => {
            shared.metrics.upstream_rejected.inc();
            return Judged::Ignore;
        }
    };
    record.answered = true;
    match verdict {
        Verdict::Answer if !cut => {
            // Karn's rule (RFC 6298 §3): only an answer to a single send is a sample.
            match (record.sends, record.first_sent) {
                (1, Some(sent)) => shared.rtt.observe(
                    server,
                    clock.saturating_duration_since(sent),
                    clock.into_std(),
                ),
                _ => shared.rtt.answered(server, clock.into_std()),
            }
            Judged::Done(Ok(UpstreamResponse {
                message: datagram,
                server,
                received_at: clock.into_std(),
            }))
        }
        Verdict::Answer | Verdict::Truncated => Judged::Truncated(index, server),
        Verdict::ServerFailed => {
            shared.rtt.answered(server, clock.into_std());
            Judged::ServerFailed(index)
        }
    }
}
