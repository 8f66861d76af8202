//! CNAME chains that end without an address (issue 3, second gap): the shim's getaddrinfo codes
//! and gethostbyname `h_errno` equal glibc's for AF_UNSPEC, AF_INET and AF_INET6, and
//! `nodecache resolve` says "not found" (exit 2).
//!
//! The zone is the corpus plus a few chains, served by real NSD; tests/c/families.c prints one
//! line per call (three families × three flag sets, then gethostbyname and
//! gethostbyname2(AF_INET6)), so glibc alone, glibc with the shim and musl with the shim compare
//! as text. glibc's own answers are asserted too: they are the behaviour this was built against
//! (glibc 2.36, measured when the core learned `Error::NoRecovery`).
//!
//! Skipped (passing) while resolver-ffi is the stub; see `shim_support`.

mod common;
mod shim_support;

use std::time::Duration;

use testbed::{CProgram, Corpus, Libc, LookupStatus, Node, require_programs};

use common::{RESOLVE_TIMEOUT, resolve};
use shim_support::{SHIM_TOOLS, real_shims};

/// A CNAME to a name that holds only a TXT record: NOERROR, the CNAME alone in the answer.
const TO_NO_ADDRESS: &str = "cname-noaddr.example.com";
/// A CNAME to a name that does not exist: NSD answers NXDOMAIN with the CNAME in the answer.
const TO_NXDOMAIN: &str = "cname-dangling.example.com";
/// Two CNAMEs, then the name without an address.
const CHAIN_TO_NO_ADDRESS: &str = "cname-chain.example.com";
/// A CNAME to a name with only an A record: AAAA questions end without an address.
const TO_V4_ONLY: &str = "cname-v4only.example.com";
/// An ExternalName-like service in the pod's namespace whose target has no address: the first
/// search candidate ends the search.
const SERVICE_TO_NO_ADDRESS: &str = "ext-noaddr";

/// The names compared, in output order.
const NAMES: &[&str] = &[
    TO_NO_ADDRESS,
    TO_NXDOMAIN,
    CHAIN_TO_NO_ADDRESS,
    TO_V4_ONLY,
    SERVICE_TO_NO_ADDRESS,
];

/// Bound for one run of the families program over every name (glibc's worst case per call is
/// far below this in the bed; nothing is lost).
const RUN_TIMEOUT: Duration = Duration::from_secs(120);

fn zone() -> String {
    let mut zone = Corpus.zone();
    zone.push_str(
        "cname-noaddr.example.com. IN CNAME txtonly.example.com.\n\
         txtonly.example.com. IN TXT \"no address here\"\n\
         cname-dangling.example.com. IN CNAME missing.example.com.\n\
         cname-chain.example.com. IN CNAME cname-noaddr.example.com.\n\
         cname-v4only.example.com. IN CNAME v4only.example.com.\n\
         v4only.example.com. IN A 198.18.2.2\n\
         ext-noaddr.default.svc.cluster.local. IN CNAME txtonly.example.com.\n",
    );
    zone
}

/// The block of `families` output for `name` (its `name …` line excluded).
fn block<'a>(output: &'a str, name: &str) -> Vec<&'a str> {
    let header = format!("name {name}");
    output
        .lines()
        .skip_while(|line| *line != header)
        .skip(1)
        .take_while(|line| !line.starts_with("name "))
        .collect()
}

/// Fails naming the first line where `got` differs from glibc's `expected`.
fn assert_same_lines(got: &str, expected: &str, what: &str) {
    let mut name = "";
    for (got_line, expected_line) in got.lines().zip(expected.lines()) {
        if let Some(rest) = expected_line.strip_prefix("name ") {
            name = rest;
        }
        assert_eq!(got_line, expected_line, "{what}, {name}:\n{got}");
    }
    assert_eq!(
        got.lines().count(),
        expected.lines().count(),
        "{what}:\n{got}"
    );
}

#[test]
fn cname_without_address_fails_like_glibc_for_every_family() {
    let test = "cname_without_address_fails_like_glibc_for_every_family";
    if !require_programs(test, SHIM_TOOLS) {
        return;
    }
    let Some(shims) = real_shims(test) else {
        return;
    };
    let node = Node::builder().zone(zone()).build().expect("node");
    let gcc = CProgram::build(Libc::Glibc, "families").expect("gcc families.c");
    let musl = CProgram::build(Libc::Musl, "families").expect("musl-gcc families.c");
    let run = |program: &CProgram, shim| {
        let out = program
            .run(node.pod(), shim, NAMES, RUN_TIMEOUT)
            .expect("families runs");
        assert!(out.success(), "{}", out.stderr);
        out.stdout
    };
    let glibc = run(&gcc, None);
    println!("glibc:\n{glibc}");

    // What glibc does, verified here once and kept as the reference.
    let no_recovery = [
        "gai UNSPEC 0 -> EAI_NONAME",
        "gai UNSPEC CANON -> EAI_NONAME",
        "gai UNSPEC getent -> EAI_NONAME",
        "gai INET 0 -> EAI_NODATA",
        "gai INET CANON -> EAI_NONAME",
        "gai INET getent -> EAI_NONAME",
        "gai INET6 0 -> EAI_NONAME",
        "gai INET6 CANON -> EAI_NONAME",
        "gai INET6 getent -> EAI_NONAME",
        "gethostbyname -> NO_RECOVERY",
        "gethostbyname2(INET6) -> NO_RECOVERY",
    ];
    for name in [TO_NO_ADDRESS, CHAIN_TO_NO_ADDRESS, SERVICE_TO_NO_ADDRESS] {
        assert_eq!(block(&glibc, name), no_recovery, "glibc, {name}");
    }
    let nxdomain = block(&glibc, TO_NXDOMAIN);
    assert_eq!(nxdomain.len(), no_recovery.len(), "{glibc}");
    assert!(
        nxdomain
            .iter()
            .all(|line| line.ends_with("EAI_NONAME") || line.ends_with("HOST_NOT_FOUND")),
        "glibc, {TO_NXDOMAIN}: {nxdomain:#?}"
    );
    let v4_only = block(&glibc, TO_V4_ONLY);
    assert!(
        v4_only.contains(&"gai INET6 0 -> EAI_NONAME")
            && v4_only.contains(&"gethostbyname2(INET6) -> NO_RECOVERY")
            && v4_only
                .contains(&"gai INET6 getent -> ok ::ffff:198.18.2.2 canon=v4only.example.com"),
        "glibc, {TO_V4_ONLY}: {v4_only:#?}"
    );

    // The shims, glibc's and musl's, answer every call like glibc.
    let glibc_shim = run(&gcc, Some(&shims.glibc));
    assert_same_lines(&glibc_shim, &glibc, "glibc with the shim");
    let musl_shim = run(&musl, Some(&shims.musl));
    assert_same_lines(&musl_shim, &glibc, "musl with the shim");

    // `nodecache resolve` (same core): not found, for every family.
    for name in [TO_NO_ADDRESS, CHAIN_TO_NO_ADDRESS, SERVICE_TO_NO_ADDRESS] {
        for family in ["unspec", "inet", "inet6"] {
            let result = resolve(node.pod(), &[name, "--family", family], RESOLVE_TIMEOUT);
            assert_eq!(
                result.status,
                LookupStatus::NotFound,
                "nodecache resolve {name} --family {family}: {:?}",
                result.output
            );
            assert!(result.addrs.is_empty());
        }
    }
}
