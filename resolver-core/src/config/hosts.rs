//! hosts(5): `/etc/hosts` lookup as glibc 2.36's `files` NSS module does it
//! (`nss/nss_files/files-hosts.c`), and the `multi` switch of host.conf(5) that decides whether
//! one line or every line naming a host counts.
//!
//! Checked against glibc 2.36's getaddrinfo on the same files:
//! - `#` starts a comment anywhere on a line; fields are separated by C whitespace.
//! - The address is parsed by `inet_pton`: strict dotted quad (`127.1`, `010.0.0.1` are
//!   rejected) or IPv6 without a `%scope` (a scoped address makes glibc skip the line).
//!   A line without a name is skipped.
//! - Names match case-insensitively (`strcasecmp`) and exactly: `foo.` does NOT match `foo`,
//!   glibc's files backend does not strip a trailing dot (the lookup then goes to DNS).
//! - What a lookup returns depends on the family asked, because glibc parses the file in a
//!   family-specific mode: `AF_UNSPEC` takes every line as written; `AF_INET` takes IPv4 lines,
//!   IPv4-mapped IPv6 lines as IPv4 and `::1` as `127.0.0.1`, skipping other IPv6 lines;
//!   `AF_INET6` takes only IPv6 lines. The canonical name is the first name of the first line
//!   that counted for that family.
//! - Without `multi on` in host.conf (glibc's default; Debian, Ubuntu and Fedora ship it on),
//!   only the first matching line counts.
//!
//! The first lookup scans the text for its one name, as musl and glibc's files backend do on
//! every lookup, without building anything; the second builds the index by name that every
//! later lookup uses. A process that looks up one name (issue 6: the cold lookup of a
//! short-lived process) then never pays for a table of every name in the file. host.conf can
//! be read the same way, when a lookup first needs `multi` ([`Hosts::with_host_conf`]): only a
//! name on two lines does, so a first lookup of any other name does not open it.

use std::borrow::Cow;
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

use super::c_parse::is_c_space;

/// The addresses the hosts file gives one name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostEntry {
    /// The canonical name: the first name on the first matching line.
    pub canonical: String,
    /// Every address of every matching line (or of the first one, without `multi`), in file
    /// order, without duplicates (glibc repeats duplicates; as a set the answer is the same).
    pub addrs: Vec<IpAddr>,
}

/// A hosts file: its text, scanned by the first lookup, and an index by lower-cased name
/// built by the second (module docs).
#[derive(Debug, Default)]
pub struct Hosts {
    text: Box<str>,
    /// host.conf's `multi`.
    multi: Multi,
    /// A lookup has scanned the text already: the next one builds the index.
    scanned: AtomicBool,
    by_name: OnceLock<HashMap<Box<str>, NameRecord>>,
}

/// host.conf's `multi` for a hosts file: given, or read from host.conf when first needed.
#[derive(Debug, Clone)]
enum Multi {
    Known(bool),
    FromHostConf { path: PathBuf, read: OnceLock<bool> },
}

impl Default for Multi {
    /// glibc's default without host.conf: off.
    fn default() -> Self {
        Multi::Known(false)
    }
}

impl Multi {
    fn get(&self) -> bool {
        match self {
            Multi::Known(multi) => *multi,
            // A missing or unreadable host.conf is glibc's default, as at load.
            Multi::FromHostConf { path, read } => *read.get_or_init(|| {
                let Ok(mut file) = std::fs::File::open(path) else {
                    return false;
                };
                super::with_whole(&mut file, 0, |bytes| {
                    HostConf::parse(&String::from_utf8_lossy(bytes)).multi
                })
                .unwrap_or(false)
            }),
        }
    }
}

impl Clone for Hosts {
    fn clone(&self) -> Self {
        Hosts {
            text: self.text.clone(),
            multi: self.multi.clone(),
            scanned: AtomicBool::new(self.scanned.load(Ordering::Relaxed)),
            by_name: self.by_name.clone(),
        }
    }
}

