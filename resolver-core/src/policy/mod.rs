//! The search-path policy: which absolute names to ask for a name given to getaddrinfo, and why.
//!
//! Two modes (SPEC §4):
//! - [`SearchMode::Glibc`]: exactly glibc's `__res_context_search` sequence.
//! - [`SearchMode::Kubernetes`] (default when the search list looks like a pod's): the same
//!   sequence minus candidates the Kubernetes DNS schema says cannot exist, and with names that
//!   already end in a search suffix or the cluster zone treated as absolute.
//!
//! The Kubernetes sequence is always a subsequence of glibc's: it only leaves candidates out,
//! never adds or reorders one, so the first candidate with an answer is the one glibc would
//! have stopped at (a public name never shadows a cluster one). The plan only lists names; the
//! lookup engine decides A/AAAA and when to stop.

mod display;
mod kubernetes;
#[cfg(test)]
mod tests;

use crate::config::ResolvConf;
use crate::name::{self, NameError};

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
        /// Human-readable rule, e.g. "names under <ns>.svc.<zone> have 1 or 2 labels".
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
    /// The absolute name (no trailing dot). The caller's spelling is kept (glibc sends the
    /// name as given); only comparisons ignore case.
    pub name: String,
    /// Why it is asked.
    pub reason: AskReason,
}

/// The ordered candidates for one name.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Plan {
    /// Asked in this order until one has an answer.
    pub candidates: Vec<Candidate>,
    /// Pruned candidates the schema says can exist without any address (`<ns>.svc.<zone>`,
    /// `svc.<zone>`, …: empty non-terminals, answered NODATA). They cannot change the answer,
    /// only the error: glibc reports NODATA (`EAI_NODATA`) rather than NXDOMAIN when one of
    /// them exists. The lookup asks them (A only) only after every candidate failed.
    pub deferred: Vec<Candidate>,
    /// One pruned candidate is the pod's own namespace, which exists without addresses: glibc's
    /// search sees NODATA there, so a failed lookup reports NODATA without asking.
    pub known_empty_non_terminal: bool,
}

/// One line of `nodecache explain`.
///
/// Because nodecache's sequence is a subsequence of glibc's, every step of
/// [`SearchPolicy::explain`] has `glibc_asks == true`; the field is there so printers need not
/// rely on that.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExplainStep {
    /// The absolute name.
    pub name: String,
    /// glibc would ask it (A and AAAA, in parallel).
    pub glibc_asks: bool,
    /// nodecache asks it; when not, `skipped` says why.
    pub nodecache_asks: bool,
    /// Why nodecache asks it, or, when nodecache skips it, why glibc asks it.
    pub ask_reason: Option<AskReason>,
    /// Why glibc asks it (differs from `ask_reason` for a name nodecache treats as absolute:
    /// glibc asks it as-is first or last, nodecache because it ends in a search domain).
    pub glibc_reason: Option<AskReason>,
    /// Why nodecache does not.
    pub skipped: Option<SkipReason>,
}

/// The policy for one resolv.conf.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchPolicy {
    /// The mode in force (Kubernetes only when a zone was found).
    mode: SearchMode,
    /// The cluster zone, lower-cased, when the search list is a pod's.
    zone: Option<String>,
    ndots: u8,
    no_tld_query: bool,
    search: Vec<SearchSuffix>,
    /// The pod's own namespace domain (`default.svc.cluster.local`, the first search entry of a
    /// pod): it certainly exists, so a query for it would be answered NODATA.
    own_namespace: Option<String>,
}

/// One search list entry, prepared once so `plan` does no work per suffix but comparisons.
#[derive(Debug, Clone, PartialEq, Eq)]
struct SearchSuffix {
    /// Without trailing dot; empty for the root.
    name: String,
    /// The shape of the part of `name` below the cluster zone (`default.svc`; no labels for
    /// the zone itself); `None` when outside the zone or when there is no zone.
    below_zone: Option<kubernetes::Shape>,
}

/// Why a name is asked, without the allocations of [`AskReason`] (indices into the search list).
#[derive(Debug, Clone, Copy)]
enum Why {
    TrailingDot,
    Ndots { dots: usize },
    Suffix(usize),
    AsIsLast,
    EndsIn(usize),
}

