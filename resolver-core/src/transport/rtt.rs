//! What the transport remembers between questions, per nameserver: a smoothed round-trip time
//! (RFC 6298 §2) to size its retransmission timeout, and a "down" mark after it timed out.
//!
//! glibc marks a server that timed out as down for the rest of the process (`res_send.c`,
//! `statp->_u._ext.nssocks` / `RES_F_...` bookkeeping) until every server is down. Here a mark
//! sends the server behind the others for [`DOWN_MARK_TTL`] and then decays, so a server that
//! came back is used again without anyone restarting the process.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use super::retransmit::{INLINE_SERVERS, RetransmitSchedule};
use crate::inline_list::InlineList;

/// Largest RTO derived from measurements: a server slower than this is better raced against
/// the next one.
pub(super) const MAX_RTO: Duration = Duration::from_secs(1);
/// How long a server that timed out stays behind the others.
pub(super) const DOWN_MARK_TTL: Duration = Duration::from_secs(30);
/// Servers remembered (resolv.conf has at most 3; the daemon a few upstreams per zone).
const MAX_ENTRIES: usize = 32;

#[derive(Debug, Clone, Copy)]
struct Entry {
    server: SocketAddr,
    /// (SRTT, RTTVAR) once a round trip was measured.
    estimate: Option<(Duration, Duration)>,
    down_since: Option<Instant>,
    last_used: Instant,
}

/// Per-server round-trip estimates and down marks, shared by all questions of a transport
/// (the shim's `SystemTransport`, the daemon's forwarder). Time is passed in.
#[derive(Debug, Default)]
pub struct RttTable {
    entries: Mutex<Vec<Entry>>,
}

impl RttTable {
    /// The initial retransmission timeout for `server`: `SRTT + 4·RTTVAR` (RFC 6298 §2.3)
    /// clamped to [`floor`, [`MAX_RTO`]] once measured, `floor` (the configured first
    /// retransmit) before that.
    pub fn rto(&self, server: SocketAddr, floor: Duration) -> Duration {
        rto_in(&self.entries.lock(), server, floor)
    }

    /// The retransmit schedule of one question to `servers`: tried in [`order`](Self::order)
    /// from `start`, each server's first retransmit after its [`rto`](Self::rto) (floor
    /// `first_retransmit`), delays capped at `per_try_cap`, nothing sent after `budget`.
    ///
    /// One lock for the order and every RTO, and no allocation for up to four servers: the
    /// daemon plans every cache miss this way (callgrind: ~880 instructions and 4
    /// allocations per miss for `order`, `with_order` and an `rto` per server before, ~500
    /// and none with this).
    pub fn schedule(
        &self,
        servers: &[SocketAddr],
        start: usize,
        now: Instant,
        first_retransmit: Duration,
        per_try_cap: Duration,
        budget: Duration,
    ) -> RetransmitSchedule {
        let entries = self.entries.lock();
        // One server (a zone with a single upstream: the daemon's usual case): no order to
        // work out, down or not (callgrind: ~200 instructions per daemon cache miss).
        if let [server] = servers {
            let mut schedule =
                RetransmitSchedule::with_order(1, &[0], first_retransmit, per_try_cap, budget);
            schedule.set_rto(0, rto_in(&entries, *server, first_retransmit));
            return schedule;
        }
        let order = order_in(&entries, servers, start, now);
        let mut schedule = RetransmitSchedule::with_order(
            servers.len(),
            &order,
            first_retransmit,
            per_try_cap,
            budget,
        );
        for (index, &server) in servers.iter().enumerate() {
            schedule.set_rto(index, rto_in(&entries, server, first_retransmit));
        }
        schedule
    }

    /// A round trip of `sample` to `server` (only for unambiguous samples: Karn's rule, RFC
    /// 6298 §3, excludes answers to retransmitted queries). Also clears its down mark.
    pub fn observe(&self, server: SocketAddr, sample: Duration, now: Instant) {
        self.update(server, now, |entry| {
            entry.down_since = None;
            entry.estimate = Some(match entry.estimate {
                // RFC 6298 §2.2: first measurement.
                None => (sample, sample / 2),
                // §2.3 with alpha = 1/8, beta = 1/4, in whole nanoseconds: `Duration`'s
                // own multiply and divide (seconds and nanoseconds apart, checked) cost a
                // daemon miss ~25 instructions more (callgrind).
                Some((srtt, rttvar)) => {
                    let (srtt, rttvar, sample) = (nanos(srtt), nanos(rttvar), nanos(sample));
                    let deviation = srtt.abs_diff(sample);
                    (
                        Duration::from_nanos(srtt.saturating_mul(7) / 8 + sample / 8),
                        Duration::from_nanos(rttvar.saturating_mul(3) / 4 + deviation / 4),
                    )
                }
            });
        });
    }

