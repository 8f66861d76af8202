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

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

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

/// A parsed hosts file, indexed by lower-cased name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Hosts {
    by_name: HashMap<Box<str>, NameRecord>,
}

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
    /// when false only the first line naming a host counts, per family.
    pub fn parse_with_multi(text: &str, multi: bool) -> Self {
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
        let by_name = building
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
            .collect();
        Hosts { by_name }
    }

    /// The entry for `name` in an `AF_UNSPEC` lookup (case-insensitive; a trailing dot is part
    /// of the name, as in glibc), if the file names it.
    pub fn lookup(&self, name: &str) -> Option<&HostEntry> {
        self.record(name).map(|record| &record.unspec)
    }

    /// The entry for `name` in an `AF_INET` lookup (also `gethostbyname`): IPv4 addresses,
    /// with IPv4-mapped addresses unmapped and `::1` read as `127.0.0.1`.
    pub fn lookup_inet(&self, name: &str) -> Option<&HostEntry> {
        self.record(name)
            .and_then(|record| record.view(&record.inet))
    }

    /// The entry for `name` in an `AF_INET6` lookup: the IPv6 lines only.
    pub fn lookup_inet6(&self, name: &str) -> Option<&HostEntry> {
        self.record(name)
            .and_then(|record| record.view(&record.inet6))
    }

    /// How many distinct names the file defines.
    pub fn len(&self) -> usize {
        self.by_name.len()
    }

    /// The file defines no name (missing, empty or only comments).
    pub fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }

    fn record(&self, name: &str) -> Option<&NameRecord> {
        // The warm path of the shim: no allocation unless the name has upper-case letters.
        if !name.bytes().any(|b| b.is_ascii_uppercase()) {
            return self.by_name.get(name);
        }
        let mut buffer = [0u8; 256];
        match buffer.get_mut(..name.len()) {
            Some(lowered) => {
                lowered.copy_from_slice(name.as_bytes());
                lowered.make_ascii_lowercase();
                // Lower-casing ASCII bytes keeps UTF-8 valid, so this never fails.
                std::str::from_utf8(lowered)
                    .ok()
                    .and_then(|key| self.by_name.get(key))
            }
            None => self.by_name.get(name.to_ascii_lowercase().as_str()),
        }
    }
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
    let line = line.split('#').next().unwrap_or_default();
    let mut fields = line.split(is_c_space).filter(|f| !f.is_empty());
    let address = fields.next()?;
    let address = match address.parse::<Ipv4Addr>() {
        Ok(v4) => IpAddr::V4(v4),
        Err(_) => IpAddr::V6(address.parse::<Ipv6Addr>().ok()?),
    };
    let names: Vec<&str> = fields.collect();
    (!names.is_empty()).then_some((address, names))
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
