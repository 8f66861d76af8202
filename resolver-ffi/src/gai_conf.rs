//! `/etc/gai.conf`, read as glibc's `gaiconf_init` (`nss/getaddrinfo.c`) reads it:
//! `label PREFIX[/BITS] VALUE` and `precedence PREFIX[/BITS] VALUE` (IPv6 prefixes),
//! `scopev4 PREFIX[/BITS] VALUE` (IPv4, or v4-mapped IPv6 with 96..=128 bits). A table named
//! at least once replaces glibc's built-in one, with a `::/0` (or `0.0.0.0/0`) entry added
//! when the file has none; entries are ordered most specific first, file order among equals.
//! Malformed lines are skipped. `#` starts a comment.
//!
//! glibc reads the file once per process (again on change only with `reload yes`); the shim
//! reads it once per process too.

use std::net::{Ipv4Addr, Ipv6Addr};

use crate::order::{Policy, PrefixTable};

/// The sort policy for the text of a gai.conf.
pub(crate) fn parse(text: &str) -> Policy {
    let mut labels: PrefixTable = Vec::new();
    let mut precedence: PrefixTable = Vec::new();
    let mut scopes: Vec<(u32, u32, i32)> = Vec::new();
    for line in lines_of(text) {
        // Most lines of a distribution's gai.conf are comments: skip them without a search
        // for '#'.
        let line = line.trim_ascii_start();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.split_once('#').map_or(line, |(before, _)| before);
        let mut words = line.split_ascii_whitespace();
        let (Some(command), Some(prefix), Some(value)) = (words.next(), words.next(), words.next())
        else {
            continue;
        };
        match command {
            "label" => labels.extend(prefix_entry(prefix, value)),
            "precedence" => precedence.extend(prefix_entry(prefix, value)),
            "scopev4" => scopes.extend(scope_entry(prefix, value)),
            _ => {}
        }
    }
    let defaults = Policy::default();
    Policy {
        labels: finish_prefixes(labels, 1, defaults.labels),
        precedence: finish_prefixes(precedence, 40, defaults.precedence),
        scopes_v4: finish_scopes(scopes, defaults.scopes_v4),
    }
}

/// The lines of `text` (a `\r` before the `\n` stays, and is whitespace to the parser),
/// found with libc's `memchr`: `str::lines` costs a character search set up per line, and an
/// octet-by-octet loop six instructions per octet, which for the 130 comment lines of
/// Debian's gai.conf was most of the parse (issue 6).
fn lines_of(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = text;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let end = find_newline(rest.as_bytes()).unwrap_or(rest.len());
        // '\n' is ASCII: `end` and `end + 1` are character boundaries.
        let (line, tail) = rest.split_at_checked(end)?;
        rest = tail.get(1..).unwrap_or_default();
        Some(line)
    })
}

/// The index of the first `\n` in `bytes`, by libc's `memchr` (a word or a vector at a
/// time).
fn find_newline(bytes: &[u8]) -> Option<usize> {
    // SAFETY: memchr reads at most `bytes.len()` octets from `bytes.as_ptr()`, all valid.
    let found = unsafe { libc::memchr(bytes.as_ptr().cast(), i32::from(b'\n'), bytes.len()) };
    (!found.is_null()).then(|| (found as usize).wrapping_sub(bytes.as_ptr() as usize))
}

/// A decimal value glibc accepts (`strtoul`, at most `INT_MAX`).
fn value_of(text: &str) -> Option<i32> {
    if !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse::<i32>().ok()
}

fn split_prefix(text: &str, default_bits: u32) -> Option<(&str, u32)> {
    match text.split_once('/') {
        None => Some((text, default_bits)),
        Some((addr, bits)) if !bits.is_empty() && bits.bytes().all(|b| b.is_ascii_digit()) => {
            Some((addr, bits.parse().ok()?))
        }
        Some(_) => None,
    }
}

fn prefix_entry(prefix: &str, value: &str) -> Option<(u128, u32, i32)> {
    let (addr, bits) = split_prefix(prefix, 128)?;
    let addr: Ipv6Addr = addr.parse().ok()?;
    (bits <= 128).then_some(())?;
    Some((u128::from(addr), bits, value_of(value)?))
}

