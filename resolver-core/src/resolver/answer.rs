//! What a lookup returns, and numeric hosts, which never touch DNS (SPEC §4).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
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
}

impl NegativeAnswer {
    pub(crate) fn into_error(self) -> Error {
        match self {
            NegativeAnswer::NxDomain => Error::NxDomain,
            NegativeAnswer::NoData => Error::NoData,
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

/// Parses an IPv4 address the way glibc's getaddrinfo does (`__inet_aton_exact`, used since
/// glibc 2.29): one to four parts, each decimal, octal (leading `0`) or hex (`0x`), the last
/// part filling the remaining bytes (`127.1` is 127.0.0.1), nothing after the number.
pub fn parse_ipv4_aton(text: &str) -> Option<Ipv4Addr> {
    if text.is_empty() || text.len() > 64 {
        return None;
    }
    let mut parts = [0u32; 4];
    let mut count = 0;
    for piece in text.split('.') {
        if count == 4 {
            return None;
        }
        parts[count] = parse_aton_part(piece)?;
        count += 1;
    }
    let value = match count {
        1 => parts[0],
        2 if parts[0] <= 0xff && parts[1] <= 0xff_ffff => (parts[0] << 24) | parts[1],
        3 if parts[0] <= 0xff && parts[1] <= 0xff && parts[2] <= 0xffff => {
            (parts[0] << 24) | (parts[1] << 16) | parts[2]
        }
        4 if parts.iter().all(|&p| p <= 0xff) => {
            (parts[0] << 24) | (parts[1] << 16) | (parts[2] << 8) | parts[3]
        }
        _ => return None,
    };
    Some(Ipv4Addr::from(value))
}

fn parse_aton_part(piece: &str) -> Option<u32> {
    let (digits, radix) = if let Some(hex) = piece
        .strip_prefix("0x")
        .or_else(|| piece.strip_prefix("0X"))
    {
        (hex, 16)
    } else if piece.len() > 1 && piece.starts_with('0') {
        (&piece[1..], 8)
    } else {
        (piece, 10)
    };
    // inet_aton accepts "0x" alone as zero; an empty decimal part is an error.
    if digits.is_empty() {
        return if radix == 16 { Some(0) } else { None };
    }
    if !digits.bytes().all(|b| (b as char).is_digit(radix)) {
        return None;
    }
    u32::from_str_radix(digits, radix).ok()
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
    let addr = match parse_ipv4_aton(host) {
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
    fn aton_forms_match_glibc() {
        let cases: &[(&str, Option<[u8; 4]>)] = &[
            ("127.0.0.1", Some([127, 0, 0, 1])),
            ("127.1", Some([127, 0, 0, 1])),
            ("10.1.2", Some([10, 1, 0, 2])),
            ("0x7f.1", Some([127, 0, 0, 1])),
            ("017.0.0.1", Some([15, 0, 0, 1])),
            ("2130706433", Some([127, 0, 0, 1])),
            ("1.2.3.256", None),
            ("1.2.3.4.5", None),
            ("1.2.3.", None),
            ("08.1.1.1", None),
            ("1.2.3.4 ", None),
            ("web", None),
            ("", None),
        ];
        for (text, want) in cases {
            assert_eq!(parse_ipv4_aton(text), want.map(Ipv4Addr::from), "{text}");
        }
    }

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
