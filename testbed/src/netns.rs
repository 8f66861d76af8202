//! A uniquely named network namespace with its own `/etc` files, removed on drop.

use std::ffi::OsStr;
use std::path::PathBuf;
use std::process::Command;
use std::sync::Once;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use crate::process::{RunOutput, run};
use crate::{Error, Result};

/// Bound for the short administrative commands (`ip`, `iptables`).
pub(crate) const ADMIN_TIMEOUT: Duration = Duration::from_secs(10);

/// Prefix of every namespace this crate creates: `nc-<pid>-<counter>`.
const PREFIX: &str = "nc-";

static COUNTER: AtomicUsize = AtomicUsize::new(0);
static SWEEP: Once = Once::new();

/// A network namespace created with `ip netns add`, deleted (with `/etc/netns/<name>/`) on drop.
///
/// Names are `nc-<pid>-<counter>`: unique across the parallel test processes nextest starts and
/// across the threads of one `cargo test` process.
#[derive(Debug)]
pub struct Netns {
    name: String,
}

impl Netns {
    /// Creates a new namespace with `lo` up.
    pub fn new() -> Result<Self> {
        SWEEP.call_once(sweep_stale);
        let name = format!(
            "{PREFIX}{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        ip(&["netns", "add", &name])?;
        // From here on Drop cleans up, even if bringing up lo fails.
        let ns = Self { name };
        ns.ip(&["link", "set", "lo", "up"])?;
        Ok(ns)
    }

    /// The namespace's name (as `ip netns` knows it).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A [`Command`] running `program` inside the namespace (`ip netns exec <name> program`);
    /// add arguments and run it with [`crate::run`] or spawn it.
    ///
    /// `ip netns exec` also bind-mounts the files of `/etc/netns/<name>/` over `/etc/` for the
    /// program (see [`Netns::write_etc`]).
    pub fn command(&self, program: impl AsRef<OsStr>) -> Command {
        let mut cmd = Command::new("ip");
        cmd.arg("netns").arg("exec").arg(&self.name).arg(program);
        cmd
    }

    /// Runs `program args…` in the namespace, killed after `timeout`. A non-zero exit is not an
    /// error here; see [`RunOutput::ok`].
    pub fn exec<S: AsRef<OsStr>>(
        &self,
        program: &str,
        args: &[S],
        timeout: Duration,
    ) -> Result<RunOutput> {
        let mut cmd = self.command(program);
        cmd.args(args);
        run(cmd, timeout)
    }

    /// A [`Command`] running `program` in the namespace with extra environment variables set
    /// for `program` only: `ip netns exec <name> env K=V… program`. (Setting `LD_PRELOAD` on
    /// the `ip` command itself would preload into `ip` too.)
    pub fn command_env(&self, env: &[(String, String)], program: impl AsRef<OsStr>) -> Command {
        let mut cmd = self.command("env");
        cmd.args(env.iter().map(|(key, value)| format!("{key}={value}")));
        cmd.arg(program);
        cmd
    }

    /// Like [`Netns::exec`], with `env` set for `program` only (see [`Netns::command_env`]).
    pub fn exec_env<P: AsRef<OsStr>, S: AsRef<OsStr>>(
        &self,
        env: &[(String, String)],
        program: P,
        args: &[S],
        timeout: Duration,
    ) -> Result<RunOutput> {
        let mut cmd = self.command_env(env, program);
        cmd.args(args);
        run(cmd, timeout)
    }

    /// Runs `ip -n <name> args…` and fails unless it exits 0.
    pub fn ip(&self, args: &[&str]) -> Result<RunOutput> {
        let mut full = vec!["-n", self.name.as_str()];
        full.extend_from_slice(args);
        ip(&full)
    }

    /// Writes `/etc/netns/<name>/<file>`, which `ip netns exec` bind-mounts over `/etc/<file>`
    /// (only for files that exist in `/etc`: resolv.conf, hosts, nsswitch.conf, gai.conf …).
    pub fn write_etc(&self, file: &str, text: &str) -> Result<()> {
        let dir = self.etc_dir();
        std::fs::create_dir_all(&dir)
            .map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
        let path = dir.join(file);
        std::fs::write(&path, text).map_err(|e| Error::io(format!("writing {}", path.display()), e))
    }

    /// `/etc/netns/<name>`.
    pub fn etc_dir(&self) -> PathBuf {
        PathBuf::from("/etc/netns").join(&self.name)
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        remove(&self.name);
    }
}

/// Runs `ip args…`, failing unless it exits 0.
pub(crate) fn ip(args: &[&str]) -> Result<RunOutput> {
    let mut cmd = Command::new("ip");
    cmd.args(args);
    run(cmd, ADMIN_TIMEOUT)?.ok()
}

/// Deletes a namespace and its `/etc/netns` directory; errors are ignored (best effort in Drop).
fn remove(name: &str) {
    let _ = ip(&["netns", "del", name]);
    let _ = std::fs::remove_dir_all(PathBuf::from("/etc/netns").join(name));
}

/// Removes namespaces left by test processes that died without running Drop (killed by a
/// signal or a timeout): `nc-<pid>-<n>` whose `<pid>` no longer exists.
fn sweep_stale() {
    let Ok(list) = ip(&["netns", "list"]) else {
        return;
    };
    for line in list.stdout.lines() {
        // Lines look like `nc-123-0 (id: 4)` or just `nc-123-0`.
        let Some(name) = line.split_whitespace().next() else {
            continue;
        };
        if owner_pid(name).is_some_and(|pid| !PathBuf::from(format!("/proc/{pid}")).exists()) {
            remove(name);
        }
    }
}

/// The pid part of a name this crate generated, `None` for any other name.
fn owner_pid(name: &str) -> Option<u32> {
    let (pid, counter) = name.strip_prefix(PREFIX)?.split_once('-')?;
    counter.parse::<usize>().ok()?;
    pid.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owner_pid_only_matches_generated_names() {
        let cases = [
            ("nc-123-0", Some(123)),
            ("nc-4194304-17", Some(4_194_304)),
            ("nc-123", None),
            ("nc-abc-1", None),
            ("nc-1-x", None),
            ("cni-1234-5", None),
            ("other", None),
        ];
        for (name, expected) in cases {
            assert_eq!(owner_pid(name), expected, "{name}");
        }
    }
}
