//! DNS name helpers shared by the search policy and the wire codec.
//!
//! Names travel through the resolver as `&str` in presentation form without escapes
//! (what getaddrinfo receives). Comparison is ASCII case-insensitive (RFC 4343 §3).

/// Longest name in presentation form without the trailing dot (RFC 1035 §2.3.4: 255 octets
/// on the wire, which is 253 characters of text).
pub const MAX_NAME_LEN: usize = 253;
/// Longest label (RFC 1035 §2.3.4).
pub const MAX_LABEL_LEN: usize = 63;

/// Why a string is not a usable DNS name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NameError {
    /// The empty string (the root alone, `.`, is not a host name either).
    #[error("empty name")]
    Empty,
    /// Longer than 253 characters.
    #[error("name longer than {MAX_NAME_LEN} characters")]
    TooLong,
    /// A label of more than 63 characters.
    #[error("label longer than {MAX_LABEL_LEN} characters")]
    LabelTooLong,
    /// Two dots in a row, or a leading dot.
    #[error("empty label")]
    EmptyLabel,
}

/// Strips one trailing dot, if any.
#[inline]
pub fn trim_root(name: &str) -> &str {
    name.strip_suffix('.').unwrap_or(name)
}

/// True when the name ends in a dot: it is absolute and is never searched.
#[inline]
pub fn is_absolute(name: &str) -> bool {
    name.ends_with('.')
}

/// Checks lengths and labels of a name (with or without its trailing dot).
pub fn validate(name: &str) -> Result<(), NameError> {
    let body = trim_root(name);
    if body.is_empty() {
        return Err(NameError::Empty);
    }
    if body.len() > MAX_NAME_LEN {
        return Err(NameError::TooLong);
    }
    for label in body.split('.') {
        if label.is_empty() {
            return Err(NameError::EmptyLabel);
        }
        if label.len() > MAX_LABEL_LEN {
            return Err(NameError::LabelTooLong);
        }
    }
    Ok(())
}

/// Number of dots in the name, not counting a trailing one (what `ndots` compares against,
/// resolv.conf(5)).
#[inline]
pub fn count_dots(name: &str) -> usize {
    trim_root(name).bytes().filter(|&b| b == b'.').count()
}

/// Number of labels (`a.b.c` → 3).
#[inline]
pub fn label_count(name: &str) -> usize {
    let body = trim_root(name);
    if body.is_empty() {
        0
    } else {
        count_dots(body) + 1
    }
}

/// Case-insensitive equality of two names, ignoring a trailing dot on either.
#[inline]
pub fn eq(a: &str, b: &str) -> bool {
    trim_root(a).eq_ignore_ascii_case(trim_root(b))
}

/// True when `name` is `suffix` or ends in `.suffix`, compared label-wise and case-insensitively.
/// An empty suffix (the root) matches every name.
pub fn has_suffix(name: &str, suffix: &str) -> bool {
    has_trimmed_suffix(trim_root(name), trim_root(suffix))
}

/// [`has_suffix`] on names whose root dot is already trimmed. Trimming exactly once matters:
/// a second trim would take a real label's dot off a name ending in `..` (fuzzing found
/// `strip_suffix` cutting a search entry mid-character that way).
fn has_trimmed_suffix(name: &str, suffix: &str) -> bool {
    let name = name.as_bytes();
    let suffix = suffix.as_bytes();
    if suffix.is_empty() {
        return true;
    }
    let Some(start) = name.len().checked_sub(suffix.len()) else {
        return false;
    };
    name.get(start..)
        .is_some_and(|tail| tail.eq_ignore_ascii_case(suffix))
        && (start == 0 || name.get(start - 1) == Some(&b'.'))
}

/// `name` without `.suffix` at its end, when it has that suffix and something before it.
pub fn strip_suffix<'a>(name: &'a str, suffix: &str) -> Option<&'a str> {
    let body = trim_root(name);
    let suffix = trim_root(suffix);
    if !has_trimmed_suffix(body, suffix) || body.len() <= suffix.len() {
        return None;
    }
    if suffix.is_empty() {
        return Some(body);
    }
    Some(&body[..body.len() - suffix.len() - 1])
}

/// Joins a relative name and a domain into one absolute name without trailing dot.
pub fn join(name: &str, domain: &str) -> String {
    let name = trim_root(name);
    let domain = trim_root(domain);
    let mut out = String::with_capacity(name.len() + 1 + domain.len());
    out.push_str(name);
    if !domain.is_empty() {
        out.push('.');
        out.push_str(domain);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validate_rejects_bad_names() {
        assert_eq!(validate(""), Err(NameError::Empty));
        assert_eq!(validate("."), Err(NameError::Empty));
        assert_eq!(validate("a..b"), Err(NameError::EmptyLabel));
        assert_eq!(validate(".a"), Err(NameError::EmptyLabel));
        assert_eq!(validate(&"a".repeat(64)), Err(NameError::LabelTooLong));
        let long = vec!["abcdefgh"; 30].join(".");
        assert_eq!(validate(&long), Err(NameError::TooLong));
        assert_eq!(validate("www.example.com."), Ok(()));
        assert_eq!(validate(&"a".repeat(63)), Ok(()));
    }

    #[test]
    fn suffixes_are_label_aligned_and_case_insensitive() {
        assert!(has_suffix("a.svc.Cluster.Local", "cluster.local"));
        assert!(has_suffix("cluster.local.", "cluster.local"));
        assert!(!has_suffix("acluster.local", "cluster.local"));
        assert!(has_suffix("anything", ""));
        assert_eq!(
            strip_suffix("api.dev.svc.cluster.local", "svc.cluster.local"),
            Some("api.dev")
        );
        assert_eq!(strip_suffix("cluster.local", "cluster.local"), None);
        assert_eq!(strip_suffix("x.acluster.local", "cluster.local"), None);
    }

    /// Found by the resolv_conf fuzz target: a search entry `svc.....` makes the cluster zone
    /// `..`; stripping it (trimmed once: `.`) from a name must not trim it a second time into
    /// the root, which matched everything and cut two bytes off (inside a UTF-8 character).
    #[test]
    fn suffixes_ending_in_dots_are_trimmed_once() {
        assert_eq!(strip_suffix("dnc.def\u{fffd}", ".."), None);
        assert_eq!(strip_suffix("dnc.def", ".."), None);
        assert_eq!(strip_suffix("a..", ".."), None);
        assert_eq!(strip_suffix("a...", ".."), Some("a"));
        assert!(!has_suffix("dnc.def", ".."));
        assert!(has_suffix("a...", ".."));
    }

    #[test]
    fn counts() {
        assert_eq!(count_dots("a.b.c."), 2);
        assert_eq!(label_count("a.b.c."), 3);
        assert_eq!(label_count(""), 0);
        assert_eq!(
            join("web", "default.svc.cluster.local."),
            "web.default.svc.cluster.local"
        );
        assert!(eq("Example.COM.", "example.com"));
    }
}
