//! The UDP exchange: one random ID and one fresh socket (a random ephemeral source port from
//! the kernel) per question — RFC 5452 §4, §9.2 — kept for the question's retransmits so a
//! late answer to the first datagram still counts. Datagrams follow the core's
//! [`RetransmitSchedule`]: first retransmit after `upstream_first_retransmit` (or the
//! server's RTO learnt from RFC 6298 estimates), doubling, round-robin over the zone's
//! servers, nothing after `upstream_timeout`.
//!
//! A datagram is believed only if it comes from a server we sent to and carries our ID and
//! question (RFC 5452 §9.1); anything else is ignored and we keep waiting. A failure rcode
//! skips that server at once; TC asks the same server over TCP.

use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::atomic::AtomicBool;

use resolver_core::transport::RetransmitSchedule;
use tokio::net::UdpSocket;
use tokio::time::Instant;

use super::exchange::{TcpOutcome, ask_tcp, priority};
use super::message::{
    Verdict, check_response, encode_query, question_case_matches, randomize_case,
};
use super::zones::Route;
use super::{ForwardError, Question, Shared, UpstreamResponse, rand_id};

/// Receive buffer. We advertise 1232 octets (EDNS0); a datagram filling this buffer may have
/// been cut by it and is treated like TC.
const RECEIVE_BUFFER: usize = 4096;

/// Per-server bookkeeping of one exchange.
#[derive(Debug, Clone, Copy, Default)]
struct Asked {
    sends: u32,
    first_sent: Option<Instant>,
    answered: bool,
}

