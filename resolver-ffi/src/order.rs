//! Result order: glibc's RFC 3484 destination sort (`nss/getaddrinfo.c`, `rfc3484_sort`) with
//! glibc's default tables, or the ones `/etc/gai.conf` sets (the private `gai_conf` module).
//!
//! Rules as glibc applies them, each deciding only when the earlier ones tie:
//! 1 usable destinations (a source address exists) first; 2 matching scope; 3 avoid
//! deprecated sources; 4 prefer home addresses; 5 matching label; 6 higher precedence;
//! 7 native transport (taken as equal: the shim does not ask netlink which interfaces are
//! tunnels, which only matters for 6to4/Teredo hosts); 8 smaller scope; 9 longest matching
//! prefix (glibc's variant: for IPv4 only inside the source's subnet); 10 original order.
//!
//! glibc's labels differ from RFC 3484 for ULAs (`fc00::/7` has its own label 6), which is why
//! a host with only a ULA IPv6 address gets IPv4 first for public names.

use std::cmp::Ordering;
use std::net::{IpAddr, Ipv6Addr};

/// What glibc learns about the source address for one destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SourceInfo {
    /// The address `connect()` on a UDP socket chose.
    pub addr: IpAddr,
    /// Prefix length of that address on its interface (0 when unknown).
    pub prefixlen: u8,
    /// `IFA_F_DEPRECATED` or `IFA_F_OPTIMISTIC`.
    pub deprecated: bool,
    /// `IFA_F_HOMEADDRESS`.
    pub home: bool,
}

/// `::ffff:a.b.c.d` for IPv4, the address itself for IPv6: glibc's `match_prefix` view.
fn as_v6(addr: IpAddr) -> Ipv6Addr {
    match addr {
        IpAddr::V4(v4) => v4.to_ipv6_mapped(),
        IpAddr::V6(v6) => v6,
    }
}

/// A prefix table (labels or precedences): `(prefix, length, value)`, most specific first.
pub type PrefixTable = Vec<(u128, u32, i32)>;

/// The tables the sort uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// `label` lines, most specific prefix first; the last entry covers `::/0`.
    pub labels: PrefixTable,
    /// `precedence` lines, most specific prefix first; the last entry covers `::/0`.
    pub precedence: PrefixTable,
    /// `scopev4` lines as (address, netmask, scope), largest netmask first, ending with
    /// `0.0.0.0/0`.
    pub scopes_v4: Vec<(u32, u32, i32)>,
}

impl Default for Policy {
    /// glibc's built-in tables (`default_labels`, `default_precedence`, `default_scopes`).
    fn default() -> Self {
        Policy {
            labels: vec![
                (1, 128, 0),
                (0x2002 << 112, 16, 2),
                (0, 96, 3),
                (0xffff << 32, 96, 4),
                (0xfec0 << 112, 10, 5),
                (0xfc00 << 112, 7, 6),
                (0x2001 << 112, 32, 7),
                (0, 0, 1),
            ],
            precedence: vec![
                (1, 128, 50),
                (0x2002 << 112, 16, 30),
                (0, 96, 20),
                (0xffff << 32, 96, 10),
                (0, 0, 40),
            ],
            scopes_v4: vec![
                (0xa9fe_0000, 0xffff_0000, 2),
                (0x7f00_0000, 0xff00_0000, 2),
                (0, 0, 14),
            ],
        }
    }
}

impl Policy {
    /// glibc `get_scope`.
    fn scope(&self, addr: IpAddr) -> i32 {
        match addr {
            IpAddr::V4(v4) => {
                let bits = u32::from(v4);
                self.scopes_v4
                    .iter()
                    .find(|&&(prefix, mask, _)| bits & mask == prefix)
                    .map_or(14, |&(_, _, scope)| scope)
            }
            IpAddr::V6(v6) => {
                let [a, b, ..] = v6.octets();
                if a == 0xff {
                    i32::from(b & 0x0f)
                } else if (a == 0xfe && b & 0xc0 == 0x80) || v6 == Ipv6Addr::LOCALHOST {
                    2
                } else if a == 0xfe && b & 0xc0 == 0xc0 {
                    5
                } else {
                    14
                }
            }
        }
    }

