//! Why node setup failed: one variant per kind of failure, each displayed as one line.

use std::net::SocketAddr;
use std::path::PathBuf;

/// Why node setup failed. Display is one line.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum SetupError {
    /// `ip link add NAME type dummy` said "Unknown device type".
    #[error(
        "cannot create interface {interface}: this kernel has no dummy interface support \
         (CONFIG_DUMMY; try `modprobe dummy`); or create a link named {interface} yourself \
         (any type) and start again: nodecache then only adds the listen addresses to it"
    )]
    NoDummySupport {
        /// The interface asked for.
        interface: String,
    },
    /// Not a name Linux accepts for a link (dev_valid_name: 1–15 bytes, no `/`, `:` or space).
    #[error(
        "--setup-interface {name:?}: not a valid interface name (1-15 characters, no '/', ':' or spaces)"
    )]
    InterfaceName {
        /// The name given.
        name: String,
    },
    /// A wildcard listen address cannot be put on a link nor matched by a rule.
    #[error("listen address {addr}: node setup needs a specific IP, not a wildcard")]
    WildcardAddress {
        /// The listen address.
        addr: SocketAddr,
    },
    /// A tool exited non-zero.
    #[error("`{program} {args}` failed (exit {}): {stderr}", status.map_or("by signal".to_owned(), |c| c.to_string()))]
    Command {
        /// `ip`, `iptables` or `ip6tables`.
        program: String,
        /// Its arguments, space-separated.
        args: String,
        /// Its exit code; `None` when killed by a signal.
        status: Option<i32>,
        /// Its stderr, lines joined with `; `.
        stderr: String,
    },
    /// A tool could not be started (not installed?).
    #[error("cannot run {program}: {io}")]
    Spawn {
        /// The program.
        program: String,
        /// Why.
        io: std::io::Error,
    },
    /// The instance lock could not be taken.
    #[error("lock {}: {io}", path.display())]
    Lock {
        /// The lock file (or the run directory).
        path: PathBuf,
        /// Why.
        io: std::io::Error,
    },
    /// The record of what nodecache created could not be read or written.
    #[error("state file {}: {io}", path.display())]
    State {
        /// The state file.
        path: PathBuf,
        /// Why.
        io: std::io::Error,
    },
}

impl SetupError {
    /// The kernel cannot make the dummy link (the error names the way out).
    #[cfg(test)]
    pub(crate) fn is_no_dummy_support(&self) -> bool {
        matches!(self, SetupError::NoDummySupport { .. })
    }
    /// The configuration itself is wrong (exit 64, SPEC §3), not the node.
    pub(crate) fn is_usage(&self) -> bool {
        matches!(
            self,
            SetupError::InterfaceName { .. } | SetupError::WildcardAddress { .. }
        )
    }
}
