//! `nodecache serve` running in a namespace, for the daemon's integration tests.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::process::{describe, poll_until, send_signal, wait_timeout};
use crate::{Error, Netns, Result, target_dirs};

/// Environment variable naming the `nodecache` binary, overriding the search.
pub const NODECACHE_BIN_ENV: &str = "NODECACHE_BIN";

/// The line the daemon prints on stderr once every listener serves.
const READY_LINE: &str = "nodecache serve: listening on";
/// Bound for the daemon to become ready, and for it to exit after SIGTERM.
const DAEMON_TIMEOUT: Duration = Duration::from_secs(10);
/// Poll step while waiting for readiness.
const READY_STEP: Duration = Duration::from_millis(5);

/// A running `nodecache serve`, stderr captured to a file. Dropping it kills the daemon.
#[derive(Debug)]
pub struct Daemon {
    child: Option<Child>,
    stderr_path: PathBuf,
    _dir: tempfile::TempDir,
}

impl Daemon {
    /// Starts the `nodecache` binary found by [`find_nodecache`] with `serve args…` in `ns`.
    pub fn start(ns: &Netns, args: &[&str]) -> Result<Self> {
        Self::start_binary(ns, &find_nodecache()?, args)
    }

    /// Starts `binary serve args…` in `ns` and waits (bounded) until it prints its ready
    /// line; fails with its stderr if it exits first or stays silent.
    pub fn start_binary(ns: &Netns, binary: &Path, args: &[&str]) -> Result<Self> {
        Self::start_binary_env(ns, binary, &[], args)
    }

    /// Like [`Daemon::start_binary`] with extra environment variables for the daemon
    /// (`ip netns exec` passes its environment on to the program it runs).
    pub fn start_binary_env(
        ns: &Netns,
        binary: &Path,
        env: &[(&str, &str)],
        args: &[&str],
    ) -> Result<Self> {
        let dir = tempfile::Builder::new()
            .prefix("nodecache-daemon-")
            .tempdir()
            .map_err(|e| Error::io("creating the daemon's directory", e))?;
        let stderr_path = dir.path().join("stderr.log");
        let stderr = File::create(&stderr_path)
            .map_err(|e| Error::io(format!("creating {}", stderr_path.display()), e))?;
        let mut cmd = ns.command(binary);
        cmd.envs(env.iter().copied())
            .arg("serve")
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr);
        let command = describe(&cmd);
        // `ip netns exec` execs the program in place: the child's pid is the daemon's.
        let child = cmd
            .spawn()
            .map_err(|e| Error::io(format!("spawning `{command}`"), e))?;
        let mut daemon = Self {
            child: Some(child),
            stderr_path,
            _dir: dir,
        };
        let mut exited = None;
        let ready = poll_until(DAEMON_TIMEOUT, READY_STEP, || {
            if let Some(Ok(Some(status))) = daemon.child.as_mut().map(Child::try_wait) {
                exited = Some(status);
                return true;
            }
            daemon.stderr().contains(READY_LINE)
        });
        match (exited, ready) {
            (Some(status), _) => Err(Error::NotReady {
                daemon: "nodecache serve",
                detail: format!("exited ({status}); stderr:\n{}", daemon.stderr()),
            }),
            (None, false) => Err(Error::NotReady {
                daemon: "nodecache serve",
                detail: format!(
                    "not ready within {DAEMON_TIMEOUT:?}; stderr:\n{}",
                    daemon.stderr()
                ),
            }),
            (None, true) => Ok(daemon),
        }
    }

    /// The daemon's pid (0 once it has been reaped).
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    /// Everything the daemon wrote on stderr so far.
    pub fn stderr(&self) -> String {
        std::fs::read(&self.stderr_path)
            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
            .unwrap_or_default()
    }

    /// Sends `signal` (a name such as `HUP`) to the daemon.
    pub fn signal(&self, signal: &str) -> Result<()> {
        send_signal(self.pid(), signal)
    }

    /// True while the daemon runs.
    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|child| matches!(child.try_wait(), Ok(None)))
    }

    /// The daemon's peak resident set size in KiB (`VmHWM` of `/proc/<pid>/status`).
    pub fn peak_rss_kib(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).ok()?;
        let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
        line.split_whitespace().nth(1)?.parse().ok()
    }

    /// Sends SIGTERM and waits (at most 10 s, then SIGKILL) for the daemon to exit; returns
    /// its exit status and the time from the signal to the exit.
    pub fn terminate(mut self) -> Result<(ExitStatus, Duration)> {
        let Some(mut child) = self.child.take() else {
            return Err(Error::NotReady {
                daemon: "nodecache serve",
                detail: "already stopped".to_owned(),
            });
        };
        let start = Instant::now();
        send_signal(child.id(), "TERM")?;
        match wait_timeout(&mut child, DAEMON_TIMEOUT) {
            Ok(Some(status)) => Ok((status, start.elapsed())),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                Err(Error::Timeout {
                    what: format!(
                        "nodecache serve to exit after SIGTERM; stderr:\n{}",
                        self.stderr()
                    ),
                    after: DAEMON_TIMEOUT,
                })
            }
            Err(e) => Err(Error::io("waiting for nodecache serve", e)),
        }
    }

    /// Kills the daemon (SIGKILL) and reaps it.
    pub fn kill(mut self) {
        self.kill_child();
    }

    fn kill_child(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.kill_child();
    }
}

/// The `nodecache` binary: the file named by [`NODECACHE_BIN_ENV`], else the newest
/// `debug/nodecache` or `release/nodecache` in the cargo target directories.
pub fn find_nodecache() -> Result<PathBuf> {
    if let Some(path) = std::env::var_os(NODECACHE_BIN_ENV) {
        return Ok(PathBuf::from(path));
    }
    let candidates: Vec<PathBuf> = target_dirs()
        .iter()
        .flat_map(|dir| ["debug", "release"].map(|profile| dir.join(profile).join("nodecache")))
        .collect();
    candidates
        .iter()
        .filter_map(|path| Some((path.metadata().ok()?.modified().ok()?, path)))
        .max_by_key(|(time, _)| *time)
        .map(|(_, path)| path.clone())
        .ok_or_else(|| Error::Missing {
            what: format!("the nodecache binary (looked for {candidates:?})"),
            hint: "cargo build -p nodecache-bin".to_owned(),
        })
}
