//! Reloading configuration files when they change.
//!
//! Like glibc (`resolv/resolv_conf.c`, `nss/nss_database.c`), a file is re-read when its
//! metadata changes (device, inode, size, mtime, ctime), which catches both in-place writes and
//! the rename that kubelet and editors use. Unlike glibc, which stat()s on every call, the
//! files are stat()ed at most once per second so that the fast path is one clock read and one
//! uncontended read lock.

use std::fs;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use parking_lot::{Mutex, RwLock};

use super::{HostConf, Hosts, NsswitchHosts, ResolvConf};

/// How long a configuration is trusted before the files are stat()ed again.
const CHECK_INTERVAL: Duration = Duration::from_secs(1);

/// Where the configuration files are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigPaths {
    /// Default `/etc/resolv.conf`.
    pub resolv_conf: PathBuf,
    /// Default `/etc/hosts`.
    pub hosts: PathBuf,
    /// Default `/etc/nsswitch.conf`.
    pub nsswitch: PathBuf,
    /// Default `/etc/host.conf`: its `multi` decides whether every hosts line naming a host
    /// counts or only the first (glibc reads it once per process; we reload it too).
    pub host_conf: PathBuf,
}

impl Default for ConfigPaths {
    fn default() -> Self {
        ConfigPaths {
            resolv_conf: PathBuf::from("/etc/resolv.conf"),
            hosts: PathBuf::from("/etc/hosts"),
            nsswitch: PathBuf::from("/etc/nsswitch.conf"),
            host_conf: PathBuf::from("/etc/host.conf"),
        }
    }
}

/// One consistent view of the system configuration.
#[derive(Debug, Clone)]
pub struct SystemConfig {
    /// resolv.conf with the environment applied.
    pub resolv: Arc<ResolvConf>,
    /// The hosts file (empty when missing), read with host.conf's `multi` setting.
    pub hosts: Arc<Hosts>,
    /// The nsswitch `hosts:` decision.
    pub nsswitch: Arc<NsswitchHosts>,
    /// Bumped on every reload that changed anything, so dependants (the cache) can notice.
    /// A file rewritten with the same content does not bump it.
    pub generation: u64,
}

/// The configuration plus what is needed to notice file changes cheaply.
///
/// Fork: the configuration sits behind a lock that a reload holds for a pointer swap only; a
/// child forked while another thread was inside that swap must create its own `WatchedConfig`.
#[derive(Debug)]
pub struct WatchedConfig {
    paths: ConfigPaths,
    localdomain: Option<String>,
    res_options: Option<String>,
    current: RwLock<Arc<SystemConfig>>,
    /// Clock origin for `next_check_nanos`.
    epoch: Instant,
    /// Nanoseconds after `epoch` from which `current` stat()s the files again.
    next_check_nanos: AtomicU64,
    /// Held while checking files, so only one thread does it.
    files: Mutex<FileStates>,
}

/// What each file looked like when it was last read successfully (`None`: never was).
#[derive(Debug, Default)]
struct FileStates {
    resolv_conf: Option<Stamp>,
    hosts: Option<Stamp>,
    nsswitch: Option<Stamp>,
    host_conf: Option<Stamp>,
    /// The `multi` host.conf asks for, and the one the current hosts were built with; they
    /// differ when the hosts file could not be re-read after host.conf changed. `None`: the
    /// hosts were built at load, to read host.conf themselves when a lookup needs it (module
    /// docs of [`Hosts`]); the first check reads host.conf and rebuilds them with its value.
    wanted_multi: bool,
    hosts_multi: Option<bool>,
}

/// A file's identity and version, or its absence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stamp {
    Missing,
    Present {
        dev: u64,
        ino: u64,
        size: u64,
        mtime: (i64, i64),
        ctime: (i64, i64),
    },
}

/// What a look at one file found.
enum Outcome {
    Unchanged,
    /// New text; `None` when the file does not exist (glibc treats that as empty).
    Changed(Option<String>),
    /// Exists but cannot be read: keep the last good configuration and try again later.
    Unreadable,
}

