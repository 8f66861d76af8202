//! Mode detection, invalid names, glibc's length limit, and the reasons `explain` shows.

use super::*;

#[test]
fn mode_detection() {
    let cases: &[(&Conf, Option<SearchMode>, SearchMode, Option<&str>)] = &[
        (&POD5, None, SearchMode::Kubernetes, Some("cluster.local")),
        (&GKE5, None, SearchMode::Kubernetes, Some("cluster.local")),
        (
            &K8S_EXAMPLE,
            None,
            SearchMode::Kubernetes,
            Some("k8s.example"),
        ),
        (&CORP, None, SearchMode::Glibc, None),
        (&EMPTY, None, SearchMode::Glibc, None),
        (
            &POD5,
            Some(SearchMode::Glibc),
            SearchMode::Glibc,
            Some("cluster.local"),
        ),
        (
            &POD5,
            Some(SearchMode::Kubernetes),
            SearchMode::Kubernetes,
            Some("cluster.local"),
        ),
        // Forced Kubernetes without a zone: exactly glibc.
        (&CORP, Some(SearchMode::Kubernetes), SearchMode::Glibc, None),
    ];
    for (conf, forced, mode, zone) in cases {
        let policy = SearchPolicy::new(&resolv_conf(conf), *forced);
        assert_eq!(policy.mode(), *mode, "{:?} {forced:?}", conf.search);
        assert_eq!(policy.cluster_zone(), *zone, "{:?}", conf.search);
    }
    let forced = SearchPolicy::new(&resolv_conf(&CORP), Some(SearchMode::Kubernetes));
    assert_eq!(forced.plan("www"), policy(&CORP).glibc_plan("www"));
}

#[test]
fn invalid_names_are_errors() {
    let long_label = "a".repeat(64);
    let long_name = ["abcdefgh"; 30].join(".");
    let cases: &[(&str, NameError)] = &[
        ("", NameError::Empty),
        (".", NameError::Empty),
        ("a..b", NameError::EmptyLabel),
        (".web", NameError::EmptyLabel),
        ("web..", NameError::EmptyLabel),
        (&long_label, NameError::LabelTooLong),
        (&long_name, NameError::TooLong),
    ];
    for conf in [&POD5, &CORP] {
        let policy = policy(conf);
        for (name, error) in cases {
            assert_eq!(policy.plan(name), Err(*error), "{name:?}");
            assert_eq!(policy.glibc_plan(name), Err(*error), "{name:?}");
            assert_eq!(policy.explain(name), Err(*error), "{name:?}");
        }
    }
}

/// glibc cannot build a query for a candidate over 253 characters; that ends its search loop
/// (NO_RECOVERY), even when a later, shorter suffix would fit, and the as-is query follows.
#[test]
fn overlong_candidates_end_the_search_list() {
    let label = "a".repeat(60);
    // 230 characters, 3 dots: + ".default.svc.cluster.local" is 256, + ".svc.cluster.local" 248.
    let name = format!("{label}.{label}.{label}.{}", "b".repeat(47));
    assert_eq!(name.len(), 230);
    let pod = policy(&POD5);
    assert_eq!(
        names(&pod.glibc_plan(&name).expect("valid")),
        [name.as_str()]
    );
    assert_eq!(names(&pod.plan(&name).expect("valid")), [name.as_str()]);

    // Short suffix first: it is asked (247), then svc.cluster.local (255) stops the loop
    // although cluster.local (251) would fit.
    let conf = Conf {
        search: &["a.example", "svc.cluster.local", "cluster.local"],
        ndots: 5,
        no_tld_query: false,
    };
    let name = format!("{label}.{label}.{label}.{}", "b".repeat(54));
    assert_eq!(name.len(), 237);
    let expected = [format!("{name}.a.example"), name.clone()];
    assert_eq!(
        names(&policy(&conf).glibc_plan(&name).expect("valid")),
        expected
    );
}

#[test]
fn reasons_for_the_shadowing_example() {
    // `api.dev`: service api in namespace dev, asked from a pod in namespace default.
    let steps = policy(&POD5).explain("api.dev").expect("valid");
    let suffix = |s: &str| {
        Some(AskReason::SearchSuffix {
            suffix: s.to_owned(),
        })
    };
    let expected = [
        ExplainStep {
            name: "api.dev.default.svc.cluster.local".into(),
            glibc_asks: true,
            nodecache_asks: true,
            ask_reason: suffix("default.svc.cluster.local"),
            glibc_reason: suffix("default.svc.cluster.local"),
            skipped: None,
        },
        ExplainStep {
            name: "api.dev.svc.cluster.local".into(),
            glibc_asks: true,
            nodecache_asks: true,
            ask_reason: suffix("svc.cluster.local"),
            glibc_reason: suffix("svc.cluster.local"),
            skipped: None,
        },
        ExplainStep {
            name: "api.dev.cluster.local".into(),
            glibc_asks: true,
            nodecache_asks: false,
            ask_reason: suffix("cluster.local"),
            glibc_reason: suffix("cluster.local"),
            skipped: Some(SkipReason::KubernetesSchema {
                rule: kubernetes::rule::SECOND_LEVEL,
            }),
        },
        ExplainStep {
            name: "api.dev".into(),
            glibc_asks: true,
            nodecache_asks: true,
            ask_reason: Some(AskReason::AsIsLast),
            glibc_reason: Some(AskReason::AsIsLast),
            skipped: None,
        },
    ];
    assert_eq!(steps, expected);
}

