//! Expected values were observed with glibc 2.36's own `res_ninit` on the same text.

use std::net::{Ipv6Addr, SocketAddr, SocketAddrV6};
use std::time::Duration;

use super::*;

type Expect = fn(&mut ResolvConf);

/// Parses each text and compares the whole result with the default plus the expected changes.
fn check(cases: &[(&str, Expect)]) {
    for (text, change) in cases {
        let mut want = ResolvConf::default();
        change(&mut want);
        assert_eq!(ResolvConf::parse(text), want, "parsing {text:?}");
    }
}

fn v4(s: &str) -> SocketAddr {
    SocketAddr::new(s.parse().unwrap(), 53)
}

fn v6(s: &str, scope: u32) -> SocketAddr {
    SocketAddr::V6(SocketAddrV6::new(
        s.parse::<Ipv6Addr>().unwrap(),
        53,
        0,
        scope,
    ))
}

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

#[test]
fn numeric_options_and_their_caps() {
    check(&[
        ("", |_| {}),
        ("options ndots:3", |c| c.ndots = 3),
        ("options ndots:15", |c| c.ndots = 15),
        ("options ndots:99", |c| c.ndots = 15),
        ("options ndots:-1", |c| c.ndots = 15),
        ("options ndots:abc", |c| c.ndots = 0),
        ("options ndots:", |c| c.ndots = 0),
        ("options ndots: 3", |c| c.ndots = 3),
        ("options ndots:99999999999999999999", |c| c.ndots = 15),
        ("options timeout:2", |c| c.timeout = Duration::from_secs(2)),
        ("options timeout:0", |c| c.timeout = Duration::from_secs(1)),
        ("options timeout:-1", |c| c.timeout = Duration::from_secs(1)),
        ("options timeout:99", |c| {
            c.timeout = Duration::from_secs(30)
        }),
        ("options timeout:+7", |c| c.timeout = Duration::from_secs(7)),
        ("options timeout:4294967297", |c| {
            c.timeout = Duration::from_secs(1)
        }),
        ("options attempts:3", |c| c.attempts = 3),
        ("options attempts:0", |c| c.attempts = 0),
        ("options attempts:-1", |c| c.attempts = 0),
        ("options attempts:9", |c| c.attempts = 5),
        ("options attempts:3x", |c| c.attempts = 3),
        ("options attempts: 4", |c| c.attempts = 4),
    ]);
}

#[test]
fn flag_options() {
    check(&[
        ("options rotate", |c| c.rotate = true),
        ("options edns0", |c| c.edns0 = true),
        ("options single-request", |c| c.single_request = true),
        ("options single-request-reopen", |c| {
            c.single_request_reopen = true
        }),
        ("options use-vc", |c| c.use_vc = true),
        ("options no-aaaa", |c| c.no_aaaa = true),
        ("options trust-ad", |c| c.trust_ad = true),
        ("options no-tld-query", |c| c.no_tld_query = true),
        ("options no_tld_query", |c| c.no_tld_query = true),
        ("options no-reload", |c| c.no_reload = true),
        // glibc compares by prefix.
        ("options rotatex", |c| c.rotate = true),
        // Unknown and removed options are ignored.
        ("options inet6 debug foo:3 ndots rotat", |_| {}),
        ("options rotate edns0\toptions  use-vc", |c| {
            c.rotate = true;
            c.edns0 = true;
            c.use_vc = true;
        }),
    ]);
}

#[test]
fn keyword_lines_and_comments() {
    check(&[
        ("options ndots:2\noptions timeout:3", |c| {
            c.ndots = 2;
            c.timeout = Duration::from_secs(3);
        }),
        ("options ndots:2\noptions ndots:4", |c| c.ndots = 4),
        ("options\tndots:4", |c| c.ndots = 4),
        (" options ndots:4", |_| {}),
        ("OPTIONS ndots:4", |_| {}),
        ("options:ndots:4", |_| {}),
        ("options", |_| {}),
        ("#options ndots:4", |_| {}),
        (";options ndots:4", |_| {}),
        ("#nameserver 1.1.1.1\n;nameserver 2.2.2.2", |_| {}),
        ("nameserver\t9.9.9.9", |c| {
            c.nameservers = vec![v4("9.9.9.9")]
        }),
        ("sortlist 10.0.0.0/8\nfoo bar\n\n\n", |_| {}),
    ]);
}