impl WatchedConfig {
    /// Loads the files (a missing file is the same as an empty one, as in glibc; a missing
    /// nsswitch.conf means glibc's default) and reads `LOCALDOMAIN` / `RES_OPTIONS` from the
    /// environment.
    pub fn load(paths: ConfigPaths) -> Self {
        let var = |name| std::env::var_os(name).map(|v| v.to_string_lossy().into_owned());
        Self::load_with_env(paths, var("LOCALDOMAIN"), var("RES_OPTIONS"))
    }

    /// [`WatchedConfig::load`] with the values of `LOCALDOMAIN` and `RES_OPTIONS` given
    /// (`None`: unset), applied again on every reload of resolv.conf.
    pub fn load_with_env(
        paths: ConfigPaths,
        localdomain: Option<String>,
        res_options: Option<String>,
    ) -> Self {
        let mut files = FileStates::default();
        // At load there is no last good version: an unreadable file counts as missing.
        let text = |path: &Path, stamp: &mut Option<Stamp>| match refresh(path, stamp, true) {
            Outcome::Changed(text) => text.unwrap_or_default(),
            Outcome::Unchanged | Outcome::Unreadable => String::new(),
        };
        let mut resolv = ResolvConf::parse(&text(&paths.resolv_conf, &mut files.resolv_conf));
        resolv.apply_env(localdomain.as_deref(), res_options.as_deref());
        // host.conf only when a lookup needs its `multi` (a name on two lines): a first lookup
        // of any other name does not open it (issue 6). glibc reads it at its first lookup.
        let hosts = Hosts::with_host_conf(
            text(&paths.hosts, &mut files.hosts),
            paths.host_conf.clone(),
        );
        let nsswitch = NsswitchHosts::parse(&text(&paths.nsswitch, &mut files.nsswitch));
        let config = SystemConfig {
            resolv: Arc::new(resolv),
            hosts: Arc::new(hosts),
            nsswitch: Arc::new(nsswitch),
            generation: 0,
        };
        let epoch = Instant::now();
        WatchedConfig {
            paths,
            localdomain,
            res_options,
            current: RwLock::new(Arc::new(config)),
            epoch,
            next_check_nanos: AtomicU64::new(nanos(CHECK_INTERVAL)),
            files: Mutex::new(files),
        }
    }

    /// The current configuration, re-reading files whose metadata changed. The check costs
    /// one clock read on the fast path; files are stat()ed at most once per second.
    pub fn current(&self) -> Arc<SystemConfig> {
        let now = nanos(self.epoch.elapsed());
        if now >= self.next_check_nanos.load(Ordering::Relaxed) {
            // Whoever holds the lock is checking already: use what is there meanwhile.
            if let Some(mut files) = self.files.try_lock()
                && now >= self.next_check_nanos.load(Ordering::Relaxed)
            {
                self.next_check_nanos
                    .store(now.saturating_add(nanos(CHECK_INTERVAL)), Ordering::Relaxed);
                self.check(&mut files);
            }
        }
        self.current.read().clone()
    }

    /// Checks every file now, whatever the time since the last check, and returns the
    /// resulting configuration (for tests and for the daemon's reload signal).
    pub fn refresh_now(&self) -> Arc<SystemConfig> {
        let mut files = self.files.lock();
        let now = nanos(self.epoch.elapsed());
        self.next_check_nanos
            .store(now.saturating_add(nanos(CHECK_INTERVAL)), Ordering::Relaxed);
        self.check(&mut files);
        drop(files);
        self.current.read().clone()
    }

