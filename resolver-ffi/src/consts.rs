//! `<netdb.h>` constants the `libc` crate does not carry for Linux. The values are the same in
//! glibc (`resolv/netdb.h`) and musl (`include/netdb.h`).

use std::ffi::c_int;

/// `AI_PASSIVE`: a NULL node means the wildcard address.
pub const AI_PASSIVE: c_int = 0x0001;
/// `AI_CANONNAME`: fill `ai_canonname` of the first entry.
pub const AI_CANONNAME: c_int = 0x0002;
/// `AI_NUMERICHOST`: never resolve, the node must be an address.
pub const AI_NUMERICHOST: c_int = 0x0004;
/// `AI_V4MAPPED`: with `AF_INET6`, return IPv4 answers as `::ffff:a.b.c.d`.
pub const AI_V4MAPPED: c_int = 0x0008;
/// `AI_ALL`: with `AI_V4MAPPED`, return mapped IPv4 answers even when IPv6 ones exist.
pub const AI_ALL: c_int = 0x0010;
/// `AI_ADDRCONFIG`: only families the host has a non-loopback address of.
pub const AI_ADDRCONFIG: c_int = 0x0020;
/// glibc `AI_IDN`: IDNA-encode the node (handed to libc).
pub const AI_IDN: c_int = 0x0040;
/// glibc `AI_CANONIDN`: IDNA-decode the canonical name (handed to libc).
pub const AI_CANONIDN: c_int = 0x0080;
/// glibc's former `AI_IDN_ALLOW_UNASSIGNED | AI_IDN_USE_STD3_ASCII_RULES`, accepted and ignored.
pub const DEPRECATED_AI_IDN: c_int = 0x0300;
/// `AI_NUMERICSERV`: the service must be a port number.
pub const AI_NUMERICSERV: c_int = 0x0400;

/// Every flag glibc's getaddrinfo accepts; any other bit is `EAI_BADFLAGS`.
pub const AI_KNOWN: c_int = AI_PASSIVE
    | AI_CANONNAME
    | AI_NUMERICHOST
    | AI_ADDRCONFIG
    | AI_V4MAPPED
    | AI_IDN
    | AI_CANONIDN
    | DEPRECATED_AI_IDN
    | AI_NUMERICSERV
    | AI_ALL;

/// What glibc assumes for `hints == NULL` (`AI_DEFAULT`).
pub const AI_DEFAULT: c_int = AI_V4MAPPED | AI_ADDRCONFIG;

/// Invalid `ai_flags`.
pub const EAI_BADFLAGS: c_int = -1;
/// Name or service not known.
pub const EAI_NONAME: c_int = -2;
/// Temporary failure in name resolution.
pub const EAI_AGAIN: c_int = -3;
/// Non-recoverable failure in name resolution.
pub const EAI_FAIL: c_int = -4;
/// No address associated with hostname (the name exists, NODATA).
pub const EAI_NODATA: c_int = -5;
/// `ai_family` not supported.
pub const EAI_FAMILY: c_int = -6;
/// `ai_socktype` not supported.
pub const EAI_SOCKTYPE: c_int = -7;
/// Servname not supported for `ai_socktype`.
pub const EAI_SERVICE: c_int = -8;
/// Address family for hostname not supported (a numeric host of the other family).
pub const EAI_ADDRFAMILY: c_int = -9;
/// Memory allocation failure.
pub const EAI_MEMORY: c_int = -10;
/// System error returned in `errno`.
pub const EAI_SYSTEM: c_int = -11;

/// `h_errno`: internal error, see `errno`.
pub const NETDB_INTERNAL: c_int = -1;
/// `h_errno`: the host is unknown (NXDOMAIN).
pub const HOST_NOT_FOUND: c_int = 1;
/// `h_errno`: temporary failure (timeout, SERVFAIL).
pub const TRY_AGAIN: c_int = 2;
/// `h_errno`: non-recoverable failure (REFUSED, FORMERR, bad name).
pub const NO_RECOVERY: c_int = 3;
/// `h_errno`: the name is valid but has no address of the family (NODATA).
pub const NO_DATA: c_int = 4;
