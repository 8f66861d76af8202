//! Who may ask: the client address ranges the daemon answers (`--allow-from`, TOML
//! `allow_from`), so a node cache bound to a reachable address is not an open resolver.
//!
//! RFC 5358 §4: "recursive resolvers ... should by default only answer queries from clients
//! on their local networks"; an open resolver is a reflector for amplification attacks and
//! makes cache poisoning easier. The default list is loopback, link-local (the node-local
//! address 169.254.20.10 and host-network clients) and the private ranges pod networks use;
//! anything else must be allowed explicitly (the test bed's 198.18.0.0/15 is not allowed by
//! default).
//!
//! What a refused client gets: over UDP a REFUSED reply (RFC 5358 §4 leaves the choice;
//! REFUSED tells a misconfigured client at once instead of after its timeouts, and is no
//! larger than the query, so it amplifies nothing); over TCP the connection is closed at
//! accept, before it takes one of the `tcp_max_connections` slots. Both are counted in
//! `nodecache_acl_refused_total`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The list entry that stands for [`DEFAULT_ALLOW_FROM`] in `--allow-from`.
pub(crate) const DEFAULT_KEYWORD: &str = "default";

/// Ranges answered when `allow_from` is not configured: loopback (RFC 1122 §3.2.1.3,
/// RFC 4291 §2.5.3), link-local (RFC 3927, RFC 4291 §2.5.6), the RFC 1918 private ranges,
/// shared address space (RFC 6598, used by some CNIs and cloud pod networks) and unique local
/// IPv6 (RFC 4193).
/// IPv4-mapped IPv6 clients are matched by their IPv4 address (see [`Acl::allows`]).
pub(crate) const DEFAULT_ALLOW_FROM: [&str; 9] = [
    "127.0.0.0/8",
    "::1/128",
    "169.254.0.0/16",
    "fe80::/10",
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "100.64.0.0/10",
    "fc00::/7",
];

/// Why a range does not parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum CidrError {
    /// Not `ADDR/PREFIX` or a bare address.
    #[error("expected ADDR/PREFIX such as 10.0.0.0/8 or fd00::/8")]
    Syntax,
    /// A prefix length beyond the address's bits.
    #[error("prefix length beyond the address's bits")]
    PrefixTooLong,
    /// Bits set after the prefix (`10.1.2.3/8`): almost always a typo for another range.
    #[error("address has bits set beyond the prefix length")]
    HostBitsSet,
}

/// One address range: `addr/prefix`, host bits zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Cidr {
    /// The network address.
    addr: IpAddr,
    /// Leading bits that must match.
    prefix: u8,
}

impl Cidr {
    /// Parses `ADDR/PREFIX`, or a bare address (one host).
    pub(crate) fn parse(text: &str) -> Result<Cidr, CidrError> {
        let text = text.trim();
        let (addr_text, prefix_text) = match text.split_once('/') {
            Some((addr, prefix)) => (addr, Some(prefix)),
            None => (text, None),
        };
        let addr: IpAddr = addr_text.parse().map_err(|_| CidrError::Syntax)?;
        let bits = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix_text {
            Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => {
                p.parse::<u8>().map_err(|_| CidrError::PrefixTooLong)?
            }
            Some(_) => return Err(CidrError::Syntax),
            None => bits,
        };
        if prefix > bits {
            return Err(CidrError::PrefixTooLong);
        }
        let cidr = Cidr { addr, prefix };
        if cidr.network_bits(addr) != bits_of(addr) {
            return Err(CidrError::HostBitsSet);
        }
        Ok(cidr)
    }

    /// `ip`'s bits with everything after the prefix cleared.
    fn network_bits(&self, ip: IpAddr) -> u128 {
        let (bits, width) = match ip {
            IpAddr::V4(v4) => (u128::from(u32::from(v4)), 32u32),
            IpAddr::V6(v6) => (u128::from(v6), 128u32),
        };
        let keep = u32::from(self.prefix).min(width);
        let host = width - keep;
        // Shifting a u128 by 128 overflows: a /0 keeps nothing.
        bits.checked_shr(host)
            .and_then(|n| n.checked_shl(host))
            .unwrap_or(0)
    }
}

impl std::fmt::Display for Cidr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// An address as one number (IPv4 in the low 32 bits).
fn bits_of(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(v4) => u128::from(u32::from(v4)),
        IpAddr::V6(v6) => u128::from(v6),
    }
}

/// Parses one `--allow-from` list (entries may also be comma-separated within an item):
/// ranges and the keyword `default`, duplicates removed, order kept.
pub(crate) fn parse_list<'a>(
    items: impl IntoIterator<Item = &'a str>,
) -> Result<Vec<Cidr>, (String, CidrError)> {
    let mut list: Vec<Cidr> = Vec::new();
    let mut push = |cidr: Cidr| {
        if !list.contains(&cidr) {
            list.push(cidr);
        }
    };
    for item in items {
        for entry in item.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            if entry == DEFAULT_KEYWORD {
                default_list().into_iter().for_each(&mut push);
                continue;
            }
            push(Cidr::parse(entry).map_err(|error| (entry.to_owned(), error))?);
        }
    }
    Ok(list)
}

/// [`DEFAULT_ALLOW_FROM`], parsed.
pub(crate) fn default_list() -> Vec<Cidr> {
    DEFAULT_ALLOW_FROM
        .iter()
        .filter_map(|text| Cidr::parse(text).ok())
        .collect()
}

