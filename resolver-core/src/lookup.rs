//! The lookup state machine: which question to ask next, and when the search is over.
//!
//! Sans-IO: [`Lookup::next_step`] says what to ask, [`Lookup::record`] takes what came back
//! (from the cache or the wire). The blocking resolver drives it today; the daemon can drive
//! the same machine from its event loop. Rules, per candidate of the search [`Plan`]:
//! - A first, then AAAA — never both in flight (SPEC §4: the conntrack race of parallel
//!   queries on one socket is what makes glibc lose 5 s).
//! - NXDOMAIN for A ends the candidate: nothing of any type exists at that name (RFC 8020),
//!   so its AAAA is not asked.
//! - A candidate whose answer section is not empty for either type ends the search, as in
//!   glibc's `__res_context_search`, even when the records are only a CNAME chain. When no
//!   type gave an address there, the lookup fails with [`Error::NoRecovery`]: glibc's
//!   `getanswer_r` finds no address in a non-empty answer and sets `h_errno = NO_RECOVERY`
//!   (measured: `gethostbyname` of a CNAME to a name without A records).
//! - NXDOMAIN, NODATA and SERVFAIL move to the next candidate; any other failure (timeout,
//!   REFUSED, …) ends the search with that error (glibc: `default: done++`).
//! - When every candidate failed: the error of the as-is query asked first because of ndots
//!   wins (glibc's `saved_herrno`), else NODATA if any candidate had it, else SERVFAIL if any
//!   had it, else NXDOMAIN.
//! - Before settling on NXDOMAIN or SERVFAIL, the plan's deferred candidates (pruned names that
//!   may exist without addresses) are asked with one type: glibc asked them, and a NODATA there
//!   makes its error `EAI_NODATA` instead of `EAI_NONAME`.

use std::net::IpAddr;

use crate::error::Error;
use crate::policy::{AskReason, Plan};
use crate::wire::rtype;

/// What one question produced, as far as the search is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueryOutcome {
    /// NOERROR with a non-empty answer section. `addrs` may still be empty (a CNAME chain
    /// that ends without records of this type); the candidate counts as found all the same.
    Answer {
        /// Addresses of the asked type at the end of the chain.
        addrs: Vec<IpAddr>,
        /// The end of the CNAME chain, when the answer went through one.
        canonical_name: Option<String>,
    },
    /// NOERROR with an empty answer section.
    NoData,
    /// NXDOMAIN.
    NxDomain,
    /// SERVFAIL from every nameserver.
    ServFail,
    /// A failure that ends the search (timeout, I/O, REFUSED, malformed answer).
    Failed(FailureKind),
}

/// Failures that end the search, kept as plain data so outcomes can be cached and cloned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// No answer in time.
    Timeout(std::time::Duration),
    /// An rcode other than NOERROR, NXDOMAIN and SERVFAIL.
    Rcode(u8),
    /// Socket or decoding trouble; the detail went to the log.
    Network,
}

impl FailureKind {
    fn into_error(self) -> Error {
        match self {
            FailureKind::Timeout(d) => Error::Timeout(d),
            FailureKind::Rcode(r) => Error::Rcode(r),
            FailureKind::Network => Error::io(None, std::io::ErrorKind::Other.into()),
        }
    }
}

/// Which record types a lookup wants, in asking order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueryTypes {
    /// Ask A.
    pub a: bool,
    /// Ask AAAA.
    pub aaaa: bool,
}

/// The result of a successful lookup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// The candidate that answered (absolute, no trailing dot).
    pub name: String,
    /// The canonical name: the end of the CNAME chain, or `name`.
    pub canonical_name: String,
    /// IPv4 addresses (from the A answer), then IPv6 addresses (from the AAAA answer).
    pub addrs: Vec<IpAddr>,
}

