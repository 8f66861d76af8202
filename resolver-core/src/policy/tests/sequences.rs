//! Names × resolv.conf variants → glibc's and nodecache's candidate sequences.

use super::*;

struct Case {
    conf: &'static Conf,
    name: &'static str,
    /// glibc's sequence, names separated by spaces.
    glibc: &'static str,
    /// nodecache's sequence in the mode picked automatically.
    nodecache: &'static str,
}

#[rustfmt::skip]
const CASES: &[Case] = &[
    // Trailing dot: absolute, as-is only, in both modes.
    Case { conf: &POD5, name: "www.example.com.", glibc: "www.example.com", nodecache: "www.example.com" },
    Case { conf: &POD5, name: "web.", glibc: "web", nodecache: "web" },
    Case { conf: &POD5, name: "web.default.svc.cluster.local.", glibc: "web.default.svc.cluster.local", nodecache: "web.default.svc.cluster.local" },
    // The example: a public name. <www>.<example>.<com>.svc could be host www of service
    // example in namespace com, so it is kept; the other two cluster candidates cannot exist.
    Case { conf: &POD5, name: "www.example.com",
        glibc: "www.example.com.default.svc.cluster.local www.example.com.svc.cluster.local www.example.com.cluster.local www.example.com",
        nodecache: "www.example.com.svc.cluster.local www.example.com" },
    // Service api in namespace dev, asked from namespace default: cluster names first, as glibc.
    Case { conf: &POD5, name: "api.dev",
        glibc: "api.dev.default.svc.cluster.local api.dev.svc.cluster.local api.dev.cluster.local api.dev",
        nodecache: "api.dev.default.svc.cluster.local api.dev.svc.cluster.local api.dev" },
    Case { conf: &POD5, name: "web",
        glibc: "web.default.svc.cluster.local web.svc.cluster.local web.cluster.local web",
        nodecache: "web.default.svc.cluster.local web" },
    Case { conf: &POD5, name: "svc.ns",
        glibc: "svc.ns.default.svc.cluster.local svc.ns.svc.cluster.local svc.ns.cluster.local svc.ns",
        nodecache: "svc.ns.default.svc.cluster.local svc.ns.svc.cluster.local svc.ns" },
    Case { conf: &POD5, name: "svc.ns.svc",
        glibc: "svc.ns.svc.default.svc.cluster.local svc.ns.svc.svc.cluster.local svc.ns.svc.cluster.local svc.ns.svc",
        nodecache: "svc.ns.svc.svc.cluster.local svc.ns.svc.cluster.local svc.ns.svc" },
    Case { conf: &POD5, name: "web.default.svc",
        glibc: "web.default.svc.default.svc.cluster.local web.default.svc.svc.cluster.local web.default.svc.cluster.local web.default.svc",
        nodecache: "web.default.svc.svc.cluster.local web.default.svc.cluster.local web.default.svc" },
    // Fully qualified cluster names (4 dots < ndots 5): absolute in Kubernetes mode.
    Case { conf: &POD5, name: "web.default.svc.cluster.local",
        glibc: "web.default.svc.cluster.local.default.svc.cluster.local web.default.svc.cluster.local.svc.cluster.local web.default.svc.cluster.local.cluster.local web.default.svc.cluster.local",
        nodecache: "web.default.svc.cluster.local" },
    Case { conf: &POD5, name: "web.svc.cluster.local",
        glibc: "web.svc.cluster.local.default.svc.cluster.local web.svc.cluster.local.svc.cluster.local web.svc.cluster.local.cluster.local web.svc.cluster.local",
        nodecache: "web.svc.cluster.local" },
    Case { conf: &POD5, name: "cluster.local",
        glibc: "cluster.local.default.svc.cluster.local cluster.local.svc.cluster.local cluster.local.cluster.local cluster.local",
        nodecache: "cluster.local" },
    // SRV-shaped names are never pruned.
    Case { conf: &POD5, name: "_http._tcp.web.default",
        glibc: "_http._tcp.web.default.default.svc.cluster.local _http._tcp.web.default.svc.cluster.local _http._tcp.web.default.cluster.local _http._tcp.web.default",
        nodecache: "_http._tcp.web.default.default.svc.cluster.local _http._tcp.web.default.svc.cluster.local _http._tcp.web.default.cluster.local _http._tcp.web.default" },
    // CoreDNS answers <port>.<proto>.<svc>.<ns>.svc without underscores too.
    Case { conf: &POD5, name: "http.tcp.web",
        glibc: "http.tcp.web.default.svc.cluster.local http.tcp.web.svc.cluster.local http.tcp.web.cluster.local http.tcp.web",
        nodecache: "http.tcp.web.default.svc.cluster.local http.tcp.web.svc.cluster.local http.tcp.web" },
    Case { conf: &POD5, name: "10-0-0-1.default.pod",
        glibc: "10-0-0-1.default.pod.default.svc.cluster.local 10-0-0-1.default.pod.svc.cluster.local 10-0-0-1.default.pod.cluster.local 10-0-0-1.default.pod",
        nodecache: "10-0-0-1.default.pod.svc.cluster.local 10-0-0-1.default.pod.cluster.local 10-0-0-1.default.pod" },
    Case { conf: &POD5, name: "web-0.web.default",
        glibc: "web-0.web.default.default.svc.cluster.local web-0.web.default.svc.cluster.local web-0.web.default.cluster.local web-0.web.default",
        nodecache: "web-0.web.default.svc.cluster.local web-0.web.default" },
    Case { conf: &POD5, name: "dns-version",
        glibc: "dns-version.default.svc.cluster.local dns-version.svc.cluster.local dns-version.cluster.local dns-version",
        nodecache: "dns-version.default.svc.cluster.local dns-version" },
    // Upper-case input: spelling kept, comparisons case-insensitive.
    Case { conf: &POD5, name: "WWW.Example.COM",
        glibc: "WWW.Example.COM.default.svc.cluster.local WWW.Example.COM.svc.cluster.local WWW.Example.COM.cluster.local WWW.Example.COM",
        nodecache: "WWW.Example.COM.svc.cluster.local WWW.Example.COM" },
    Case { conf: &POD5, name: "Web.Default.SVC.Cluster.Local",
        glibc: "Web.Default.SVC.Cluster.Local.default.svc.cluster.local Web.Default.SVC.Cluster.Local.svc.cluster.local Web.Default.SVC.Cluster.Local.cluster.local Web.Default.SVC.Cluster.Local",
        nodecache: "Web.Default.SVC.Cluster.Local" },
    Case { conf: &POD5, name: "WEB",
        glibc: "WEB.default.svc.cluster.local WEB.svc.cluster.local WEB.cluster.local WEB",
        nodecache: "WEB.default.svc.cluster.local WEB" },
    // ndots edges: dots = ndots - 1 searches first; dots = ndots asks as-is first, never again.
    Case { conf: &POD5, name: "a.b.c.d.e",
        glibc: "a.b.c.d.e.default.svc.cluster.local a.b.c.d.e.svc.cluster.local a.b.c.d.e.cluster.local a.b.c.d.e",
        nodecache: "a.b.c.d.e" },
    Case { conf: &POD5, name: "a.b.c.d.e.f",
        glibc: "a.b.c.d.e.f a.b.c.d.e.f.default.svc.cluster.local a.b.c.d.e.f.svc.cluster.local a.b.c.d.e.f.cluster.local",
        nodecache: "a.b.c.d.e.f" },
    Case { conf: &POD0, name: "web",
        glibc: "web web.default.svc.cluster.local web.svc.cluster.local web.cluster.local",
        nodecache: "web web.default.svc.cluster.local" },
    Case { conf: &POD1, name: "web",
        glibc: "web.default.svc.cluster.local web.svc.cluster.local web.cluster.local web",
        nodecache: "web.default.svc.cluster.local web" },
    Case { conf: &POD1, name: "api.dev",
        glibc: "api.dev api.dev.default.svc.cluster.local api.dev.svc.cluster.local api.dev.cluster.local",
        nodecache: "api.dev api.dev.default.svc.cluster.local api.dev.svc.cluster.local" },
    Case { conf: &POD1, name: "web.default.svc.cluster.local",
        glibc: "web.default.svc.cluster.local web.default.svc.cluster.local.default.svc.cluster.local web.default.svc.cluster.local.svc.cluster.local web.default.svc.cluster.local.cluster.local",
        nodecache: "web.default.svc.cluster.local" },
    Case { conf: &POD2, name: "web-0.web.default",
        glibc: "web-0.web.default web-0.web.default.default.svc.cluster.local web-0.web.default.svc.cluster.local web-0.web.default.cluster.local",
        nodecache: "web-0.web.default web-0.web.default.svc.cluster.local" },
    Case { conf: &POD15, name: "a.b.c.d.e.f.g",
        glibc: "a.b.c.d.e.f.g.default.svc.cluster.local a.b.c.d.e.f.g.svc.cluster.local a.b.c.d.e.f.g.cluster.local a.b.c.d.e.f.g",
        nodecache: "a.b.c.d.e.f.g" },
    // no-tld-query: a single label is never asked as-is after a search ...
    Case { conf: &POD5_NO_TLD, name: "web",
        glibc: "web.default.svc.cluster.local web.svc.cluster.local web.cluster.local",
        nodecache: "web.default.svc.cluster.local" },
    Case { conf: &POD5_NO_TLD, name: "api.dev",
        glibc: "api.dev.default.svc.cluster.local api.dev.svc.cluster.local api.dev.cluster.local api.dev",
        nodecache: "api.dev.default.svc.cluster.local api.dev.svc.cluster.local api.dev" },
    // ... but glibc's ndots check comes first and ignores no-tld-query.
    Case { conf: &POD0_NO_TLD, name: "web",
        glibc: "web web.default.svc.cluster.local web.svc.cluster.local web.cluster.local",
        nodecache: "web web.default.svc.cluster.local" },
    // GKE: extra non-cluster suffixes are kept, and names ending in them are absolute.
    Case { conf: &GKE5, name: "www.example.com",
        glibc: "www.example.com.default.svc.cluster.local www.example.com.svc.cluster.local www.example.com.cluster.local www.example.com.c.proj.internal www.example.com.google.internal www.example.com",
        nodecache: "www.example.com.svc.cluster.local www.example.com.c.proj.internal www.example.com.google.internal www.example.com" },
    Case { conf: &GKE5, name: "web",
        glibc: "web.default.svc.cluster.local web.svc.cluster.local web.cluster.local web.c.proj.internal web.google.internal web",
        nodecache: "web.default.svc.cluster.local web.c.proj.internal web.google.internal web" },
    Case { conf: &GKE5, name: "metadata.google.internal",
        glibc: "metadata.google.internal.default.svc.cluster.local metadata.google.internal.svc.cluster.local metadata.google.internal.cluster.local metadata.google.internal.c.proj.internal metadata.google.internal.google.internal metadata.google.internal",
        nodecache: "metadata.google.internal" },
    Case { conf: &GKE5, name: "vm1.c.proj.internal",
        glibc: "vm1.c.proj.internal.default.svc.cluster.local vm1.c.proj.internal.svc.cluster.local vm1.c.proj.internal.cluster.local vm1.c.proj.internal.c.proj.internal vm1.c.proj.internal.google.internal vm1.c.proj.internal",
        nodecache: "vm1.c.proj.internal" },
    // Any zone, not only cluster.local.
    Case { conf: &K8S_EXAMPLE, name: "api.dev",
        glibc: "api.dev.ns1.svc.k8s.example api.dev.svc.k8s.example api.dev.k8s.example api.dev",
        nodecache: "api.dev.ns1.svc.k8s.example api.dev.svc.k8s.example api.dev" },
    Case { conf: &K8S_EXAMPLE, name: "web.ns1.svc.k8s.example",
        glibc: "web.ns1.svc.k8s.example.ns1.svc.k8s.example web.ns1.svc.k8s.example.svc.k8s.example web.ns1.svc.k8s.example.k8s.example web.ns1.svc.k8s.example",
        nodecache: "web.ns1.svc.k8s.example" },
    // Not a pod's search list: glibc's sequence, no pruning, no "already qualified".
    Case { conf: &CORP, name: "www",
        glibc: "www.corp.example.com www.example.com www",
        nodecache: "www.corp.example.com www.example.com www" },
    Case { conf: &CORP, name: "www.example.com",
        glibc: "www.example.com www.example.com.corp.example.com www.example.com.example.com",
        nodecache: "www.example.com www.example.com.corp.example.com www.example.com.example.com" },
    // Empty search list: as-is only (no-tld-query needs a search step to apply).
    Case { conf: &EMPTY, name: "web", glibc: "web", nodecache: "web" },
    Case { conf: &EMPTY, name: "www.example.com", glibc: "www.example.com", nodecache: "www.example.com" },
    Case { conf: &EMPTY_NO_TLD, name: "web", glibc: "web", nodecache: "web" },
];