/// The client ranges answered. Cheap to query: split by family, a mask and compare each.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Acl {
    /// IPv4 ranges as (network, mask).
    v4: Vec<(u32, u32)>,
    /// IPv6 ranges as (network, mask).
    v6: Vec<(u128, u128)>,
}

impl Acl {
    /// The ACL of `config.allow_from`.
    pub(crate) fn from_config(config: &crate::serve::config::ServeConfig) -> Acl {
        Acl::new(&config.allow_from)
    }

    /// An ACL allowing `ranges`.
    pub(crate) fn new(ranges: &[Cidr]) -> Acl {
        let mut acl = Acl {
            v4: Vec::new(),
            v6: Vec::new(),
        };
        for range in ranges {
            match range.addr {
                IpAddr::V4(net) => {
                    let mask = u32::MAX
                        .checked_shl(32 - u32::from(range.prefix))
                        .unwrap_or(0);
                    acl.v4.push((u32::from(net), mask));
                }
                IpAddr::V6(net) => {
                    let mask = u128::MAX
                        .checked_shl(128 - u32::from(range.prefix))
                        .unwrap_or(0);
                    acl.v6.push((u128::from(net), mask));
                }
            }
        }
        acl
    }

    /// True when a client at `ip` may be answered. An IPv4-mapped IPv6 address
    /// (`::ffff:a.b.c.d`, what a dual-stack socket reports for IPv4 clients) is judged by its
    /// IPv4 address.
    pub(crate) fn allows(&self, ip: IpAddr) -> bool {
        match ip {
            IpAddr::V4(v4) => self.allows_v4(v4),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => self.allows_v4(v4),
                None => self.allows_v6(v6),
            },
        }
    }

    fn allows_v4(&self, ip: Ipv4Addr) -> bool {
        let ip = u32::from(ip);
        self.v4.iter().any(|&(net, mask)| ip & mask == net)
    }

    fn allows_v6(&self, ip: Ipv6Addr) -> bool {
        let ip = u128::from(ip);
        self.v6.iter().any(|&(net, mask)| ip & mask == net)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn acl(items: &[&str]) -> Acl {
        Acl::new(&parse_list(items.iter().copied()).expect("valid list"))
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("test address")
    }

    #[test]
    fn default_allows_loopback_link_local_and_private_ranges_only() {
        let acl = acl(&["default"]);
        for allowed in [
            "127.0.0.1",
            "127.255.0.9",
            "::1",
            "169.254.20.10",
            "fe80::1",
            "10.244.3.7",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "100.64.0.1",
            "100.127.255.255",
            "fd00::1",
            "::ffff:10.1.2.3",
            "::ffff:127.0.0.1",
        ] {
            assert!(acl.allows(ip(allowed)), "{allowed} should be allowed");
        }
        for refused in [
            "198.18.2.2",
            "8.8.8.8",
            "172.32.0.1",
            "172.15.255.255",
            "100.128.0.0",
            "192.169.0.1",
            "11.0.0.1",
            "2001:db8::1",
            "::ffff:198.18.0.1",
            "::",
        ] {
            assert!(!acl.allows(ip(refused)), "{refused} should be refused");
        }
    }

    #[test]
    fn an_explicit_list_replaces_the_default_and_default_can_be_named() {
        let only_bench = acl(&["198.18.0.0/15"]);
        assert!(only_bench.allows(ip("198.18.2.2")));
        assert!(only_bench.allows(ip("198.19.255.255")));
        assert!(!only_bench.allows(ip("198.20.0.0")));
        assert!(!only_bench.allows(ip("127.0.0.1")));
        let both = acl(&["default,198.18.0.0/15"]);
        assert!(both.allows(ip("198.18.2.2")) && both.allows(ip("127.0.0.1")));
        let host = acl(&["203.0.113.7", "2001:db8::7"]);
        assert!(host.allows(ip("203.0.113.7")) && !host.allows(ip("203.0.113.8")));
        assert!(host.allows(ip("2001:db8::7")) && !host.allows(ip("2001:db8::8")));
        let everyone = acl(&["0.0.0.0/0", "::/0"]);
        assert!(everyone.allows(ip("8.8.8.8")) && everyone.allows(ip("2001:db8::1")));
        assert!(!acl(&[]).allows(ip("127.0.0.1")));
    }

    #[test]
    fn bad_ranges_are_refused_with_the_reason() {
        let cases = [
            ("10.0.0.0/33", CidrError::PrefixTooLong),
            ("::/129", CidrError::PrefixTooLong),
            ("10.0.0.0/300", CidrError::PrefixTooLong),
            ("10.1.2.3/8", CidrError::HostBitsSet),
            ("fd00::1/8", CidrError::HostBitsSet),
            ("10.0.0.0/", CidrError::Syntax),
            ("10.0.0.0/x", CidrError::Syntax),
            ("10.0.0/8", CidrError::Syntax),
            ("localhost", CidrError::Syntax),
            ("10.0.0.0/-1", CidrError::Syntax),
        ];
        for (text, want) in cases {
            assert_eq!(Cidr::parse(text), Err(want), "{text}");
            assert_eq!(
                parse_list([text]).map(|_| ()),
                Err((text.to_owned(), want)),
                "{text}"
            );
        }
    }

    #[test]
    fn ranges_print_as_they_parse() {
        for text in DEFAULT_ALLOW_FROM {
            let cidr = Cidr::parse(text).expect("default parses");
            assert_eq!(Cidr::parse(&cidr.to_string()), Ok(cidr));
        }
        assert_eq!(
            parse_list(["default", "127.0.0.0/8"]).map(|l| l.len()),
            Ok(DEFAULT_ALLOW_FROM.len())
        );
    }
}