/// Two hosts files are the same when they give every name the same entries (a changed
/// comment is no change: the reload that compares them keeps its caches). Equal texts need
/// no index; whether either was indexed yet does not matter.
impl PartialEq for Hosts {
    fn eq(&self, other: &Self) -> bool {
        (self.multi.get() == other.multi.get() && self.text == other.text)
            || self.index() == other.index()
    }
}

impl Eq for Hosts {}

/// What one name maps to, per family. Most names have lines of one family only, so the
/// family views usually equal the `AF_UNSPEC` one and are not stored twice.
#[derive(Debug, Clone, PartialEq, Eq)]
struct NameRecord {
    unspec: HostEntry,
    inet: View,
    inet6: View,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum View {
    /// No line counts for this family.
    Absent,
    /// Same canonical name and addresses as the `AF_UNSPEC` view.
    SameAsUnspec,
    Own(HostEntry),
}

/// The lookup families, as getaddrinfo's `ai_family`.
#[derive(Clone, Copy)]
enum Family {
    Unspec,
    Inet,
    Inet6,
}

impl Hosts {
    /// Parses the text of a hosts file with every matching line counting (`multi on`, the
    /// setting Debian, Ubuntu and Fedora ship, and what musl always does). Malformed lines are
    /// skipped, as glibc skips them.
    pub fn parse(text: &str) -> Self {
        Self::parse_with_multi(text, true)
    }

    /// Parses the text of a hosts file; `multi` is host.conf's switch (see [`HostConf`]):
    /// when false only the first line naming a host counts, per family. Nothing is indexed
    /// yet (module docs).
    pub fn parse_with_multi(text: &str, multi: bool) -> Self {
        Self::from_text(text.into(), multi)
    }

    /// [`Hosts::parse_with_multi`] taking the text as read, without copying it.
    pub fn from_text(text: String, multi: bool) -> Self {
        Hosts {
            text: text.into_boxed_str(),
            multi: Multi::Known(multi),
            ..Hosts::default()
        }
    }

    /// [`Hosts::from_text`] with `multi` from the host.conf at `host_conf`, read when a lookup
    /// first needs it (a name on two lines, or the index), not before. A missing or
    /// unreadable host.conf means `multi off`, glibc's default.
    pub fn with_host_conf(text: String, host_conf: PathBuf) -> Self {
        Hosts {
            text: text.into_boxed_str(),
            multi: Multi::FromHostConf {
                path: host_conf,
                read: OnceLock::new(),
            },
            ..Hosts::default()
        }
    }

    /// The index by name, built now if no lookup built it yet.
    fn index(&self) -> &HashMap<Box<str>, NameRecord> {
        self.by_name
            .get_or_init(|| build_index(&self.text, self.multi.get()))
    }

    /// The entry of `name` for `family`: by scanning the text on the first lookup, from the
    /// index afterwards.
    fn find(&self, name: &str, family: Family) -> Option<Cow<'_, HostEntry>> {
        if self.by_name.get().is_none() && !self.scanned.swap(true, Ordering::Relaxed) {
            return scan(&self.text, &self.multi, name, family).map(Cow::Owned);
        }
        let record = self.record(name)?;
        let entry = match family {
            Family::Unspec => Some(&record.unspec),
            Family::Inet => record.view(&record.inet),
            Family::Inet6 => record.view(&record.inet6),
        };
        entry.map(Cow::Borrowed)
    }