    /// glibc `get_label` (no match: `INT_MAX`).
    fn label(&self, addr: IpAddr) -> i32 {
        match_prefix(addr, &self.labels).unwrap_or(i32::MAX)
    }

    /// glibc `get_precedence` (no match: 0).
    fn precedence(&self, addr: IpAddr) -> i32 {
        match_prefix(addr, &self.precedence).unwrap_or(0)
    }
}

/// First entry of `table` whose prefix covers `addr`.
fn match_prefix(addr: IpAddr, table: &[(u128, u32, i32)]) -> Option<i32> {
    let bits = u128::from(as_v6(addr));
    table
        .iter()
        .find(|&&(prefix, len, _)| {
            let mask = if len == 0 {
                0
            } else {
                u128::MAX << (128 - len.min(128))
            };
            bits & mask == prefix & mask
        })
        .map(|&(_, _, value)| value)
}

/// glibc's `fls`: the number of leading zero bits (32 for 0).
fn leading_zeros(value: u32) -> i32 {
    value.leading_zeros() as i32
}

/// Rule 9 for two destinations of the same family with sources.
fn common_prefix_bits(d1: IpAddr, s1: &SourceInfo, d2: IpAddr, s2: &SourceInfo) -> (i32, i32) {
    match (d1, s1.addr, d2, s2.addr) {
        (IpAddr::V4(d1), IpAddr::V4(s1a), IpAddr::V4(d2), IpAddr::V4(s2a)) => {
            // Only inside the source's subnet. glibc computes the netmask as
            // `0xffffffff << (32 - prefixlen)`, which x86 evaluates as a shift by 0 when the
            // prefix length is unknown (0); wrapping_shl reproduces that.
            let bits = |dst: u32, src: u32, prefixlen: u8| {
                let mask = u32::MAX.wrapping_shl(32 - u32::from(prefixlen));
                if src & mask == dst & mask {
                    leading_zeros(dst ^ src)
                } else {
                    0
                }
            };
            (
                bits(u32::from(d1), u32::from(s1a), s1.prefixlen),
                bits(u32::from(d2), u32::from(s2a), s2.prefixlen),
            )
        }
        (IpAddr::V6(d1), IpAddr::V6(s1a), IpAddr::V6(d2), IpAddr::V6(s2a)) => {
            // glibc compares 32-bit words and stops at the first word where either pair
            // differs, then counts the matching bits of that word only.
            let words = |a: Ipv6Addr| {
                let o = a.octets();
                [0usize, 4, 8, 12].map(|i| u32::from_be_bytes([o[i], o[i + 1], o[i + 2], o[i + 3]]))
            };
            let (w1d, w1s, w2d, w2s) = (words(d1), words(s1a), words(d2), words(s2a));
            (0..4)
                .find(|&i| w1d[i] != w1s[i] || w2d[i] != w2s[i])
                .map_or((0, 0), |i| {
                    (
                        leading_zeros(w1d[i] ^ w1s[i]),
                        leading_zeros(w2d[i] ^ w2s[i]),
                    )
                })
        }
        _ => (0, 0),
    }
}

