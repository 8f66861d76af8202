//! Table-driven tests: names × resolv.conf variants → candidate sequences, both modes.
//!
//! `sequences`: the candidate table (the acceptance criterion) and invariants over it;
//! `reasons`: mode detection, errors, glibc's length limit, reasons and their texts.

mod reasons;
mod sequences;

use super::*;

/// The resolv.conf fields the policy reads.
struct Conf {
    search: &'static [&'static str],
    ndots: u8,
    no_tld_query: bool,
}

const POD_SEARCH: &[&str] = &[
    "default.svc.cluster.local",
    "svc.cluster.local",
    "cluster.local",
];
const GKE_SEARCH: &[&str] = &[
    "default.svc.cluster.local",
    "svc.cluster.local",
    "cluster.local",
    "c.proj.internal",
    "google.internal",
];

const fn pod(ndots: u8, no_tld_query: bool) -> Conf {
    Conf {
        search: POD_SEARCH,
        ndots,
        no_tld_query,
    }
}

/// A vanilla pod: `ndots:5`, three cluster suffixes.
const POD5: Conf = pod(5, false);
const POD5_NO_TLD: Conf = pod(5, true);
const POD0: Conf = pod(0, false);
const POD0_NO_TLD: Conf = pod(0, true);
const POD1: Conf = pod(1, false);
const POD2: Conf = pod(2, false);
const POD15: Conf = pod(15, false);
const GKE5: Conf = Conf {
    search: GKE_SEARCH,
    ndots: 5,
    no_tld_query: false,
};
/// A cluster whose zone is not `cluster.local`.
const K8S_EXAMPLE: Conf = Conf {
    search: &["ns1.svc.k8s.example", "svc.k8s.example", "k8s.example"],
    ndots: 5,
    no_tld_query: false,
};
/// A laptop or VM: not a pod's search list.
const CORP: Conf = Conf {
    search: &["corp.example.com", "example.com"],
    ndots: 1,
    no_tld_query: false,
};
const EMPTY: Conf = Conf {
    search: &[],
    ndots: 1,
    no_tld_query: false,
};
const EMPTY_NO_TLD: Conf = Conf {
    search: &[],
    ndots: 1,
    no_tld_query: true,
};

fn resolv_conf(conf: &Conf) -> ResolvConf {
    ResolvConf {
        search: conf.search.iter().map(|s| (*s).to_owned()).collect(),
        ndots: conf.ndots,
        no_tld_query: conf.no_tld_query,
        ..ResolvConf::default()
    }
}

fn policy(conf: &Conf) -> SearchPolicy {
    SearchPolicy::new(&resolv_conf(conf), None)
}

fn names(plan: &Plan) -> Vec<&str> {
    plan.candidates.iter().map(|c| c.name.as_str()).collect()
}
