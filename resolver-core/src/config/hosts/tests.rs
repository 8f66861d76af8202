//! Expected values were observed with glibc 2.36's getaddrinfo (`hosts: files`) on the same
//! file, compared as sets (glibc sorts by RFC 3484 and repeats duplicates).

use super::*;

const FILE: &str = "\
# comment
127.0.0.1 localhost
1.1.1.1   Foo foo-alias   # trailing comment
2.2.2.2   other FOO
::1       foo   ip6-foo
1.1.1.1   foo
::ffff:3.3.3.3 foo
fe80::1%lo linklocal
010.0.0.1 octal
1.2.3  short
5.5.5.5
6.6.6.6 trail.
  7.7.7.7   leading
8.8.8.8\ttabbed#comment
9.9.9.9 cr\r
";

#[derive(Clone, Copy)]
enum Asked {
    Unspec,
    Inet,
    Inet6,
}

fn entry(canonical: &str, addrs: &[&str]) -> Option<HostEntry> {
    let addrs = addrs.iter().map(|a| a.parse().unwrap()).collect();
    Some(HostEntry {
        canonical: canonical.to_string(),
        addrs,
    })
}

/// Checks every case twice: as the first lookup of the file (a scan of its text) and from
/// the index the later lookups use.
fn check(hosts: &Hosts, cases: &[(&str, Asked, Option<HostEntry>)]) {
    let ask = |hosts: &Hosts, name: &str, asked: Asked| match asked {
        Asked::Unspec => hosts.lookup(name).map(Cow::into_owned),
        Asked::Inet => hosts.lookup_inet(name).map(Cow::into_owned),
        Asked::Inet6 => hosts.lookup_inet6(name).map(Cow::into_owned),
    };
    for (name, asked, want) in cases {
        let first = Hosts::parse_with_multi(&hosts.text, hosts.multi.get());
        assert!(first.by_name.get().is_none());
        assert_eq!(&ask(&first, name, *asked), want, "scan for {name:?}");
        assert!(
            first.by_name.get().is_none(),
            "the first lookup built the index"
        );
        hosts.index();
        assert_eq!(&ask(hosts, name, *asked), want, "index lookup of {name:?}");
    }
}

#[test]
fn every_matching_line_counts_with_multi() {
    use Asked::*;
    let hosts = Hosts::parse(FILE);
    check(
        &hosts,
        &[
            (
                "foo",
                Unspec,
                entry("Foo", &["1.1.1.1", "2.2.2.2", "::1", "::ffff:3.3.3.3"]),
            ),
            (
                "FOO",
                Unspec,
                entry("Foo", &["1.1.1.1", "2.2.2.2", "::1", "::ffff:3.3.3.3"]),
            ),
            (
                "foo",
                Inet,
                entry("Foo", &["1.1.1.1", "2.2.2.2", "127.0.0.1", "3.3.3.3"]),
            ),
            ("foo", Inet6, entry("foo", &["::1", "::ffff:3.3.3.3"])),
            ("Foo-ALIAS", Inet, entry("Foo", &["1.1.1.1"])),
            ("foo-alias", Inet6, None),
            ("ip6-foo", Unspec, entry("foo", &["::1"])),
            ("ip6-foo", Inet, entry("foo", &["127.0.0.1"])),
            ("other", Unspec, entry("other", &["2.2.2.2"])),
            ("other", Inet6, None),
            ("localhost", Inet, entry("localhost", &["127.0.0.1"])),
        ],
    );
}

#[test]
fn only_the_first_line_counts_without_multi() {
    use Asked::*;
    let hosts = Hosts::parse_with_multi(FILE, false);
    check(
        &hosts,
        &[
            ("foo", Unspec, entry("Foo", &["1.1.1.1"])),
            ("foo", Inet, entry("Foo", &["1.1.1.1"])),
            ("foo", Inet6, entry("foo", &["::1"])),
            ("ip6-foo", Inet, entry("foo", &["127.0.0.1"])),
        ],
    );
}

#[test]
fn names_match_exactly_and_bad_lines_are_skipped() {
    use Asked::*;
    let hosts = Hosts::parse(FILE);
    check(
        &hosts,
        &[
            // glibc's files backend does not strip a trailing dot.
            ("FOO.", Unspec, None),
            ("trail", Unspec, None),
            ("trail.", Unspec, entry("trail.", &["6.6.6.6"])),
            ("leading", Unspec, entry("leading", &["7.7.7.7"])),
            ("tabbed", Unspec, entry("tabbed", &["8.8.8.8"])),
            ("cr", Unspec, entry("cr", &["9.9.9.9"])),
            ("comment", Unspec, None),
            ("linklocal", Unspec, None),
            ("octal", Unspec, None),
            ("short", Unspec, None),
            ("5.5.5.5", Unspec, None),
            ("", Unspec, None),
        ],
    );
}

#[test]
fn duplicates_are_dropped_and_mapped_addresses_follow_the_family() {
    use Asked::*;
    let hosts = Hosts::parse("1.1.1.1 dup dup DUP\n1.1.1.1 dup\n::ffff:3.3.3.3 mapped\n");
    check(
        &hosts,
        &[
            ("dup", Unspec, entry("dup", &["1.1.1.1"])),
            ("mapped", Unspec, entry("mapped", &["::ffff:3.3.3.3"])),
            ("mapped", Inet, entry("mapped", &["3.3.3.3"])),
            ("mapped", Inet6, entry("mapped", &["::ffff:3.3.3.3"])),
        ],
    );
    assert_eq!(hosts.len(), 2);
}

#[test]
fn kubelet_managed_file() {
    use Asked::*;
    let file = "# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n\
        ::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\n\
        10.244.1.7\tweb-0.web.default.svc.cluster.local\tweb-0\n";
    let hosts = Hosts::parse(file);
    check(
        &hosts,
        &[
            (
                "localhost",
                Unspec,
                entry("localhost", &["127.0.0.1", "::1"]),
            ),
            ("localhost", Inet, entry("localhost", &["127.0.0.1"])),
            ("localhost", Inet6, entry("localhost", &["::1"])),
            (
                "web-0",
                Unspec,
                entry("web-0.web.default.svc.cluster.local", &["10.244.1.7"]),
            ),
        ],
    );
    let first_only = Hosts::parse_with_multi(file, false);
    check(
        &first_only,
        &[("localhost", Unspec, entry("localhost", &["127.0.0.1"]))],
    );
}

#[test]
fn empty_and_garbage_files() {
    for text in [
        "",
        "\n\n",
        "# only\n",
        "garbage line\n",
        "\0\u{1F600} x\n",
        "1.1.1.1\n",
    ] {
        assert!(Hosts::parse(text).is_empty(), "{text:?}");
    }
    let long_name = "a".repeat(300);
    let hosts = Hosts::parse(&format!("1.2.3.4 {long_name}"));
    assert!(hosts.lookup(&long_name.to_uppercase()).is_some());
}

#[test]
fn host_conf_multi() {
    let cases: &[(&str, bool)] = &[
        ("", false),
        ("multi on", true),
        ("MULTI ON # comment", true),
        ("  multi\ton", true),
        ("multi onion", true),
        ("multi on\nmulti off", false),
        ("multi maybe", false),
        ("#multi on", false),
        ("multiple on", false),
        ("order hosts,bind\nmulti on", true),
    ];
    for (text, multi) in cases {
        assert_eq!(HostConf::parse(text).multi, *multi, "{text:?}");
    }
}
