//! Table-driven tests of the search state machine with scripted outcomes (no sockets).

use std::net::IpAddr;

use super::*;
use crate::policy::Candidate;

fn candidates(names: &[(&str, AskReason)]) -> Vec<Candidate> {
    names
        .iter()
        .map(|(name, reason)| Candidate {
            name: name.to_string(),
            reason: reason.clone(),
        })
        .collect()
}

fn plan(names: &[(&str, AskReason)]) -> Plan {
    Plan {
        candidates: candidates(names),
        deferred: Vec::new(),
        known_empty_non_terminal: false,
    }
}

fn suffix(s: &str) -> AskReason {
    AskReason::SearchSuffix {
        suffix: s.to_string(),
    }
}

fn answer(addrs: &[&str]) -> QueryOutcome {
    QueryOutcome::Answer {
        addrs: addrs.iter().map(|a| a.parse::<IpAddr>().unwrap()).collect(),
        canonical_name: None,
    }
}

/// NOERROR whose answer section is only a CNAME to `target` (no record of the asked type).
fn cname_only(target: &str) -> QueryOutcome {
    QueryOutcome::Answer {
        addrs: vec![],
        canonical_name: Some(target.into()),
    }
}

const BOTH: QueryTypes = QueryTypes {
    a: true,
    aaaa: true,
};

/// Runs the machine against a script of (expected question, outcome) and returns the result.
fn run(lookup: &mut Lookup, script: Vec<((&str, u16), QueryOutcome)>) -> Result<Found, Error> {
    for ((want_name, want_type), outcome) in script {
        match lookup.next_step() {
            Step::Ask { name, qtype } => {
                assert_eq!(
                    (name, qtype),
                    (want_name, want_type),
                    "asked the wrong question"
                );
            }
            Step::Done(result) => {
                panic!("finished early with {result:?}, expected {want_name}/{want_type}")
            }
        }
        lookup.record(outcome);
    }
    match lookup.next_step() {
        Step::Done(result) => result,
        Step::Ask { name, qtype } => panic!("unexpected extra question {name}/{qtype}"),
    }
}

#[test]
fn nxdomain_on_a_skips_aaaa_and_moves_on() {
    let p = plan(&[
        (
            "www.example.com.svc.cluster.local",
            suffix("svc.cluster.local"),
        ),
        ("www.example.com", AskReason::AsIsLast),
    ]);
    let mut lookup = Lookup::new(p, BOTH);
    let found = run(
        &mut lookup,
        vec![
            (
                ("www.example.com.svc.cluster.local", rtype::A),
                QueryOutcome::NxDomain,
            ),
            (("www.example.com", rtype::A), answer(&["198.18.1.1"])),
            (("www.example.com", rtype::AAAA), answer(&["2001:db8::1"])),
        ],
    )
    .unwrap();
    assert_eq!(found.name, "www.example.com");
    assert_eq!(found.addrs.len(), 2);
    assert_eq!(found.canonical_name, "www.example.com");
}

#[test]
fn nodata_on_a_still_asks_aaaa_of_the_same_candidate() {
    let p = plan(&[("v6.example.com", AskReason::AsIsLast)]);
    let mut lookup = Lookup::new(p, BOTH);
    let found = run(
        &mut lookup,
        vec![
            (("v6.example.com", rtype::A), QueryOutcome::NoData),
            (("v6.example.com", rtype::AAAA), answer(&["2001:db8::6"])),
        ],
    )
    .unwrap();
    assert_eq!(found.addrs, vec!["2001:db8::6".parse::<IpAddr>().unwrap()]);
}

#[test]
fn cname_only_answer_ends_the_search_with_no_recovery_like_glibc() {
    // A non-empty answer section is a positive answer for __res_context_search even when
    // the chain ends without records of the asked type; glibc's getanswer_r then finds no
    // address and says NO_RECOVERY. The later candidate is not asked.
    let p = plan(&[
        (
            "ext.default.svc.cluster.local",
            suffix("default.svc.cluster.local"),
        ),
        ("ext", AskReason::AsIsLast),
    ]);
    let mut lookup = Lookup::new(
        p,
        QueryTypes {
            a: true,
            aaaa: false,
        },
    );
    let error = run(
        &mut lookup,
        vec![(
            ("ext.default.svc.cluster.local", rtype::A),
            cname_only("www.example.com"),
        )],
    )
    .unwrap_err();
    assert!(error.is_no_recovery(), "got {error:?}");
    assert!(error.is_not_found());
}

