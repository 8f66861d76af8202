//! The shim against the real libc, call by call, for inputs that never reach DNS: numeric
//! hosts, NULL nodes, `localhost` from /etc/hosts (AF_UNSPEC and AF_INET only: an AF_INET6
//! question for a name the hosts file has no IPv6 line for would go to the network), flags,
//! services, error codes.

mod common;

use common::{Hints, libc, ours};
use libc::{AF_INET, AF_INET6, AF_UNSPEC, SOCK_DGRAM, SOCK_RAW, SOCK_STREAM};
use nodecache::consts::*;

const NODES: [Option<&str>; 14] = [
    None,
    Some("*"),
    Some("127.0.0.1"),
    Some("127.1"),
    Some("0x7f.1"),
    Some("::1"),
    Some("::ffff:127.0.0.1"),
    Some("fe80::1%2"),
    Some("fe80::1%99999999999"),
    Some("1.2.3.4.5"),
    Some("0.0.0.0"),
    Some("localhost"),
    Some("LocalHost"),
    Some("no-such-host.invalid"),
];

const SERVICES: [Option<&str>; 10] = [
    None,
    Some("80"),
    Some("http"),
    Some("domain"),
    Some("*"),
    Some(""),
    Some("65536"),
    Some("-1"),
    Some(" 22"),
    Some("no-such-service"),
];

/// Whether a (node, hints) pair is safe to send to the real libc on a test machine.
fn never_reaches_dns(node: Option<&str>, hints: Hints) -> bool {
    match node {
        Some("localhost" | "LocalHost") => {
            // AF_INET6 (or v4-mapped) would ask DNS for AAAA when the hosts file has no ::1.
            hints.is_none_or(|(_, family, _, _)| family != AF_INET6)
        }
        Some("no-such-host.invalid" | "1.2.3.4.5") => {
            hints.is_some_and(|(flags, _, _, _)| flags & AI_NUMERICHOST != 0)
        }
        _ => true,
    }
}

#[test]
fn every_combination_matches_libc() {
    let flag_sets = [
        0,
        AI_PASSIVE,
        AI_CANONNAME,
        AI_NUMERICHOST,
        AI_V4MAPPED,
        AI_V4MAPPED | AI_ALL,
        AI_ADDRCONFIG,
        AI_NUMERICSERV,
        AI_CANONNAME | AI_ADDRCONFIG | AI_V4MAPPED,
        0x800,
        DEPRECATED_AI_IDN,
        // What `getent ahosts` passes: ASCII names are served like glibc's IDNA fast path.
        AI_CANONNAME | AI_IDN | AI_CANONIDN,
    ];
    let families = [AF_UNSPEC, AF_INET, AF_INET6, 1];
    let types = [
        (0, 0),
        (SOCK_STREAM, 0),
        (SOCK_DGRAM, 0),
        (SOCK_RAW, 0),
        (SOCK_STREAM, libc::IPPROTO_UDP),
        (0, libc::IPPROTO_TCP),
        (0, libc::IPPROTO_SCTP),
        (libc::SOCK_SEQPACKET, 0),
        (SOCK_RAW, 99),
        (99, 0),
    ];
    let mut compared = 0;
    for node in NODES {
        for service in SERVICES {
            let mut hint_sets: Vec<Hints> = vec![None];
            for flags in flag_sets {
                for family in families {
                    for (socktype, protocol) in types {
                        hint_sets.push(Some((flags, family, socktype, protocol)));
                    }
                }
            }
            // Service names cost a read of /etc/services per protocol on both sides: fewer
            // combinations for them keep the test fast.
            let named = service.is_some_and(|s| s.starts_with(|c: char| c.is_ascii_alphabetic()));
            for (i, hints) in hint_sets.into_iter().enumerate() {
                if named && i % 7 != 0 {
                    continue;
                }
                if !never_reaches_dns(node, hints) {
                    continue;
                }
                let expected = libc(node, service, hints);
                let got = ours(node, service, hints);
                assert_eq!(
                    got, expected,
                    "node {node:?} service {service:?} hints {hints:?}"
                );
                compared += 1;
            }
        }
    }
    assert!(compared > 5_000, "only {compared} comparisons");
}

