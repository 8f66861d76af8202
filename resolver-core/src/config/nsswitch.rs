//! The `hosts:` line of nsswitch.conf(5): which sources, in which order, read as glibc 2.36 does
//! (`nss/nss_database.c`, `nss/nss_action_parse.c`).
//!
//! - A line is `DATABASE[:] SOURCE [ '[' ['!']STATUS=ACTION ... ']' ] ...`; the database name
//!   is case-sensitive, the last `hosts` line wins, and a line whose first word is not a
//!   database (`#hosts: ...`) is ignored, which is what makes `#` a comment.
//! - glibc has no comments inside a line: `hosts: files dns # x` makes `#` and `x` sources.
//!   glibc skips a source it cannot load, but that changes the status of a failed lookup, so
//!   such a line is not ours.
//! - Without a file or without a `hosts` line, glibc ≥ 2.33 uses `files dns` (checked with
//!   glibc 2.36: no DNS query for a name in /etc/hosts). Older glibc defaulted to
//!   `dns [!UNAVAIL=return] files`.

use super::c_parse::is_c_space;

/// What the `hosts:` line lets nodecache do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostsSources {
    /// Only sources we implement (`files`, `dns`) with actions we reproduce. `files_first`
    /// says whether the hosts file is consulted before DNS; either may be absent.
    ///
    /// - `files_first: true`: `files`, and `dns` when files finds nothing (default actions).
    /// - `files_first: false` with both: exactly `dns [!UNAVAIL=return] files`, the hosts file
    ///   is consulted only when DNS is unavailable (no answer in time, connection refused),
    ///   never after an NXDOMAIN or NODATA. Plain `dns files` is [`HostsSources::NotMine`].
    Serve {
        /// `files` is listed.
        files: bool,
        /// `dns` is listed.
        dns: bool,
        /// `files` is listed and comes before `dns` (or `dns` is not listed).
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

/// glibc's default for a missing `hosts` line (nss_database.c, `nss_database_default_dns`).
const DEFAULT_SERVE: HostsSources = HostsSources::Serve {
    files: true,
    dns: true,
    files_first: true,
};

impl Default for NsswitchHosts {
    /// glibc's default: `files dns`.
    fn default() -> Self {
        NsswitchHosts {
            sources: DEFAULT_SERVE,
        }
    }
}

/// What glibc does after a source returns a status (`lookup_actions`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Return,
    Continue,
    Merge,
}

/// Actions for SUCCESS, NOTFOUND, UNAVAIL, TRYAGAIN, in that order.
type Actions = [Action; 4];

/// nsswitch.conf(5): SUCCESS=return, everything else continue.
const DEFAULT_ACTIONS: Actions = [
    Action::Return,
    Action::Continue,
    Action::Continue,
    Action::Continue,
];
/// `[!UNAVAIL=return]`.
const RETURN_UNLESS_UNAVAIL: Actions = [
    Action::Return,
    Action::Return,
    Action::Continue,
    Action::Return,
];

/// One source of the line with its actions, and the bracket text for messages.
struct Source<'a> {
    name: &'a str,
    actions: Actions,
    criteria: Option<&'a str>,
}

impl NsswitchHosts {
    /// Parses nsswitch.conf text. A missing `hosts:` line means glibc's default
    /// (`files dns`, glibc ≥ 2.33).
    pub fn parse(text: &str) -> Self {
        let mut hosts_line = None;
        for line in text.split('\n') {
            let line = line.trim_start_matches(is_c_space);
            let name_end = line
                .find(|c| is_c_space(c) || c == ':')
                .unwrap_or(line.len());
            let (database, rest) = line.split_at(name_end);
            if database == "hosts" {
                hosts_line = Some(rest.trim_start_matches(|c| is_c_space(c) || c == ':'));
            }
        }
        let sources = match hosts_line {
            None => DEFAULT_SERVE,
            Some(services) => match parse_sources(services) {
                Some(sources) => decide(&sources),
                None => HostsSources::NotMine {
                    what: format!("unparsable hosts line: {services}"),
                },
            },
        };
        NsswitchHosts { sources }
    }
}