#[test]
fn nameservers() {
    check(&[
        ("nameserver 1.2.3.4", |c| {
            c.nameservers = vec![v4("1.2.3.4")]
        }),
        ("nameserver ::1", |c| c.nameservers = vec![v6("::1", 0)]),
        (
            "nameserver 1.1.1.1\nnameserver 2.2.2.2\nnameserver ::2\nnameserver 4.4.4.4",
            |c| c.nameservers = vec![v4("1.1.1.1"), v4("2.2.2.2"), v6("::2", 0)],
        ),
        // Malformed lines do not count towards the three.
        (
            "nameserver 1.2.3\nnameserver x\nnameserver 08.0.0.1\nnameserver 1.2.3.256",
            |c| c.nameservers = vec![v4("1.2.0.3")],
        ),
        ("nameserver 1.2.3.4 junk\nnameserver  \t 9.9.9.9", |c| {
            c.nameservers = vec![v4("1.2.3.4"), v4("9.9.9.9")]
        }),
        ("nameserver 0x7f.1\nnameserver 010.0.0.1", |c| {
            c.nameservers = vec![v4("127.0.0.1"), v4("8.0.0.1")]
        }),
        (
            "nameserver 1.2.3.4\r\nnameserver 1.2.3.4#53\nnameserver",
            |_| {},
        ),
        ("nameserver ::ffff:1.2.3.4", |c| {
            c.nameservers = vec![v6("::ffff:1.2.3.4", 0)]
        }),
        ("nameserver fe80::2%7\nnameserver 2001:db8::2%3", |c| {
            c.nameservers = vec![v6("fe80::2", 7), v6("2001:db8::2", 3)]
        }),
        // Unknown interface, a name on a global address, trailing garbage, empty scope: 0.
        (
            "nameserver fe80::1%nosuchif0\nnameserver 2001:db8::1%lo\nnameserver fe80::3%3x",
            |c| c.nameservers = vec![v6("fe80::1", 0), v6("2001:db8::1", 0), v6("fe80::3", 0)],
        ),
        ("nameserver fe80::4%\nnameserver fe80::5%99999999999", |c| {
            c.nameservers = vec![v6("fe80::4", 0), v6("fe80::5", 0)]
        }),
        ("nameserver fe80::1%../../x", |c| {
            c.nameservers = vec![v6("fe80::1", 0)]
        }),
        ("nameserver %1\nnameserver 1.2.3.4%1", |_| {}),
    ]);
}

#[test]
fn link_local_interface_name_becomes_its_index() {
    let lo = std::fs::read_to_string("/sys/class/net/lo/ifindex")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0);
    let conf = ResolvConf::parse("nameserver fe80::1%lo");
    assert_eq!(conf.nameservers, vec![v6("fe80::1", lo)]);
}

#[test]
fn search_and_domain() {
    check(&[
        ("search a.com b.com", |c| {
            c.search = names(&["a.com", "b.com"])
        }),
        ("search a.com b.com\ndomain c.com", |c| {
            c.search = names(&["c.com"])
        }),
        ("domain c.com\nsearch a.com", |c| {
            c.search = names(&["a.com"])
        }),
        ("domain   x.org   y", |c| c.search = names(&["x.org"])),
        // glibc has no comments after a value: they are search entries.
        ("domain c.com d.com\nsearch A.Com. b.com  # comment", |c| {
            c.search = names(&["a.com", "b.com", "#", "comment"])
        }),
        ("search a.com\nsearch\nsearch   \ndomain\ndomain  ", |c| {
            c.search = names(&["a.com"])
        }),
        ("search . a.com", |c| c.search = names(&["", "a.com"])),
        ("search .example.com", |c| {
            c.search = names(&["example.com"])
        }),
        ("search\td.com\te.com\r", |c| {
            c.search = names(&["d.com", "e.com\r"])
        }),
        ("search a1 a2 a3 a4 a5 a6 a7 a8", |c| {
            c.search = names(&["a1", "a2", "a3", "a4", "a5", "a6"])
        }),
        ("#search a.com\n;search b.com\n search c.com", |_| {}),
    ]);
}

