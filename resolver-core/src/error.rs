//! The one error type of `resolver-core`.
//!
//! Modelled on hickory's `NetError`: a `#[non_exhaustive]` enum with predicates, so callers
//! (the shim's EAI mapping, the CLI's exit codes, the daemon's rcodes) ask *what kind* of
//! failure it was instead of matching on text.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use crate::config::ConfigError;
use crate::name::NameError;
use crate::wire::WireError;

/// Why a lookup or a configuration load failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Every candidate name was answered with NXDOMAIN (RFC 1035 rcode 3).
    #[error("name does not exist (NXDOMAIN)")]
    NxDomain,
    /// The name exists but holds no address of the requested family (NODATA, RFC 2308 §2.2).
    #[error("name exists but has no address of the requested family (NODATA)")]
    NoData,
    /// The search ended at a name whose answer holds records but no address of the
    /// requested family: a CNAME chain ending at a name without one (NOERROR, answer section
    /// not empty). glibc's resolver stops the search there (`__res_context_search` returns the
    /// non-empty answer) and its `getanswer_r` finds no address, so `h_errno` is
    /// `NO_RECOVERY`: `getaddrinfo` says `EAI_NODATA` for `AF_INET` without `AI_CANONNAME`
    /// and `EAI_NONAME` otherwise (measured with glibc 2.36 against NSD).
    #[error("the name's CNAME chain ends without an address of the requested family")]
    NoRecovery,
    /// No usable answer from any nameserver before the deadline (`timeout` × `attempts`).
    #[error("no answer from any nameserver within {0:?}")]
    Timeout(Duration),
    /// The nameservers answered SERVFAIL for every candidate that decided the outcome.
    #[error("nameserver failure (SERVFAIL)")]
    ServFail,
    /// A nameserver answered with an rcode that ends the search (REFUSED, NOTIMP, FORMERR, …).
    #[error("nameserver answered rcode {0}")]
    Rcode(u8),
    /// resolv.conf names no nameserver we can reach (and no default applies).
    #[error("no nameserver configured")]
    NoNameservers,
    /// The name asked for is not a valid DNS name (empty label, label over 63 bytes, …).
    #[error("invalid name: {0}")]
    InvalidName(#[from] NameError),
    /// A response that passed validation could not be decoded.
    #[error("malformed response: {0}")]
    Malformed(#[from] WireError),
    /// A numeric host of the other family than the one asked for (glibc's `EAI_ADDRFAMILY`).
    #[error("numeric address of another family than requested")]
    AddressFamily,
    /// nsswitch.conf names a hosts source nodecache does not implement; only libc can
    /// answer this call faithfully (the shim hands it over).
    #[error("nsswitch hosts source '{0}' is not handled by nodecache")]
    UnsupportedSource(String),
    /// A socket operation failed (not a timeout: those are [`Error::Timeout`]).
    #[error("network error{}: {source}", server.map(|s| format!(" talking to {s}")).unwrap_or_default())]
    Io {
        /// The nameserver involved, when there was one.
        server: Option<SocketAddr>,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// A configuration file could not be read or is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
}

impl Error {
    /// The name does not exist at all.
    pub fn is_nx_domain(&self) -> bool {
        matches!(self, Error::NxDomain)
    }

    /// The name exists but has no data of the asked type.
    pub fn is_no_data(&self) -> bool {
        matches!(self, Error::NoData)
    }

    /// The name's CNAME chain ends without an address (glibc's `NO_RECOVERY` class).
    pub fn is_no_recovery(&self) -> bool {
        matches!(self, Error::NoRecovery)
    }

    /// A definitive negative answer: asking again will not help until the TTL expires
    /// (NXDOMAIN, NODATA, or a CNAME chain ending without an address).
    pub fn is_not_found(&self) -> bool {
        matches!(self, Error::NxDomain | Error::NoData | Error::NoRecovery)
    }

    /// No answer arrived in time.
    pub fn is_timeout(&self) -> bool {
        matches!(self, Error::Timeout(_))
    }

    /// A transient failure: retrying later may succeed (glibc's `TRY_AGAIN` / `EAI_AGAIN`).
    pub fn is_temporary(&self) -> bool {
        matches!(
            self,
            Error::Timeout(_) | Error::ServFail | Error::Rcode(_) | Error::Io { .. }
        )
    }

    /// The caller's input was wrong (an invalid name), not the network.
    pub fn is_invalid_input(&self) -> bool {
        matches!(self, Error::InvalidName(_))
    }

    pub(crate) fn io(server: Option<SocketAddr>, source: io::Error) -> Self {
        Error::Io { server, source }
    }
}
