//! hosts(5): `/etc/hosts` lookup as glibc's `files` NSS module does it.
// TODO(helper:config): implement the bodies.

use std::net::IpAddr;

/// The addresses the hosts file gives one name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostEntry {
    /// The canonical name: the first name on the first matching line.
    pub canonical: String,
    /// Every address of every matching line, in file order, without duplicates.
    pub addrs: Vec<IpAddr>,
}

/// A parsed hosts file, indexed by lower-cased name.
#[derive(Debug, Clone, Default)]
pub struct Hosts {}

impl Hosts {
    /// Parses the text of a hosts file. Malformed lines are skipped, as glibc skips them.
    pub fn parse(text: &str) -> Self {
        let _ = text;
        todo!()
    }

    /// The entry for `name` (case-insensitive, trailing dot ignored), if the file names it.
    pub fn lookup(&self, name: &str) -> Option<&HostEntry> {
        let _ = name;
        todo!()
    }
}
