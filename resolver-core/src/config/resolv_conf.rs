//! resolv.conf(5) as glibc 2.36 reads it (`resolv/res_init.c`), plus `LOCALDOMAIN` and `RES_OPTIONS`.
//!
//! Every rule here was checked against glibc 2.36 itself (`res_ninit` on a bind-mounted file),
//! not only against its source:
//! - A keyword counts only at the very start of a line, spelled in lower case and followed by
//!   a space or a tab (`MATCH` in res_init.c). `#` or `;` in the first column starts a comment;
//!   an indented keyword, `OPTIONS`, or `options:` is silently ignored, like any other line.
//! - `nameserver ADDR [garbage]`: ADDR is read by `inet_aton` (so `127.1` and `0x7f.0.0.1`
//!   are accepted) or as IPv6 with an optional `%scope`; anything else drops the line. Only
//!   the first three (`MAXNS`) are used. Lines end at `\n` only, so a CRLF file's `\r` makes
//!   every IPv4 nameserver invalid, exactly as in glibc.
//! - `domain X` and `search A B …`: the last such line wins; a line with no value is ignored.
//! - `options`: options are matched by prefix (`rotatex` is `rotate`); unknown ones (including
//!   `inet6` and `debug`, gone since glibc 2.25/2.26) are ignored; numbers are read by `atoi`.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV6};
use std::time::Duration;

use super::c_parse::{atoi, inet_aton_exact};

/// `MAXNS` (resolv.h): nameservers glibc uses; further `nameserver` lines are ignored.
pub const MAX_NAMESERVERS: usize = 3;
/// `MAXDNSRCH` (resolv.h): search list entries glibc keeps.
pub const MAX_SEARCH_DOMAINS: usize = 6;
/// `sizeof (_res.defdname)`: bytes for all search entries, each counted with its NUL.
const SEARCH_LIST_BYTES: usize = 256;
/// `RES_MAXNDOTS`.
const MAX_NDOTS: i32 = 15;
/// `RES_MAXRETRANS`, in seconds.
const MAX_TIMEOUT_SECS: i32 = 30;
/// `RES_MAXRETRY`.
const MAX_ATTEMPTS: i32 = 5;
/// `NAMESERVER_PORT`.
const DNS_PORT: u16 = 53;

/// The parsed resolver configuration. Defaults are glibc's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvConf {
    /// Up to three nameservers (`MAXNS`), port 53. Empty means "none listed"; see
    /// [`ResolvConf::effective_nameservers`] for glibc's default. An IPv6 `%scope` is kept as
    /// the scope id: a number as is, an interface name (link-local addresses only, as glibc's
    /// `__inet6_scopeid_pton`) via `/sys/class/net/NAME/ifindex`, 0 when neither works (glibc
    /// ignores scope errors too).
    pub nameservers: Vec<SocketAddr>,
    /// Search list (from the last `search` or `domain` line, or `LOCALDOMAIN`), at most 6
    /// entries as in glibc (`MAXDNSRCH`), truncated like glibc when the entries exceed 256 bytes.
    /// Each entry is lower-cased (DNS names compare case-insensitively, RFC 4343) and loses
    /// one leading dot (glibc's `__res_context_search` skips it) and one trailing dot (the
    /// suffix is absolute anyway). **An empty entry is the root domain** (`search .`, or an
    /// empty `LOCALDOMAIN`): glibc asks the bare name at that position of the list and then
    /// does not ask it as-is again at the end (`root_on_list`).
    pub search: Vec<String>,
    /// `options ndots:N` (default 1, capped at 15; glibc stores it in a 4-bit field, so a
    /// negative N wraps: `ndots:-1` is 15).
    pub ndots: u8,
    /// `options timeout:N` (default 5 s, capped at 30 s). Never below 1 s: glibc accepts
    /// `timeout:0` but `send_dg` waits at least one second (`if (seconds <= 0) seconds = 1`).
    pub timeout: Duration,
    /// `options attempts:N` (default 2, capped at 5). May be 0 (`attempts:0` or negative):
    /// glibc then sends no query at all and every DNS lookup fails.
    pub attempts: u8,
    /// `options rotate`.
    pub rotate: bool,
    /// `options single-request`.
    pub single_request: bool,
    /// `options single-request-reopen`.
    pub single_request_reopen: bool,
    /// `options use-vc`: TCP for every query.
    pub use_vc: bool,
    /// `options edns0`: advertise EDNS0 (glibc uses a 1200-byte UDP payload).
    pub edns0: bool,
    /// `options no-aaaa` (glibc 2.36): no AAAA queries at all.
    pub no_aaaa: bool,
    /// `options trust-ad`: set the AD bit in queries.
    pub trust_ad: bool,
    /// `options no-tld-query` (or `no_tld_query`): never ask a single-label name as-is.
    pub no_tld_query: bool,
    /// `options no-reload`: do not re-read the file when it changes.
    pub no_reload: bool,
}

