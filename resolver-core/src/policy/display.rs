//! Short human-readable reasons for `nodecache explain`.

use std::fmt;

use super::{AskReason, SkipReason};

impl fmt::Display for AskReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AskReason::TrailingDot => f.write_str("trailing dot: absolute, asked as-is only"),
            AskReason::NdotsReached { dots, ndots } => {
                write!(f, "ndots: {dots} dots >= ndots {ndots}, as-is first")
            }
            AskReason::SearchSuffix { suffix } => write!(f, "search suffix {suffix}"),
            AskReason::AsIsLast => f.write_str("as-is, after the search list"),
            AskReason::EndsInSearchDomain { suffix } => {
                write!(
                    f,
                    "ends in search domain {suffix}: absolute, asked as-is only"
                )
            }
        }
    }
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SkipReason::KubernetesSchema { rule } => {
                write!(f, "pruned: Kubernetes schema: {rule}")
            }
            SkipReason::AlreadyQualified { suffix } => {
                write!(f, "skipped: name already ends in {suffix}")
            }
        }
    }
}
