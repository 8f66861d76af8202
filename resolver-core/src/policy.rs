//! The search-path policy: which absolute names to ask for a name given to getaddrinfo, and why.
//!
//! Two modes (SPEC §4):
//! - [`SearchMode::Glibc`]: exactly glibc's `__res_context_search` sequence.
//! - [`SearchMode::Kubernetes`] (default when the search list looks like a pod's): the same
//!   sequence minus candidates the Kubernetes DNS schema says cannot exist, and with names that
//!   already end in a search suffix or the cluster zone treated as absolute.
// TODO(helper:policy): implement the bodies.

use std::fmt;

use crate::config::ResolvConf;
use crate::name::NameError;

/// Which candidate sequence to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SearchMode {
    /// glibc's exact sequence.
    Glibc,
    /// glibc's sequence pruned by the Kubernetes DNS schema.
    Kubernetes,
}

/// Why a candidate is asked.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AskReason {
    /// The name ends in a dot: absolute, asked as-is only.
    TrailingDot,
    /// The name has at least `ndots` dots: asked as-is before the search list.
    NdotsReached {
        /// Dots in the name.
        dots: usize,
        /// resolv.conf ndots.
        ndots: u8,
    },
    /// The name with a search suffix appended.
    SearchSuffix {
        /// The suffix.
        suffix: String,
    },
    /// The name as-is after the search list was exhausted.
    AsIsLast,
    /// Kubernetes mode: the name already ends in this search suffix or cluster zone, so it is
    /// absolute.
    EndsInSearchDomain {
        /// The suffix or zone it ends in.
        suffix: String,
    },
}

/// Why a candidate glibc would ask is skipped.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SkipReason {
    /// The Kubernetes DNS schema says no such name can exist; `rule` quotes the schema rule.
    KubernetesSchema {
        /// Human-readable rule, e.g. "a name under <ns>.svc.<zone> has 1 or 2 labels".
        rule: &'static str,
    },
    /// The name already ends in a search suffix or the cluster zone; searching is pointless.
    AlreadyQualified {
        /// The suffix it ends in.
        suffix: String,
    },
}

/// One absolute name to ask, without trailing dot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// The absolute name (no trailing dot).
    pub name: String,
    /// Why it is asked.
    pub reason: AskReason,
}

/// The ordered candidates for one name.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Plan {
    /// Asked in this order until one has an answer.
    pub candidates: Vec<Candidate>,
}

/// One line of `nodecache explain`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExplainStep {
    /// The absolute name.
    pub name: String,
    /// glibc would ask it (A and AAAA, in parallel).
    pub glibc_asks: bool,
    /// nodecache asks it; when not, `skipped` says why.
    pub nodecache_asks: bool,
    /// Why glibc or nodecache asks it.
    pub ask_reason: Option<AskReason>,
    /// Why nodecache does not.
    pub skipped: Option<SkipReason>,
}

/// The policy for one resolv.conf.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchPolicy {}

impl SearchPolicy {
    /// Builds the policy. `mode` `None` picks Kubernetes when the search list looks like a
    /// pod's (`<ns>.svc.<zone> svc.<zone> <zone>`), glibc otherwise.
    pub fn new(conf: &ResolvConf, mode: Option<SearchMode>) -> Self {
        let _ = (conf, mode);
        todo!()
    }

    /// The mode in force.
    pub fn mode(&self) -> SearchMode {
        todo!()
    }

    /// The cluster zone (`cluster.local`) when the search list is a pod's.
    pub fn cluster_zone(&self) -> Option<&str> {
        todo!()
    }

    /// The candidates nodecache asks, in order.
    pub fn plan(&self, name: &str) -> Result<Plan, NameError> {
        let _ = name;
        todo!()
    }

    /// The candidates glibc asks, in order.
    pub fn glibc_plan(&self, name: &str) -> Result<Plan, NameError> {
        let _ = name;
        todo!()
    }

    /// Both sequences side by side, for `nodecache explain`.
    pub fn explain(&self, name: &str) -> Result<Vec<ExplainStep>, NameError> {
        let _ = name;
        todo!()
    }
}

impl fmt::Display for AskReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let _ = f;
        todo!()
    }
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let _ = f;
        todo!()
    }
}