/// glibc's comparison of two destinations (rules 1 to 9; `Equal` means rule 10 decides).
fn compare(
    policy: &Policy,
    d1: IpAddr,
    s1: Option<&SourceInfo>,
    d2: IpAddr,
    s2: Option<&SourceInfo>,
) -> Ordering {
    let (scope, label, precedence) = (
        |a| policy.scope(a),
        |a| policy.label(a),
        |a| policy.precedence(a),
    );
    // Rule 1: avoid unusable destinations.
    match (s1, s2) {
        (Some(_), None) => return Ordering::Less,
        (None, Some(_)) => return Ordering::Greater,
        _ => {}
    }
    let prefer = |first_wins: bool, second_wins: bool| match (first_wins, second_wins) {
        (true, false) => Some(Ordering::Less),
        (false, true) => Some(Ordering::Greater),
        _ => None,
    };
    let (scope1, scope2) = (scope(d1), scope(d2));
    if let (Some(s1), Some(s2)) = (s1, s2) {
        // Rule 2: prefer matching scope.
        let rule2 = prefer(scope1 == scope(s1.addr), scope2 == scope(s2.addr));
        // Rule 3: avoid deprecated addresses. Rule 4: prefer home addresses.
        let rule3 = prefer(!s1.deprecated, !s2.deprecated);
        let rule4 = prefer(s1.home, s2.home);
        // Rule 5: prefer matching label.
        let rule5 = prefer(label(d1) == label(s1.addr), label(d2) == label(s2.addr));
        if let Some(order) = rule2.or(rule3).or(rule4).or(rule5) {
            return order;
        }
    }
    // Rule 6: prefer higher precedence.
    match precedence(d2).cmp(&precedence(d1)) {
        Ordering::Equal => {}
        order => return order,
    }
    // Rule 7 (native transport) is taken as a tie. Rule 8: prefer smaller scope.
    match scope1.cmp(&scope2) {
        Ordering::Equal => {}
        order => return order,
    }
    // Rule 9: longest matching prefix, same family only.
    if let (Some(s1), Some(s2)) = (s1, s2)
        && d1.is_ipv4() == d2.is_ipv4()
    {
        let (bits1, bits2) = common_prefix_bits(d1, s1, d2, s2);
        return bits2.cmp(&bits1);
    }
    Ordering::Equal
}