    /// The entry for `name` in an `AF_UNSPEC` lookup (case-insensitive; a trailing dot is part
    /// of the name, as in glibc), if the file names it.
    pub fn lookup(&self, name: &str) -> Option<Cow<'_, HostEntry>> {
        self.find(name, Family::Unspec)
    }

    /// The entry for `name` in an `AF_INET` lookup (also `gethostbyname`): IPv4 addresses,
    /// with IPv4-mapped addresses unmapped and `::1` read as `127.0.0.1`.
    pub fn lookup_inet(&self, name: &str) -> Option<Cow<'_, HostEntry>> {
        self.find(name, Family::Inet)
    }

    /// The entry for `name` in an `AF_INET6` lookup: the IPv6 lines only.
    pub fn lookup_inet6(&self, name: &str) -> Option<Cow<'_, HostEntry>> {
        self.find(name, Family::Inet6)
    }

    /// How many distinct names the file defines (builds the index).
    pub fn len(&self) -> usize {
        self.index().len()
    }

    /// The file defines no name (missing, empty or only comments; builds the index).
    pub fn is_empty(&self) -> bool {
        self.index().is_empty()
    }

    fn record(&self, name: &str) -> Option<&NameRecord> {
        let by_name = self.index();
        // The warm path of the shim: no allocation unless the name has upper-case letters.
        if !name.bytes().any(|b| b.is_ascii_uppercase()) {
            return by_name.get(name);
        }
        let mut buffer = [0u8; 256];
        match buffer.get_mut(..name.len()) {
            Some(lowered) => {
                lowered.copy_from_slice(name.as_bytes());
                lowered.make_ascii_lowercase();
                // Lower-casing ASCII bytes keeps UTF-8 valid, so this never fails.
                std::str::from_utf8(lowered)
                    .ok()
                    .and_then(|key| by_name.get(key))
            }
            None => by_name.get(name.to_ascii_lowercase().as_str()),
        }
    }
}

/// The index of every name in `text` (see [`Hosts::parse_with_multi`] for `multi`).
fn build_index(text: &str, multi: bool) -> HashMap<Box<str>, NameRecord> {
    // Per name, the entries being built for AF_UNSPEC, AF_INET and AF_INET6.
    let mut building: HashMap<Box<str>, [Option<HostEntry>; 3]> = HashMap::new();
    for (address, names) in text.split('\n').filter_map(parse_line) {
        let Some(&canonical) = names.first() else {
            continue;
        };
        let mut seen_on_line: Vec<String> = Vec::with_capacity(names.len());
        for name in names {
            let key = name.to_ascii_lowercase();
            // A name listed twice on one line is one match, as strcasecmp finds it once.
            if seen_on_line.contains(&key) {
                continue;
            }
            let views = building.entry(key.as_str().into()).or_default();
            add_line(views, address, canonical, multi);
            seen_on_line.push(key);
        }
    }
    building
        .into_iter()
        .filter_map(|(name, [unspec, inet, inet6])| {
            // Every line counts for AF_UNSPEC, so a name with no unspec view has no lines.
            let unspec = unspec?;
            let view = |entry: Option<HostEntry>| match entry {
                None => View::Absent,
                Some(entry) if entry == unspec => View::SameAsUnspec,
                Some(entry) => View::Own(entry),
            };
            let record = NameRecord {
                inet: view(inet),
                inet6: view(inet6),
                unspec,
            };
            Some((name, record))
        })
        .collect()
}

/// The entry of `name` for `family`, from the lines of `text` that name it, as the index
/// would give it: every line in order (only the first that counts for the family without
/// `multi`), duplicates dropped, the canonical name from the first line that counts. Lines
/// that do not name it are not parsed beyond their names.
fn scan(text: &str, multi: &Multi, name: &str, family: Family) -> Option<HostEntry> {
    let mut found: Option<HostEntry> = None;
    for line in text.split('\n') {
        let mut fields = fields_of(line);
        let Some(address) = fields.next() else {
            continue;
        };
        let mut names = fields;
        let Some(canonical) = names.clone().next() else {
            continue;
        };
        if !names.any(|n| n.eq_ignore_ascii_case(name)) {
            continue;
        }
        let Some(addr) = parse_address(address).and_then(|a| family_address(a, family)) else {
            continue;
        };
        match &mut found {
            None => {
                found = Some(HostEntry {
                    canonical: canonical.to_string(),
                    addrs: vec![addr],
                });
            }
            // `multi` only now, for a second line that counts.
            Some(entry) if !entry.addrs.contains(&addr) && multi.get() => entry.addrs.push(addr),
            Some(_) => {}
        }
    }
    found
}