/// glibc's defaults (`resolv_conf_parser_init`). Unlike glibc, an empty search list is NOT
/// filled from the domain part of `gethostname()`: containers rarely have a dotted host name,
/// and a shim must not make its answer depend on a syscall glibc caches differently.
impl Default for ResolvConf {
    fn default() -> Self {
        ResolvConf {
            nameservers: Vec::new(),
            search: Vec::new(),
            ndots: 1,
            timeout: Duration::from_secs(5),
            attempts: 2,
            rotate: false,
            single_request: false,
            single_request_reopen: false,
            use_vc: false,
            edns0: false,
            no_aaaa: false,
            trust_ad: false,
            no_tld_query: false,
            no_reload: false,
        }
    }
}

impl ResolvConf {
    /// Parses the text of a resolv.conf. Never fails: lines and options glibc would ignore are
    /// ignored. Reads `/sys/class/net` only for an IPv6 link-local nameserver with a named scope.
    pub fn parse(text: &str) -> Self {
        let mut conf = ResolvConf::default();
        let mut search: Option<Vec<&str>> = None;
        // glibc reads lines with getline(): only '\n' ends a line.
        for line in text.split('\n') {
            if let Some(value) = keyword_value(line, "nameserver") {
                let token = first_word(value);
                if conf.nameservers.len() < MAX_NAMESERVERS
                    && let Some(server) = parse_nameserver(token)
                {
                    conf.nameservers.push(server);
                }
            } else if let Some(value) = keyword_value(line, "domain") {
                let token = first_word(value);
                if !token.is_empty() {
                    search = Some(vec![token]);
                }
            } else if let Some(value) = keyword_value(line, "search") {
                let words: Vec<&str> = value.split([' ', '\t']).filter(|w| !w.is_empty()).collect();
                if !words.is_empty() {
                    search = Some(words);
                }
            } else if let Some(value) = keyword_value(line, "options") {
                conf.apply_options(value);
            }
        }
        if let Some(words) = search {
            conf.search = search_list(words);
        }
        conf
    }

    /// Applies `LOCALDOMAIN` (replaces the search list) and `RES_OPTIONS` (options applied after
    /// the file), as glibc's `res_init` does. `None` means the variable is unset.
    ///
    /// glibc splits `LOCALDOMAIN` at spaces and tabs, stops at a newline, and always takes the
    /// text before the first blank as the first entry, even when it is empty: `LOCALDOMAIN=""`
    /// gives a search list holding only the root, `" a.com"` gives root then `a.com`.
    pub fn apply_env(&mut self, localdomain: Option<&str>, res_options: Option<&str>) {
        if let Some(value) = localdomain {
            let value = value.split('\n').next().unwrap_or_default();
            let mut words = value.split([' ', '\t']);
            let first = words.next().unwrap_or_default();
            let rest = words.filter(|w| !w.is_empty());
            self.search = search_list(std::iter::once(first).chain(rest));
        }
        if let Some(options) = res_options {
            self.apply_options(options);
        }
    }

    /// The nameservers to use: the listed ones, or glibc's default `127.0.0.1:53` when none is
    /// listed (res_init.c: `__inet_makeaddr (IN_LOOPBACKNET, 1)`, i.e. loopback, not
    /// `INADDR_ANY` as in old BIND resolvers).
    pub fn effective_nameservers(&self) -> Vec<SocketAddr> {
        if self.nameservers.is_empty() {
            vec![SocketAddr::from((Ipv4Addr::LOCALHOST, DNS_PORT))]
        } else {
            self.nameservers.clone()
        }
    }

    /// One `options` line or `RES_OPTIONS` value, as glibc's `res_setoptions`.
    fn apply_options(&mut self, options: &str) {
        let mut rest = options;
        loop {
            rest = rest.trim_start_matches([' ', '\t']);
            if rest.is_empty() {
                break;
            }
            // The number is read by atoi from the rest of the string, which may skip
            // whitespace: `ndots: 3` means 3, a bare `ndots:` at the end means 0.
            if let Some(number) = rest.strip_prefix("ndots:") {
                let n = atoi(number).min(MAX_NDOTS);
                // `_res.ndots` is `unsigned ndots:4`; the mask keeps the value's low 4 bits.
                self.ndots = (n & 0xf) as u8;
            } else if let Some(number) = rest.strip_prefix("timeout:") {
                let n = atoi(number).clamp(1, MAX_TIMEOUT_SECS);
                self.timeout = Duration::from_secs(u64::from(n.unsigned_abs()));
            } else if let Some(number) = rest.strip_prefix("attempts:") {
                self.attempts = atoi(number).clamp(0, MAX_ATTEMPTS) as u8;
            } else if let Some(flag) = self.flag_for(rest) {
                *flag = true;
            }
            rest = rest.trim_start_matches(|c| c != ' ' && c != '\t');
        }
    }

