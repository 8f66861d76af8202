//! Configuration errors. Each prints as ONE line naming the flag or key and the bad value
//! (SPEC §3: "a one-line error naming the problem", exit 64).

use std::net::SocketAddr;
use std::path::PathBuf;

/// What is wrong with one value (the flag or key and the value itself are in [`ConfigError`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum ValueProblem {
    /// Not `IP:PORT` (IPv6 in brackets).
    #[error("expected IP:PORT (IPv6 as [::1]:53)")]
    NotAnAddress,
    /// Not `IP` or `IP:PORT`.
    #[error("expected IP or IP:PORT (IPv6 as [::1]:53)")]
    NotAServer,
    /// Port 0 where a fixed port is needed.
    #[error("port 0 is not allowed here")]
    PortZero,
    /// Not `500ms`, `2s`, `5m`, `1h` or a number of seconds.
    #[error("expected a duration such as 500ms, 2s, 5m, 1h, 1d or plain seconds")]
    NotADuration,
    /// Not a byte count (`1048576`, `64M`, `32MiB`).
    #[error("expected a size such as 1048576, 64M or 32MiB")]
    NotASize,
    /// Not a non-negative integer.
    #[error("expected a whole number")]
    NotANumber,
    /// Not `true` or `false`.
    #[error("expected true or false")]
    NotABool,
    /// Not a `cache_admission` value.
    #[error("expected second-ask or always")]
    NotAnAdmission,
    /// Outside the accepted range.
    #[error("must be between {min} and {max}")]
    OutOfRange {
        /// Smallest accepted value.
        min: u64,
        /// Largest accepted value.
        max: u64,
    },
    /// Zero where only a positive value makes sense.
    #[error("must be greater than zero")]
    Zero,
    /// A zone that is not a valid DNS name.
    #[error("not a valid DNS zone name")]
    NotAZone,
    /// `ZONE=SERVERS` without the `=`.
    #[error("expected ZONE=ADDR[:PORT][,ADDR[:PORT]...]")]
    NotAnUpstream,
    /// A zone with no server.
    #[error("the server list is empty")]
    NoServers,
    /// The same zone configured twice in one source.
    #[error("zone given twice")]
    DuplicateZone,
    /// `--force-tcp` for a zone that has no upstream.
    #[error("no upstream is configured for this zone")]
    UnknownZone,
    /// The same listen address given twice.
    #[error("address given twice")]
    DuplicateAddress,
    /// An upstream that is one of our own listen addresses: every query would come back.
    #[error("this is one of our own listen addresses (a forwarding loop)")]
    Loop,
    /// The admin listener on a DNS listen address (the TCP sockets would share connections).
    #[error("the same address is a DNS listen address")]
    CollidesWithListen,
    /// Not an address range (`10.0.0.0/8`, `fd00::/8`, a bare address or `default`).
    #[error("{0}")]
    NotARange(#[from] crate::serve::acl::CidrError),
    /// A file name that is empty.
    #[error("empty path")]
    EmptyPath,
    /// An interface name the kernel refuses (netdevice(7): at most 15 bytes, no `/`, space or
    /// `:`; not `.` or `..`).
    #[error("not a valid interface name (1-15 characters, no '/', ':' or whitespace)")]
    NotAnInterface,
}

/// A configuration problem: printed as one line, exit 64.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum ConfigError {
    /// A flag or key has a bad value. `name` is `--flag` or `key in FILE`.
    #[error("{name} {value:?}: {problem}")]
    Value {
        /// The flag (`--cache-size`) or the key and file (`cache_size in /etc/x.toml`).
        name: String,
        /// The value as given.
        value: String,
        /// What is wrong with it.
        problem: ValueProblem,
    },
    /// `min_ttl` is above `max_ttl`.
    #[error("--min-ttl ({min:?}) is greater than --max-ttl ({max:?})")]
    TtlOrder {
        /// The floor.
        min: std::time::Duration,
        /// The ceiling.
        max: std::time::Duration,
    },
    /// `upstream_first_retransmit` is above `upstream_timeout`: no retransmit would happen.
    #[error(
        "--upstream-first-retransmit ({first:?}) is greater than --upstream-timeout ({timeout:?})"
    )]
    RetransmitOrder {
        /// First retransmit.
        first: std::time::Duration,
        /// Overall timeout.
        timeout: std::time::Duration,
    },
    /// The `--config` file cannot be read.
    #[error("--config {path:?}: {source}")]
    ConfigUnreadable {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The `--config` file is not valid TOML or has an unknown key or a mistyped value.
    #[error("--config {path:?}: line {line}: {message}")]
    ConfigSyntax {
        /// The file.
        path: PathBuf,
        /// 1-based line of the problem (0 when the parser gave no position).
        line: usize,
        /// The TOML parser's description, on one line.
        message: String,
    },
    /// The resolv.conf that should supply the `.` upstreams cannot be read.
    #[error("no upstream for \".\": --resolv-conf {path:?}: {source}; give --upstream .=ADDR")]
    ResolvConfUnreadable {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// No upstream for the `.` zone: resolv.conf lists no nameserver (glibc would then use
    /// 127.0.0.1:53, which on a node is usually this daemon or nothing; we refuse instead).
    #[error("no upstream for \".\": {0:?} lists no nameserver; give --upstream .=ADDR")]
    NoUpstream(PathBuf),
    /// resolv.conf's nameserver (the `.` default) is one of our own listen addresses.
    #[error(
        "no upstream for \".\": {path:?} names {server}, which is one of our listen addresses \
         (a forwarding loop); give --upstream .=ADDR"
    )]
    ResolvConfLoop {
        /// The resolv.conf.
        path: PathBuf,
        /// The nameserver that is ourselves.
        server: SocketAddr,
    },
}

impl ConfigError {
    /// True when the problem is in the `--config` file itself (unreadable or not TOML).
    #[cfg(test)]
    pub(crate) fn is_config_file(&self) -> bool {
        matches!(
            self,
            ConfigError::ConfigUnreadable { .. } | ConfigError::ConfigSyntax { .. }
        )
    }

    /// The value problem, when the error is about one value.
    #[cfg(test)]
    pub(crate) fn value_problem(&self) -> Option<ValueProblem> {
        match self {
            ConfigError::Value { problem, .. } => Some(*problem),
            _ => None,
        }
    }
}