/// A scopev4 line as (address, netmask, scope) on the IPv4 part.
fn scope_entry(prefix: &str, value: &str) -> Option<(u32, u32, i32)> {
    let value = value_of(value)?;
    let bits = if let Some((addr, bits)) =
        split_prefix(prefix, 128).and_then(|(a, b)| a.parse::<Ipv6Addr>().ok().map(|a| (a, b)))
    {
        let v4 = addr.to_ipv4_mapped()?;
        (96..=128).contains(&bits).then_some(())?;
        (u32::from(v4), bits - 96)
    } else {
        let (addr, bits) = split_prefix(prefix, 32)?;
        let v4: Ipv4Addr = addr.parse().ok()?;
        (bits <= 32).then_some(())?;
        (u32::from(v4), bits)
    };
    let (addr, prefix_bits) = bits;
    let mask = if prefix_bits == 0 {
        0
    } else {
        u32::MAX << (32 - prefix_bits)
    };
    Some((addr & mask, mask, value))
}

/// The table glibc builds: the file's entries (or the built-in table when there are none),
/// a catch-all added when missing, most specific first (stable).
fn finish_prefixes(mut entries: PrefixTable, catch_all: i32, builtin: PrefixTable) -> PrefixTable {
    if entries.is_empty() {
        return builtin;
    }
    if !entries.iter().any(|&(_, bits, _)| bits == 0) {
        entries.push((0, 0, catch_all));
    }
    entries.sort_by_key(|entry| std::cmp::Reverse(entry.1));
    entries
}

fn finish_scopes(
    mut entries: Vec<(u32, u32, i32)>,
    builtin: Vec<(u32, u32, i32)>,
) -> Vec<(u32, u32, i32)> {
    if entries.is_empty() {
        return builtin;
    }
    if !entries.iter().any(|&(_, mask, _)| mask == 0) {
        entries.push((0, 0, 14));
    }
    entries.sort_by_key(|entry| std::cmp::Reverse(entry.1));
    entries
}

/// The policy from `/etc/gai.conf`, glibc's defaults when it is missing or has no rules.
/// Read through a stack buffer ([`resolver_core::config::with_whole`]): a heap copy of a
/// distribution's 2.5 KiB file is an mmap/munmap pair with musl's mallocng. Octets that are
/// not UTF-8 only spoil their own line, as glibc's byte-wise parser would skip it.
pub(crate) fn load() -> Policy {
    let Ok(mut file) = std::fs::File::open("/etc/gai.conf") else {
        return Policy::default();
    };
    resolver_core::config::with_whole(&mut file, 0, |bytes| match std::str::from_utf8(bytes) {
        Ok(text) => parse(text),
        // The lossy conversion is ten times slower than the check: only when needed.
        Err(_) => parse(&String::from_utf8_lossy(bytes)),
    })
    .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_only_keep_glibcs_defaults() {
        let text = "# label ::1/128 0\n#precedence ::ffff:0:0/96 100\n\n   \n";
        assert_eq!(parse(text), Policy::default());
    }

    #[test]
    fn lines_split_like_str_lines() {
        for text in ["", "a", "a\n", "a\n\nb", "\n", "a\r\nb\r\n", "é\nü"] {
            let ours: Vec<&str> = lines_of(text).map(str::trim_ascii_end).collect();
            let std: Vec<&str> = text.lines().collect();
            assert_eq!(ours, std, "{text:?}");
        }
    }

    #[test]
    fn a_precedence_line_replaces_the_whole_table() {
        // The classic "prefer IPv4" line from Debian's gai.conf comments.
        let policy = parse("precedence ::ffff:0:0/96  100\n");
        assert_eq!(policy.precedence, vec![(0xffff << 32, 96, 100), (0, 0, 40)]);
        assert_eq!(policy.labels, Policy::default().labels);
    }

    #[test]
    fn entries_sort_most_specific_first_and_bad_lines_are_skipped() {
        let text = "label ::/0 1\nlabel 2001:db8::/32 9 # comment\nlabel ::1 0\n\
                    label nonsense 3\nlabel ::/129 3\nlabel ::/64 x\nprecedence ::1\n";
        let policy = parse(text);
        assert_eq!(
            policy.labels,
            vec![(1, 128, 0), (0x2001_0db8 << 96, 32, 9), (0, 0, 1)]
        );
        assert_eq!(policy.precedence, Policy::default().precedence);
    }

    #[test]
    fn scopev4_accepts_both_spellings() {
        let policy = parse("scopev4 ::ffff:169.254.0.0/112 2\nscopev4 10.0.0.0/8 5\n");
        assert_eq!(
            policy.scopes_v4,
            vec![
                (0xa9fe_0000, 0xffff_0000, 2),
                (0x0a00_0000, 0xff00_0000, 5),
                (0, 0, 14)
            ]
        );
    }
}
