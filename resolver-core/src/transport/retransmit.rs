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
pub const INLINE_SERVERS: usize = 4;

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
mod tests;
