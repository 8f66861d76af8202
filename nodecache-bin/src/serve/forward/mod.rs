//! Forwarding to upstream servers (SPEC §5): zones → upstreams (longest zone wins), UDP with
//! fast retransmit and failover (the core's `RetransmitSchedule`), TC → TCP, `force_tcp` through
//! the bounded TCP pool, identical in-flight questions coalesced, the upstream packet budget,
//! and the loop guard.
//!
//! SKELETON: `forward` sends one UDP query to the zone's first server and waits up to the
//! upstream timeout. The forwarding work replaces the body, keeping the signatures.

use std::net::SocketAddr;
use std::sync::Arc;

use crate::serve::config::{ServeConfig, ZoneUpstream};
use crate::serve::metrics::Metrics;

/// A question as the daemon keys and forwards it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Question {
    /// The name in wire form (length-prefixed labels ending with the root's zero octet),
    /// uncompressed, ASCII lower-cased (RFC 4343: comparisons are case-insensitive).
    pub(crate) name: Box<[u8]>,
    /// QTYPE.
    pub(crate) qtype: u16,
    /// QCLASS.
    pub(crate) qclass: u16,
}

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
    pub(crate) message: Vec<u8>,
    /// Which server answered.
    pub(crate) server: SocketAddr,
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
    /// The question is one of our own upstream queries come back: a forwarding loop.
    #[error("forwarding loop")]
    Loop,
}

impl ForwardError {
    /// True for a timeout.
    pub(crate) fn is_timeout(&self) -> bool {
        matches!(self, ForwardError::Timeout)
    }
}

/// Forwards questions upstream. `Send + Sync`; share it by `Arc`. Must be created inside the
/// tokio runtime.
#[derive(Debug)]
pub(crate) struct Forwarder {
    upstreams: Vec<ZoneUpstream>,
    timeout: std::time::Duration,
    metrics: Arc<Metrics>,
}

impl Forwarder {
    /// A forwarder for `config.upstreams`.
    pub(crate) fn new(config: &ServeConfig, metrics: Arc<Metrics>) -> std::io::Result<Forwarder> {
        Ok(Forwarder {
            upstreams: config.upstreams.clone(),
            timeout: config.upstream_timeout,
            metrics,
        })
    }

    /// The upstream answer to `question`. Identical questions in flight share one upstream
    /// exchange (the result is shared, hence the `Arc`).
    pub(crate) async fn forward(
        &self,
        question: &Question,
        _priority: Priority,
    ) -> Result<Arc<UpstreamResponse>, ForwardError> {
        let server = self
            .upstreams
            .iter()
            .find(|zone| zone.zone == ".")
            .and_then(|zone| zone.servers.first().copied())
            .ok_or(ForwardError::AllFailed)?;
        let id: u16 = rand_id();
        let mut query = Vec::with_capacity(64);
        for field in [id, 0x0100, 1, 0, 0, 0] {
            query.extend_from_slice(&field.to_be_bytes());
        }
        query.extend_from_slice(&question.name);
        query.extend_from_slice(&question.qtype.to_be_bytes());
        query.extend_from_slice(&question.qclass.to_be_bytes());
        let bind: SocketAddr = if server.is_ipv4() {
            SocketAddr::from(([0, 0, 0, 0], 0))
        } else {
            SocketAddr::from(([0u16; 8], 0))
        };
        let socket = tokio::net::UdpSocket::bind(bind)
            .await
            .map_err(|_| ForwardError::AllFailed)?;
        socket
            .connect(server)
            .await
            .map_err(|_| ForwardError::AllFailed)?;
        socket
            .send(&query)
            .await
            .map_err(|_| ForwardError::AllFailed)?;
        self.metrics.upstream_sends.inc();
        let mut buf = vec![0u8; 65535];
        let len = tokio::time::timeout(self.timeout, socket.recv(&mut buf))
            .await
            .map_err(|_| ForwardError::Timeout)?
            .map_err(|_| ForwardError::AllFailed)?;
        buf.truncate(len);
        Ok(Arc::new(UpstreamResponse {
            message: buf,
            server,
        }))
    }

    /// True when a query the daemon received is one of its own upstream queries (same ID and
    /// question as one in flight): the upstream forwards back to us.
    pub(crate) fn is_own_query(&self, _id: u16, _question: &Question) -> bool {
        false
    }

    /// Replaces the zone table (SIGHUP). Questions in flight finish with the old servers.
    pub(crate) fn replace_upstreams(&self, _upstreams: &[ZoneUpstream]) {}
}

/// A random query ID (RFC 5452 §4.3).
fn rand_id() -> u16 {
    let mut bytes = [0u8; 2];
    let _ = getrandom::fill(&mut bytes);
    u16::from_ne_bytes(bytes)
}
