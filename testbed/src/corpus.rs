//! The names the tests resolve from the pod, and the root zone NSD serves for them.
//!
//! The pod lives in namespace `default` of a cluster with domain `cluster.local`, so its
//! resolv.conf searches `default.svc.cluster.local svc.cluster.local cluster.local` with
//! `ndots:5`. Records follow the Kubernetes DNS schema (services `<svc>.<ns>.svc.<zone>`,
//! headless pods `<host>.<svc>.<ns>.svc.<zone>`, pods `<a-b-c-d>.<ns>.pod.<zone>`, SRV
//! `_<port>._<proto>.<svc>.<ns>.svc.<zone>`). One zone for "." holds everything, so every
//! unknown name gets an authoritative NXDOMAIN with the SOA (negative TTL 5 s, RFC 2308 §5).
//!
//! Addresses: A records only from 198.18.0.0/15, AAAA only from 2001:db8::/32.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::net::IpAddr;

/// What glibc's `getaddrinfo(AF_UNSPEC, AI_ADDRCONFIG)` returns in the pod for a name (the pod
/// has an IPv6 link-local address, so AAAA answers count).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expected {
    /// Resolves to exactly these addresses.
    Addrs(BTreeSet<IpAddr>),
    /// Does not resolve (`getent` exits 2, `getaddrinfo` returns EAI_NONAME).
    NotFound,
}

/// One name of the corpus.
#[derive(Debug, Clone)]
pub struct CorpusName {
    /// The name as an application passes it to `getaddrinfo`.
    pub name: &'static str,
    /// Why it is in the corpus.
    pub what: &'static str,
    /// The answer glibc gives.
    pub expected: Expected,
}

/// The corpus: names, expected answers and the zone that produces them.
#[derive(Debug, Clone, Copy, Default)]
pub struct Corpus;

/// Address of the `kubernetes` service.
const KUBERNETES: &str = "198.18.1.1";
const WEB: &str = "198.18.1.10";
const WEB_0: &str = "198.18.1.11";
const DB_PROD: &str = "198.18.1.20";
const API_DEV: &str = "198.18.1.30";
/// The public `api.dev.` record that must not shadow the service.
const API_DEV_PUBLIC: &str = "198.18.4.1";
const DUAL_V4: &str = "198.18.1.40";
const DUAL_V6: &str = "2001:db8:1::40";
const POD: &str = "198.18.1.5";
const WWW_V4: &str = "198.18.2.1";
const WWW_V6: &str = "2001:db8::1";
const V6_ONLY: &str = "2001:db8::6";
/// Number of A records of [`Corpus::BIG_NAME`].
const BIG_COUNT: u8 = 40;

impl Corpus {
    /// The name with 40 A records: its UDP answer (> 512 bytes without EDNS) is truncated.
    pub const BIG_NAME: &'static str = "big.example.org";
    /// An external name with one A and one AAAA record.
    pub const EXTERNAL_NAME: &'static str = "www.example.com";

    /// Every name of the corpus, in a fixed order.
    pub fn names(&self) -> Vec<CorpusName> {
        let www = [WWW_V4, WWW_V6].as_slice();
        let big: Vec<String> = (1..=BIG_COUNT).map(|i| format!("198.18.3.{i}")).collect();
        let big: Vec<&str> = big.iter().map(String::as_str).collect();
        let rows: &[(&'static str, &'static str, &[&str])] = &[
            ("web", "service in the pod's namespace", &[WEB]),
            ("web.default", "<svc>.<ns>", &[WEB]),
            ("web.default.svc", "<svc>.<ns>.svc", &[WEB]),
            (
                "web.default.svc.cluster.local",
                "fully qualified, no dot",
                &[WEB],
            ),
            (
                "web.default.svc.cluster.local.",
                "fully qualified, dot",
                &[WEB],
            ),
            ("db.prod", "service in another namespace", &[DB_PROD]),
            ("db.prod.svc", "<svc>.<ns>.svc, other namespace", &[DB_PROD]),
            ("web-0.web", "headless pod hostname", &[WEB_0]),
            (
                "web-0.web.default.svc.cluster.local",
                "headless, 5 dots",
                &[WEB_0],
            ),
            (
                "198-18-1-5.default.pod.cluster.local",
                "pod A record",
                &[POD],
            ),
            ("kubernetes", "the API service, short", &[KUBERNETES]),
            ("kubernetes.default", "the API service", &[KUBERNETES]),
            ("dual", "dual-stack service (A + AAAA)", &[DUAL_V4, DUAL_V6]),
            (
                "api.dev",
                "service api.dev beats public api.dev.",
                &[API_DEV],
            ),
            ("ext", "ExternalName service (CNAME)", www),
            ("www.example.com", "external name", www),
            ("www.example.com.", "external name, absolute", www),
            ("alias1.example.net", "CNAME chain of 2", www),
            ("v6only.example.org", "AAAA only", &[V6_ONLY]),
            (Self::BIG_NAME, "40 A records: TC over UDP", &big),
            ("localhost", "from /etc/hosts", &["127.0.0.1", "::1"]),
            ("nope.example.com", "NXDOMAIN", &[]),
            ("missing", "NXDOMAIN, single label", &[]),
            ("nosuch.default", "NXDOMAIN, <svc>.<ns> form", &[]),
            ("txt-only.example.org", "NODATA (TXT only)", &[]),
            ("default", "NODATA: default.svc.cluster.local is empty", &[]),
        ];
        rows.iter()
            .map(|(name, what, addrs)| CorpusName {
                name,
                what,
                expected: if addrs.is_empty() {
                    Expected::NotFound
                } else {
                    Expected::Addrs(addrs.iter().filter_map(|a| a.parse().ok()).collect())
                },
            })
            .collect()
    }