#[test]
fn cname_only_for_both_types_is_no_recovery() {
    let mut lookup = Lookup::new(plan(&[("alias", AskReason::AsIsLast)]), BOTH);
    let error = run(
        &mut lookup,
        vec![
            (("alias", rtype::A), cname_only("target")),
            (("alias", rtype::AAAA), cname_only("target")),
        ],
    )
    .unwrap_err();
    assert!(error.is_no_recovery(), "got {error:?}");
}

#[test]
fn cname_only_for_one_type_with_addresses_for_the_other_is_found() {
    // A CNAME to a name with only A records, asked for A and AAAA: the A addresses.
    let mut lookup = Lookup::new(plan(&[("alias", AskReason::AsIsLast)]), BOTH);
    let found = run(
        &mut lookup,
        vec![
            (
                ("alias", rtype::A),
                QueryOutcome::Answer {
                    addrs: vec!["198.18.2.2".parse().unwrap()],
                    canonical_name: Some("v4only".into()),
                },
            ),
            (("alias", rtype::AAAA), cname_only("v4only")),
        ],
    )
    .unwrap();
    assert_eq!(found.addrs, ["198.18.2.2".parse::<IpAddr>().unwrap()]);
    assert_eq!(found.canonical_name, "v4only");
}

#[test]
fn final_error_prefers_nodata_then_servfail_then_nxdomain() {
    let names = [
        ("a.one", suffix("one")),
        ("a.two", suffix("two")),
        ("a", AskReason::AsIsLast),
    ];
    type Check = fn(&Error) -> bool;
    let cases: Vec<(Vec<QueryOutcome>, Check)> = vec![
        (
            vec![
                QueryOutcome::NxDomain,
                QueryOutcome::NxDomain,
                QueryOutcome::NxDomain,
            ],
            Error::is_nx_domain,
        ),
        (
            vec![
                QueryOutcome::NxDomain,
                QueryOutcome::ServFail,
                QueryOutcome::NxDomain,
            ],
            |e| matches!(e, Error::ServFail),
        ),
        (
            vec![
                QueryOutcome::ServFail,
                QueryOutcome::NoData,
                QueryOutcome::NxDomain,
            ],
            Error::is_no_data,
        ),
    ];
    for (outcomes, check) in cases {
        let mut lookup = Lookup::new(
            plan(&names),
            QueryTypes {
                a: true,
                aaaa: false,
            },
        );
        let script = names
            .iter()
            .zip(outcomes)
            .map(|((n, _), o)| ((*n, rtype::A), o))
            .collect();
        let error = run(&mut lookup, script).unwrap_err();
        assert!(check(&error), "got {error:?}");
    }
}

#[test]
fn as_is_first_error_wins_like_saved_herrno() {
    let names = [
        ("a.b.c.d.e.f", AskReason::NdotsReached { dots: 5, ndots: 5 }),
        ("a.b.c.d.e.f.svc", suffix("svc")),
    ];
    let mut lookup = Lookup::new(
        plan(&names),
        QueryTypes {
            a: true,
            aaaa: false,
        },
    );
    let error = run(
        &mut lookup,
        vec![
            (("a.b.c.d.e.f", rtype::A), QueryOutcome::NxDomain),
            (("a.b.c.d.e.f.svc", rtype::A), QueryOutcome::NoData),
        ],
    )
    .unwrap_err();
    assert!(error.is_nx_domain(), "got {error:?}");
}

#[test]
fn timeout_ends_the_search() {
    let names = [("x.one", suffix("one")), ("x", AskReason::AsIsLast)];
    let mut lookup = Lookup::new(plan(&names), BOTH);
    let timeout = std::time::Duration::from_secs(10);
    let error = run(
        &mut lookup,
        vec![(
            ("x.one", rtype::A),
            QueryOutcome::Failed(FailureKind::Timeout(timeout)),
        )],
    )
    .unwrap_err();
    assert!(error.is_timeout());
}

#[test]
fn servfail_on_a_with_aaaa_answer_is_found() {
    let mut lookup = Lookup::new(plan(&[("h", AskReason::AsIsLast)]), BOTH);
    let found = run(
        &mut lookup,
        vec![
            (("h", rtype::A), QueryOutcome::ServFail),
            (("h", rtype::AAAA), answer(&["2001:db8::9"])),
        ],
    );
    assert!(found.is_ok());
}

