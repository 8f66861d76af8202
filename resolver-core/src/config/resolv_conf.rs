//! resolv.conf(5) as glibc reads it (`resolv/res_init.c`), plus `LOCALDOMAIN` and `RES_OPTIONS`.
// TODO(helper:config): implement the bodies.

use std::net::SocketAddr;
use std::time::Duration;

/// The parsed resolver configuration. Defaults are glibc's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvConf {
    /// Up to three nameservers (`MAXNS`), port 53. Empty means "none listed"; see
    /// [`ResolvConf::effective_nameservers`] for glibc's default.
    pub nameservers: Vec<SocketAddr>,
    /// Search list (from the last `search` or `domain` line, or `LOCALDOMAIN`), without
    /// trailing dots, lower-cased, at most 6 entries as in glibc (`MAXDNSRCH`).
    pub search: Vec<String>,
    /// `options ndots:N` (default 1, capped at 15).
    pub ndots: u8,
    /// `options timeout:N` (default 5 s, capped at 30 s).
    pub timeout: Duration,
    /// `options attempts:N` (default 2, capped at 5).
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
    /// `options no-tld-query`: never ask a single-label name as-is.
    pub no_tld_query: bool,
    /// `options no-reload`: do not re-read the file when it changes.
    pub no_reload: bool,
}

impl Default for ResolvConf {
    fn default() -> Self {
        todo!()
    }
}

impl ResolvConf {
    /// Parses the text of a resolv.conf. Never fails: lines and options glibc would ignore are ignored.
    pub fn parse(text: &str) -> Self {
        let _ = text;
        todo!()
    }

    /// Applies `LOCALDOMAIN` (replaces the search list) and `RES_OPTIONS` (options applied after
    /// the file), as glibc's `res_init` does. `None` means the variable is unset.
    pub fn apply_env(&mut self, localdomain: Option<&str>, res_options: Option<&str>) {
        let _ = (localdomain, res_options);
        todo!()
    }

    /// The nameservers to use: the listed ones, or glibc's default `127.0.0.1:53` when none is listed.
    pub fn effective_nameservers(&self) -> Vec<SocketAddr> {
        todo!()
    }
}
