//! System configuration: resolv.conf, hosts and nsswitch, each reloaded when its file changes.

mod c_parse;
mod hosts;
mod nsswitch;
mod read;
mod resolv_conf;
mod watch;

pub use c_parse::inet_aton_exact;
pub use hosts::{HostConf, HostEntry, Hosts};
pub use nsswitch::{HostsSources, NsswitchHosts};
pub use read::{CHUNK, read_whole, with_whole};
pub use resolv_conf::{MAX_NAMESERVERS, MAX_SEARCH_DOMAINS, ResolvConf};
pub use watch::{ConfigPaths, SystemConfig, WatchedConfig};

use std::io;
use std::path::PathBuf;

/// A configuration file that could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file exists but could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
}