#[test]
fn no_types_to_ask_is_nodata_without_questions() {
    let mut lookup = Lookup::new(
        plan(&[("h", AskReason::AsIsLast)]),
        QueryTypes {
            a: false,
            aaaa: false,
        },
    );
    assert!(run(&mut lookup, vec![]).unwrap_err().is_no_data());
}

#[test]
fn aaaa_only_lookup_asks_only_aaaa() {
    let mut lookup = Lookup::new(
        plan(&[("h.one", suffix("one")), ("h", AskReason::AsIsLast)]),
        QueryTypes {
            a: false,
            aaaa: true,
        },
    );
    // NXDOMAIN on AAAA also ends the candidate (it is the only type).
    let found = run(
        &mut lookup,
        vec![
            (("h.one", rtype::AAAA), QueryOutcome::NxDomain),
            (("h", rtype::AAAA), answer(&["2001:db8::1"])),
        ],
    );
    assert!(found.is_ok());
}

#[test]
fn deferred_candidate_turns_nxdomain_into_nodata_like_glibc() {
    // `default` in a pod: glibc also asks default.svc.cluster.local, a namespace: NODATA.
    let p = Plan {
        candidates: candidates(&[
            (
                "default.default.svc.cluster.local",
                suffix("default.svc.cluster.local"),
            ),
            ("default", AskReason::AsIsLast),
        ]),
        deferred: candidates(&[("default.svc.cluster.local", suffix("svc.cluster.local"))]),
        known_empty_non_terminal: false,
    };
    let mut lookup = Lookup::new(p, BOTH);
    let error = run(
        &mut lookup,
        vec![
            (
                ("default.default.svc.cluster.local", rtype::A),
                QueryOutcome::NxDomain,
            ),
            (("default", rtype::A), QueryOutcome::NxDomain),
            (
                ("default.svc.cluster.local", rtype::A),
                QueryOutcome::NoData,
            ),
        ],
    )
    .unwrap_err();
    assert!(error.is_no_data(), "got {error:?}");
}

#[test]
fn deferred_candidates_are_not_asked_when_the_error_is_settled_or_found() {
    let deferred = candidates(&[("x.svc.cluster.local", suffix("svc.cluster.local"))]);
    // Found: never asked.
    let p = Plan {
        candidates: candidates(&[("x", AskReason::AsIsLast)]),
        deferred: deferred.clone(),
        known_empty_non_terminal: false,
    };
    let mut lookup = Lookup::new(
        p,
        QueryTypes {
            a: true,
            aaaa: false,
        },
    );
    assert!(
        run(
            &mut lookup,
            vec![(("x", rtype::A), answer(&["198.18.0.1"]))]
        )
        .is_ok()
    );
    // NODATA already seen: the error cannot change.
    let p = Plan {
        candidates: candidates(&[("x", AskReason::AsIsLast)]),
        deferred: deferred.clone(),
        known_empty_non_terminal: false,
    };
    let mut lookup = Lookup::new(
        p,
        QueryTypes {
            a: true,
            aaaa: false,
        },
    );
    assert!(
        run(&mut lookup, vec![(("x", rtype::A), QueryOutcome::NoData)])
            .unwrap_err()
            .is_no_data()
    );
    // NXDOMAIN everywhere: asked once, A only, and still NXDOMAIN.
    let p = Plan {
        candidates: candidates(&[("x", AskReason::AsIsLast)]),
        deferred,
        known_empty_non_terminal: false,
    };
    let mut lookup = Lookup::new(p, BOTH);
    let error = run(
        &mut lookup,
        vec![
            (("x", rtype::A), QueryOutcome::NxDomain),
            (("x.svc.cluster.local", rtype::A), QueryOutcome::NxDomain),
        ],
    )
    .unwrap_err();
    assert!(error.is_nx_domain());
}

#[test]
fn own_namespace_is_known_nodata_without_asking() {
    let p = Plan {
        known_empty_non_terminal: true,
        ..plan(&[("default", AskReason::AsIsLast)])
    };
    let mut lookup = Lookup::new(p, BOTH);
    let error = run(
        &mut lookup,
        vec![(("default", rtype::A), QueryOutcome::NxDomain)],
    )
    .unwrap_err();
    assert!(error.is_no_data(), "got {error:?}");
}
