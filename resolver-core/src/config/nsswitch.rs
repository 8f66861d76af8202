//! The `hosts:` line of nsswitch.conf(5): which sources, in which order.
// TODO(helper:config): implement the bodies.

/// What the `hosts:` line lets nodecache do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostsSources {
    /// Only sources we implement (`files`, `dns`) with default actions. `files_first` says
    /// whether the hosts file is consulted before DNS; either may be absent.
    Serve {
        /// `files` is listed.
        files: bool,
        /// `dns` is listed.
        dns: bool,
        /// `files` comes before `dns`.
        files_first: bool,
    },
    /// The line names a source or an action we cannot reproduce (`myhostname`, `mdns4_minimal`,
    /// `resolve`, `[NOTFOUND=return]`, …): the whole call belongs to libc.
    NotMine {
        /// The first source or action we do not handle, for the log.
        what: String,
    },
}

/// The parsed `hosts:` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NsswitchHosts {
    /// The decision for this configuration.
    pub sources: HostsSources,
}

impl NsswitchHosts {
    /// Parses nsswitch.conf text. A missing `hosts:` line means glibc's default
    /// (`dns [!UNAVAIL=return] files`, treated as dns then files).
    pub fn parse(text: &str) -> Self {
        let _ = text;
        todo!()
    }
}