    /// The flag an option word sets, by prefix and in glibc's table order
    /// (`single-request-reopen` before `single-request`).
    fn flag_for(&mut self, word: &str) -> Option<&mut bool> {
        let flag = if word.starts_with("rotate") {
            &mut self.rotate
        } else if word.starts_with("edns0") {
            &mut self.edns0
        } else if word.starts_with("single-request-reopen") {
            &mut self.single_request_reopen
        } else if word.starts_with("single-request") {
            &mut self.single_request
        } else if word.starts_with("no_tld_query") || word.starts_with("no-tld-query") {
            &mut self.no_tld_query
        } else if word.starts_with("no-reload") {
            &mut self.no_reload
        } else if word.starts_with("use-vc") {
            &mut self.use_vc
        } else if word.starts_with("trust-ad") {
            &mut self.trust_ad
        } else if word.starts_with("no-aaaa") {
            &mut self.no_aaaa
        } else {
            return None;
        };
        Some(flag)
    }
}

/// The rest of `line` after `keyword` when the line starts with it followed by a blank.
fn keyword_value<'a>(line: &'a str, keyword: &str) -> Option<&'a str> {
    let rest = line.strip_prefix(keyword)?;
    rest.starts_with([' ', '\t']).then_some(rest)
}

/// The first blank-separated word of `value` (glibc cuts at `strpbrk (cp, " \t\n")`).
fn first_word(value: &str) -> &str {
    let value = value.trim_start_matches([' ', '\t']);
    value.split([' ', '\t']).next().unwrap_or_default()
}

/// A `nameserver` address: `inet_aton` first, then IPv6 with an optional `%scope`.
fn parse_nameserver(token: &str) -> Option<SocketAddr> {
    if token.is_empty() {
        return None;
    }
    if let Some(v4) = inet_aton_exact(token) {
        return Some(SocketAddr::from((v4, DNS_PORT)));
    }
    let (address, scope) = match token.split_once('%') {
        Some((address, scope)) => (address, Some(scope)),
        None => (token, None),
    };
    let v6: Ipv6Addr = address.parse().ok()?;
    let scope_id = scope.and_then(|s| scope_id(&v6, s)).unwrap_or(0);
    Some(SocketAddr::V6(SocketAddrV6::new(v6, DNS_PORT, 0, scope_id)))
}

/// glibc's `__inet6_scopeid_pton`: an interface name (only for link-local unicast and
/// node/link-local multicast addresses), else a decimal number that fits in 32 bits.
fn scope_id(address: &Ipv6Addr, scope: &str) -> Option<u32> {
    let octets = address.octets();
    let link_local = (address.segments()[0] & 0xffc0) == 0xfe80
        || (octets[0] == 0xff && matches!(octets[1] & 0x0f, 1 | 2));
    if link_local && let Some(index) = interface_index(scope) {
        return Some(index);
    }
    if scope.is_empty() || !scope.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    scope.parse().ok()
}

/// `if_nametoindex` without libc (resolver-core has no unsafe code): the kernel publishes
/// each interface's index in sysfs.
fn interface_index(name: &str) -> Option<u32> {
    // IFNAMSIZ is 16 with the NUL; '/' and the dot names would escape the directory.
    let plausible = !name.is_empty() && name.len() < 16 && !name.contains('/');
    if !plausible || name == "." || name == ".." {
        return None;
    }
    let text = std::fs::read_to_string(format!("/sys/class/net/{name}/ifindex")).ok()?;
    text.trim().parse().ok().filter(|&index| index != 0)
}

/// The search list glibc keeps from these raw entries, normalised (see [`ResolvConf::search`]).
fn search_list<'a>(entries: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut used = 0;
    let mut list = Vec::new();
    for entry in entries.into_iter().take(MAX_SEARCH_DOMAINS) {
        // glibc copies every entry with its NUL into the 256-byte `defdname` and stops at the
        // first one that does not fit.
        used += entry.len() + 1;
        if used > SEARCH_LIST_BYTES {
            break;
        }
        let entry = entry.strip_prefix('.').unwrap_or(entry);
        let entry = entry.strip_suffix('.').unwrap_or(entry);
        list.push(entry.to_ascii_lowercase());
    }
    list
}

#[cfg(test)]
mod tests;
