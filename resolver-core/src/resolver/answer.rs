//! What a lookup returns, and numeric hosts, which never touch DNS (SPEC §4).

use std::net::{IpAddr, Ipv6Addr};

use crate::config::inet_aton_exact;
use std::time::Duration;

use crate::error::Error;
use crate::resolver::Family;

/// Where an answer came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The name was a numeric address.
    Numeric,
    /// The hosts file.
    Hosts,
    /// DNS.
    Dns,
}

/// A definitive negative answer, cached like a positive one (RFC 2308).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NegativeAnswer {
    NxDomain,
    NoData,
    /// A CNAME chain ending without an address ([`Error::NoRecovery`]).
    NoRecovery,
}

impl NegativeAnswer {
    pub(crate) fn into_error(self) -> Error {
        match self {
            NegativeAnswer::NxDomain => Error::NxDomain,
            NegativeAnswer::NoData => Error::NoData,
            NegativeAnswer::NoRecovery => Error::NoRecovery,
        }
    }
}

/// The addresses of a name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LookupAnswer {
    /// IPv4 addresses first, then IPv6, each in the order the source gave them, without
    /// duplicates. The shim applies libc's ordering on top.
    pub addrs: Vec<IpAddr>,
    /// The canonical name (`AI_CANONNAME`): end of the CNAME chain, the hosts file's first
    /// name, or the numeric host itself.
    pub canonical_name: String,
    /// Where the answer came from.
    pub source: Source,
    /// How long the answer stays valid: the shortest TTL among the answers (positive and
    /// negative) that decided it.
    pub ttl: Duration,
    pub(crate) negative: Option<NegativeAnswer>,
}

impl LookupAnswer {
    pub(crate) fn positive(
        addrs: Vec<IpAddr>,
        canonical_name: String,
        source: Source,
        ttl: Duration,
    ) -> Self {
        let mut unique = Vec::with_capacity(addrs.len());
        for addr in addrs {
            if !unique.contains(&addr) {
                unique.push(addr);
            }
        }
        LookupAnswer {
            addrs: unique,
            canonical_name,
            source,
            ttl,
            negative: None,
        }
    }

    pub(crate) fn negative(kind: NegativeAnswer, ttl: Duration) -> Self {
        LookupAnswer {
            addrs: Vec::new(),
            canonical_name: String::new(),
            source: Source::Dns,
            ttl,
            negative: Some(kind),
        }
    }

    /// True for a cached NXDOMAIN/NODATA.
    pub(crate) fn is_negative(&self) -> bool {
        self.negative.is_some()
    }
}

/// Parses a numeric IPv6 address, with an optional numeric `%scope` suffix (RFC 4007 §11).
/// Interface-name scopes need `if_nametoindex`, which the shim handles before calling us.
pub fn parse_ipv6(text: &str) -> Option<Ipv6Addr> {
    let address = match text.split_once('%') {
        Some((address, scope))
            if !scope.is_empty() && scope.bytes().all(|b| b.is_ascii_digit()) =>
        {
            address
        }
        Some(_) => return None,
        None => text,
    };
    address.parse().ok()
}

/// The answer for a numeric host, or `None` when `host` is a name. A numeric address of the
/// other family is an error, as in glibc (`EAI_ADDRFAMILY`).
pub(crate) fn numeric(host: &str, family: Family) -> Option<Result<LookupAnswer, Error>> {
    // glibc's getaddrinfo parses IPv4 with __inet_aton_exact since 2.29 (`127.1` is numeric).
    let addr = match inet_aton_exact(host) {
        Some(v4) => IpAddr::V4(v4),
        None => IpAddr::V6(parse_ipv6(host)?),
    };
    let matches = match family {
        Family::Unspec => true,
        Family::Inet => addr.is_ipv4(),
        Family::Inet6 => addr.is_ipv6(),
    };
    Some(if matches {
        Ok(LookupAnswer::positive(
            vec![addr],
            host.to_string(),
            Source::Numeric,
            Duration::MAX,
        ))
    } else {
        Err(Error::AddressFamily)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_hosts_and_families() {
        let answer = numeric("::1", Family::Unspec).unwrap().unwrap();
        assert_eq!(answer.addrs, vec![IpAddr::V6(Ipv6Addr::LOCALHOST)]);
        assert_eq!(answer.source, Source::Numeric);
        assert!(numeric("fe80::1%2", Family::Inet6).unwrap().is_ok());
        assert!(numeric("fe80::1%eth0", Family::Inet6).is_none());
        assert!(matches!(
            numeric("127.0.0.1", Family::Inet6),
            Some(Err(Error::AddressFamily))
        ));
        assert!(numeric("web.default", Family::Unspec).is_none());
    }
}