#[test]
fn both_null_is_eai_noname_and_numerichost_refuses_names() {
    assert_eq!(ours(None, None, None), Err(EAI_NONAME));
    assert_eq!(ours(Some("*"), Some("*"), None), Err(EAI_NONAME));
    let numeric_only = Some((AI_NUMERICHOST, AF_UNSPEC, SOCK_STREAM, 0));
    assert_eq!(
        ours(Some("localhost"), Some("80"), numeric_only),
        Err(EAI_NONAME)
    );
}

#[test]
fn socket_types_expand_and_passive_gives_the_wildcard() {
    let rows = ours(Some("127.0.0.1"), Some("53"), Some((0, AF_INET, 0, 0))).unwrap();
    let types: Vec<_> = rows
        .iter()
        .map(|r| (r.socktype, r.protocol, r.port))
        .collect();
    assert_eq!(
        types,
        [
            (SOCK_STREAM, 6, 53),
            (SOCK_DGRAM, 17, 53),
            (SOCK_RAW, 0, 53)
        ]
    );
    let rows = ours(
        None,
        Some("8080"),
        Some((AI_PASSIVE, AF_UNSPEC, SOCK_STREAM, 0)),
    )
    .unwrap();
    let ips: Vec<String> = rows.iter().map(|r| r.ip.to_string()).collect();
    // glibc sorts the wildcards too: IPv4 first (rule 5, matching label with 127.0.0.1).
    assert_eq!(ips, ["0.0.0.0", "::"]);
    let rows = ours(None, Some("8080"), Some((0, AF_INET, SOCK_STREAM, 0))).unwrap();
    assert_eq!(rows[0].ip.to_string(), "127.0.0.1");
}

#[test]
fn canonname_and_v4mapped() {
    let rows = ours(
        Some("127.1"),
        None,
        Some((AI_CANONNAME, AF_INET, SOCK_STREAM, 0)),
    )
    .unwrap();
    assert_eq!(rows[0].canonname.as_deref(), Some("127.1"));
    assert_eq!(rows[0].ip.to_string(), "127.0.0.1");
    let mapped = Some((AI_V4MAPPED, AF_INET6, SOCK_STREAM, 0));
    let rows = ours(Some("127.0.0.1"), None, mapped).unwrap();
    assert_eq!(rows[0].ip.to_string(), "::ffff:127.0.0.1");
    assert_eq!(
        ours(Some("127.0.0.1"), None, Some((0, AF_INET6, SOCK_STREAM, 0))),
        Err(EAI_ADDRFAMILY)
    );
}

#[test]
fn error_texts_are_libcs() {
    for code in [
        EAI_NONAME,
        EAI_AGAIN,
        EAI_NODATA,
        EAI_SERVICE,
        EAI_SYSTEM,
        12345,
    ] {
        // SAFETY: gai_strerror accepts any code and returns a static string.
        let (ours, theirs) = unsafe {
            (
                std::ffi::CStr::from_ptr(nodecache::gai_strerror(code)),
                std::ffi::CStr::from_ptr(nodecache::real::gai_strerror(code)),
            )
        };
        assert_eq!(ours, theirs);
    }
}

#[test]
fn freeaddrinfo_hands_libcs_lists_to_libc() {
    let c_node = c"127.0.0.1";
    let mut list = std::ptr::null_mut();
    // SAFETY: valid arguments; the list is freed once below.
    unsafe {
        assert_eq!(
            nodecache::real::getaddrinfo(
                c_node.as_ptr(),
                std::ptr::null(),
                std::ptr::null(),
                &mut list
            ),
            0
        );
        assert!(!nodecache::addrinfo::is_ours(list));
        // Must go to libc's freeaddrinfo; under valgrind/ASan a wrong free would show.
        nodecache::freeaddrinfo(list);
        nodecache::freeaddrinfo(std::ptr::null_mut());
    }
}
