//! Per-server round-trip estimates (RFC 6298 §2) that size each server's first
//! retransmission timeout, and a "down" mark that moves a server that went silent behind the
//! others for a while. The resolver core keeps the same table for the shim (crate-private
//! there); this one is the daemon's, shared by all questions.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

/// Largest RTO derived from measurements: a slower server is better raced against the next.
const MAX_RTO: Duration = Duration::from_secs(1);
/// How long a server that went silent stays behind the others.
const DOWN_MARK_TTL: Duration = Duration::from_secs(30);
/// Servers remembered; past this the table starts afresh (upstreams are a handful).
const MAX_ENTRIES: usize = 256;

/// What is known of one server.
#[derive(Debug, Clone, Copy, Default)]
struct Estimate {
    /// (SRTT, RTTVAR) once a round trip was measured.
    smoothed: Option<(Duration, Duration)>,
    down_since: Option<Instant>,
}

/// Estimates of all upstream servers.
#[derive(Debug, Default)]
pub(super) struct RttTable {
    servers: Mutex<HashMap<SocketAddr, Estimate>>,
}

impl RttTable {
    /// The first retransmission timeout for `server`: `SRTT + 4·RTTVAR` (RFC 6298 §2.3)
    /// clamped to [`floor`, 1 s] once measured, `floor` (the configured first retransmit)
    /// before.
    pub(super) fn rto(&self, server: SocketAddr, floor: Duration) -> Duration {
        match self.lock().get(&server).and_then(|e| e.smoothed) {
            Some((srtt, rttvar)) => srtt
                .saturating_add(rttvar.saturating_mul(4))
                .min(MAX_RTO)
                .max(floor),
            None => floor,
        }
    }

    /// A round trip of `sample` to `server`. Only unambiguous samples count (Karn's rule,
    /// RFC 6298 §3: not answers to a retransmitted query). Clears the down mark.
    pub(super) fn observe(&self, server: SocketAddr, sample: Duration) {
        self.update(server, |entry| {
            entry.down_since = None;
            entry.smoothed = Some(match entry.smoothed {
                // §2.2: the first measurement.
                None => (sample, sample / 2),
                // §2.3 with alpha = 1/8, beta = 1/4.
                Some((srtt, rttvar)) => {
                    let deviation = srtt.abs_diff(sample);
                    (srtt * 7 / 8 + sample / 8, rttvar * 3 / 4 + deviation / 4)
                }
            });
        });
    }

    /// `server` answered something (any rcode): it is not down.
    pub(super) fn answered(&self, server: SocketAddr) {
        self.update(server, |entry| entry.down_since = None);
    }

    /// `server` was asked and never answered during a whole exchange.
    pub(super) fn mark_down(&self, server: SocketAddr) {
        let now = Instant::now();
        self.update(server, |entry| {
            entry.down_since.get_or_insert(now);
        });
    }

    /// Indices of `servers` in the order to try: as configured, except that servers marked
    /// down less than [`DOWN_MARK_TTL`] ago go last (the longest-down first among them).
    pub(super) fn order(&self, servers: &[SocketAddr]) -> Vec<usize> {
        let now = Instant::now();
        let table = self.lock();
        let mut order: Vec<(Option<Instant>, usize)> = servers
            .iter()
            .enumerate()
            .map(|(index, server)| {
                let down = table
                    .get(server)
                    .and_then(|e| e.down_since)
                    .filter(|&since| now.saturating_duration_since(since) < DOWN_MARK_TTL);
                (down, index)
            })
            .collect();
        // Stable: servers that are up (None) keep their configured order in front.
        order.sort_by_key(|&(down, _)| down);
        order.into_iter().map(|(_, index)| index).collect()
    }

    fn update(&self, server: SocketAddr, change: impl FnOnce(&mut Estimate)) {
        let mut table = self.lock();
        if table.len() >= MAX_ENTRIES && !table.contains_key(&server) {
            table.clear();
        }
        change(table.entry(server).or_default());
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<SocketAddr, Estimate>> {
        self.servers.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(last: u8) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, last], 53))
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[tokio::test]
    async fn rto_follows_rfc6298_and_down_servers_go_last() {
        let table = RttTable::default();
        assert_eq!(table.rto(addr(1), ms(50)), ms(50));
        table.observe(addr(1), ms(40));
        assert_eq!(table.rto(addr(1), ms(50)), ms(120));
        table.observe(addr(1), ms(40));
        assert_eq!(table.rto(addr(1), ms(50)), ms(100));
        table.observe(addr(2), ms(900));
        assert_eq!(table.rto(addr(2), ms(50)), MAX_RTO);

        let servers = [addr(1), addr(2), addr(3)];
        assert_eq!(table.order(&servers), vec![0, 1, 2]);
        table.mark_down(addr(1));
        assert_eq!(table.order(&servers), vec![1, 2, 0]);
        table.answered(addr(1));
        assert_eq!(table.order(&servers), vec![0, 1, 2]);
    }
}
