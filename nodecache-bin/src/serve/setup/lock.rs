//! Coordination between instances that share one node setup (SPEC §3: a DaemonSet rollout with
//! `maxSurge` runs the new pod beside the old one; node-cache tears the rules down under the
//! survivor, kubernetes/dns#324).
//!
//! Two files per setup in the run directory (`/run/nodecache`, or `NODECACHE_RUN_DIR`):
//! - `<key>.lock`: every running instance holds a shared `flock(2)` on it. At exit an instance
//!   tries to upgrade to an exclusive lock without blocking: success means no other instance
//!   is left, so it tears down (still holding the exclusive lock, so a starting instance waits
//!   for the teardown to finish instead of racing it); `EWOULDBLOCK` means another instance
//!   still serves, so everything stays. The kernel drops the lock when a process dies, even by
//!   SIGKILL or the OOM killer, so a crashed instance never blocks the teardown of the last one.
//! - `<key>.mutex`: held exclusively for the few milliseconds an instance checks or changes the
//!   node (prepare, install, resync, teardown), so two instances never create the same link at
//!   once. Lock order is always `.lock` before `.mutex`; nobody waits for `.lock` while holding
//!   `.mutex`.
//!
//! The lock files themselves are never deleted: unlinking a lock file another process has open
//! would let the next instance lock a fresh inode and miss that process's lock.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};

use super::SetupError;

/// A shared hold on the setup named by a key, for as long as this instance runs.
#[derive(Debug)]
pub(crate) struct InstanceLock {
    /// `<key>.lock`, locked shared (or exclusive once [`InstanceLock::try_become_last`] succeeded).
    file: File,
    path: PathBuf,
    mutex_path: PathBuf,
}

/// The exclusive `<key>.mutex` hold; released on drop (closing the file drops the `flock`).
#[derive(Debug)]
pub(crate) struct MutexGuard {
    _file: File,
}

impl InstanceLock {
    /// Opens `<run_dir>/<key>.lock` (creating the directory) and takes the shared lock,
    /// waiting only while a last instance is tearing the same setup down.
    pub(crate) fn acquire(run_dir: &Path, key: &str) -> Result<InstanceLock, SetupError> {
        std::fs::create_dir_all(run_dir).map_err(|io| SetupError::Lock {
            path: run_dir.to_owned(),
            io,
        })?;
        let path = run_dir.join(format!("{key}.lock"));
        let file = open(&path)?;
        // std's File locks are flock(2) on Linux: per open file description, so two
        // instances (or two NodeSetups in one test process) each see the other's lock.
        file.lock_shared().map_err(|io| SetupError::Lock {
            path: path.clone(),
            io,
        })?;
        Ok(InstanceLock {
            file,
            mutex_path: run_dir.join(format!("{key}.mutex")),
            path,
        })
    }

    /// Serialises node changes between instances: waits for `<key>.mutex`.
    pub(crate) fn mutex(&self) -> Result<MutexGuard, SetupError> {
        let file = open(&self.mutex_path)?;
        file.lock().map_err(|io| SetupError::Lock {
            path: self.mutex_path.clone(),
            io,
        })?;
        Ok(MutexGuard { _file: file })
    }

    /// Upgrades to an exclusive lock without waiting: `Ok(true)` when no other instance holds
    /// the setup (we are the last and may tear down), `Ok(false)` when one does.
    ///
    /// A failed upgrade also gives up our shared lock: Linux converts a `flock` by removing the
    /// old lock before trying the new one (flock(2): "the existing lock is first removed, and
    /// then a new lock is established"). Only call this on the way out. It is what makes two
    /// instances exiting together safe: whichever upgrades second finds the first gone and
    /// tears down, instead of both leaving everything behind.
    pub(crate) fn try_become_last(&self) -> Result<bool, SetupError> {
        match self.file.try_lock() {
            Ok(()) => Ok(true),
            Err(TryLockError::WouldBlock) => Ok(false),
            Err(TryLockError::Error(io)) => Err(SetupError::Lock {
                path: self.path.clone(),
                io,
            }),
        }
    }
}

fn open(path: &Path) -> Result<File, SetupError> {
    OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map_err(|io| SetupError::Lock {
            path: path.to_owned(),
            io,
        })
}

/// A file-name-safe key for a setup: the interface name when there is one, else the listen
/// addresses (`iptables-169.254.20.10_53`), with anything but `[A-Za-z0-9.-]` turned into `_`.
pub(crate) fn setup_key(interface: Option<&str>, listen: &[std::net::SocketAddr]) -> String {
    let raw = match interface {
        Some(name) => format!("link-{name}"),
        None => {
            let mut addrs: Vec<String> = listen.iter().map(ToString::to_string).collect();
            addrs.sort();
            format!("iptables-{}", addrs.join("+"))
        }
    };
    raw.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_file_names() {
        assert_eq!(setup_key(Some("nodelocaldns"), &[]), "link-nodelocaldns");
        assert_eq!(setup_key(Some("../x"), &[]), "link-.._x");
        let listen = [
            "[fd00::a]:53".parse().unwrap(),
            "169.254.20.10:53".parse().unwrap(),
        ];
        assert_eq!(
            setup_key(None, &listen),
            "iptables-169.254.20.10_53__fd00__a__53"
        );
    }

    #[test]
    fn the_last_instance_is_the_only_one_that_may_tear_down() {
        let dir = tempfile::tempdir().unwrap();
        let first = InstanceLock::acquire(dir.path(), "k").unwrap();
        let second = InstanceLock::acquire(dir.path(), "k").unwrap();
        assert!(!first.try_become_last().unwrap(), "second still holds it");
        // The failed upgrade released first's shared lock (see try_become_last), so the
        // second, exiting next, is the last.
        assert!(second.try_become_last().unwrap());
        // And while it tears down (exclusive), nobody else is last.
        let third = open(&dir.path().join("k.lock")).unwrap();
        assert!(
            matches!(third.try_lock_shared(), Err(TryLockError::WouldBlock)),
            "a starting instance waits for the teardown"
        );
    }
}
