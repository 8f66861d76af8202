//! Parsers for single values, shared by flags and the TOML file so both accept the same
//! spellings and fail the same way. Each returns only *what* is wrong; the caller adds the
//! flag or key and the value.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use super::Admission;
use super::error::ValueProblem;

/// The DNS port (RFC 1035 §4.2).
pub(crate) const DNS_PORT: u16 = 53;

/// A listen address: `IP:PORT` (`[v6]:PORT`), port not 0.
pub(crate) fn listen_addr(text: &str) -> Result<SocketAddr, ValueProblem> {
    let addr: SocketAddr = text
        .trim()
        .parse()
        .map_err(|_| ValueProblem::NotAnAddress)?;
    if addr.port() == 0 {
        return Err(ValueProblem::PortZero);
    }
    Ok(addr)
}

/// The admin address: `IP:PORT`; port 0 is allowed (the kernel picks one; tests use it).
pub(crate) fn admin_addr(text: &str) -> Result<SocketAddr, ValueProblem> {
    text.trim().parse().map_err(|_| ValueProblem::NotAnAddress)
}

/// An upstream server: `IP`, `IP:PORT`, `[v6]` or `[v6]:PORT`; port 53 when not given.
pub(crate) fn server_addr(text: &str) -> Result<SocketAddr, ValueProblem> {
    let text = text.trim();
    let addr = if let Ok(addr) = text.parse::<SocketAddr>() {
        addr
    } else if let Ok(ip) = text.parse::<IpAddr>() {
        SocketAddr::new(ip, DNS_PORT)
    } else if let Some(ip) = text
        .strip_prefix('[')
        .and_then(|rest| rest.strip_suffix(']'))
        .and_then(|inner| inner.parse::<std::net::Ipv6Addr>().ok())
    {
        SocketAddr::new(IpAddr::V6(ip), DNS_PORT)
    } else {
        return Err(ValueProblem::NotAServer);
    };
    if addr.port() == 0 {
        return Err(ValueProblem::PortZero);
    }
    Ok(addr)
}

/// A zone name in the form the forwarder compares: lower-case, absolute (`.`, `cluster.local.`).
///
/// Labels are letters, digits, `-` and `_` (host names per RFC 952/1123 plus the underscore
/// of service labels, RFC 2782), within RFC 1035 §2.3.4's lengths (63 per label, 253 in all).
pub(crate) fn zone(text: &str) -> Result<String, ValueProblem> {
    let text = text.trim();
    if text == "." {
        return Ok(".".to_owned());
    }
    resolver_core::name::validate(text).map_err(|_| ValueProblem::NotAZone)?;
    let body = resolver_core::name::trim_root(text);
    let allowed = |b: u8| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.';
    if !body.bytes().all(allowed) {
        return Err(ValueProblem::NotAZone);
    }
    Ok(format!("{}.", body.to_ascii_lowercase()))
}

/// `500ms`, `2s`, `5m`, `1h`, `1d`, or a plain number of seconds.
pub(crate) fn duration(text: &str) -> Result<Duration, ValueProblem> {
    let text = text.trim();
    let digits_end = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(digits_end);
    let n: u64 = number.parse().map_err(|_| ValueProblem::NotADuration)?;
    let millis_per_unit: u64 = match unit.trim() {
        "ms" => 1,
        "" | "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => return Err(ValueProblem::NotADuration),
    };
    n.checked_mul(millis_per_unit)
        .map(Duration::from_millis)
        .ok_or(ValueProblem::NotADuration)
}

/// A byte count: plain bytes, or with a unit: `K`/`KB`, `M`/`MB`, `G`/`GB` are powers of 1000
/// and `Ki`/`KiB`, `Mi`/`MiB`, `Gi`/`GiB` powers of 1024 (IEC 80000-13, as Kubernetes
/// quantities). Units are case-insensitive.
pub(crate) fn size(text: &str) -> Result<usize, ValueProblem> {
    let text = text.trim();
    let digits_end = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(digits_end);
    let n: u64 = number.parse().map_err(|_| ValueProblem::NotASize)?;
    let unit = unit.trim().to_ascii_lowercase();
    let multiplier: u64 = match unit.strip_suffix('b').unwrap_or(&unit) {
        "" => 1,
        "k" => 1_000,
        "m" => 1_000_000,
        "g" => 1_000_000_000,
        "ki" => 1 << 10,
        "mi" => 1 << 20,
        "gi" => 1 << 30,
        _ => return Err(ValueProblem::NotASize),
    };
    n.checked_mul(multiplier)
        .and_then(|bytes| usize::try_from(bytes).ok())
        .ok_or(ValueProblem::NotASize)
}

/// A whole number within `min..=max`.
pub(crate) fn number(text: &str, min: u64, max: u64) -> Result<u64, ValueProblem> {
    let n: u64 = text.trim().parse().map_err(|_| ValueProblem::NotANumber)?;
    if n < min || n > max {
        return Err(ValueProblem::OutOfRange { min, max });
    }
    Ok(n)
}

/// `true` or `false`.
pub(crate) fn boolean(text: &str) -> Result<bool, ValueProblem> {
    match text.trim() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(ValueProblem::NotABool),
    }
}

/// `second-ask` or `always` (`cache_admission`).
pub(crate) fn admission(text: &str) -> Result<Admission, ValueProblem> {
    match text.trim() {
        "second-ask" => Ok(Admission::SecondAsk),
        "always" => Ok(Admission::Always),
        _ => Err(ValueProblem::NotAnAdmission),
    }
}

/// A network interface name the kernel accepts (`dev_valid_name` in net/core/dev.c:
/// 1..IFNAMSIZ-1 bytes, not `.`/`..`, no `/`, `:` or whitespace). Empty means none.
pub(crate) fn interface(text: &str) -> Result<Option<String>, ValueProblem> {
    if text.is_empty() {
        return Ok(None);
    }
    let bad_byte = |b: u8| b == b'/' || b == b':' || b.is_ascii_whitespace();
    if text.len() > 15 || text == "." || text == ".." || text.bytes().any(bad_byte) {
        return Err(ValueProblem::NotAnInterface);
    }
    Ok(Some(text.to_owned()))
}

/// A duration as this module reads it back: the largest unit that divides it exactly.
pub(crate) fn format_duration(duration: Duration) -> String {
    let millis = duration.as_millis();
    if millis == 0 {
        "0s".to_owned()
    } else if millis.is_multiple_of(86_400_000) {
        format!("{}d", millis / 86_400_000)
    } else if millis.is_multiple_of(3_600_000) {
        format!("{}h", millis / 3_600_000)
    } else if millis.is_multiple_of(60_000) {
        format!("{}m", millis / 60_000)
    } else if millis.is_multiple_of(1_000) {
        format!("{}s", millis / 1_000)
    } else {
        format!("{millis}ms")
    }
}

/// A size as this module reads it back: `NGiB`/`NMiB`/`NKiB` when exact, else bytes.
pub(crate) fn format_size(bytes: usize) -> String {
    for (shift, unit) in [(30, "GiB"), (20, "MiB"), (10, "KiB")] {
        if bytes != 0 && bytes.is_multiple_of(1 << shift) {
            return format!("{}{unit}", bytes >> shift);
        }
    }
    bytes.to_string()
}