impl NameRecord {
    fn view<'a>(&'a self, view: &'a View) -> Option<&'a HostEntry> {
        match view {
            View::Absent => None,
            View::SameAsUnspec => Some(&self.unspec),
            View::Own(entry) => Some(entry),
        }
    }
}

/// Adds one line naming a host to that host's per-family entries.
fn add_line(views: &mut [Option<HostEntry>; 3], address: IpAddr, canonical: &str, multi: bool) {
    let families = [Family::Unspec, Family::Inet, Family::Inet6];
    for (view, family) in views.iter_mut().zip(families) {
        let Some(addr) = family_address(address, family) else {
            continue;
        };
        match view {
            None => {
                let addrs = vec![addr];
                *view = Some(HostEntry {
                    canonical: canonical.to_string(),
                    addrs,
                });
            }
            Some(entry) if multi && !entry.addrs.contains(&addr) => entry.addrs.push(addr),
            Some(_) => {}
        }
    }
}

/// One line: its address and its names (at least one), or `None` for a line glibc skips.
fn parse_line(line: &str) -> Option<(IpAddr, Vec<&str>)> {
    let mut fields = fields_of(line);
    let address = parse_address(fields.next()?)?;
    let names: Vec<&str> = fields.collect();
    (!names.is_empty()).then_some((address, names))
}

/// The whitespace-separated fields of a line before its comment.
fn fields_of(line: &str) -> impl Iterator<Item = &str> + Clone {
    let line = line.split_once('#').map_or(line, |(before, _)| before);
    line.split(is_c_space).filter(|f| !f.is_empty())
}

/// A line's address as `inet_pton` reads it (no `%scope`: glibc skips such lines).
fn parse_address(text: &str) -> Option<IpAddr> {
    match text.parse::<Ipv4Addr>() {
        Ok(v4) => Some(IpAddr::V4(v4)),
        Err(_) => text.parse::<Ipv6Addr>().ok().map(IpAddr::V6),
    }
}

/// The address a line contributes to a lookup of `family`, as files-hosts.c's parser
/// converts it in that mode, or `None` when the line is skipped for that family.
fn family_address(address: IpAddr, family: Family) -> Option<IpAddr> {
    match (family, address) {
        (Family::Unspec, _) | (Family::Inet, IpAddr::V4(_)) | (Family::Inet6, IpAddr::V6(_)) => {
            Some(address)
        }
        (Family::Inet, IpAddr::V6(v6)) if v6 == Ipv6Addr::LOCALHOST => {
            Some(Ipv4Addr::LOCALHOST.into())
        }
        (Family::Inet, IpAddr::V6(v6)) => v6.to_ipv4_mapped().map(IpAddr::V4),
        (Family::Inet6, IpAddr::V4(_)) => None,
    }
}

/// host.conf(5) as glibc reads it (`resolv/res_hconf.c`): only `multi` matters to us.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HostConf {
    /// `multi on`: every hosts line naming a host counts, not only the first. glibc's default
    /// (no file, no `multi` line) is off.
    pub multi: bool,
}

impl HostConf {
    /// Parses host.conf text. Keywords are case-insensitive; `multi` takes `on`/`off` by
    /// prefix (glibc's `strncasecmp`); the last `multi` line wins; errors are ignored.
    pub fn parse(text: &str) -> Self {
        let mut conf = HostConf::default();
        for line in text.split('\n') {
            let line = line.trim_start_matches(is_c_space);
            let end = line
                .find(|c| is_c_space(c) || c == '#' || c == ',')
                .unwrap_or(line.len());
            let (keyword, rest) = line.split_at(end);
            if !keyword.eq_ignore_ascii_case("multi") {
                continue;
            }
            let value = rest.trim_start_matches(is_c_space).as_bytes();
            let starts_with = |word: &[u8]| {
                value
                    .get(..word.len())
                    .is_some_and(|v| v.eq_ignore_ascii_case(word))
            };
            if starts_with(b"on") {
                conf.multi = true;
            } else if starts_with(b"off") {
                conf.multi = false;
            }
        }
        conf
    }
}

#[cfg(test)]
mod tests;