/// Runs the UDP exchange for `question` until an answer, every server failing, or `deadline`.
pub(super) async fn exchange(
    shared: &Shared,
    route: &Route,
    question: &Question,
    client_waiting: &AtomicBool,
    deadline: Instant,
) -> Result<UpstreamResponse, ForwardError> {
    let servers = &route.servers;
    let mut schedule = RetransmitSchedule::with_order(
        servers.len(),
        &shared.rtt.order(servers),
        shared.first_retransmit,
        shared.timeout,
        shared.timeout,
    );
    for (index, server) in servers.iter().enumerate() {
        schedule.set_rto(index, shared.rtt.rto(*server, shared.first_retransmit));
    }
    let id = rand_id();
    // With 0x20 the name goes out in random case; the answer must carry the same case.
    let sent_name = shared
        .randomize_case
        .then(|| randomize_case(&question.name));
    let message = match &sent_name {
        Some(name) => encode_query(
            id,
            &Question {
                name: name.clone(),
                ..question.clone()
            },
        ),
        None => encode_query(id, question),
    };
    let _own = shared.own.register(id, question);
    let mut asked = vec![Asked::default(); servers.len()];
    let mut sockets = Sockets::default();
    let mut buffer = vec![0u8; RECEIVE_BUFFER];
    let mut queue_full = false;
    let start = Instant::now();
    let outcome = loop {
        let now = start.elapsed();
        if let Some(plan) = schedule.next_send().filter(|plan| plan.at <= now) {
            let sent_so_far: u32 = asked.iter().map(|a| a.sends).sum();
            let (Some(&server), Some(record)) =
                (servers.get(plan.server), asked.get_mut(plan.server))
            else {
                break Err(ForwardError::AllFailed);
            };
            if !shared.spend(priority(client_waiting)) {
                if sent_so_far == 0 {
                    break Err(ForwardError::OverBudget);
                }
                // Over budget for a retransmit: skip it as if it were lost.
                schedule.sent(now);
                continue;
            }
            match sockets.send(server, &message).await {
                Ok(()) => {
                    schedule.sent(now);
                    record.sends += 1;
                    record.first_sent.get_or_insert_with(Instant::now);
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
        if Instant::now() >= deadline {
            break Err(ForwardError::Timeout);
        }
        let wake = schedule
            .next_send()
            .map_or(deadline, |plan| (start + plan.at).min(deadline));
        let received = tokio::select! {
            received = sockets.recv(&mut buffer) => received,
            () = tokio::time::sleep_until(wake) => continue,
        };
        let Ok((len, from)) = received else {
            continue;
        };
        // RFC 5452 §9.1: only a datagram from a server we asked, with our ID and question
        // (and, with 0x20, its case), is an answer; anything else is ignored and counted.
        let Some(index) = servers.iter().position(|&s| s == from) else {
            shared.metrics.upstream_rejected.inc();
            continue;
        };
        let (Some(record), Some(datagram)) = (asked.get_mut(index), buffer.get(..len)) else {
            continue;
        };
        if record.sends == 0 {
            shared.metrics.upstream_rejected.inc();
            continue;
        }
        let verdict = match check_response(datagram, id, question) {
            Ok(verdict)
                if sent_name
                    .as_deref()
                    .is_none_or(|sent| question_case_matches(datagram, sent)) =>
            {
                verdict
            }
            _ => {
                shared.metrics.upstream_rejected.inc();
                continue;
            }
        };
        record.answered = true;
        match verdict {
            Verdict::Answer if len < buffer.len() => {
                // Karn's rule (RFC 6298 §3): only an answer to a single send is a sample.
                match (record.sends, record.first_sent) {
                    (1, Some(sent)) => shared.rtt.observe(from, sent.elapsed()),
                    _ => shared.rtt.answered(from),
                }
                break Ok(UpstreamResponse {
                    message: datagram.to_vec(),
                    server: from,
                });
            }
            Verdict::Answer | Verdict::Truncated => {
                shared.metrics.upstream_tcp_fallbacks.inc();
                let ask = ask_tcp(shared, from, question, priority(client_waiting));
                match tokio::time::timeout_at(deadline, ask).await {
                    Ok(TcpOutcome::Answer(message)) => {
                        break Ok(UpstreamResponse {
                            message,
                            server: from,
                        });
                    }
                    Ok(TcpOutcome::OverBudget) => break Err(ForwardError::OverBudget),
                    Ok(TcpOutcome::QueueFull) => queue_full = true,
                    Ok(TcpOutcome::ServerFailed) => {}
                    Err(_) => break Err(ForwardError::Timeout),
                }
                schedule.server_failed(index, start.elapsed());
            }
            Verdict::ServerFailed => {
                shared.rtt.answered(from);
                schedule.server_failed(index, start.elapsed());
            }
        }
    };
    let retransmits: u32 = asked.iter().map(|a| a.sends).sum::<u32>().saturating_sub(1);
    shared
        .metrics
        .upstream_retransmits
        .add(u64::from(retransmits));
    // A server that missed a retransmit as well goes behind the others for a while.
    for (record, server) in asked.iter().zip(servers) {
        if record.sends >= 2 && !record.answered {
            shared.rtt.mark_down(*server);
        }
    }
    outcome
}

/// The exchange's sockets, one per address family, bound on first use.
#[derive(Debug, Default)]
struct Sockets {
    v4: Option<UdpSocket>,
    v6: Option<UdpSocket>,
}

impl Sockets {
    /// Sends `message` to `server`, binding the family's socket first if needed.
    async fn send(&mut self, server: SocketAddr, message: &[u8]) -> io::Result<()> {
        let (slot, any): (&mut Option<UdpSocket>, SocketAddr) = if server.is_ipv4() {
            (&mut self.v4, SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0)))
        } else {
            (&mut self.v6, SocketAddr::from((Ipv6Addr::UNSPECIFIED, 0)))
        };
        let socket = match slot {
            Some(socket) => socket,
            None => slot.insert(UdpSocket::bind(any).await?),
        };
        socket.send_to(message, server).await.map(|_| ())
    }

    /// The next datagram on either socket; pends forever while none is bound.
    async fn recv(&self, buffer: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        loop {
            let socket = tokio::select! {
                ready = readable(self.v4.as_ref()) => ready?,
                ready = readable(self.v6.as_ref()) => ready?,
            };
            match socket.try_recv_from(buffer) {
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => continue,
                received => return received,
            }
        }
    }
}

/// `socket` once readable; pends forever without one.
async fn readable(socket: Option<&UdpSocket>) -> io::Result<&UdpSocket> {
    match socket {
        Some(socket) => socket.readable().await.map(|()| socket),
        None => std::future::pending().await,
    }
}