#[test]
fn search_list_is_truncated_at_256_bytes_like_glibc() {
    let (a, b, c) = ("a".repeat(106), "b".repeat(109), "c".repeat(45));
    let conf = ResolvConf::parse(&format!("search {a} {b} {c} dddddd"));
    // 107 + 110 + 46 > 256: glibc stops before the third entry and drops the rest.
    assert_eq!(conf.search, vec![a.clone(), b]);
    let long = "x".repeat(300);
    assert!(
        ResolvConf::parse(&format!("domain {long}"))
            .search
            .is_empty()
    );
    let fits = "y".repeat(255);
    assert_eq!(
        ResolvConf::parse(&format!("domain {fits}")).search,
        vec![fits]
    );
}

#[test]
fn environment_overrides() {
    let file = "search a.com\noptions ndots:7 attempts:1";
    type EnvCase = (Option<&'static str>, Option<&'static str>, Expect);
    let cases: &[EnvCase] = &[
        (None, None, |c| {
            c.search = names(&["a.com"]);
            c.ndots = 7;
            c.attempts = 1;
        }),
        (Some("X.com y.com"), None, |c| {
            c.search = names(&["x.com", "y.com"]);
            c.ndots = 7;
            c.attempts = 1;
        }),
        (Some(""), None, |c| {
            c.search = names(&[""]);
            c.ndots = 7;
            c.attempts = 1;
        }),
        (Some(" x.com  y.com "), None, |c| {
            c.search = names(&["", "x.com", "y.com"]);
            c.ndots = 7;
            c.attempts = 1;
        }),
        (Some("a.org\nb.org"), None, |c| {
            c.search = names(&["a.org"]);
            c.ndots = 7;
            c.attempts = 1;
        }),
        (None, Some("ndots:3 timeout:2 rotate"), |c| {
            c.search = names(&["a.com"]);
            c.ndots = 3;
            c.attempts = 1;
            c.timeout = Duration::from_secs(2);
            c.rotate = true;
        }),
    ];
    for (localdomain, res_options, change) in cases {
        let mut want = ResolvConf::default();
        change(&mut want);
        let mut got = ResolvConf::parse(file);
        got.apply_env(*localdomain, *res_options);
        assert_eq!(
            got, want,
            "LOCALDOMAIN={localdomain:?} RES_OPTIONS={res_options:?}"
        );
    }
}

#[test]
fn effective_nameservers_default_to_loopback() {
    assert_eq!(
        ResolvConf::default().effective_nameservers(),
        vec![v4("127.0.0.1")]
    );
    let conf = ResolvConf::parse("nameserver 10.0.0.10");
    assert_eq!(conf.effective_nameservers(), vec![v4("10.0.0.10")]);
}

#[test]
fn glibc_defaults() {
    let conf = ResolvConf::default();
    assert_eq!((conf.ndots, conf.attempts), (1, 2));
    assert_eq!(conf.timeout, Duration::from_secs(5));
    assert!(conf.nameservers.is_empty() && conf.search.is_empty());
}

#[test]
fn garbage_never_panics() {
    let long = format!(
        "search {}\nnameserver {}",
        "z.".repeat(50_000),
        "1".repeat(50_000)
    );
    let inputs = [
        "\0\0\0",
        "nameserver ７.７.７.７",
        "nameserver é%é",
        "options ndots:٣ timeout:\u{feff}",
        "search \u{0}",
        long.as_str(),
        "options ndots:-99999999999999999999999 attempts:-",
        "nameserver fe80::1%\u{1F600}",
    ];
    for input in inputs {
        let conf = ResolvConf::parse(input);
        assert!(conf.nameservers.len() <= MAX_NAMESERVERS);
        assert!(conf.search.len() <= MAX_SEARCH_DOMAINS);
        assert!(conf.ndots <= 15 && conf.attempts <= 5);
    }
}
