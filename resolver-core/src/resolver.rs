//! The public blocking API.
// TODO(lead): implement.

/// Address family asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    /// IPv4 and IPv6 (`AF_UNSPEC`).
    Unspec,
    /// IPv4 only (`AF_INET`).
    Inet,
    /// IPv6 only (`AF_INET6`).
    Inet6,
}

/// Options of one lookup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LookupOptions {
    /// Families wanted.
    pub family: Family,
}

/// A resolver.
#[derive(Debug)]
pub struct Resolver {}
