//! UDP exchange with fast retransmit and failover.
//!
//! One socket per question (SPEC §4), on a random ephemeral port the kernel picks (RFC 5452
//! §9.2: source port and ID are the two secrets of a query); [`super::LookupSockets`] holds
//! it while the question is out. With one
//! nameserver — a pod's resolv.conf — the socket is connected to it before it has a port:
//! `connect(2)` on an unbound UDP socket binds the ephemeral port and fixes the peer in one
//! call (one system call less than `bind` then `sendto`), and from then on the kernel drops
//! datagrams from any other source. With several, it is bound to port 0 and left
//! unconnected, as retransmissions go to the next server. The same ID serves every
//! (re)transmission of a question, so a late answer to an earlier datagram still counts. A
//! datagram is used only if it comes from a server we sent to and passes
//! [`wire::validate_response`]; anything else (a late answer to an earlier question of the
//! lookup included) is ignored and we keep waiting.
//!
//! The receive buffer holds [`MAX_UDP_ANSWER`] octets plus one. We advertise 1200 octets with
//! `edns0` (as glibc does) and 512 without (RFC 1035 §4.2.1), so a conforming server never
//! comes near it; one that sends more than 512 octets anyway has still answered our question,
//! and up to 4096 octets (RFC 6891 §6.2.5's suggested starting size) is used as it came. A
//! datagram that fills the whole buffer was longer than that and has been cut by the kernel
//! (recv(2): "excess bytes may be discarded"): we treat it like an answer with TC set ("this
//! message was truncated due to length greater than that permitted on the transmission
//! channel", RFC 1035 §4.1.1) and ask the same server over TCP, which ends with the complete
//! answer.
//!
//! Why not 65535 octets, the largest message: the buffer was zeroed for every question, and a
//! fresh 64 KiB zeroed block is sixteen page faults plus a 64 KiB memset, more than the rest
//! of a cold question costs (issue 6: most of the first lookup's page faults were these).

use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use super::retransmit::{PlannedSend, RetransmitSchedule};
use super::rtt::RttTable;
use super::{Exchange, Question, Tally, asks_elsewhere};
use crate::error::Error;
use crate::wire;

mod socket;
pub(super) use socket::LookupSocket;

/// Largest UDP answer used as received; a longer one is re-asked over TCP (module docs).
pub(crate) const MAX_UDP_ANSWER: usize = 4096;
/// One octet more than [`MAX_UDP_ANSWER`]: a datagram that fills it was cut.
const RECEIVE_BUFFER: usize = MAX_UDP_ANSWER + 1;
/// `set_read_timeout` rejects zero; never wait less than this.
const MIN_WAIT: Duration = Duration::from_millis(1);

/// How a UDP exchange ended, when it did not fail.
#[derive(Debug)]
pub(super) enum UdpOutcome {
    /// A response to use (NOERROR/NXDOMAIN, or the last refusal when every server refused).
    Answered(Exchange),
    /// `server` answered with TC set: ask it again over TCP.
    Truncated { server: usize, tally: Tally },
}

/// Why the receive loop stopped.
#[derive(Debug)]
enum Ending {
    /// This server (index) answered with TC set.
    Truncated(usize),
    /// This server (index) gave the response to use.
    Answer(usize, Vec<u8>),
    /// Budget spent, or every server failed.
    NoAnswer,
}

/// What happened with one server during this question.
#[derive(Debug, Clone, Copy, Default)]
struct ServerTrack {
    sends: u32,
    first_send: Option<Instant>,
    answered: bool,
}

/// Where to send a datagram for `server` from a socket of the given family.
fn destination(server: SocketAddr, dual_stack: bool) -> Option<SocketAddr> {
    match (server.ip(), dual_stack) {
        (IpAddr::V4(v4), true) => Some(SocketAddr::new(
            IpAddr::V6(v4.to_ipv6_mapped()),
            server.port(),
        )),
        (IpAddr::V6(_), false) => None,
        _ => Some(server),
    }
}

/// Same address and port, a v4-mapped IPv6 address counting as its IPv4 address.
fn same_endpoint(a: SocketAddr, b: SocketAddr) -> bool {
    a.port() == b.port() && a.ip().to_canonical() == b.ip().to_canonical()
}

