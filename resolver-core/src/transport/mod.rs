//! Getting one question answered by the nameservers.
//!
//! [`Transport`] is the seam between policy and sockets (like hickory's `RuntimeProvider`):
//! the lookup state machine and the cache are tested against scripted transports, and the
//! real one, [`SystemTransport`], does UDP with fast retransmit and nameserver failover, and
//! TCP when the answer is truncated or `use-vc` is set.
//!
//! Submodules: `retransmit` (the sans-IO send schedule), `rtt` (per-server round-trip
//! estimates and down marks), `udp`, `tcp`.

mod retransmit;
mod rtt;
pub use rtt::RttTable;
mod tcp;
#[cfg(test)]
mod test_server;
#[cfg(test)]
mod tests;
mod udp;

pub use retransmit::{INLINE_SERVERS, PlannedSend, RetransmitSchedule};

use std::fmt::Debug;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::config::ResolvConf;
use crate::error::Error;
use crate::wire::{self, QueryFlags, WireError, rcode};

/// Default delay before the first retransmission: well under SPEC §4's 250 ms, yet above the
/// round trip to any nameserver a pod should be using (node-local or in-cluster).
pub const DEFAULT_FIRST_RETRANSMIT: Duration = Duration::from_millis(50);

/// How to reach the nameservers, derived from resolv.conf.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransportConfig {
    /// Nameservers in resolv.conf order (never empty: glibc's default applied).
    pub nameservers: Vec<SocketAddr>,
    /// resolv.conf `timeout`: the per-try budget glibc would wait.
    pub timeout: Duration,
    /// resolv.conf `attempts`.
    pub attempts: u8,
    /// resolv.conf `rotate`: start each question at the next nameserver.
    pub rotate: bool,
    /// resolv.conf `use-vc`: TCP only.
    pub use_vc: bool,
    /// resolv.conf `edns0`: advertise [`crate::wire::EDNS_UDP_SIZE`].
    pub edns0: bool,
    /// resolv.conf `trust-ad`.
    pub trust_ad: bool,
    /// Delay before the first retransmission ([`DEFAULT_FIRST_RETRANSMIT`], well under the
    /// 250 ms bound of SPEC §4); later ones back off exponentially up to `timeout`, and once a
    /// server's round-trip time is known its RTO replaces this. The whole exchange never
    /// exceeds [`TransportConfig::total_budget`].
    pub first_retransmit: Duration,
}

impl TransportConfig {
    /// The transport settings glibc would use for this resolv.conf.
    pub fn from_resolv_conf(conf: &ResolvConf) -> Self {
        TransportConfig {
            nameservers: conf.effective_nameservers(),
            timeout: conf.timeout,
            attempts: conf.attempts,
            rotate: conf.rotate,
            use_vc: conf.use_vc,
            edns0: conf.edns0,
            trust_ad: conf.trust_ad,
            first_retransmit: DEFAULT_FIRST_RETRANSMIT,
        }
    }

    /// The overall deadline of one exchange: `timeout × attempts` (SPEC §4), `attempts` counted
    /// as at least 1. glibc's worst case is that times the number of servers, so we never
    /// give up later than glibc.
    pub fn total_budget(&self) -> Duration {
        self.timeout.saturating_mul(u32::from(self.attempts.max(1)))
    }
}

/// One answered question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exchange {
    /// The validated response (ID, question and source checked).
    pub response: Vec<u8>,
    /// The nameserver that answered.
    pub server: SocketAddr,
    /// The answer came over TCP.
    pub over_tcp: bool,
    /// Datagrams and TCP queries sent for this question, retransmits included.
    pub queries_sent: u32,
    /// UDP retransmissions among them.
    pub retransmits: u32,
    /// The UDP answer was truncated and the question re-asked over TCP.
    pub tcp_fallback: bool,
}

/// Something that gets one question answered.
pub trait Transport: Send + Sync + Debug {
    /// Asks (`qname`, `qtype`, IN) and returns the first valid response, whatever its rcode.
    /// SERVFAIL/REFUSED answers are returned as responses once every nameserver has been
    /// tried (glibc moves to the next server on those rcodes); errors are timeouts and I/O.
    fn exchange(
        &self,
        qname: &str,
        qtype: u16,
        config: &TransportConfig,
    ) -> Result<Exchange, Error>;

