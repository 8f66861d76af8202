//! Reloading configuration files when they change.
// TODO(helper:config): implement the bodies.

use std::path::PathBuf;
use std::sync::Arc;

use super::{Hosts, NsswitchHosts, ResolvConf};

/// Where the configuration files are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigPaths {
    /// Default `/etc/resolv.conf`.
    pub resolv_conf: PathBuf,
    /// Default `/etc/hosts`.
    pub hosts: PathBuf,
    /// Default `/etc/nsswitch.conf`.
    pub nsswitch: PathBuf,
}

impl Default for ConfigPaths {
    fn default() -> Self {
        ConfigPaths {
            resolv_conf: PathBuf::from("/etc/resolv.conf"),
            hosts: PathBuf::from("/etc/hosts"),
            nsswitch: PathBuf::from("/etc/nsswitch.conf"),
        }
    }
}

/// One consistent view of the system configuration.
#[derive(Debug, Clone)]
pub struct SystemConfig {
    /// resolv.conf with the environment applied.
    pub resolv: Arc<ResolvConf>,
    /// The hosts file (empty when missing).
    pub hosts: Arc<Hosts>,
    /// The nsswitch `hosts:` decision.
    pub nsswitch: Arc<NsswitchHosts>,
    /// Bumped on every reload that changed anything, so dependants (the cache) can notice.
    pub generation: u64,
}

/// The configuration plus what is needed to notice file changes cheaply.
#[derive(Debug)]
pub struct WatchedConfig {}

impl WatchedConfig {
    /// Loads the files (a missing file is the same as an empty one, as in glibc) and reads
    /// `LOCALDOMAIN` / `RES_OPTIONS` from the environment.
    pub fn load(paths: ConfigPaths) -> Self {
        let _ = paths;
        todo!()
    }

    /// The current configuration, re-reading files whose metadata changed. The check costs
    /// one clock read on the fast path; files are stat()ed at most once per second.
    pub fn current(&self) -> Arc<SystemConfig> {
        todo!()
    }
}
