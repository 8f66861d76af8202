//! Does this machine let us build namespaces? Root and a few programs are needed.

use std::path::Path;

/// Programs the test bed runs: iproute2, NSD, tcpdump, dig (dnsutils), iptables, getent (libc-bin)
/// and kill (procps).
pub const REQUIRED_TOOLS: &[&str] = &["ip", "nsd", "tcpdump", "dig", "iptables", "getent", "kill"];

/// Environment variable that turns "requirements missing" from a failure into a skip.
pub const SKIP_ENV: &str = "NODECACHE_SKIP_NETNS";

/// What is missing to build namespaces here, one human-readable item each (empty: all good).
pub fn missing_requirements() -> Vec<String> {
    let mut missing = Vec::new();
    if !is_root() {
        missing.push("root (network namespaces need CAP_SYS_ADMIN and CAP_NET_ADMIN)".to_owned());
    }
    for tool in REQUIRED_TOOLS {
        if !on_path(tool) {
            missing.push(format!("the `{tool}` program"));
        }
    }
    missing
}

/// Call first in every test that builds namespaces. Returns true when the test can run.
///
/// When something is missing: with `NODECACHE_SKIP_NETNS=1` it prints `skipped: <test>: …` and
/// returns false (the test should return early and pass); otherwise it panics naming what is
/// missing, so a misconfigured CI fails loudly instead of passing vacuously.
///
/// # Panics
/// When requirements are missing and `NODECACHE_SKIP_NETNS` is not `1`.
pub fn require_netns(test: &str) -> bool {
    let missing = missing_requirements();
    if missing.is_empty() {
        return true;
    }
    let what = missing.join(", ");
    if std::env::var(SKIP_ENV).is_ok_and(|v| v == "1") {
        println!("skipped: {test}: missing {what}");
        return false;
    }
    panic!(
        "{test}: this test builds network namespaces and needs {what}; \
         run scripts/test.sh as root (it installs the tools), or set {SKIP_ENV}=1 to skip"
    );
}

/// The programs of `programs` that are not on `$PATH`.
pub fn missing_programs(programs: &[&str]) -> Vec<String> {
    programs
        .iter()
        .filter(|p| !on_path(p))
        .map(|p| format!("the `{p}` program"))
        .collect()
}

/// Like [`require_netns`], also requiring `programs` (compilers, curl, valgrind …): true when
/// the test can run; with `NODECACHE_SKIP_NETNS=1` a skip, otherwise a panic naming what is
/// missing.
///
/// # Panics
/// When something is missing and `NODECACHE_SKIP_NETNS` is not `1`.
pub fn require_programs(test: &str, programs: &[&str]) -> bool {
    if !require_netns(test) {
        return false;
    }
    let missing = missing_programs(programs);
    if missing.is_empty() {
        return true;
    }
    let what = missing.join(", ");
    if std::env::var(SKIP_ENV).is_ok_and(|v| v == "1") {
        println!("skipped: {test}: missing {what}");
        return false;
    }
    panic!(
        "{test}: needs {what}; run scripts/test.sh as root (it installs them), or set {SKIP_ENV}=1 to skip"
    );
}

/// Effective uid 0, read from `/proc/self/status` (no libc call needed).
fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status").is_ok_and(|status| {
        status
            .lines()
            .find_map(|line| line.strip_prefix("Uid:"))
            .and_then(|ids| ids.split_whitespace().nth(1))
            .is_some_and(|euid| euid == "0")
    })
}

/// True when `program` is an executable file in one of `$PATH`'s directories (the test bed
/// starts programs by name, so that is where they must be; root's PATH includes the sbin ones).
fn on_path(program: &str) -> bool {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path).any(|dir| is_executable(&dir.join(program)))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_programs_on_path() {
        let cases = [("sh", true), ("nodecache-no-such-program-xyz", false)];
        for (program, expected) in cases {
            assert_eq!(on_path(program), expected, "{program}");
        }
    }
}