/// Asks `q` over UDP, servers tried in `order` (indices into `q.servers`).
pub(super) fn exchange(
    q: &Question<'_>,
    order: &[usize],
    rtt: &RttTable,
    socket: &mut Option<LookupSocket>,
    while_waiting: &mut Option<&mut dyn FnMut()>,
) -> Result<UdpOutcome, Error> {
    let socket = LookupSocket::open_in(socket, q.servers)?;
    let mut attempt = Attempt::new(q, order, rtt, socket);
    let mut buf = [0u8; RECEIVE_BUFFER];
    let ending = loop {
        let now = q.started.elapsed();
        if let Some(send) = attempt.schedule.next_send().filter(|send| send.at <= now) {
            attempt.send(send, now);
            continue;
        }
        // The lookup's work for the wait, once a datagram is out; then the clock again.
        if attempt.tally.queries_sent > 0
            && let Some(work) = while_waiting.take()
        {
            work();
            continue;
        }
        let deadline = attempt.schedule.deadline();
        if attempt.schedule.all_failed() || now >= deadline {
            break Ending::NoAnswer;
        }
        let wake = attempt
            .schedule
            .next_send()
            .map_or(deadline, |send| send.at.min(deadline));
        let wait = wake.saturating_sub(now).max(MIN_WAIT);
        attempt
            .socket
            .wait_about(wait)
            .map_err(|e| Error::io(None, e))?;
        let (len, from) = match attempt.socket.socket.recv_from(&mut buf) {
            Ok(received) => received,
            Err(e) if is_transient(&e) => continue,
            Err(e) => return Err(Error::io(None, e)),
        };
        let cut = len >= RECEIVE_BUFFER;
        if let Some(ending) = buf
            .get(..len)
            .and_then(|msg| attempt.receive(msg, from, cut, rtt))
        {
            break ending;
        }
    };
    attempt.mark_silent_servers(rtt);
    attempt.outcome(ending)
}

/// The state of one UDP exchange.
#[derive(Debug)]
struct Attempt<'q> {
    q: &'q Question<'q>,
    socket: &'q LookupSocket,
    schedule: RetransmitSchedule,
    /// Per server (by index): sends and answers.
    track: Vec<ServerTrack>,
    /// Per server (by index): the RTO it started with.
    rtos: Vec<Duration>,
    tally: Tally,
    /// The last SERVFAIL/REFUSED/NOTIMP/FORMERR response, returned if nothing better comes.
    last_refusal: Option<(usize, Vec<u8>)>,
    /// The last send error, returned if every server failed that way.
    last_io: Option<(SocketAddr, io::Error)>,
}

impl<'q> Attempt<'q> {
    fn new(q: &'q Question<'q>, order: &[usize], rtt: &RttTable, socket: &'q LookupSocket) -> Self {
        let servers = q.servers;
        let config = q.config;
        let mut schedule = RetransmitSchedule::with_order(
            servers.len(),
            order,
            config.first_retransmit,
            config.timeout,
            config.total_budget(),
        );
        let mut last_io = None;
        let mut rtos = Vec::with_capacity(servers.len());
        for (index, &server) in servers.iter().enumerate() {
            let rto = rtt.rto(server, config.first_retransmit);
            rtos.push(rto);
            schedule.set_rto(index, rto);
            if destination(server, socket.dual_stack).is_none() {
                // An IPv6 server while this host has no IPv6 socket.
                last_io = Some((server, io::Error::from_raw_os_error(libc::EAFNOSUPPORT)));
                schedule.server_failed(index, Duration::ZERO);
            }
        }
        Attempt {
            q,
            socket,
            schedule,
            track: vec![ServerTrack::default(); servers.len()],
            rtos,
            tally: Tally::default(),
            last_refusal: None,
            last_io,
        }
    }

