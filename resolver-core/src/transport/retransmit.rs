//! When to send which datagram to which nameserver: a sans-IO schedule shared by the blocking
//! transport and the daemon.
//!
//! Policy (SPEC §4, "a lost packet costs milliseconds, not seconds"): send to the first server
//! of the order; each time the current retransmission timeout (RTO) passes without an answer,
//! send to the next server round-robin, doubling the delay each time (50, 100, 200, 400 ms, …)
//! but never waiting longer than the resolv.conf `timeout` between two sends. Nothing is sent
//! once the total budget (`timeout × attempts`) is spent; the budget is also the deadline.
//!
//! glibc instead waits `timeout << attempt` per server (`resolv/res_send.c`, `send_dg`), so one
//! lost datagram costs 5 s; the doubling here is RFC 6298 §5.5's back-off applied to a much
//! smaller initial RTO, which is what stub resolvers on lossy links need.
//!
//! Times are offsets from the start of the question: the caller owns the clock.

use std::time::Duration;

use crate::inline_list::InlineList;

/// Servers whose per-question tables live inline in the schedule (no allocation): more than
/// resolv.conf's 3 (glibc `MAXNS`) and than the daemon's zones list in practice. callgrind:
/// the three `Vec`s a schedule used to allocate were ~370 of the ~490 instructions it cost
/// per daemon cache miss.
pub(in crate::transport) const INLINE_SERVERS: usize = 4;

/// Upper bound on datagrams per question, whatever the configuration (a zero RTO and a long
/// budget would otherwise mean a send every millisecond).
const MAX_SENDS: u32 = 64;
/// Smallest delay between two sends.
const MIN_DELAY: Duration = Duration::from_millis(1);

/// One datagram the schedule wants sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlannedSend {
    /// Index of the nameserver in the configuration's list.
    pub server: usize,
    /// When to send it, as an offset from the start of the question.
    pub at: Duration,
}

/// What we know of one nameserver during this question.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum ServerState {
    /// Not sent to yet.
    #[default]
    Unasked,
    /// Sent to, no answer yet.
    Asked,
    /// Answered with an rcode that means "ask someone else", or could not be sent to:
    /// skipped from now on.
    Failed,
}

/// The retransmission plan of one question.
///
/// Use: [`next_send`](Self::next_send) says what to send and when; after sending, call
/// [`sent`](Self::sent). When a server answers SERVFAIL/REFUSED/NOTIMP/FORMERR (or cannot be
/// reached), call [`server_failed`](Self::server_failed): the next server not asked yet is then
/// due at once, as glibc's `res_send` moves on without waiting.
#[derive(Debug, Clone)]
pub struct RetransmitSchedule {
    /// Server indices in the order they are tried, round-robin.
    order: InlineList<usize, INLINE_SERVERS>,
    /// Initial RTO of each server (by index): the first retransmit delay, or one learnt from
    /// its round-trip times.
    rto: InlineList<Duration, INLINE_SERVERS>,
    /// Where each server (by index) stands in this question.
    state: InlineList<ServerState, INLINE_SERVERS>,
    per_try_cap: Duration,
    budget: Duration,
    /// Datagrams sent so far.
    sends: u32,
    /// Position in `order` of the next send.
    cursor: usize,
    /// When the next send is due.
    next_at: Duration,
}

impl RetransmitSchedule {
    /// The plan for `servers` nameservers tried round-robin from `start` (the `rotate` offset),
    /// the first retransmission after `first_retransmit`, delays doubling up to `per_try_cap`
    /// (resolv.conf `timeout`), nothing sent after `budget`.
    pub fn new(
        servers: usize,
        start: usize,
        first_retransmit: Duration,
        per_try_cap: Duration,
        budget: Duration,
    ) -> Self {
        let start = start.checked_rem(servers).unwrap_or(0);
        let mut order: InlineList<usize, INLINE_SERVERS> = InlineList::new();
        for index in (start..servers).chain(0..start) {
            order.push(index);
        }
        Self::with_order(servers, &order, first_retransmit, per_try_cap, budget)
    }

    /// Like [`new`](Self::new) with an explicit try order (server indices; out-of-range and
    /// repeated indices are dropped). Servers left out are never asked.
    pub fn with_order(
        servers: usize,
        order: &[usize],
        first_retransmit: Duration,
        per_try_cap: Duration,
        budget: Duration,
    ) -> Self {
        let mut kept = InlineList::new();
        for &index in order {
            if index < servers && !kept.contains(&index) {
                kept.push(index);
            }
        }
        RetransmitSchedule {
            order: kept,
            rto: InlineList::filled(servers, first_retransmit),
            state: InlineList::filled(servers, ServerState::Unasked),
            per_try_cap,
            budget,
            sends: 0,
            cursor: 0,
            next_at: Duration::ZERO,
        }
    }