#[test]
fn reasons_for_qualified_and_absolute_names() {
    let pod = policy(&POD5);
    let default_ns = "default.svc.cluster.local".to_owned();

    let plan = pod.plan("web.default.svc.cluster.local").expect("valid");
    assert_eq!(
        plan.candidates[..],
        [Candidate {
            name: "web.default.svc.cluster.local".into(),
            reason: AskReason::EndsInSearchDomain {
                suffix: default_ns.clone()
            },
        }]
    );
    let steps = pod.explain("web.default.svc.cluster.local").expect("valid");
    assert_eq!(steps.len(), 4);
    for step in &steps[..3] {
        assert_eq!(
            step.skipped,
            Some(SkipReason::AlreadyQualified {
                suffix: default_ns.clone()
            })
        );
    }
    assert_eq!(steps[3].glibc_reason, Some(AskReason::AsIsLast));
    assert_eq!(
        steps[3].ask_reason,
        Some(AskReason::EndsInSearchDomain {
            suffix: default_ns.clone()
        })
    );

    // Enough dots: glibc asks it first; nodecache asks only that, because it is qualified.
    let steps = policy(&POD1)
        .explain("web.default.svc.cluster.local")
        .expect("valid");
    assert_eq!(
        steps[0].glibc_reason,
        Some(AskReason::NdotsReached { dots: 4, ndots: 1 })
    );
    assert_eq!(
        steps[0].ask_reason,
        Some(AskReason::EndsInSearchDomain { suffix: default_ns })
    );

    let glibc = pod.glibc_plan("a.b.c.d.e.f").expect("valid");
    assert_eq!(
        glibc.candidates[0].reason,
        AskReason::NdotsReached { dots: 5, ndots: 5 }
    );
    let plan = pod.plan("www.example.com.").expect("valid");
    assert_eq!(plan.candidates[0].reason, AskReason::TrailingDot);
}

#[test]
fn display_strings() {
    let cases: &[(&dyn std::fmt::Display, &str)] = &[
        (
            &AskReason::TrailingDot,
            "trailing dot: absolute, asked as-is only",
        ),
        (
            &AskReason::NdotsReached { dots: 5, ndots: 5 },
            "ndots: 5 dots >= ndots 5, as-is first",
        ),
        (
            &AskReason::SearchSuffix {
                suffix: "default.svc.cluster.local".into(),
            },
            "search suffix default.svc.cluster.local",
        ),
        (&AskReason::AsIsLast, "as-is, after the search list"),
        (
            &AskReason::EndsInSearchDomain {
                suffix: "cluster.local".into(),
            },
            "ends in search domain cluster.local: absolute, asked as-is only",
        ),
        (
            &SkipReason::KubernetesSchema {
                rule: kubernetes::rule::SVC_DEPTH,
            },
            "pruned: Kubernetes schema: names under <ns>.svc.<zone> have 1 or 2 labels",
        ),
        (
            &SkipReason::AlreadyQualified {
                suffix: "cluster.local".into(),
            },
            "skipped: name already ends in cluster.local",
        ),
    ];
    for (reason, text) in cases {
        assert_eq!(reason.to_string(), *text);
    }
}

/// Found by the resolv_conf fuzz target (fuzz/README.md): a search entry `svc.....` gives the
/// zone `..`, and building the policy stripped it from the non-ASCII entry `dnc.def\u{fffd}`
/// by cutting inside a character (a panic). Any search list must build a policy.
#[test]
fn odd_search_entries_build_a_policy() {
    let mut conf = ResolvConf::parse(":");
    conf.apply_env(
        Some(
            " svcc\u{fffd}l.clual svc.....  dnc.def\u{fffd}\u{fffd} dnc.def.\u{fffd}q..nameservec!al \
             ....  dnc.de.\u{fffd}q..nameserves",
        ),
        None,
    );
    for mode in [None, Some(SearchMode::Glibc), Some(SearchMode::Kubernetes)] {
        let policy = SearchPolicy::new(&conf, mode);
        assert!(policy.plan("web").is_ok());
    }
}