    /// The expected answer for `name`, if it is in the corpus.
    pub fn expected(&self, name: &str) -> Option<Expected> {
        self.names()
            .into_iter()
            .find(|n| n.name == name)
            .map(|n| n.expected)
    }

    /// The root zone (RFC 1035 master file) for NSD.
    pub fn zone(&self) -> String {
        let mut z = String::from(
            "$ORIGIN .\n$TTL 30\n\
             ; SOA minimum 5: negative answers are cached 5 s (RFC 2308 §5)\n\
             .\tIN SOA ns.nodecache.test. hostmaster.nodecache.test. 1 3600 600 86400 5\n\
             .\tIN NS ns.nodecache.test.\n\
             ns.nodecache.test.\tIN A 198.18.0.53\n",
        );
        let cluster = [
            // Services and their SRV records, as CoreDNS's kubernetes plugin serves them.
            format!("kubernetes.default.svc.cluster.local. IN A {KUBERNETES}"),
            "_https._tcp.kubernetes.default.svc.cluster.local. IN SRV 0 100 443 kubernetes.default.svc.cluster.local.".to_owned(),
            format!("web.default.svc.cluster.local. IN A {WEB}"),
            "_http._tcp.web.default.svc.cluster.local. IN SRV 0 100 80 web.default.svc.cluster.local.".to_owned(),
            format!("web-0.web.default.svc.cluster.local. IN A {WEB_0}"),
            "web-1.web.default.svc.cluster.local. IN A 198.18.1.12".to_owned(),
            format!("db.prod.svc.cluster.local. IN A {DB_PROD}"),
            "_postgres._tcp.db.prod.svc.cluster.local. IN SRV 0 100 5432 db.prod.svc.cluster.local.".to_owned(),
            format!("api.dev.svc.cluster.local. IN A {API_DEV}"),
            format!("dual.default.svc.cluster.local. IN A {DUAL_V4}"),
            format!("dual.default.svc.cluster.local. IN AAAA {DUAL_V6}"),
            "ext.default.svc.cluster.local. IN CNAME www.example.com.".to_owned(),
            format!("198-18-1-5.default.pod.cluster.local. IN A {POD}"),
            "dns-version.cluster.local. IN TXT \"1.1.0\"".to_owned(),
        ];
        let external = [
            // A public name under the TLD "dev" that a search-path shortcut could hit first.
            format!("api.dev. IN A {API_DEV_PUBLIC}"),
            format!("www.example.com. IN A {WWW_V4}"),
            format!("www.example.com. IN AAAA {WWW_V6}"),
            "example.com. IN TXT \"v=spf1 -all\"".to_owned(),
            "example.com. IN MX 10 mail.example.com.".to_owned(),
            "mail.example.com. IN A 198.18.2.25".to_owned(),
            "_sip._udp.example.com. IN SRV 10 60 5060 mail.example.com.".to_owned(),
            "alias1.example.net. IN CNAME alias2.example.net.".to_owned(),
            "alias2.example.net. IN CNAME www.example.com.".to_owned(),
            format!("v6only.example.org. IN AAAA {V6_ONLY}"),
            "txt-only.example.org. IN TXT \"no addresses here\"".to_owned(),
        ];
        for line in cluster.iter().chain(external.iter()) {
            z.push_str(line);
            z.push('\n');
        }
        for i in 1..=BIG_COUNT {
            let _ = writeln!(z, "{}. IN A 198.18.3.{i}", Self::BIG_NAME);
        }
        z
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn corpus_covers_the_required_cases() {
        let names = Corpus.names();
        assert!(names.len() >= 20, "{} names", names.len());
        for required in [
            "web",
            "db.prod",
            "web.default",
            "web.default.svc",
            "web.default.svc.cluster.local",
            "web.default.svc.cluster.local.",
            "web-0.web",
            "198-18-1-5.default.pod.cluster.local",
            "ext",
            "www.example.com",
            "www.example.com.",
            "alias1.example.net",
            "nope.example.com",
            "missing",
            "nosuch.default",
            "api.dev",
            "kubernetes.default",
            Corpus::BIG_NAME,
        ] {
            assert!(names.iter().any(|n| n.name == required), "{required}");
        }
        let Some(Expected::Addrs(big)) = Corpus.expected(Corpus::BIG_NAME) else {
            panic!("big name resolves");
        };
        assert_eq!(big.len(), 40);
    }

    #[test]
    fn addresses_stay_in_the_documentation_ranges() {
        let zone = Corpus.zone();
        for line in zone.lines().filter(|l| !l.starts_with(';')) {
            let words: Vec<&str> = line.split_whitespace().collect();
            match words.as_slice() {
                [_, "IN", "A", addr] => assert!(addr.starts_with("198.18."), "{line}"),
                [_, "IN", "AAAA", addr] => assert!(addr.starts_with("2001:db8:"), "{line}"),
                _ => {}
            }
        }
        for name in Corpus.names() {
            if let Expected::Addrs(addrs) = name.expected {
                for addr in addrs {
                    let text = addr.to_string();
                    let allowed = text.starts_with("198.18.")
                        || text.starts_with("2001:db8:")
                        || addr.is_loopback();
                    assert!(allowed, "{}: {text}", name.name);
                }
            }
        }
    }

    #[test]
    fn every_expected_address_is_in_the_zone() {
        let zone = Corpus.zone();
        for name in Corpus.names() {
            let Expected::Addrs(addrs) = name.expected else {
                continue;
            };
            for addr in addrs.iter().filter(|a| !a.is_loopback()) {
                assert!(
                    zone.lines().any(|l| l.ends_with(&format!(" {addr}"))),
                    "{}: {addr} not in zone",
                    name.name
                );
            }
        }
    }
}