#[test]
fn candidate_sequences() {
    for case in CASES {
        let policy = policy(case.conf);
        let glibc = policy.glibc_plan(case.name).expect("valid name");
        let plan = policy.plan(case.name).expect("valid name");
        let expected_glibc: Vec<&str> = case.glibc.split_whitespace().collect();
        let expected: Vec<&str> = case.nodecache.split_whitespace().collect();
        assert_eq!(names(&glibc), expected_glibc, "glibc, {}", case.name);
        assert_eq!(names(&plan), expected, "nodecache, {}", case.name);

        // Forcing glibc mode gives glibc's sequence.
        let forced = SearchPolicy::new(&resolv_conf(case.conf), Some(SearchMode::Glibc));
        assert_eq!(
            forced.plan(case.name).ok(),
            Some(glibc),
            "forced glibc, {}",
            case.name
        );
    }
}

/// Invariants over every case: nodecache asks a subsequence of glibc's names, `explain` lists
/// glibc's sequence and marks exactly nodecache's, and every reason matches its name.
#[test]
fn explain_is_consistent_with_both_plans() {
    for case in CASES {
        let policy = policy(case.conf);
        let glibc = policy.glibc_plan(case.name).expect("valid name");
        let plan = policy.plan(case.name).expect("valid name");
        let steps = policy.explain(case.name).expect("valid name");

        let step_names: Vec<&str> = steps.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(step_names, names(&glibc), "{}", case.name);
        let asked: Vec<&str> = steps
            .iter()
            .filter(|s| s.nodecache_asks)
            .map(|s| s.name.as_str())
            .collect();
        assert_eq!(asked, names(&plan), "{}", case.name);
        for (step, glibc_candidate) in steps.iter().zip(&glibc.candidates) {
            assert!(step.glibc_asks);
            assert_eq!(step.nodecache_asks, step.skipped.is_none(), "{}", step.name);
            assert_eq!(step.glibc_reason.as_ref(), Some(&glibc_candidate.reason));
        }
        for candidate in plan.candidates.iter().chain(&glibc.candidates) {
            match &candidate.reason {
                AskReason::SearchSuffix { suffix } => {
                    assert!(
                        candidate.name.ends_with(&format!(".{suffix}")),
                        "{candidate:?}"
                    );
                }
                AskReason::EndsInSearchDomain { suffix } => {
                    assert!(name::has_suffix(&candidate.name, suffix), "{candidate:?}");
                    assert!(name::eq(&candidate.name, case.name));
                }
                _ => assert!(name::eq(&candidate.name, case.name), "{candidate:?}"),
            }
        }
    }
}
