//! Which address families the host has, for `AI_ADDRCONFIG`.
//!
//! glibc (`sysdeps/unix/sysv/linux/check_pf.c`) asks netlink for every address and counts an
//! IPv4 one unless it is exactly 127.0.0.1 and an IPv6 one unless it is `::1`; link-local
//! addresses count. We read the same facts from `/proc/net/fib_trie` (local /32 entries) and
//! `/proc/net/if_inet6`, which describe the caller's network namespace and need no unsafe code.
//! The answer is recomputed at most once a second, only on cache misses.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::time::{Duration, Instant};

use parking_lot::Mutex;

/// The families seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FamiliesSeen {
    /// Some IPv4 address other than 127.0.0.1 is configured.
    pub ipv4: bool,
    /// Some IPv6 address other than ::1 is configured.
    pub ipv6: bool,
}

const RECHECK: Duration = Duration::from_secs(1);

/// Cached detection of [`FamiliesSeen`].
#[derive(Debug)]
pub struct AddrConfig {
    last: Mutex<Option<(Instant, FamiliesSeen)>>,
    /// How to find out: [`detect`] unless given (the shim asks netlink, as glibc does).
    detect: fn() -> FamiliesSeen,
}

impl Default for AddrConfig {
    fn default() -> Self {
        AddrConfig::new()
    }
}

impl AddrConfig {
    /// Nothing detected yet.
    pub fn new() -> Self {
        AddrConfig::with_detector(detect)
    }

    /// Nothing detected yet; `detect` finds the families when needed (at most once a second).
    pub fn with_detector(detect: fn() -> FamiliesSeen) -> Self {
        AddrConfig {
            last: Mutex::new(None),
            detect,
        }
    }

    /// The families configured now (re-read at most once a second).
    pub fn current(&self) -> FamiliesSeen {
        let now = Instant::now();
        let mut last = self.last.lock();
        if let Some((when, seen)) = *last
            && now.duration_since(when) < RECHECK
        {
            return seen;
        }
        let seen = (self.detect)();
        *last = Some((now, seen));
        seen
    }
}

/// Reads the proc files. When a file cannot be read (no /proc in a sandbox), the family is
/// assumed present: asking a question too many is better than hiding an answer.
pub fn detect() -> FamiliesSeen {
    let ipv4 = read_proc("/proc/net/fib_trie").map_or(true, |t| fib_trie_has_ipv4(&t));
    let ipv6 = match read_proc("/proc/net/if_inet6") {
        Ok(text) => if_inet6_has_ipv6(&text),
        // No file at all: the kernel has no IPv6 (ipv6.disable=1).
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
        Err(_) => true,
    };
    FamiliesSeen { ipv4, ipv6 }
}

/// A `/proc` file as text, in one or two `read`s ([`crate::config::read_whole`]; these files
/// report size 0, which makes `read_to_string` grow its buffer from 32 octets).
fn read_proc(path: &str) -> std::io::Result<String> {
    let bytes = crate::config::read_whole(&mut std::fs::File::open(path)?, 0)?;
    String::from_utf8(bytes).map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
}

/// True when the local table lists a host address other than 127.0.0.1. Entries look like
/// `|-- 198.18.0.2` followed by `/32 host LOCAL`.
fn fib_trie_has_ipv4(text: &str) -> bool {
    let mut previous: Option<Ipv4Addr> = None;
    for line in text.lines() {
        let line = line.trim();
        if let Some(addr) = line.strip_prefix("|-- ") {
            previous = addr.trim().parse().ok();
        } else if line.starts_with("/32 host LOCAL")
            && previous.is_some_and(|a| a != Ipv4Addr::LOCALHOST)
        {
            return true;
        }
    }
    false
}

/// True when `/proc/net/if_inet6` lists an address other than `::1`. Lines are
/// `<32 hex digits> <ifindex> <prefix> <scope> <flags> <name>`.
fn if_inet6_has_ipv6(text: &str) -> bool {
    text.lines()
        .filter_map(|line| line.split_whitespace().next())
        .any(|hex| {
            u128::from_str_radix(hex, 16)
                .is_ok_and(|bits| Ipv6Addr::from(bits) != Ipv6Addr::LOCALHOST)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fib_trie_loopback_only_is_no_ipv4() {
        let loopback_only = "Main:\n  +-- 0.0.0.0/0 3 0 5\n     |-- 127.0.0.0\n        /8 host LOCAL\n     \
                             |-- 127.0.0.1\n        /32 host LOCAL\n     |-- 127.255.255.255\n        /32 link BROADCAST\n";
        assert!(!fib_trie_has_ipv4(loopback_only));
        let with_pod = format!("{loopback_only}     |-- 198.18.0.2\n        /32 host LOCAL\n");
        assert!(fib_trie_has_ipv4(&with_pod));
        // glibc only excludes 127.0.0.1 itself.
        let other_loopback = "     |-- 127.0.0.53\n        /32 host LOCAL\n";
        assert!(fib_trie_has_ipv4(other_loopback));
    }

    #[test]
    fn if_inet6_loopback_only_is_no_ipv6() {
        let lo = "00000000000000000000000000000001 01 80 10 80       lo\n";
        assert!(!if_inet6_has_ipv6(lo));
        let ll = format!("{lo}fe800000000000000000000000000001 02 40 20 80     eth0\n");
        assert!(if_inet6_has_ipv6(&ll));
        assert!(!if_inet6_has_ipv6(""));
    }
}