/// Why a name is skipped, allocation-free.
#[derive(Debug, Clone, Copy)]
enum Skip {
    Schema(&'static str),
    Qualified(usize),
}

/// One step of glibc's sequence and nodecache's decision about it.
#[derive(Debug, Clone, Copy)]
struct Step {
    glibc: Why,
    nodecache: Result<Why, Skip>,
}

impl SearchPolicy {
    /// Builds the policy. `mode` `None` picks Kubernetes when the search list looks like a
    /// pod's (`<ns>.svc.<zone> svc.<zone> <zone>`), glibc otherwise. A forced
    /// `Some(SearchMode::Kubernetes)` without a detectable zone behaves exactly like glibc,
    /// and [`SearchPolicy::mode`] then says `Glibc`.
    pub fn new(conf: &ResolvConf, mode: Option<SearchMode>) -> Self {
        let zone = kubernetes::detect_zone(&conf.search).map(str::to_ascii_lowercase);
        let mode = match (mode, &zone) {
            (Some(SearchMode::Glibc), _) | (_, None) => SearchMode::Glibc,
            (Some(SearchMode::Kubernetes) | None, Some(_)) => SearchMode::Kubernetes,
        };
        let search: Vec<SearchSuffix> = conf
            .search
            .iter()
            .map(|entry| {
                let name = name::trim_root(entry).to_owned();
                let below_zone = zone
                    .as_deref()
                    .and_then(|zone| kubernetes::suffix_below_zone(&name, zone));
                SearchSuffix { name, below_zone }
            })
            .collect();
        let own_namespace = zone.as_deref().and_then(|zone| {
            let first = search.first()?.name.as_str();
            let namespace = name::strip_suffix(first, &format!("svc.{zone}"))?;
            (!namespace.contains('.')).then(|| first.to_owned())
        });
        SearchPolicy {
            mode,
            zone,
            ndots: conf.ndots,
            no_tld_query: conf.no_tld_query,
            search,
            own_namespace,
        }
    }

    /// The mode in force.
    pub fn mode(&self) -> SearchMode {
        self.mode
    }

    /// The cluster zone (`cluster.local`) when the search list is a pod's (also when the mode
    /// in force is glibc's, for `explain`).
    pub fn cluster_zone(&self) -> Option<&str> {
        self.zone.as_deref()
    }

    /// The candidates nodecache asks, in order.
    pub fn plan(&self, name: &str) -> Result<Plan, NameError> {
        let kubernetes = self.mode == SearchMode::Kubernetes;
        let mut candidates = Vec::with_capacity(self.search.len() + 1);
        let mut deferred = Vec::new();
        let mut known_empty_non_terminal = false;
        self.walk(name, kubernetes, |body, step| match step.nodecache {
            Ok(why) => candidates.push(self.candidate(body, why)),
            Err(Skip::Schema(rule)) if kubernetes::may_be_empty_non_terminal(rule) => {
                let candidate = self.candidate(body, step.glibc);
                if self
                    .own_namespace
                    .as_deref()
                    .is_some_and(|ns| name::eq(ns, &candidate.name))
                {
                    known_empty_non_terminal = true;
                } else {
                    deferred.push(candidate);
                }
            }
            Err(_) => {}
        })?;
        Ok(Plan {
            candidates,
            deferred,
            known_empty_non_terminal,
        })
    }

    /// The candidates glibc asks, in order.
    pub fn glibc_plan(&self, name: &str) -> Result<Plan, NameError> {
        let mut candidates = Vec::with_capacity(self.search.len() + 1);
        self.walk(name, false, |body, step| {
            candidates.push(self.candidate(body, step.glibc));
        })?;
        Ok(Plan {
            candidates,
            deferred: Vec::new(),
            known_empty_non_terminal: false,
        })
    }

    /// Both sequences side by side, for `nodecache explain`: glibc's candidates in glibc's
    /// order, each marked with whether nodecache asks it and why (or why not).
    pub fn explain(&self, name: &str) -> Result<Vec<ExplainStep>, NameError> {
        let kubernetes = self.mode == SearchMode::Kubernetes;
        let mut steps = Vec::with_capacity(self.search.len() + 1);
        self.walk(name, kubernetes, |body, step| {
            let glibc_reason = self.ask_reason(step.glibc);
            steps.push(ExplainStep {
                name: self.candidate_name(body, step.glibc),
                glibc_asks: true,
                nodecache_asks: step.nodecache.is_ok(),
                ask_reason: Some(match step.nodecache {
                    Ok(why) => self.ask_reason(why),
                    Err(_) => glibc_reason.clone(),
                }),
                glibc_reason: Some(glibc_reason),
                skipped: step.nodecache.err().map(|skip| self.skip_reason(skip)),
            });
        })?;
        Ok(steps)
    }

