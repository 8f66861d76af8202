//! THE mapping from resolver-core's [`Error`] to libc's error conventions.
//!
//! Measured on this machine (glibc 2.36, a test server in a network namespace): NXDOMAIN →
//! `EAI_NONAME`; NODATA → `EAI_NODATA`; SERVFAIL, REFUSED and timeouts → `EAI_AGAIN`, for
//! every family. glibc gets there through `h_errno` (`nss/getaddrinfo.c`,
//! `get_nss_addresses`): `TRY_AGAIN` becomes `EAI_AGAIN`, `NO_DATA` `EAI_NODATA`, anything
//! else (`HOST_NOT_FOUND`, `NO_RECOVERY`) leaves no address and ends as `EAI_NONAME`.
//! A CNAME chain ending without an address ([`Error::NoRecovery`]) is `NO_RECOVERY`: measured,
//! `gethostbyname` and `gethostbyname2(AF_INET6)` set it, `getaddrinfo` says `EAI_NODATA` for
//! `AF_INET` without `AI_CANONNAME` ([`eai_code_inet_shortcut`]) and `EAI_NONAME` otherwise.

use std::ffi::c_int;

use resolver_core::Error;

use crate::consts::{
    EAI_AGAIN, EAI_NODATA, EAI_NONAME, HOST_NOT_FOUND, NO_DATA, NO_RECOVERY, TRY_AGAIN,
};

/// How a failed lookup looks to libc's callers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Failure {
    /// NXDOMAIN: `HOST_NOT_FOUND`.
    NotFound,
    /// The name exists without addresses of the family: `NO_DATA`.
    NoData,
    /// Timeout, SERVFAIL, REFUSED, network trouble: `TRY_AGAIN`.
    TryAgain,
    /// Any other failure: `NO_RECOVERY`.
    NoRecovery,
}

/// The failure class of a core error, or `None` for [`Error::UnsupportedSource`], which
/// means "only libc can answer this" (the caller hands the call over).
pub(crate) fn classify(error: &Error) -> Option<Failure> {
    if matches!(error, Error::UnsupportedSource(_)) {
        return None;
    }
    Some(if error.is_nx_domain() || error.is_invalid_input() {
        // glibc reports a name it cannot even ask (`a..b`) as HOST_NOT_FOUND (measured).
        Failure::NotFound
    } else if error.is_no_data() {
        Failure::NoData
    } else if error.is_no_recovery() {
        Failure::NoRecovery
    } else if error.is_temporary()
        || matches!(
            error,
            Error::NoNameservers | Error::Malformed(_) | Error::Io { .. }
        )
    {
        // No nameserver: glibc falls back to 127.0.0.1, whose refusal is TRY_AGAIN.
        // A response that cannot be decoded is, to glibc, no usable answer: TRY_AGAIN.
        Failure::TryAgain
    } else {
        Failure::NoRecovery
    })
}

/// `h_errno` for a failure (gethostbyname family).
pub(crate) fn h_errno(failure: Failure) -> c_int {
    match failure {
        Failure::NotFound => HOST_NOT_FOUND,
        Failure::NoData => NO_DATA,
        Failure::TryAgain => TRY_AGAIN,
        Failure::NoRecovery => NO_RECOVERY,
    }
}

/// glibc's `no_data` value for one per-family lookup: `EAI_AGAIN`, 1 for `NO_DATA`, else 0.
fn no_data(failure: Failure) -> c_int {
    match failure {
        Failure::TryAgain => EAI_AGAIN,
        Failure::NoData => 1,
        Failure::NotFound | Failure::NoRecovery => 0,
    }
}

/// The getaddrinfo code for a failed lookup: `inet6` and `inet` are the failures of the
/// AF_INET6 and AF_INET lookups (the same value when one lookup served both, as for
/// AF_UNSPEC). Both must be "no data" for glibc to say so; both `TRY_AGAIN` for `EAI_AGAIN`.
pub(crate) fn eai_code(inet6: Failure, inet: Failure) -> c_int {
    let (six, four) = (no_data(inet6), no_data(inet));
    if six != 0 && four != 0 {
        if six == EAI_AGAIN && four == EAI_AGAIN {
            EAI_AGAIN
        } else {
            EAI_NODATA
        }
    } else {
        EAI_NONAME
    }
}

/// The getaddrinfo code for a failed AF_INET lookup without `AI_CANONNAME`: glibc takes a
/// shortcut through `gethostbyname2_r` there (`try_simple_gethostbyname`), which reports every
/// failure but `HOST_NOT_FOUND` and `TRY_AGAIN` as `EAI_NODATA` (measured: a CNAME without
/// addresses, `NO_RECOVERY`, is `EAI_NODATA` for AF_INET and `EAI_NONAME` for AF_UNSPEC).
pub(crate) fn eai_code_inet_shortcut(failure: Failure) -> c_int {
    match failure {
        Failure::NotFound => EAI_NONAME,
        Failure::TryAgain => EAI_AGAIN,
        Failure::NoData | Failure::NoRecovery => EAI_NODATA,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn core_errors_map_to_glibcs_codes() {
        let cases: Vec<(Error, Option<c_int>, c_int)> = vec![
            (Error::NxDomain, Some(EAI_NONAME), HOST_NOT_FOUND),
            (Error::NoData, Some(EAI_NODATA), NO_DATA),
            (Error::NoRecovery, Some(EAI_NONAME), NO_RECOVERY),
            (
                Error::Timeout(Duration::from_secs(1)),
                Some(EAI_AGAIN),
                TRY_AGAIN,
            ),
            (Error::ServFail, Some(EAI_AGAIN), TRY_AGAIN),
            (Error::Rcode(5), Some(EAI_AGAIN), TRY_AGAIN),
            (Error::NoNameservers, Some(EAI_AGAIN), TRY_AGAIN),
            (
                Error::Io {
                    server: None,
                    source: std::io::Error::from(std::io::ErrorKind::ConnectionRefused),
                },
                Some(EAI_AGAIN),
                TRY_AGAIN,
            ),
            (Error::UnsupportedSource("mdns4".into()), None, 0),
        ];
        for (error, eai, herr) in cases {
            let failure = classify(&error);
            assert_eq!(failure.map(|f| eai_code(f, f)), eai, "{error}");
            if let Some(failure) = failure {
                assert_eq!(h_errno(failure), herr, "{error}");
            }
        }
    }

    #[test]
    fn two_family_lookups_combine_like_glibc() {
        use Failure::*;
        assert_eq!(eai_code(NoData, NoData), EAI_NODATA);
        assert_eq!(eai_code(TryAgain, TryAgain), EAI_AGAIN);
        // One timed out, the other had no data: the name is known.
        assert_eq!(eai_code(TryAgain, NoData), EAI_NODATA);
        // NXDOMAIN on either side leaves no "no data" claim.
        assert_eq!(eai_code(NotFound, NoData), EAI_NONAME);
        assert_eq!(eai_code(TryAgain, NotFound), EAI_NONAME);
        assert_eq!(eai_code(NoRecovery, NoRecovery), EAI_NONAME);
        assert_eq!(eai_code_inet_shortcut(NoRecovery), EAI_NODATA);
        assert_eq!(eai_code_inet_shortcut(NotFound), EAI_NONAME);
    }
}