/// What the driver must do next.
#[derive(Debug)]
pub enum Step<'a> {
    /// Ask this question and [`Lookup::record`] the outcome.
    Ask {
        /// Absolute name, no trailing dot.
        name: &'a str,
        /// [`rtype::A`] or [`rtype::AAAA`].
        qtype: u16,
    },
    /// The search is over.
    Done(Result<Found, Error>),
}

/// Aggregate of the negative outcomes seen so far, to pick the final error like glibc.
#[derive(Debug, Default, Clone, Copy)]
struct Misses {
    saw_nodata: bool,
    saw_servfail: bool,
    /// Outcome of the as-is query asked first because the name had ≥ ndots dots.
    first_as_is: Option<Negative>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Negative {
    NxDomain,
    NoData,
    ServFail,
}

/// Per-candidate progress.
#[derive(Debug, Default)]
struct CandidateState {
    /// Index into the types to ask: 0 = A, 1 = AAAA.
    next_type: usize,
    found: bool,
    addrs: Vec<IpAddr>,
    canonical_name: Option<String>,
    negative: Option<Negative>,
}

/// One lookup in progress.
#[derive(Debug)]
pub struct Lookup {
    plan: Plan,
    /// Index in `plan.candidates` where the deferred candidates start.
    deferred_start: usize,
    types: [Option<u16>; 2],
    candidate: usize,
    state: CandidateState,
    misses: Misses,
    result: Option<Result<Found, ErrorSlot>>,
}

/// Errors are not `Clone`; keep what is needed to rebuild the final one.
#[derive(Debug, Clone, Copy)]
enum ErrorSlot {
    Failed(FailureKind),
    Negative(Negative),
    /// A candidate answered (non-empty answer section) without any address.
    NoRecovery,
}

impl Lookup {
    /// Starts a lookup over `plan`. With no type to ask (e.g. `no-aaaa` and `AF_INET6`) every
    /// candidate is NODATA, as glibc's synthesised empty AAAA answers make it.
    pub fn new(plan: Plan, types: QueryTypes) -> Self {
        let mut plan = plan;
        let deferred_start = plan.candidates.len();
        let deferred = std::mem::take(&mut plan.deferred);
        let known_empty_non_terminal = plan.known_empty_non_terminal;
        plan.candidates.extend(deferred);
        let types = match (types.a, types.aaaa) {
            (true, true) => [Some(rtype::A), Some(rtype::AAAA)],
            (true, false) => [Some(rtype::A), None],
            (false, true) => [Some(rtype::AAAA), None],
            (false, false) => [None, None],
        };
        let mut lookup = Lookup {
            plan,
            deferred_start,
            types,
            candidate: 0,
            state: CandidateState::default(),
            misses: Misses::default(),
            result: None,
        };
        lookup.misses.saw_nodata = known_empty_non_terminal;
        if lookup.types[0].is_none() {
            lookup.misses.saw_nodata = true;
            lookup.finish_exhausted();
        } else if lookup.deferred_start == 0 {
            lookup.enter_deferred_or_finish();
        }
        lookup
    }

    /// What to do next.
    pub fn next_step(&self) -> Step<'_> {
        if let Some(result) = &self.result {
            return Step::Done(match result {
                Ok(found) => Ok(found.clone()),
                Err(ErrorSlot::Failed(kind)) => Err(kind.into_error()),
                Err(ErrorSlot::Negative(n)) => Err(negative_error(*n)),
                Err(ErrorSlot::NoRecovery) => Err(Error::NoRecovery),
            });
        }
        let name = &self.plan.candidates[self.candidate].name;
        let qtype = self.types[self.state.next_type].unwrap_or(rtype::A);
        Step::Ask { name, qtype }
    }