    /// Sets the initial RTO of one server (learnt from its round-trip times).
    pub fn set_rto(&mut self, server: usize, rto: Duration) {
        if let Some(slot) = self.rto.get_mut(server) {
            *slot = rto;
        }
    }

    /// The deadline of the whole question: after it, stop waiting.
    pub fn deadline(&self) -> Duration {
        self.budget
    }

    /// The next datagram to send, or `None` when no further send fits in the budget or every
    /// server has failed.
    pub fn next_send(&self) -> Option<PlannedSend> {
        if self.next_at >= self.budget || self.sends >= MAX_SENDS {
            return None;
        }
        let position = self.next_usable(self.cursor, |state| state != ServerState::Failed)?;
        let server = *self.order.get(position)?;
        Some(PlannedSend {
            server,
            at: self.next_at,
        })
    }

    /// Records that the planned datagram went out at `now`; the following one is due one
    /// back-off delay later: `min(rto × 2^sends, per_try_cap)`.
    pub fn sent(&mut self, now: Duration) {
        if let Some(planned) = self.next_send() {
            self.planned_sent(planned, now);
        }
    }

    /// [`sent`](Self::sent) for a caller that holds what [`next_send`](Self::next_send)
    /// returned and has not changed the schedule since (the caller's contract, checked in
    /// debug builds): the plan is not worked out again (callgrind: ~90 instructions per
    /// daemon cache miss).
    pub fn planned_sent(&mut self, planned: PlannedSend, now: Duration) {
        debug_assert_eq!(self.next_send(), Some(planned), "a stale plan");
        if let Some(state) = self.state.get_mut(planned.server) {
            *state = ServerState::Asked;
        }
        let rto = self.rto.get(planned.server).copied().unwrap_or(MIN_DELAY);
        let factor = 1u32.checked_shl(self.sends).unwrap_or(u32::MAX);
        let delay = rto
            .saturating_mul(factor)
            .min(self.per_try_cap)
            .max(MIN_DELAY);
        self.sends += 1;
        if let Some(position) = self.order.iter().position(|&s| s == planned.server) {
            self.cursor = (position + 1) % self.order.len();
        }
        self.next_at = now.max(planned.at).saturating_add(delay);
    }

    /// `server` answered with an rcode that means "ask another server" (SERVFAIL, REFUSED,
    /// NOTIMP, FORMERR), or cannot be reached: it is skipped from now on, and if some server
    /// has not been asked yet it is due at `now` instead of after the RTO.
    pub fn server_failed(&mut self, server: usize, now: Duration) {
        let Some(state) = self.state.get_mut(server) else {
            return;
        };
        *state = ServerState::Failed;
        if let Some(position) = self.next_usable(self.cursor, |s| s == ServerState::Unasked) {
            self.cursor = position;
            self.next_at = self.next_at.min(now);
        }
    }

    /// Every server in the order has failed: no answer can come any more.
    pub fn all_failed(&self) -> bool {
        self.order
            .iter()
            .all(|&s| self.state.get(s) == Some(&ServerState::Failed))
    }

    /// The whole plan if nothing is ever answered (for tests and `explain`-style output).
    pub fn timeline(&self) -> Vec<PlannedSend> {
        let mut plan = self.clone();
        let mut out = Vec::new();
        while let Some(send) = plan.next_send() {
            out.push(send);
            plan.sent(send.at);
        }
        out
    }

