//! Getting one question answered by the nameservers.
//!
//! [`Transport`] is the seam between policy and sockets (like hickory's `RuntimeProvider`):
//! the lookup state machine and the cache are tested against scripted transports, and the
//! real one, [`SystemTransport`], does UDP with fast retransmit and nameserver failover, and
//! TCP when the answer is truncated or `use-vc` is set.
// TODO(helper:transport): implement the bodies and the submodules.

mod retransmit;
mod tcp;
mod udp;

pub use retransmit::RetransmitSchedule;

use std::fmt::Debug;
use std::net::SocketAddr;
use std::time::Duration;

use crate::config::ResolvConf;
use crate::error::Error;

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
    /// Delay before the first retransmission (default 100 ms, well under the 250 ms bound of
    /// SPEC §4); later ones back off exponentially. The whole exchange never exceeds
    /// `timeout × attempts × nameservers` (glibc's worst case), i.e. we fail no later than glibc.
    pub first_retransmit: Duration,
}

impl TransportConfig {
    /// The transport settings glibc would use for this resolv.conf.
    pub fn from_resolv_conf(conf: &ResolvConf) -> Self {
        let _ = conf;
        todo!()
    }

    /// The overall deadline of one exchange.
    pub fn total_budget(&self) -> Duration {
        todo!()
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
}

/// The real transport: blocking sockets, one fresh UDP socket (random port, random ID) per
/// question, no background threads (it runs inside host processes via the shim).
#[derive(Debug, Default)]
pub struct SystemTransport {}

impl SystemTransport {
    /// A transport with no state but the `rotate` counter.
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
        let _ = (qname, qtype, config);
        todo!()
    }
}
