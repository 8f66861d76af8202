//! resolv.conf as the shim reads it: `ResolvConf::parse`, then `apply_env` with
//! `LOCALDOMAIN` and `RES_OPTIONS`, then what consumes the result (the transport settings
//! and the search policy in both modes, planning a short and a dotted name). The input is
//! the file, optionally followed by a NUL and `LOCALDOMAIN`, and a NUL and `RES_OPTIONS`.
//! Checked: glibc's caps (3 nameservers, 6 search entries in 256 bytes, ndots ≤ 15,
//! attempts ≤ 5, 1 s ≤ timeout ≤ 30 s) hold whatever the input.
#![no_main]

use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use resolver_core::config::{MAX_NAMESERVERS, MAX_SEARCH_DOMAINS, ResolvConf};
use resolver_core::policy::{SearchMode, SearchPolicy};
use resolver_core::transport::TransportConfig;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut parts = text.splitn(3, '\0');
    let file = parts.next().unwrap_or_default();
    let localdomain = parts.next();
    let res_options = parts.next();
    let mut conf = ResolvConf::parse(file);
    conf.apply_env(localdomain, res_options);

    assert!(
        conf.nameservers.len() <= MAX_NAMESERVERS,
        "{:?}",
        conf.nameservers
    );
    assert!(conf.search.len() <= MAX_SEARCH_DOMAINS, "{:?}", conf.search);
    let search_bytes: usize = conf.search.iter().map(|entry| entry.len() + 1).sum();
    assert!(search_bytes <= 256, "search list of {search_bytes} bytes");
    assert!(conf.ndots <= 15, "ndots {}", conf.ndots);
    assert!(conf.attempts <= 5, "attempts {}", conf.attempts);
    assert!(
        (Duration::from_secs(1)..=Duration::from_secs(30)).contains(&conf.timeout),
        "timeout {:?}",
        conf.timeout
    );

    let transport = TransportConfig::from_resolv_conf(&conf);
    assert!(!transport.nameservers.is_empty());
    let _ = transport.total_budget();
    for mode in [None, Some(SearchMode::Glibc), Some(SearchMode::Kubernetes)] {
        let policy = SearchPolicy::new(&conf, mode);
        for name in ["web", "web.default.svc", "www.example.com."] {
            let _ = policy.plan(name);
            let _ = policy.glibc_plan(name);
        }
    }
});