    /// `server` answered (whatever the rcode): it is not down.
    pub fn answered(&self, server: SocketAddr, now: Instant) {
        self.update(server, now, |entry| entry.down_since = None);
    }

    /// `server` did not answer within its RTO: try the others first for a while.
    pub fn mark_down(&self, server: SocketAddr, now: Instant) {
        self.update(server, now, |entry| {
            entry.down_since.get_or_insert(now);
        });
    }

    /// Server indices in the order to try: round-robin from `start`, then servers marked down
    /// less than [`DOWN_MARK_TTL`] ago moved behind the others (the longest-down first, as it is
    /// the likeliest to be back).
    pub fn order(&self, servers: &[SocketAddr], start: usize, now: Instant) -> Vec<usize> {
        order_in(&self.entries.lock(), servers, start, now).to_vec()
    }

    fn update(&self, server: SocketAddr, now: Instant, change: impl FnOnce(&mut Entry)) {
        let mut entries = self.entries.lock();
        let index = match entries.iter().position(|e| e.server == server) {
            Some(index) => index,
            None => {
                if entries.len() >= MAX_ENTRIES
                    && let Some(oldest) = (0..entries.len()).min_by_key(|&i| entries[i].last_used)
                {
                    entries.swap_remove(oldest);
                }
                entries.push(Entry {
                    server,
                    estimate: None,
                    down_since: None,
                    last_used: now,
                });
                entries.len() - 1
            }
        };
        if let Some(entry) = entries.get_mut(index) {
            entry.last_used = now;
            change(entry);
        }
    }
}

/// `duration` in nanoseconds (saturating: a round trip is seconds at most).
fn nanos(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}

/// [`RttTable::rto`] over the locked entries.
fn rto_in(entries: &[Entry], server: SocketAddr, floor: Duration) -> Duration {
    let estimate = entries
        .iter()
        .find(|e| e.server == server)
        .and_then(|e| e.estimate);
    match estimate {
        Some((srtt, rttvar)) => srtt
            .saturating_add(rttvar.saturating_mul(4))
            .min(MAX_RTO)
            .max(floor),
        None => floor,
    }
}