    /// Walks glibc 2.36's `__res_context_search` (resolv/res_query.c) for `name` and calls
    /// `emit(name without trailing dot, step)` for every name glibc would query, in order,
    /// with nodecache's decision (pruning only when `kubernetes`).
    fn walk(
        &self,
        name: &str,
        kubernetes: bool,
        mut emit: impl FnMut(&str, Step),
    ) -> Result<(), NameError> {
        name::validate(name)?;
        let body = name::trim_root(name);
        // glibc: "query 'as is', if there is a trailing dot in the name", and return whatever
        // it gives: no search at all.
        if name::is_absolute(name) {
            let why = Why::TrailingDot;
            emit(
                body,
                Step {
                    glibc: why,
                    nodecache: Ok(why),
                },
            );
            return Ok(());
        }
        let dots = name::count_dots(body);
        // glibc: "If there are enough dots in the name, let's just give it a try 'as is'",
        // before the search list; it is then not tried again after it (`tried_as_is`).
        let as_is_first = dots >= usize::from(self.ndots);
        // A root entry makes a search step query the name as-is (`root_on_list`), which also
        // suppresses the final as-is query. ResolvConf drops such entries; handled anyway.
        let root_on_list = self.search.iter().any(|s| s.name.is_empty());
        // glibc: "If the query has not already been tried as is then try it unless
        // RES_NOTLDQUERY is set and there were no dots" — and only when a search step ran
        // (`dots || !searched || !(options & RES_NOTLDQUERY)`).
        let as_is_last = !as_is_first
            && !root_on_list
            && (dots > 0 || self.search.is_empty() || !self.no_tld_query);
        // Kubernetes rule "a name that already ends in one of the search suffixes (or the
        // cluster domain) is absolute" (SPEC §4). Applied only where glibc asks the name as-is
        // at some point (not for a single label under no-tld-query), so nodecache never asks a
        // name glibc would not. For the cluster suffixes the skipped glibc candidates
        // `<x>.<zone>.<suffix>` lie below the zone, and the schema rejects them all except when
        // at most two labels precede the zone and the zone's own labels then read as a service
        // or namespace (`x.cluster.local.svc.cluster.local` is host x of service `cluster` in a
        // namespace called `local`). For non-cluster suffixes (GKE's `google.internal`) there is
        // no schema. In both cases it is the SPEC's rule: such names are meant as absolute.
        let qualified = match kubernetes && (as_is_first || as_is_last) {
            true => self.qualifying_suffix(body),
            false => None,
        };
        // The name's labels, scanned once for all suffixes (and only when pruning).
        let shape = match kubernetes && qualified.is_none() {
            true => Some(kubernetes::Shape::of(body)),
            false => None,
        };
        let as_is = |glibc: Why| Step {
            glibc,
            nodecache: Ok(qualified.map_or(glibc, Why::EndsIn)),
        };

        if as_is_first {
            emit(body, as_is(Why::Ndots { dots }));
        }
        for (index, suffix) in self.search.iter().enumerate() {
            // glibc cannot build a query for a name over 255 octets on the wire (253
            // characters): res_nmkquery fails, h_errno becomes NO_RECOVERY, and that ends the
            // search loop ("anything else implies that we're done"); the as-is query follows.
            if !suffix.name.is_empty() && body.len() + 1 + suffix.name.len() > name::MAX_NAME_LEN {
                break;
            }
            let violation = shape
                .zip(suffix.below_zone)
                .and_then(|(shape, below)| kubernetes::schema_violation(shape.then(below)));
            let nodecache = match (qualified, violation) {
                (Some(q), _) => Err(Skip::Qualified(q)),
                (None, Some(rule)) => Err(Skip::Schema(rule)),
                (None, None) => Ok(Why::Suffix(index)),
            };
            emit(
                body,
                Step {
                    glibc: Why::Suffix(index),
                    nodecache,
                },
            );
        }
        if as_is_last {
            emit(body, as_is(Why::AsIsLast));
        }
        Ok(())
    }

    /// The longest search suffix `body` ends in (label-aligned, case-insensitive). The cluster
    /// zone is one of the search suffixes whenever it was detected.
    fn qualifying_suffix(&self, body: &str) -> Option<usize> {
        self.search
            .iter()
            .enumerate()
            .filter(|(_, s)| !s.name.is_empty() && name::has_suffix(body, &s.name))
            .max_by_key(|(_, s)| s.name.len())
            .map(|(index, _)| index)
    }

    fn candidate(&self, body: &str, why: Why) -> Candidate {
        Candidate {
            name: self.candidate_name(body, why),
            reason: self.ask_reason(why),
        }
    }

    fn candidate_name(&self, body: &str, why: Why) -> String {
        match why {
            Why::Suffix(index) => name::join(body, self.suffix(index)),
            Why::TrailingDot | Why::Ndots { .. } | Why::AsIsLast | Why::EndsIn(_) => {
                body.to_owned()
            }
        }
    }

    fn ask_reason(&self, why: Why) -> AskReason {
        match why {
            Why::TrailingDot => AskReason::TrailingDot,
            Why::Ndots { dots } => AskReason::NdotsReached {
                dots,
                ndots: self.ndots,
            },
            Why::Suffix(index) => AskReason::SearchSuffix {
                suffix: self.suffix(index).to_owned(),
            },
            Why::AsIsLast => AskReason::AsIsLast,
            Why::EndsIn(index) => AskReason::EndsInSearchDomain {
                suffix: self.suffix(index).to_owned(),
            },
        }
    }

    fn skip_reason(&self, skip: Skip) -> SkipReason {
        match skip {
            Skip::Schema(rule) => SkipReason::KubernetesSchema { rule },
            Skip::Qualified(index) => SkipReason::AlreadyQualified {
                suffix: self.suffix(index).to_owned(),
            },
        }
    }

    /// Search entry `index` (indices come from iterating `self.search`, so always in range).
    fn suffix(&self, index: usize) -> &str {
        self.search.get(index).map_or("", |s| s.name.as_str())
    }
}
