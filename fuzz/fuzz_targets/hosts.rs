//! The hosts file as the shim reads it: `Hosts::parse_with_multi` (host.conf `multi` from
//! the first byte: odd = on) and `HostConf::parse` on the same text, then every name the
//! text holds looked up in each family (and upper-cased, and with a trailing dot). Checked:
//! an `AF_INET` lookup gives only IPv4 addresses, an `AF_INET6` one only IPv6, a found
//! entry has an address, a name found in a family is found unspecified too, and the first
//! lookup of a fresh `Hosts` (a scan of the text) gives what the index gives.
#![no_main]

use libfuzzer_sys::fuzz_target;
use resolver_core::config::{HostConf, Hosts};

fuzz_target!(|data: &[u8]| {
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    let multi = first & 1 == 1;
    let hosts = Hosts::parse_with_multi(&text, multi);
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
            // `hosts` is indexed (len above); a fresh one answers its first lookup by a scan.
            let scanned = [
                Hosts::parse_with_multi(&text, multi)
                    .lookup(&name)
                    .map(|e| e.into_owned()),
                Hosts::parse_with_multi(&text, multi)
                    .lookup_inet(&name)
                    .map(|e| e.into_owned()),
                Hosts::parse_with_multi(&text, multi)
                    .lookup_inet6(&name)
                    .map(|e| e.into_owned()),
            ];
            let indexed = [
                hosts.lookup(&name).map(|e| e.into_owned()),
                hosts.lookup_inet(&name).map(|e| e.into_owned()),
                hosts.lookup_inet6(&name).map(|e| e.into_owned()),
            ];
            assert_eq!(scanned, indexed, "{name}: scan and index differ");
        }
    }
});
