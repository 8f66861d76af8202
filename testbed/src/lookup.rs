//! What glibc answers in a namespace, through `getent ahosts`.
//!
//! glibc's `nss/getent.c` (`ahosts_keys_int`) calls `getaddrinfo(name, NULL, &hints, &res)`
//! with `hints.ai_flags = AI_V4MAPPED | AI_ADDRCONFIG | AI_CANONNAME | AI_IDN | AI_CANONIDN`
//! (the IDN flags unless `--no-idn`) and `ai_family` AF_UNSPEC for `ahosts`, AF_INET for
//! `ahostsv4`, AF_INET6 for `ahostsv6` (which adds AI_V4MAPPED, meaningful only there). It prints
//! one line per addrinfo node (address, socket type, canonical name on the first) and exits 2
//! when `getaddrinfo` returns any error: EAI_NONAME and EAI_AGAIN look the same from outside.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::time::Duration;

use crate::{Netns, Result, RunOutput};

/// Upper bound for one glibc lookup: 3 nameservers × 2 attempts × 5 s, plus slack.
const GLIBC_TIMEOUT: Duration = Duration::from_secs(40);

/// Address family requested, as `nodecache resolve --family` spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Family {
    /// AF_UNSPEC (A and AAAA).
    #[default]
    Unspec,
    /// AF_INET (A only).
    Inet,
    /// AF_INET6 (AAAA; glibc's getent adds AI_V4MAPPED).
    Inet6,
}

impl Family {
    /// The `--family` argument of `nodecache resolve`.
    pub fn as_arg(self) -> &'static str {
        match self {
            Self::Unspec => "unspec",
            Self::Inet => "inet",
            Self::Inet6 => "inet6",
        }
    }

    /// The `getent` database that uses this family.
    fn getent_database(self) -> &'static str {
        match self {
            Self::Unspec => "ahosts",
            Self::Inet => "ahostsv4",
            Self::Inet6 => "ahostsv6",
        }
    }
}

/// Whether a lookup found the name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LookupStatus {
    /// Exit 0: at least one address.
    Found,
    /// Exit 2: the name does not resolve.
    NotFound,
    /// Any other exit (the code, or `None` when killed by a signal).
    Failed(Option<i32>),
}

impl LookupStatus {
    /// The status for a resolver tool's exit code, with the `getent` / `nodecache resolve`
    /// convention: 0 found, 2 not found, anything else failed.
    pub fn from_exit_code(code: Option<i32>) -> Self {
        match code {
            Some(0) => Self::Found,
            Some(2) => Self::NotFound,
            other => Self::Failed(other),
        }
    }
}

/// The outcome of one lookup, comparable between glibc and nodecache.
#[derive(Debug, Clone)]
pub struct LookupResult {
    /// The distinct addresses returned.
    pub addrs: BTreeSet<IpAddr>,
    /// Found / not found / failed.
    pub status: LookupStatus,
    /// Wall-clock time of the lookup command.
    pub elapsed: Duration,
    /// The command's stdout and stderr, for messages.
    pub output: RunOutput,
}

impl LookupResult {
    /// Builds a result from a finished command whose stdout lines start with an address
    /// (`getent ahosts` lines, or `nodecache resolve`'s one address per line). Lines whose first
    /// word is not an address are returned as the error.
    pub fn from_output(output: RunOutput) -> Result<Self, String> {
        let mut addrs = BTreeSet::new();
        for line in output.stdout.lines().filter(|l| !l.trim().is_empty()) {
            let first = line.split_whitespace().next().unwrap_or_default();
            let addr: IpAddr = first
                .parse()
                .map_err(|_| format!("`{}`: not an address line: {line:?}", output.command))?;
            addrs.insert(addr);
        }
        Ok(Self {
            addrs,
            status: LookupStatus::from_exit_code(output.code()),
            elapsed: output.elapsed,
            output,
        })
    }
}

/// `getaddrinfo(name)` as glibc does it in `pod` (AF_UNSPEC, AI_ADDRCONFIG; see the module
/// docs), through `ip netns exec <pod> getent ahosts <name>`.
pub fn glibc_lookup(pod: &Netns, name: &str) -> Result<LookupResult> {
    glibc_lookup_family(pod, name, Family::Unspec)
}

/// [`glibc_lookup`] for a given family (`getent ahosts`, `ahostsv4` or `ahostsv6`).
pub fn glibc_lookup_family(pod: &Netns, name: &str, family: Family) -> Result<LookupResult> {
    let output = pod.exec("getent", &[family.getent_database(), name], GLIBC_TIMEOUT)?;
    LookupResult::from_output(output).map_err(|detail| crate::Error::Command {
        command: format!("getent {} {name}", family.getent_database()),
        status: "unparsable output".to_owned(),
        stderr: detail,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    fn output(stdout: &str, code: i32) -> RunOutput {
        let mut cmd = Command::new("sh");
        cmd.arg("-c").arg(format!("exit {code}"));
        let mut out = crate::run(cmd, Duration::from_secs(5)).expect("sh runs");
        out.stdout = stdout.to_owned();
        out
    }

    #[test]
    fn parses_getent_and_nodecache_output() {
        let getent = "2001:db8::1     STREAM www.example.com\n2001:db8::1     DGRAM  \n\
                      198.18.2.1      STREAM \n198.18.2.1      RAW    \n";
        let cases: &[(&str, i32, LookupStatus, &[&str])] = &[
            (
                getent,
                0,
                LookupStatus::Found,
                &["198.18.2.1", "2001:db8::1"],
            ),
            ("198.18.1.10\n", 0, LookupStatus::Found, &["198.18.1.10"]),
            ("", 2, LookupStatus::NotFound, &[]),
            ("", 1, LookupStatus::Failed(Some(1)), &[]),
        ];
        for (stdout, code, status, addrs) in cases {
            let r = LookupResult::from_output(output(stdout, *code)).expect("parses");
            assert_eq!(r.status, *status, "{stdout:?}");
            let want: BTreeSet<IpAddr> = addrs.iter().map(|a| a.parse().expect("ip")).collect();
            assert_eq!(r.addrs, want, "{stdout:?}");
        }
    }

    #[test]
    fn rejects_lines_that_are_not_addresses() {
        let err = LookupResult::from_output(output("resolving web\n", 0)).expect_err("bad");
        assert!(err.contains("resolving web"), "{err}");
    }
}