    /// First position at or after `from` (round-robin) whose server's state passes `wanted`.
    fn next_usable(&self, from: usize, wanted: impl Fn(ServerState) -> bool) -> Option<usize> {
        let len = self.order.len();
        (0..len).map(|step| (from + step) % len).find(|&position| {
            self.order
                .get(position)
                .and_then(|&s| self.state.get(s))
                .is_some_and(|&state| wanted(state))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_held_plan_records_like_a_fresh_one() {
        let mut by_plan = RetransmitSchedule::new(3, 1, ms(50), ms(400), ms(2000));
        by_plan.server_failed(2, ms(0));
        let mut fresh = by_plan.clone();
        while let Some(planned) = by_plan.next_send() {
            by_plan.planned_sent(planned, planned.at + ms(3));
            fresh.sent(planned.at + ms(3));
            assert_eq!(by_plan.timeline(), fresh.timeline(), "after {planned:?}");
        }
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn plan(sends: &[(usize, u64)]) -> Vec<PlannedSend> {
        sends
            .iter()
            .map(|&(server, at)| PlannedSend { server, at: ms(at) })
            .collect()
    }

    #[test]
    fn timelines_for_one_two_three_servers() {
        // (servers, start, timeout ms, budget ms, expected (server, at ms) sends)
        type Case = (usize, usize, u64, u64, &'static [(usize, u64)]);
        let cases: &[Case] = &[
            // Delays 50, 100, 200, 400, 800 (capped at 1000 from there); 5 s × 1 budget.
            (
                1,
                0,
                1000,
                5000,
                &[
                    (0, 0),
                    (0, 50),
                    (0, 150),
                    (0, 350),
                    (0, 750),
                    (0, 1550),
                    (0, 2550),
                    (0, 3550),
                    (0, 4550),
                ],
            ),
            (
                2,
                0,
                1000,
                2000,
                &[(0, 0), (1, 50), (0, 150), (1, 350), (0, 750), (1, 1550)],
            ),
            (
                3,
                0,
                5000,
                10000,
                &[
                    (0, 0),
                    (1, 50),
                    (2, 150),
                    (0, 350),
                    (1, 750),
                    (2, 1550),
                    (0, 3150),
                    (1, 6350),
                ],
            ),
            // rotate: start at the second server.
            (
                3,
                1,
                300,
                1000,
                &[(1, 0), (2, 50), (0, 150), (1, 350), (2, 650), (0, 950)],
            ),
            // The budget ends the plan even when the cap is longer.
            (2, 0, 5000, 300, &[(0, 0), (1, 50), (0, 150)]),
            (0, 0, 5000, 10000, &[]),
        ];
        for &(servers, start, timeout, budget, want) in cases {
            let schedule = RetransmitSchedule::new(servers, start, ms(50), ms(timeout), ms(budget));
            assert_eq!(
                schedule.timeline(),
                plan(want),
                "{servers} servers from {start}"
            );
            assert_eq!(schedule.deadline(), ms(budget));
        }
    }

    #[test]
    fn first_retry_is_well_under_250ms() {
        let schedule = RetransmitSchedule::new(1, 0, ms(50), ms(5000), ms(10000));
        let timeline = schedule.timeline();
        assert!(timeline[1].at < ms(250));
    }

    #[test]
    fn learnt_rto_replaces_the_first_retransmit() {
        let mut schedule = RetransmitSchedule::new(2, 0, ms(50), ms(5000), ms(1000));
        schedule.set_rto(0, ms(120));
        // Delays: 120 (server 0's RTO), 50 × 2, 120 × 4, then 50 × 8 would pass the budget.
        assert_eq!(
            schedule.timeline(),
            plan(&[(0, 0), (1, 120), (0, 220), (1, 700)])
        );
    }

    #[test]
    fn failed_server_sends_next_unasked_server_at_once() {
        let mut schedule = RetransmitSchedule::new(3, 0, ms(50), ms(1000), ms(2000));
        schedule.sent(ms(0));
        assert_eq!(
            schedule.next_send(),
            Some(PlannedSend {
                server: 1,
                at: ms(50)
            })
        );
        // Server 0 answers SERVFAIL at 10 ms: server 1 is due now, not at 50 ms.
        schedule.server_failed(0, ms(10));
        assert_eq!(
            schedule.next_send(),
            Some(PlannedSend {
                server: 1,
                at: ms(10)
            })
        );
        schedule.sent(ms(10));
        // Server 1 REFUSED at 12 ms: server 2 next, at once.
        schedule.server_failed(1, ms(12));
        assert_eq!(
            schedule.next_send(),
            Some(PlannedSend {
                server: 2,
                at: ms(12)
            })
        );
        schedule.sent(ms(12));
        assert!(!schedule.all_failed());
        // Only server 2 is left: retransmits go to it alone.
        let rest = schedule.timeline();
        assert!(rest.iter().all(|send| send.server == 2), "{rest:?}");
        assert_eq!(
            rest.first(),
            Some(&PlannedSend {
                server: 2,
                at: ms(212)
            })
        );
        schedule.server_failed(2, ms(20));
        assert!(schedule.all_failed());
        assert_eq!(schedule.next_send(), None);
    }

    #[test]
    fn failure_of_an_already_asked_server_keeps_the_timer() {
        let mut schedule = RetransmitSchedule::new(2, 0, ms(50), ms(1000), ms(2000));
        schedule.sent(ms(0));
        schedule.sent(ms(50));
        // Both asked; server 0 fails at 60 ms: nothing unasked, the next send stays at 150 ms
        // but goes to server 1 rather than to the failed server 0.
        schedule.server_failed(0, ms(60));
        assert_eq!(
            schedule.next_send(),
            Some(PlannedSend {
                server: 1,
                at: ms(150)
            })
        );
    }

    #[test]
    fn explicit_order_drops_bad_indices_and_bounds_sends() {
        let schedule = RetransmitSchedule::with_order(2, &[1, 5, 1, 0], ms(0), ms(0), ms(1000));
        let timeline = schedule.timeline();
        assert_eq!(timeline.len(), MAX_SENDS as usize);
        assert_eq!(&timeline[..3], &plan(&[(1, 0), (0, 1), (1, 2)])[..]);
    }
}