    /// [`Transport::exchange`] for one question of a lookup whose questions share `sockets`
    /// (the lookup drops it when it ends). The default ignores them.
    fn exchange_in(
        &self,
        sockets: &mut LookupSockets<'_>,
        qname: &str,
        qtype: u16,
        config: &TransportConfig,
    ) -> Result<Exchange, Error> {
        let _ = sockets;
        self.exchange(qname, qtype, config)
    }
}

/// What the questions of one lookup share: the slot of the UDP socket of the question being
/// asked, a pool of random query IDs and the query buffer.
///
/// Every question gets a fresh socket on a random ephemeral port (SPEC §4: "each query its
/// own random source port and ID"; RFC 5452 §9.2), opened when it goes out and closed when
/// the next one does or this is dropped, so a late answer to one question can never be read
/// by the next. What the lookup shares is what costs without adding a guessable secret:
/// one `getrandom` per eight IDs, one buffer for the encoded queries.
///
/// It can also carry work to do while the first question is out ([`LookupSockets::
/// with_work_while_waiting`]): after its first datagram is sent and before its answer is
/// read, the process would otherwise only wait for the nameserver.
#[derive(Default)]
pub struct LookupSockets<'w> {
    udp: Option<udp::LookupSocket>,
    ids: IdPool,
    /// The encoded query of the current question (its buffer serves every question).
    query: Vec<u8>,
    /// Run once, while the first question sent over UDP is out.
    while_waiting: Option<&'w mut dyn FnMut()>,
}

impl std::fmt::Debug for LookupSockets<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LookupSockets")
            .field("udp", &self.udp)
            .field("ids", &self.ids)
            .field("work_while_waiting", &self.while_waiting.is_some())
            .finish_non_exhaustive()
    }
}

impl LookupSockets<'static> {
    /// Nothing opened yet.
    pub fn new() -> Self {
        LookupSockets::default()
    }
}

impl<'w> LookupSockets<'w> {
    /// Nothing opened yet; `work` runs once, after the first datagram of the first question
    /// that goes out over UDP is sent and before its answer is read: work the caller would do
    /// after the lookup anyway, hidden in the round trip. Never run when no question goes out
    /// (all answered from caches) or only over TCP.
    pub fn with_work_while_waiting(work: &'w mut dyn FnMut()) -> Self {
        LookupSockets {
            while_waiting: Some(work),
            ..LookupSockets::default()
        }
    }
}

/// Query IDs from one `getrandom` call: eight IDs per 16 octets instead of a system call per
/// question. They are as unpredictable as one-by-one reads of the same generator.
#[derive(Debug)]
struct IdPool {
    octets: [u8; 16],
    /// Octets of `octets` already used.
    used: usize,
}

impl Default for IdPool {
    /// Empty: the first ID fills it.
    fn default() -> Self {
        IdPool {
            octets: [0; 16],
            used: 16,
        }
    }
}

impl IdPool {
    /// The next random ID, refilling the pool when it is used up.
    fn next(&mut self) -> Result<u16, Error> {
        if self.used >= self.octets.len() {
            random_fill(&mut self.octets)?;
            self.used = 0;
        }
        let id = match self.octets.get(self.used..self.used + 2) {
            Some(&[high, low]) => u16::from_be_bytes([high, low]),
            _ => return Err(Error::io(None, io::Error::other("query ID pool"))),
        };
        self.used += 2;
        Ok(id)
    }
}

/// The real transport: blocking sockets, one UDP socket per lookup (random port, connected
/// when there is one nameserver; [`LookupSockets`]) and a random ID per question, no
/// background threads (it runs inside host processes via the shim).
///
/// UDP first ([`RetransmitSchedule`]: retransmit after the RTO to the next server, backing
/// off), TCP for the same server when the answer has TC set (then the other servers), TCP only
/// with `use-vc`. Like glibc's `res_send`, a SERVFAIL, REFUSED, NOTIMP or FORMERR sends the
/// question to the next server at once; if every server answers that way the last such
/// response is returned for the lookup engine to interpret.
#[derive(Debug, Default)]
pub struct SystemTransport {
    /// `rotate`: each question starts one server further.
    next_start: AtomicUsize,
    /// Round-trip estimates and down marks, per nameserver.
    rtt: rtt::RttTable,
}