    /// Sends the planned datagram; a server we cannot send to is out for this question.
    fn send(&mut self, send: PlannedSend, now: Duration) {
        let Some(&server) = self.q.servers.get(send.server) else {
            self.schedule.server_failed(send.server, now);
            return;
        };
        let socket = self.socket;
        let result = match socket.peer {
            Some(_) => socket.socket.send(self.q.query).map(drop),
            None => match destination(server, socket.dual_stack) {
                Some(to) => socket.socket.send_to(self.q.query, to).map(drop),
                None => Err(io::Error::from_raw_os_error(libc::EAFNOSUPPORT)),
            },
        };
        match result {
            Ok(()) => {
                self.tally.queries_sent += 1;
                if self.tally.queries_sent > 1 {
                    self.tally.retransmits += 1;
                }
                if let Some(track) = self.track.get_mut(send.server) {
                    track.sends += 1;
                    track.first_send.get_or_insert_with(Instant::now);
                }
                self.schedule.sent(now);
            }
            // Not sent: the schedule still has it due, the loop tries again. On a connected
            // socket, ECONNREFUSED reports an ICMP port unreachable for an earlier datagram
            // (consumed by reporting it): that is no reason to give up on the server, which
            // an unconnected socket would not even have heard of (recv treats it the same).
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::Interrupted | io::ErrorKind::ConnectionRefused
                ) => {}
            // Unreachable network, no route, …
            Err(e) => {
                self.last_io = Some((server, e));
                self.schedule.server_failed(send.server, now);
            }
        }
    }

    /// Looks at a datagram: `Some` when it ends the exchange. Datagrams not from a server we
    /// sent to, or not answering our question, are ignored. `cut`: the datagram was longer
    /// than the receive buffer, so only its start (header and question) is in `msg`.
    fn receive(
        &mut self,
        msg: &[u8],
        from: SocketAddr,
        cut: bool,
        rtt: &RttTable,
    ) -> Option<Ending> {
        let servers = self.q.servers;
        let index = (0..servers.len()).find(|&i| {
            self.track.get(i).is_some_and(|t| t.sends > 0)
                && servers.get(i).is_some_and(|&s| same_endpoint(s, from))
        })?;
        let header = wire::validate_response(msg, self.q.id, self.q.qname, self.q.qtype).ok()?;
        if let (Some(track), Some(&server)) = (self.track.get_mut(index), servers.get(index)) {
            track.answered = true;
            // Karn's rule (RFC 6298 §3): time only a server asked once; an answer after a
            // retransmission could belong to either datagram.
            match track.first_send.filter(|_| track.sends == 1) {
                Some(sent) => rtt.observe(server, sent.elapsed(), Instant::now()),
                None => rtt.answered(server, Instant::now()),
            }
        }
        if header.is_truncated() || cut {
            return Some(Ending::Truncated(index));
        }
        if asks_elsewhere(header.rcode()) {
            self.last_refusal = Some((index, msg.to_vec()));
            self.schedule.server_failed(index, self.q.started.elapsed());
            return None;
        }
        Some(Ending::Answer(index, msg.to_vec()))
    }

    /// Servers that stayed silent past their RTO go behind the others for the next questions.
    fn mark_silent_servers(&self, rtt: &RttTable) {
        let now = Instant::now();
        let servers = self.track.iter().zip(self.q.servers).zip(&self.rtos);
        for ((track, &server), &rto) in servers {
            let overdue = track
                .first_send
                .is_some_and(|sent| now.duration_since(sent) >= rto);
            if overdue && !track.answered {
                rtt.mark_down(server, now);
            }
        }
    }

    fn outcome(self, ending: Ending) -> Result<UdpOutcome, Error> {
        let answered = |index: usize, response: Vec<u8>| {
            let server = self.q.servers.get(index).copied();
            let server = server.unwrap_or(SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0)));
            UdpOutcome::Answered(Exchange {
                response,
                server,
                over_tcp: false,
                queries_sent: self.tally.queries_sent,
                retransmits: self.tally.retransmits,
                tcp_fallback: false,
            })
        };
        match ending {
            Ending::Truncated(server) => Ok(UdpOutcome::Truncated {
                server,
                tally: self.tally,
            }),
            Ending::Answer(index, response) => Ok(answered(index, response)),
            Ending::NoAnswer => match (self.last_refusal, self.last_io) {
                (Some((index, response)), _) => Ok(answered(index, response)),
                (None, Some((server, source))) if self.schedule.all_failed() => {
                    Err(Error::io(Some(server), source))
                }
                _ => Err(Error::Timeout(self.q.config.total_budget())),
            },
        }
    }
}

/// Errors of `recv_from` that only mean "nothing (usable) arrived yet". ICMP port-unreachable
/// is not reported on an unconnected socket by Linux, but a connected one reports it (and
/// other systems may): the server stays in the schedule until its RTO, as before.
fn is_transient(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock
            | io::ErrorKind::TimedOut
            | io::ErrorKind::Interrupted
            | io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionReset
    )
}

#[cfg(test)]
mod tests {
    use std::net::Ipv6Addr;

    use super::*;

    #[test]
    fn destinations_by_socket_family() {
        let v4 = SocketAddr::from(([127, 0, 0, 1], 53));
        let v6 = SocketAddr::from((Ipv6Addr::LOCALHOST, 53));
        let mapped = SocketAddr::from((Ipv4Addr::new(127, 0, 0, 1).to_ipv6_mapped(), 53));
        assert_eq!(destination(v4, false), Some(v4));
        assert_eq!(destination(v4, true), Some(mapped));
        assert_eq!(destination(v6, true), Some(v6));
        assert_eq!(destination(v6, false), None);
        assert!(same_endpoint(v4, mapped));
        assert!(!same_endpoint(v4, SocketAddr::from(([127, 0, 0, 1], 54))));
        assert!(!same_endpoint(v4, SocketAddr::from(([127, 0, 0, 2], 53))));
    }
}