/// glibc's `nss_action_parse`; `None` where glibc reports a syntax error.
fn parse_sources(mut line: &str) -> Option<Vec<Source<'_>>> {
    let mut sources = Vec::new();
    loop {
        line = line.trim_start_matches(is_c_space);
        let name_end = line
            .find(|c| is_c_space(c) || c == '[')
            .unwrap_or(line.len());
        if name_end == 0 {
            // End of line, or a '[' with no source before it, where glibc stops reading.
            return line.is_empty().then_some(sources);
        }
        let (name, rest) = line.split_at(name_end);
        line = rest.trim_start_matches(is_c_space);
        let mut source = Source {
            name,
            actions: DEFAULT_ACTIONS,
            criteria: None,
        };
        if let Some(inside) = line.strip_prefix('[') {
            let close = inside.find(']')?;
            source.criteria = line.get(..close + 2);
            parse_criteria(inside.get(..close)?, &mut source.actions)?;
            line = inside.get(close + 1..)?;
        }
        sources.push(source);
    }
}

/// The inside of one `[...]`: one or more `['!']STATUS = ACTION` items, statuses and actions
/// in any case.
fn parse_criteria(mut text: &str, actions: &mut Actions) -> Option<()> {
    let mut items = 0;
    loop {
        text = text.trim_start_matches(is_c_space);
        if text.is_empty() {
            return (items > 0).then_some(());
        }
        items += 1;
        let (negated, item) = match text.strip_prefix('!') {
            Some(item) => (true, item),
            None => (false, text),
        };
        let (status, rest) = item.split_once('=')?;
        let status = match status
            .trim_end_matches(is_c_space)
            .to_ascii_uppercase()
            .as_str()
        {
            "SUCCESS" => 0,
            "NOTFOUND" => 1,
            "UNAVAIL" => 2,
            "TRYAGAIN" => 3,
            _ => return None,
        };
        let rest = rest.trim_start_matches(is_c_space);
        let word_end = rest.find(is_c_space).unwrap_or(rest.len());
        let (word, rest) = rest.split_at(word_end);
        let action = match word.to_ascii_uppercase().as_str() {
            "RETURN" => Action::Return,
            "CONTINUE" => Action::Continue,
            "MERGE" => Action::Merge,
            _ => return None,
        };
        if negated {
            // `!STATUS=ACTION` sets every other status; this one keeps its action.
            let kept = actions[status];
            *actions = [action; 4];
            actions[status] = kept;
        } else {
            actions[status] = action;
        }
        text = rest;
    }
}

/// Whether nodecache reproduces this list of sources exactly.
fn decide(sources: &[Source<'_>]) -> HostsSources {
    let not_mine = |what: &str| HostsSources::NotMine {
        what: what.to_string(),
    };
    let Some(last) = sources.len().checked_sub(1) else {
        return not_mine("empty hosts line");
    };
    let position = |wanted: &str| sources.iter().position(|s| s.name == wanted);
    let (files, dns) = (position("files"), position("dns"));
    for (index, source) in sources.iter().enumerate() {
        if !matches!(source.name, "files" | "dns") {
            return not_mine(source.name);
        }
        if position(source.name) != Some(index) {
            return not_mine(&format!("{} listed twice", source.name));
        }
        let what = source.criteria.unwrap_or(source.name);
        if source.actions.contains(&Action::Merge) {
            return not_mine(what);
        }
        // After the last source nothing follows: return and continue end the same way.
        let harmless = index == last
            || source.actions == DEFAULT_ACTIONS
            || (source.name == "dns" && source.actions == RETURN_UNLESS_UNAVAIL);
        if !harmless {
            return not_mine(what);
        }
    }
    let files_first = match (files, dns) {
        (Some(f), Some(d)) => f < d,
        (Some(_), None) => true,
        _ => false,
    };
    if dns.is_some() && files.is_some() && !files_first {
        // `dns files` with default actions also reads the hosts file after an NXDOMAIN;
        // only `dns [!UNAVAIL=return] files` (files only when DNS is down) is modelled.
        if sources
            .first()
            .is_some_and(|s| s.actions == DEFAULT_ACTIONS)
        {
            return not_mine("dns before files without [!UNAVAIL=return]");
        }
    }
    HostsSources::Serve {
        files: files.is_some(),
        dns: dns.is_some(),
        files_first,
    }
}

#[cfg(test)]
mod tests;