impl SystemTransport {
    /// A transport with no history: every server's RTO starts at the configured first
    /// retransmit, none is marked down.
    pub fn new() -> Self {
        SystemTransport::default()
    }
}

impl Transport for SystemTransport {
    fn exchange(
        &self,
        qname: &str,
        qtype: u16,
        config: &TransportConfig,
    ) -> Result<Exchange, Error> {
        self.exchange_in(&mut LookupSockets::new(), qname, qtype, config)
    }

    fn exchange_in(
        &self,
        sockets: &mut LookupSockets<'_>,
        qname: &str,
        qtype: u16,
        config: &TransportConfig,
    ) -> Result<Exchange, Error> {
        let servers = config.nameservers.as_slice();
        if servers.is_empty() {
            return Err(Error::NoNameservers);
        }
        let flags = QueryFlags {
            recursion_desired: true,
            edns_udp_size: config.edns0.then_some(wire::EDNS_UDP_SIZE),
            authentic_data: config.trust_ad,
        };
        let LookupSockets {
            udp,
            ids,
            query,
            while_waiting,
        } = sockets;
        let id = ids.next()?;
        query.clear();
        query.reserve(wire::MAX_UDP_PLAIN);
        wire::encode_query(query, id, qname, qtype, flags).map_err(|e| invalid_name(qname, e))?;
        let start = if config.rotate {
            self.next_start.fetch_add(1, Ordering::Relaxed) % servers.len()
        } else {
            0
        };
        let started = Instant::now();
        let question = Question {
            qname,
            qtype,
            id,
            query,
            servers,
            config,
            started,
            deadline: started + config.total_budget(),
        };
        if config.use_vc {
            // glibc's send_vc loop: every server in order, `attempts` rounds.
            let rounds = usize::from(config.attempts.max(1));
            let sequence: Vec<usize> = (start..servers.len())
                .chain(0..start)
                .cycle()
                .take(servers.len() * rounds)
                .collect();
            return tcp::exchange(&question, &sequence, Tally::default(), false);
        }
        let order = self.rtt.order(servers, start, started);
        match udp::exchange(&question, &order, &self.rtt, udp, while_waiting)? {
            udp::UdpOutcome::Answered(exchange) => Ok(exchange),
            udp::UdpOutcome::Truncated { server, tally } => {
                // The same server first (it has the full answer), then the others in order.
                let sequence: Vec<usize> = std::iter::once(server)
                    .chain(order.iter().copied().filter(|&i| i != server))
                    .collect();
                tcp::exchange(&question, &sequence, tally, true)
            }
        }
    }
}

/// One question in flight: what the UDP and TCP paths share.
#[derive(Debug)]
struct Question<'a> {
    qname: &'a str,
    qtype: u16,
    id: u16,
    /// The encoded query (without TCP's length prefix).
    query: &'a [u8],
    servers: &'a [SocketAddr],
    config: &'a TransportConfig,
    started: Instant,
    /// `started + total_budget`.
    deadline: Instant,
}

/// Datagrams sent so far for a question (carried from UDP into a TCP fallback).
#[derive(Debug, Clone, Copy, Default)]
struct Tally {
    queries_sent: u32,
    retransmits: u32,
}

/// Rcodes after which glibc's `res_send` asks the next server instead of returning
/// (`resolv/res_send.c`: SERVFAIL, NOTIMP, REFUSED; FORMERR too, since a server that cannot
/// parse our query may be one that does not speak EDNS0 while the next one does).
fn asks_elsewhere(code: u8) -> bool {
    matches!(
        code,
        rcode::SERVFAIL | rcode::REFUSED | rcode::NOTIMP | rcode::FORMERR
    )
}

/// Random octets from the OS generator, for query IDs (RFC 5452 §9.2).
fn random_fill(octets: &mut [u8]) -> Result<(), Error> {
    getrandom::fill(octets).map_err(|e| {
        let source = e.raw_os_error().map_or_else(
            || io::Error::other("getrandom failed"),
            io::Error::from_raw_os_error,
        );
        Error::io(None, source)
    })
}

/// The error for a name the encoder refused, as precise as [`crate::name::validate`] can make it.
fn invalid_name(qname: &str, e: WireError) -> Error {
    match crate::name::validate(qname) {
        Err(name_error) => Error::InvalidName(name_error),
        Ok(()) => Error::Malformed(e),
    }
}