/// The order glibc returns `destinations` in, given the source found for each: a
/// permutation of indices, written to `order` (a caller's buffer, reused between calls). Ties
/// keep the original order (rule 10), so the sort is stable.
pub fn sorted_order(
    policy: &Policy,
    destinations: &[IpAddr],
    sources: &[Option<SourceInfo>],
    order: &mut Vec<usize>,
) {
    order.clear();
    order.extend(0..destinations.len());
    order.sort_by(|&a, &b| {
        let (Some(&d1), Some(&d2)) = (destinations.get(a), destinations.get(b)) else {
            return a.cmp(&b);
        };
        let s1 = sources.get(a).and_then(Option::as_ref);
        let s2 = sources.get(b).and_then(Option::as_ref);
        compare(policy, d1, s1, d2, s2).then(a.cmp(&b))
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn source(text: &str, prefixlen: u8) -> Option<SourceInfo> {
        Some(SourceInfo {
            addr: ip(text),
            prefixlen,
            deprecated: false,
            home: false,
        })
    }

    fn order(dests: &[&str], sources: &[Option<SourceInfo>]) -> Vec<String> {
        let dests: Vec<IpAddr> = dests.iter().map(|d| ip(d)).collect();
        let mut order = Vec::new();
        sorted_order(&Policy::default(), &dests, sources, &mut order);
        order.into_iter().map(|i| dests[i].to_string()).collect()
    }

    fn label(addr: IpAddr) -> i32 {
        Policy::default().label(addr)
    }
    fn precedence(addr: IpAddr) -> i32 {
        Policy::default().precedence(addr)
    }
    fn scope(addr: IpAddr) -> i32 {
        Policy::default().scope(addr)
    }

    #[test]
    fn tables_match_glibc_defaults() {
        assert_eq!(label(ip("::1")), 0);
        assert_eq!(label(ip("2002::1")), 2);
        assert_eq!(label(ip("198.18.0.1")), 4);
        assert_eq!(label(ip("fd00::2")), 6);
        assert_eq!(label(ip("2001:0:1::1")), 7);
        assert_eq!(label(ip("2001:db8::1")), 1);
        assert_eq!(precedence(ip("::1")), 50);
        assert_eq!(precedence(ip("198.18.0.1")), 10);
        assert_eq!(precedence(ip("fd00::9")), 40);
        assert_eq!(scope(ip("127.0.0.1")), 2);
        assert_eq!(scope(ip("169.254.1.1")), 2);
        assert_eq!(scope(ip("198.18.0.1")), 14);
        assert_eq!(scope(ip("fe80::1")), 2);
        assert_eq!(scope(ip("fec0::1")), 5);
        assert_eq!(scope(ip("ff05::1")), 5);
        assert_eq!(scope(ip("fd00::1")), 14);
    }

    #[test]
    fn sorting_follows_glibcs_rules() {
        // (destinations in answer order, sources, expected order)
        type Case<'a> = (&'a [&'a str], Vec<Option<SourceInfo>>, &'a [&'a str]);
        let cases: Vec<Case<'_>> = vec![
            // No route anywhere (a namespace with only lo): rule 6 puts IPv6 first. glibc did
            // exactly this for both.test in our netns experiment.
            (
                &["198.18.0.1", "198.18.0.2", "fd00::9"],
                vec![None, None, None],
                &["fd00::9", "198.18.0.1", "198.18.0.2"],
            ),
            // Rule 1: only IPv4 has a source.
            (
                &["fd00::9", "198.18.0.1"],
                vec![None, source("198.18.0.2", 24)],
                &["198.18.0.1", "fd00::9"],
            ),
            // Rule 5: a ULA source (label 6) does not match a global IPv6 destination
            // (label 1), IPv4 matches its own label: IPv4 first.
            (
                &["2001:db8::1", "198.18.0.1"],
                vec![source("fd00::2", 64), source("198.18.0.2", 24)],
                &["198.18.0.1", "2001:db8::1"],
            ),
            // Global IPv6 source: labels match on both, rule 6 prefers IPv6.
            (
                &["198.18.0.1", "2001:db8::1"],
                vec![source("198.18.0.2", 24), source("2001:db8::2", 64)],
                &["2001:db8::1", "198.18.0.1"],
            ),
            // ULA to ULA: labels match, IPv6 precedence 40 beats IPv4's 10.
            (
                &["198.18.0.1", "fd00::9"],
                vec![source("198.18.0.2", 24), source("fd00::2", 64)],
                &["fd00::9", "198.18.0.1"],
            ),
            // Rule 9, IPv4: the destination inside the source's subnet wins.
            (
                &["198.19.0.1", "198.18.0.7"],
                vec![source("198.18.0.2", 24), source("198.18.0.2", 24)],
                &["198.18.0.7", "198.19.0.1"],
            ),
            // Rule 9, IPv4, outside the subnet: no preference, answer order stays.
            (
                &["198.19.0.9", "198.19.0.1"],
                vec![source("198.18.0.2", 24), source("198.18.0.2", 24)],
                &["198.19.0.9", "198.19.0.1"],
            ),
            // Rule 2: loopback destination with loopback source has matching scope.
            (
                &["198.18.0.1", "127.0.0.1"],
                vec![source("127.0.0.1", 8), source("127.0.0.1", 8)],
                &["127.0.0.1", "198.18.0.1"],
            ),
            // Rule 8: smaller scope first when everything else ties.
            (
                &["fd00::9", "fe80::9"],
                vec![None, None],
                &["fe80::9", "fd00::9"],
            ),
        ];
        for (dests, sources, expected) in cases {
            assert_eq!(order(dests, &sources), expected, "{dests:?}");
        }
    }

    #[test]
    fn deprecated_sources_lose() {
        let mut old = source("fd00::2", 64);
        if let Some(s) = old.as_mut() {
            s.deprecated = true;
        }
        let fresh = source("fd00::3", 64);
        assert_eq!(
            order(&["fd00::9", "fd00::8"], &[old, fresh]),
            ["fd00::8", "fd00::9"]
        );
    }
}