    /// stat()s every file, re-reads the changed ones and publishes a new configuration if
    /// anything differs.
    fn check(&self, files: &mut FileStates) {
        let old = self.current.read().clone();
        let mut new = SystemConfig {
            generation: old.generation + 1,
            ..(*old).clone()
        };
        let mut changed = false;

        // glibc's `no-reload` (RES_NORELOAD): "do not re-read resolv.conf after changes".
        if !old.resolv.no_reload
            && let Outcome::Changed(text) =
                refresh(&self.paths.resolv_conf, &mut files.resolv_conf, false)
        {
            let mut resolv = ResolvConf::parse(text.as_deref().unwrap_or_default());
            resolv.apply_env(self.localdomain.as_deref(), self.res_options.as_deref());
            changed |= replace_if_different(&mut new.resolv, resolv);
        }
        if let Outcome::Changed(text) = refresh(&self.paths.host_conf, &mut files.host_conf, false)
        {
            files.wanted_multi = HostConf::parse(text.as_deref().unwrap_or_default()).multi;
        }
        // A new `multi` needs the hosts file again even when the file itself is unchanged (and
        // so do hosts that read host.conf themselves: the first check settles their `multi`).
        let force = files.hosts_multi != Some(files.wanted_multi);
        if let Outcome::Changed(text) = refresh(&self.paths.hosts, &mut files.hosts, force) {
            let hosts = Hosts::from_text(text.unwrap_or_default(), files.wanted_multi);
            files.hosts_multi = Some(files.wanted_multi);
            changed |= replace_if_different(&mut new.hosts, hosts);
        }
        if let Outcome::Changed(text) = refresh(&self.paths.nsswitch, &mut files.nsswitch, false) {
            let nsswitch = NsswitchHosts::parse(text.as_deref().unwrap_or_default());
            changed |= replace_if_different(&mut new.nsswitch, nsswitch);
        }

        if changed {
            *self.current.write() = Arc::new(new);
        }
    }
}

/// Puts `value` in `slot` if it differs from what is there; says whether it did.
fn replace_if_different<T: PartialEq>(slot: &mut Arc<T>, value: T) -> bool {
    let different = **slot != value;
    if different {
        *slot = Arc::new(value);
    }
    different
}

/// Looks at `path` and reads it if its stamp differs from `*stamp` (or if `force`), updating
/// `*stamp` only after a successful read.
fn refresh(path: &Path, stamp: &mut Option<Stamp>, force: bool) -> Outcome {
    if !force {
        let now = match fs::metadata(path) {
            Ok(metadata) => Some(Stamp::of(&metadata)),
            Err(error) if is_missing(&error) => Some(Stamp::Missing),
            Err(_) => None,
        };
        if now.is_some() && now == *stamp {
            return Outcome::Unchanged;
        }
    }
    let mut file = match fs::File::open(path) {
        Ok(file) => file,
        Err(error) if is_missing(&error) => {
            *stamp = Some(Stamp::Missing);
            return Outcome::Changed(None);
        }
        Err(_) => return Outcome::Unreadable,
    };
    // The stamp of the file actually read: a change during the read shows at the next check.
    let Ok(metadata) = file.metadata() else {
        return Outcome::Unreadable;
    };
    // The size from this fstat sizes the buffer: no second stat, no seek (`read_whole`).
    let Ok(bytes) = super::read_whole(&mut file, metadata.len()) else {
        return Outcome::Unreadable;
    };
    *stamp = Some(Stamp::of(&metadata));
    // Valid UTF-8 (every real configuration file) becomes the text without a copy; the lossy
    // conversion, ten times slower per octet, only for a file that needs it.
    let text = String::from_utf8(bytes)
        .unwrap_or_else(|invalid| String::from_utf8_lossy(invalid.as_bytes()).into_owned());
    Outcome::Changed(Some(text))
}

/// Errors glibc treats as "the file is not there" (`ENOENT`, `ENOTDIR`).
fn is_missing(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
    )
}

impl Stamp {
    fn of(metadata: &fs::Metadata) -> Self {
        Stamp::Present {
            dev: metadata.dev(),
            ino: metadata.ino(),
            size: metadata.size(),
            mtime: (metadata.mtime(), metadata.mtime_nsec()),
            ctime: (metadata.ctime(), metadata.ctime_nsec()),
        }
    }
}

/// A duration in nanoseconds, saturating (u64 nanoseconds last 584 years).
fn nanos(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests;