    /// Records the outcome of the question [`Lookup::next_step`] asked for.
    pub fn record(&mut self, outcome: QueryOutcome) {
        if self.result.is_some() {
            return;
        }
        let asked = self.types[self.state.next_type];
        self.state.next_type += 1;
        match outcome {
            QueryOutcome::Answer {
                addrs,
                canonical_name,
            } => {
                self.state.found = true;
                self.state.addrs.extend(addrs);
                if self.state.canonical_name.is_none() {
                    self.state.canonical_name = canonical_name;
                }
            }
            QueryOutcome::NoData => self.note_negative(Negative::NoData),
            QueryOutcome::ServFail => self.note_negative(Negative::ServFail),
            QueryOutcome::NxDomain => {
                self.note_negative(Negative::NxDomain);
                // RFC 8020: nothing exists below an NXDOMAIN name, so no other type either.
                if asked == Some(rtype::A) {
                    self.state.next_type = self.types.len();
                }
            }
            QueryOutcome::Failed(kind) => {
                self.result = Some(Err(ErrorSlot::Failed(kind)));
                return;
            }
        }
        // Deferred candidates only need to say whether they exist: one type is enough.
        let in_deferred = self.candidate >= self.deferred_start;
        let more_types = !in_deferred
            && self
                .types
                .get(self.state.next_type)
                .copied()
                .flatten()
                .is_some();
        if !more_types {
            self.finish_candidate();
        }
    }

    fn note_negative(&mut self, negative: Negative) {
        // NXDOMAIN on either type decides the candidate over NODATA/SERVFAIL of the other
        // only when nothing better was seen; keep the most informative.
        self.state.negative = Some(match (self.state.negative, negative) {
            (Some(Negative::NoData), _) | (_, Negative::NoData) => Negative::NoData,
            (Some(Negative::ServFail), _) | (_, Negative::ServFail) => Negative::ServFail,
            _ => Negative::NxDomain,
        });
    }

    fn finish_candidate(&mut self) {
        let state = std::mem::take(&mut self.state);
        let candidate = &self.plan.candidates[self.candidate];
        if state.found && state.addrs.is_empty() {
            // The search stops here as in glibc, but there is nothing to return.
            self.result = Some(Err(ErrorSlot::NoRecovery));
            return;
        }
        if state.found {
            self.result = Some(Ok(Found {
                canonical_name: state
                    .canonical_name
                    .unwrap_or_else(|| candidate.name.clone()),
                name: candidate.name.clone(),
                addrs: state.addrs,
            }));
            return;
        }
        let negative = state.negative.unwrap_or(Negative::NxDomain);
        match negative {
            Negative::NoData => self.misses.saw_nodata = true,
            Negative::ServFail => self.misses.saw_servfail = true,
            Negative::NxDomain => {}
        }
        if matches!(candidate.reason, AskReason::NdotsReached { .. }) {
            self.misses.first_as_is = Some(negative);
        }
        self.candidate += 1;
        if self.candidate == self.deferred_start {
            self.enter_deferred_or_finish();
        } else if self.candidate >= self.plan.candidates.len() {
            self.finish_exhausted();
        }
    }

    /// After the real candidates: ask the deferred ones only when they could still change the
    /// error (nothing has settled it as the as-is error or NODATA yet).
    fn enter_deferred_or_finish(&mut self) {
        let settled = self.misses.first_as_is.is_some() || self.misses.saw_nodata;
        if settled || self.deferred_start >= self.plan.candidates.len() {
            self.finish_exhausted();
        }
    }

    fn finish_exhausted(&mut self) {
        let negative = if let Some(first) = self.misses.first_as_is {
            first
        } else if self.misses.saw_nodata {
            Negative::NoData
        } else if self.misses.saw_servfail {
            Negative::ServFail
        } else {
            Negative::NxDomain
        };
        self.result = Some(Err(ErrorSlot::Negative(negative)));
    }
}

fn negative_error(negative: Negative) -> Error {
    match negative {
        Negative::NxDomain => Error::NxDomain,
        Negative::NoData => Error::NoData,
        Negative::ServFail => Error::ServFail,
    }
}

#[cfg(test)]
mod tests;
