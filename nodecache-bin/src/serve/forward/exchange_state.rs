//! The UDP exchange's large state (retransmit schedule, per-server records, 0x20 case bits)
//! in a box taken from a per-thread free list and given back, reset, when the exchange
//! ends, however it ends (answer, failure, or its future dropped by a client that gave
//! up). The exchange's future then holds only a pointer to it and small locals, so it is no
//! longer boxed per miss: its 1,016-octet box (malloc + copy + free, often on glibc's slow
//! path in bursts of misses) was ~600 instructions per miss (callgrind).
//!
//! Per thread as in [`super::recycle`]: no lock; a state released on another thread than
//! the one that took it joins that thread's list; each list keeps at most [`KEPT`].

use std::cell::RefCell;
use std::ops::{Deref, DerefMut};

use resolver_core::inline_list::InlineList;
use resolver_core::transport::{INLINE_SERVERS, RetransmitSchedule};
use tokio::time::Instant;

use super::loop_guard::{OwnKey, OwnQueries};
use super::message::CaseBits;
use super::socket_pool::Registration;
use crate::serve::free_list;

/// States a thread keeps for reuse (a burst of misses on one thread has ~20 in flight).
const KEPT: usize = 64;

thread_local! {
    // Boxes, not the states: the box is what is reused, handed out without moving the state.
    #[allow(clippy::vec_box, reason = "the box itself is the reused allocation")]
    static STATES: RefCell<Vec<Box<ExchangeState>>> = const { RefCell::new(Vec::new()) };
}

/// Per-server bookkeeping of one exchange.
#[derive(Debug, Default)]
pub(super) struct Asked {
    /// Datagrams sent to this server.
    pub(super) sends: u32,
    /// When the first of them went.
    pub(super) first_sent: Option<Instant>,
    /// A checked answer (of any verdict) came from it.
    pub(super) answered: bool,
    /// The socket and ID this server is asked on (claimed at the first send).
    pub(super) registration: Option<Registration>,
    /// The loop guard's record of that ID, removed when the state is released.
    pub(super) own: Option<OwnKey>,
}

/// The per-server records of one exchange, by server index: inline for up to
/// [`INLINE_SERVERS`] servers, on the heap beyond (dhat: the `Vec` it replaced was one
/// 96-octet allocation per miss).
pub(super) type AskedTable = InlineList<Asked, INLINE_SERVERS>;

/// What one UDP exchange keeps between its turns, apart from small locals.
#[derive(Debug)]
pub(super) struct ExchangeState {
    /// When each server is due a datagram.
    pub(super) schedule: RetransmitSchedule,
    /// Per-server records, by server index.
    pub(super) asked: AskedTable,
    /// With 0x20, the case the name went out in (the answer must carry it back).
    pub(super) case: Option<CaseBits>,
}

/// One exchange's [`ExchangeState`], reset and given back to its thread's free list when
/// dropped: its servers' sockets and IDs and its loop-guard records go with it.
#[derive(Debug)]
pub(super) struct StateLease<'a> {
    own: &'a OwnQueries,
    /// `None` only once dropped.
    state: Option<Box<ExchangeState>>,
}

impl<'a> StateLease<'a> {
    /// A state for an exchange over `servers` servers following `schedule`, reused when the
    /// thread has one; its loop-guard records go to `own`.
    pub(super) fn take(
        own: &'a OwnQueries,
        schedule: RetransmitSchedule,
        servers: usize,
        case: Option<CaseBits>,
    ) -> StateLease<'a> {
        let state = match free_list::take(&STATES) {
            Some(mut state) => {
                state.schedule = schedule;
                state.case = case;
                // Released records are defaults already: only the count is set.
                match &mut state.asked {
                    InlineList::Inline { len, .. } if servers <= INLINE_SERVERS => *len = servers,
                    asked => *asked = AskedTable::defaults(servers),
                }
                state
            }
            None => Box::new(ExchangeState {
                schedule,
                asked: AskedTable::defaults(servers),
                case,
            }),
        };
        StateLease {
            own,
            state: Some(state),
        }
    }
}

impl Deref for StateLease<'_> {
    type Target = ExchangeState;

    fn deref(&self) -> &ExchangeState {
        match &self.state {
            Some(state) => state,
            None => unreachable!("taken only when the lease is dropped"),
        }
    }
}

impl DerefMut for StateLease<'_> {
    fn deref_mut(&mut self) -> &mut ExchangeState {
        match &mut self.state {
            Some(state) => state,
            None => unreachable!("taken only when the lease is dropped"),
        }
    }
}

impl Drop for StateLease<'_> {
    fn drop(&mut self) {
        let Some(mut state) = self.state.take() else {
            return;
        };
        // Every record back to its default (registrations dropped: their IDs are free on
        // their sockets again), the loop guard's records removed.
        for record in state.asked.iter_mut() {
            if let Some(key) = record.own.take() {
                self.own.remove(key);
            }
            *record = Asked::default();
        }
        if matches!(state.asked, InlineList::Heap(_)) {
            // A large zone's heap table is not kept.
            state.asked = AskedTable::new();
        }
        free_list::keep(&STATES, state, KEPT);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::serve::forward::{Question, QuestionName};
    use std::time::Duration;

    fn schedule() -> RetransmitSchedule {
        let second = Duration::from_secs(1);
        RetransmitSchedule::new(2, 0, second, second, second)
    }

    #[test]
    fn released_state_is_reset_and_reused_on_its_thread() {
        let own = OwnQueries::default();
        let question = Question {
            name: QuestionName::new(b"\x01a\x00").expect("name"),
            qtype: 1,
            qclass: 1,
        };
        let mut lease = StateLease::take(&own, schedule(), 2, None);
        let address: *const ExchangeState = &*lease;
        let record = lease.asked.get_mut(1).expect("two servers");
        record.sends = 3;
        record.answered = true;
        record.own = Some(own.add(7, &question));
        assert!(own.contains(7, &question));
        drop(lease);
        assert!(
            !own.contains(7, &question),
            "the loop guard's record went with it"
        );

        let lease = StateLease::take(&own, schedule(), 3, None);
        assert_eq!(
            &*lease as *const ExchangeState, address,
            "the box came back"
        );
        assert_eq!(lease.asked.len(), 3);
        assert!(
            lease
                .asked
                .iter()
                .all(|a| a.sends == 0 && !a.answered && a.own.is_none())
        );
        drop(lease);
        let large = StateLease::take(&own, schedule(), INLINE_SERVERS + 1, None);
        assert_eq!(large.asked.len(), INLINE_SERVERS + 1);
    }
}