/// [`RttTable::order`] over the locked entries, inline for up to [`INLINE_SERVERS`].
fn order_in(
    entries: &[Entry],
    servers: &[SocketAddr],
    start: usize,
    now: Instant,
) -> InlineList<usize, INLINE_SERVERS> {
    let start = start.checked_rem(servers.len()).unwrap_or(0);
    let down_since = |server: &SocketAddr| {
        entries
            .iter()
            .find(|e| e.server == *server)
            .and_then(|e| e.down_since)
            .filter(|&since| now.saturating_duration_since(since) < DOWN_MARK_TTL)
    };
    let mut marked: InlineList<(Option<Instant>, usize), INLINE_SERVERS> = InlineList::new();
    for index in (start..servers.len()).chain(0..start) {
        if let Some(server) = servers.get(index) {
            marked.push((down_since(server), index));
        }
    }
    // Stable: `None` (up) sorts first and keeps the rotation among up servers. Skipped
    // when no server is down (almost always); a stable sort of a few items is an insertion
    // sort and allocates nothing.
    if marked.iter().any(|(since, _)| since.is_some()) {
        marked.sort_by_key(|&(since, _)| since);
    }
    let mut order = InlineList::new();
    for &(_, index) in marked.iter() {
        order.push(index);
    }
    order
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

    #[test]
    fn rto_follows_rfc6298_and_is_clamped() {
        let table = RttTable::default();
        let now = Instant::now();
        let floor = ms(50);
        assert_eq!(table.rto(addr(1), floor), floor);
        // First sample 40 ms: SRTT 40, RTTVAR 20, RTO 120.
        table.observe(addr(1), ms(40), now);
        assert_eq!(table.rto(addr(1), floor), ms(120));
        // Second sample 40 ms: SRTT 40, RTTVAR 15, RTO 100.
        table.observe(addr(1), ms(40), now);
        assert_eq!(table.rto(addr(1), floor), ms(100));
        // Third sample 1.2 s: SRTT 40 − 5 + 150 = 185, RTTVAR 11.25 + 290 = 301.25 (to the
        // nanosecond), RTO capped.
        table.observe(addr(1), ms(1200), now);
        let estimate = table.entries.lock().first().and_then(|e| e.estimate);
        assert_eq!(estimate, Some((ms(185), Duration::from_micros(301_250))));
        // A fast server never goes below the floor, a slow one never above 1 s.
        table.observe(addr(2), Duration::from_micros(100), now);
        assert_eq!(table.rto(addr(2), floor), floor);
        table.observe(addr(3), ms(900), now);
        assert_eq!(table.rto(addr(3), floor), MAX_RTO);
        // A floor above the cap wins (a configured first retransmit of 2 s).
        assert_eq!(table.rto(addr(3), ms(2000)), ms(2000));
    }

    #[test]
    fn down_servers_move_behind_and_decay() {
        let table = RttTable::default();
        let servers = [addr(1), addr(2), addr(3)];
        let now = Instant::now();
        assert_eq!(table.order(&servers, 0, now), vec![0, 1, 2]);
        assert_eq!(table.order(&servers, 4, now), vec![1, 2, 0]);
        table.mark_down(addr(1), now);
        assert_eq!(table.order(&servers, 0, now), vec![1, 2, 0]);
        assert_eq!(table.order(&servers, 2, now), vec![2, 1, 0]);
        table.mark_down(addr(3), now + ms(10));
        assert_eq!(table.order(&servers, 0, now + ms(20)), vec![1, 0, 2]);
        // An answer clears the mark; time clears the other.
        table.answered(addr(3), now + ms(30));
        assert_eq!(table.order(&servers, 0, now + ms(40)), vec![1, 2, 0]);
        assert_eq!(table.order(&servers, 0, now + DOWN_MARK_TTL), vec![0, 1, 2]);
        assert_eq!(table.order(&[], 3, now), Vec::<usize>::new());
    }

    #[test]
    fn schedule_follows_order_and_learnt_rtos() {
        let table = RttTable::default();
        let now = Instant::now();
        let five: Vec<SocketAddr> = (1..=5).map(addr).collect();
        table.observe(addr(2), ms(40), now);
        table.mark_down(addr(1), now);
        for servers in [&five[..3], &five[..]] {
            let schedule = table.schedule(servers, 0, now, ms(50), ms(1000), ms(2000));
            let mut want = RetransmitSchedule::with_order(
                servers.len(),
                &table.order(servers, 0, now),
                ms(50),
                ms(1000),
                ms(2000),
            );
            for (index, &server) in servers.iter().enumerate() {
                want.set_rto(index, table.rto(server, ms(50)));
            }
            assert_eq!(
                schedule.timeline(),
                want.timeline(),
                "{} servers",
                servers.len()
            );
            // Server 1 (down) goes last; server 2's first retransmit waits its 120 ms RTO.
            let timeline = schedule.timeline();
            let first: Vec<usize> = timeline
                .iter()
                .take(servers.len())
                .map(|s| s.server)
                .collect();
            assert_eq!(first.last(), Some(&0), "{timeline:?}");
            assert_eq!(timeline.get(1).map(|s| s.at), Some(ms(120)), "{timeline:?}");
        }
        // One server (the shortcut), down or with a learnt RTO: the same plan as the
        // general way would make.
        for server in [addr(1), addr(2), addr(3)] {
            let schedule = table.schedule(&[server], 0, now, ms(50), ms(1000), ms(2000));
            let order = table.order(&[server], 0, now);
            let mut want = RetransmitSchedule::with_order(1, &order, ms(50), ms(1000), ms(2000));
            want.set_rto(0, table.rto(server, ms(50)));
            assert_eq!(schedule.timeline(), want.timeline(), "{server}");
        }
        let learnt = table.schedule(&[addr(2)], 0, now, ms(50), ms(1000), ms(2000));
        assert_eq!(learnt.timeline().get(1).map(|s| s.at), Some(ms(120)));
    }

    #[test]
    fn table_is_bounded() {
        let table = RttTable::default();
        let now = Instant::now();
        for port in 0..100u16 {
            let server = SocketAddr::from(([127, 0, 0, 1], port));
            table.observe(server, ms(5), now + Duration::from_secs(u64::from(port)));
        }
        assert_eq!(table.entries.lock().len(), MAX_ENTRIES);
        // The most recent ones are kept.
        let last = SocketAddr::from(([127, 0, 0, 1], 99));
        assert_eq!(table.rto(last, ms(1)), ms(15));
    }
}
