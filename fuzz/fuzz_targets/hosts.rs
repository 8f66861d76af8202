//! The hosts file as the shim reads it: `Hosts::parse_with_multi` (host.conf `multi` from
//! the first byte: odd = on) and `HostConf::parse` on the same text, then every name the
//! text holds looked up in each family (and upper-cased, and with a trailing dot). Checked:
//! an `AF_INET` lookup gives only IPv4 addresses, an `AF_INET6` one only IPv6, a found
//! entry has an address, and a name found in a family is found unspecified too.
#![no_main]

use libfuzzer_sys::fuzz_target;
use resolver_core::config::{HostConf, Hosts};

fuzz_target!(|data: &[u8]| {
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    let hosts = Hosts::parse_with_multi(&text, first & 1 == 1);
    let _ = HostConf::parse(&text);
    let _ = (hosts.len(), hosts.is_empty());
    let words = text
        .split(|c: char| c.is_ascii_whitespace() || c == '#')
        .take(64);
    for word in words.filter(|word| !word.is_empty()) {
        for name in [
            word.to_string(),
            word.to_ascii_uppercase(),
            format!("{word}."),
        ] {
            if let Some(entry) = hosts.lookup_inet(&name) {
                assert!(entry.addrs.iter().all(|a| a.is_ipv4()), "{name}: {entry:?}");
                assert!(!entry.addrs.is_empty(), "{name}: empty AF_INET entry");
                assert!(
                    hosts.lookup(&name).is_some(),
                    "{name}: AF_INET but not AF_UNSPEC"
                );
            }
            if let Some(entry) = hosts.lookup_inet6(&name) {
                assert!(entry.addrs.iter().all(|a| a.is_ipv6()), "{name}: {entry:?}");
                assert!(!entry.addrs.is_empty(), "{name}: empty AF_INET6 entry");
                assert!(
                    hosts.lookup(&name).is_some(),
                    "{name}: AF_INET6 but not AF_UNSPEC"
                );
            }
            if let Some(entry) = hosts.lookup(&name) {
                assert!(!entry.addrs.is_empty(), "{name}: empty entry");
            }
        }
    }
});
