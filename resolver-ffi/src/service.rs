//! The service argument of getaddrinfo: glibc's rules for numbers, names and socket types
//! (`nss/getaddrinfo.c`: `getaddrinfo`, `get_servtuples`, `gaih_inet_serv`).
//!
//! Service names are looked up with libc's own `getservbyname_r` (the services database,
//! normally `/etc/services`), once per protocol exactly as glibc does; that function never
//! comes back into the resolver.

use std::ffi::{CStr, c_char, c_int};
use std::ptr;

use crate::consts::{AI_NUMERICSERV, EAI_NONAME, EAI_SERVICE, EAI_SOCKTYPE};

/// What the caller asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Service<'a> {
    /// No service (NULL, "" or "*"): port 0.
    None,
    /// `strtoul` consumed the whole string and the value fits in an `int`: a port (the value
    /// is truncated to 16 bits, as glibc's `htons` does).
    Port(u16),
    /// Anything else: a name for the services database.
    Name(&'a CStr),
}

/// glibc's reading of the service string: `strtoul (service, &end, 10)` into an `int`, a
/// number only when nothing is left over and the `int` is not negative. With
/// `AI_NUMERICSERV`, a non-number is `EAI_NONAME`.
pub(crate) fn parse_service(service: Option<&CStr>, flags: c_int) -> Result<Service<'_>, c_int> {
    let Some(service) = service.filter(|s| !s.is_empty()) else {
        return Ok(Service::None);
    };
    match strtoul_whole(service.to_bytes()) {
        // `gaih_service.num` is an int: the unsigned long is truncated to 32 bits.
        Some(value) if (value as u32 as i32) >= 0 => Ok(Service::Port(value as u16)),
        Some(_) => Ok(Service::Name(service)),
        None if flags & AI_NUMERICSERV != 0 => Err(EAI_NONAME),
        None => Ok(Service::Name(service)),
    }
}

/// `strtoul (text, &end, 10)` when it consumes all of `text`: leading C whitespace, one
/// optional sign, at least one digit; overflow saturates at `ULONG_MAX`; a minus sign
/// negates in unsigned arithmetic.
fn strtoul_whole(text: &[u8]) -> Option<u64> {
    let start = text
        .iter()
        .position(|b| !matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r'))?;
    let rest = text.get(start..)?;
    let (negative, digits) = match rest.split_first() {
        Some((b'-', digits)) => (true, digits),
        Some((b'+', digits)) => (false, digits),
        _ => (false, rest),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut value: u64 = 0;
    let mut overflow = false;
    for &d in digits {
        match value
            .checked_mul(10)
            .and_then(|v| v.checked_add(u64::from(d - b'0')))
        {
            Some(v) => value = v,
            None => overflow = true,
        }
    }
    Some(match (overflow, negative) {
        (true, _) => u64::MAX,
        (false, true) => value.wrapping_neg(),
        (false, false) => value,
    })
}

/// One row of glibc's `gaih_inet_typeproto` table.
#[derive(Debug)]
struct TypeProto {
    socktype: c_int,
    protocol: c_int,
    /// `GAI_PROTO_PROTOANY`: the caller's protocol is taken as is.
    protocol_any: bool,
    /// `GAI_PROTO_NOSERVICE`: no service may be given.
    no_service: bool,
    /// Returned when the caller sets neither socket type nor protocol.
    default: bool,
    name: &'static CStr,
}

/// glibc's table, in its order (which is the order of the results).
const TYPE_PROTOS: [TypeProto; 7] = [
    TypeProto {
        socktype: libc::SOCK_STREAM,
        protocol: libc::IPPROTO_TCP,
        protocol_any: false,
        no_service: false,
        default: true,
        name: c"tcp",
    },
    TypeProto {
        socktype: libc::SOCK_DGRAM,
        protocol: libc::IPPROTO_UDP,
        protocol_any: false,
        no_service: false,
        default: true,
        name: c"udp",
    },
    TypeProto {
        socktype: libc::SOCK_DCCP,
        protocol: libc::IPPROTO_DCCP,
        protocol_any: false,
        no_service: false,
        default: false,
        name: c"dccp",
    },
    TypeProto {
        socktype: libc::SOCK_DGRAM,
        protocol: libc::IPPROTO_UDPLITE,
        protocol_any: false,
        no_service: false,
        default: false,
        name: c"udplite",
    },
    TypeProto {
        socktype: libc::SOCK_STREAM,
        protocol: libc::IPPROTO_SCTP,
        protocol_any: false,
        no_service: false,
        default: false,
        name: c"sctp",
    },
    TypeProto {
        socktype: libc::SOCK_SEQPACKET,
        protocol: libc::IPPROTO_SCTP,
        protocol_any: false,
        no_service: false,
        default: false,
        name: c"sctp",
    },
    TypeProto {
        socktype: libc::SOCK_RAW,
        protocol: 0,
        protocol_any: true,
        no_service: true,
        default: true,
        name: c"raw",
    },
];

/// One (socket type, protocol, port) combination every address is returned with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct ServTuple {
    /// `ai_socktype`.
    pub(crate) socktype: c_int,
    /// `ai_protocol`.
    pub(crate) protocol: c_int,
    /// Port, host byte order.
    pub(crate) port: u16,
}

/// The tuples of one call: at most one per row of glibc's table, kept inline so that a warm
/// getaddrinfo call allocates nothing for them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct ServTuples {
    tuples: [ServTuple; TYPE_PROTOS.len()],
    len: usize,
}

impl ServTuples {
    fn one(tuple: ServTuple) -> Self {
        let mut tuples = ServTuples::default();
        tuples.push(tuple);
        tuples
    }

    /// Appends `tuple`; the table has one row per tuple, so there is always room.
    fn push(&mut self, tuple: ServTuple) {
        if let Some(slot) = self.tuples.get_mut(self.len) {
            *slot = tuple;
            self.len += 1;
        }
    }
}

impl FromIterator<ServTuple> for ServTuples {
    fn from_iter<I: IntoIterator<Item = ServTuple>>(iter: I) -> Self {
        let mut tuples = ServTuples::default();
        for tuple in iter {
            tuples.push(tuple);
        }
        tuples
    }
}

impl std::ops::Deref for ServTuples {
    type Target = [ServTuple];

    fn deref(&self) -> &[ServTuple] {
        self.tuples.get(..self.len).unwrap_or_default()
    }
}

/// Looks a service name up for one protocol: `Some(port)` or `None` when unknown.
pub(crate) type ServiceLookup<'f> = dyn FnMut(&CStr, &CStr) -> Option<u16> + 'f;

/// glibc's `get_servtuples`: the combinations to return, or `EAI_SOCKTYPE` / `EAI_SERVICE`.
pub(crate) fn serv_tuples(
    socktype: c_int,
    protocol: c_int,
    service: Service<'_>,
    lookup: &mut ServiceLookup<'_>,
) -> Result<ServTuples, c_int> {
    let matches = |tp: &TypeProto| {
        (socktype == 0 || socktype == tp.socktype)
            && (protocol == 0 || tp.protocol_any || protocol == tp.protocol)
    };
    let tuple = |tp: &TypeProto, port: u16| ServTuple {
        socktype: tp.socktype,
        protocol: if tp.protocol_any {
            protocol
        } else {
            tp.protocol
        },
        port,
    };
    // With a socket type or protocol given, the first matching row decides.
    let chosen = if socktype != 0 || protocol != 0 {
        match TYPE_PROTOS.iter().find(|tp| matches(tp)) {
            Some(tp) => Some(tp),
            None if socktype != 0 => return Err(EAI_SOCKTYPE),
            None => return Err(EAI_SERVICE),
        }
    } else {
        None
    };
    if chosen.is_some_and(|tp| tp.no_service) && service != Service::None {
        return Err(EAI_SERVICE);
    }
    let port = match service {
        Service::None => Some(0),
        Service::Port(port) => Some(port),
        Service::Name(_) => None,
    };
    match (port, chosen, service) {
        (Some(port), Some(tp), _) => Ok(ServTuples::one(tuple(tp, port))),
        (Some(port), None, _) => Ok(TYPE_PROTOS
            .iter()
            .filter(|tp| tp.default)
            .map(|tp| tuple(tp, port))
            .collect()),
        (None, Some(tp), Service::Name(name)) => match lookup(name, tp.name) {
            Some(port) => Ok(ServTuples::one(tuple(tp, port))),
            None => Err(EAI_SERVICE),
        },
        (None, None, Service::Name(name)) => {
            let found: ServTuples = TYPE_PROTOS
                .iter()
                .filter(|tp| !tp.no_service)
                .filter_map(|tp| lookup(name, tp.name).map(|port| tuple(tp, port)))
                .collect();
            if found.is_empty() {
                Err(EAI_SERVICE)
            } else {
                Ok(found)
            }
        }
        (None, _, _) => Err(EAI_SERVICE),
    }
}

unsafe extern "C" {
    /// `getservbyname_r(3)` (glibc and musl; not declared by the libc crate).
    fn getservbyname_r(
        name: *const c_char,
        proto: *const c_char,
        result_buf: *mut libc::servent,
        buf: *mut c_char,
        buflen: libc::size_t,
        result: *mut *mut libc::servent,
    ) -> c_int;
}

/// libc's `getservbyname_r`: the port of `name` for `proto`, host byte order.
pub(crate) fn getservbyname(name: &CStr, proto: &CStr) -> Option<u16> {
    let mut buffer = vec![0u8; 1024];
    loop {
        // SAFETY: servent is plain data; all-zero is a valid value.
        let mut entry: libc::servent = unsafe { std::mem::zeroed() };
        let mut result: *mut libc::servent = ptr::null_mut();
        // SAFETY: valid C strings, an owned buffer of the given length, valid out-pointers.
        let rc = unsafe {
            getservbyname_r(
                name.as_ptr(),
                proto.as_ptr(),
                &mut entry,
                buffer.as_mut_ptr().cast::<c_char>(),
                buffer.len(),
                &mut result,
            )
        };
        if rc == libc::ERANGE && buffer.len() < 1 << 20 {
            buffer.resize(buffer.len() * 4, 0);
            continue;
        }
        if rc != 0 || result.is_null() {
            return None;
        }
        // s_port holds the port in network byte order in the low 16 bits of an int.
        return Some(u16::from_be(entry.s_port as u16));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_strings_read_like_glibc() {
        let cases: [(&CStr, c_int, Result<Service<'_>, c_int>); 11] = [
            (c"80", 0, Ok(Service::Port(80))),
            (c" +80", 0, Ok(Service::Port(80))),
            (c"0", 0, Ok(Service::Port(0))),
            // Truncated to 16 bits, as htons does.
            (c"65536", 0, Ok(Service::Port(0))),
            (c"65537", AI_NUMERICSERV, Ok(Service::Port(1))),
            // -1 as unsigned long is ULONG_MAX, which is -1 as an int: not a port.
            (c"-1", 0, Ok(Service::Name(c"-1"))),
            (c"http", 0, Ok(Service::Name(c"http"))),
            (c"80 ", 0, Ok(Service::Name(c"80 "))),
            (c"http", AI_NUMERICSERV, Err(EAI_NONAME)),
            (c"", AI_NUMERICSERV, Ok(Service::None)),
            (c"8o", AI_NUMERICSERV, Err(EAI_NONAME)),
        ];
        for (text, flags, expected) in cases {
            assert_eq!(parse_service(Some(text), flags), expected, "{text:?}");
        }
        assert_eq!(parse_service(None, 0), Ok(Service::None));
    }

    fn fake_services(name: &CStr, proto: &CStr) -> Option<u16> {
        match (name.to_bytes(), proto.to_bytes()) {
            (b"http", b"tcp") => Some(80),
            (b"domain", b"tcp" | b"udp") => Some(53),
            (b"sctponly", b"sctp") => Some(9),
            _ => None,
        }
    }

    fn tuples(
        socktype: c_int,
        protocol: c_int,
        service: Service<'_>,
    ) -> Result<Vec<(c_int, c_int, u16)>, c_int> {
        serv_tuples(socktype, protocol, service, &mut fake_services)
            .map(|v| v.iter().map(|t| (t.socktype, t.protocol, t.port)).collect())
    }

    type Expected = Result<Vec<(c_int, c_int, u16)>, c_int>;

    #[test]
    #[rustfmt::skip]
    fn socket_types_and_protocols_follow_glibcs_table() {
        use libc::{IPPROTO_SCTP as SCTP, IPPROTO_TCP as TCP, IPPROTO_UDP as UDP};
        use libc::{
            SOCK_DGRAM as DGRAM, SOCK_RAW as RAW, SOCK_SEQPACKET as SEQ, SOCK_STREAM as STREAM,
        };
        let cases: Vec<(c_int, c_int, Service<'_>, Expected)> = vec![
            // Neither given: TCP, UDP and raw, like glibc.
            (0, 0, Service::Port(80), Ok(vec![(STREAM, TCP, 80), (DGRAM, UDP, 80), (RAW, 0, 80)])),
            (0, 0, Service::None, Ok(vec![(STREAM, TCP, 0), (DGRAM, UDP, 0), (RAW, 0, 0)])),
            (STREAM, 0, Service::Port(80), Ok(vec![(STREAM, TCP, 80)])),
            (DGRAM, 0, Service::None, Ok(vec![(DGRAM, UDP, 0)])),
            (0, UDP, Service::Port(5), Ok(vec![(DGRAM, UDP, 5)])),
            (STREAM, SCTP, Service::Port(5), Ok(vec![(STREAM, SCTP, 5)])),
            (SEQ, 0, Service::Port(5), Ok(vec![(SEQ, SCTP, 5)])),
            // Raw takes any protocol but no service.
            (RAW, 99, Service::None, Ok(vec![(RAW, 99, 0)])),
            (RAW, 0, Service::Port(80), Err(EAI_SERVICE)),
            (STREAM, UDP, Service::Port(80), Err(EAI_SOCKTYPE)),
            (77, 0, Service::None, Err(EAI_SOCKTYPE)),
            // A protocol alone that nothing else matches: raw matches any protocol.
            (0, 99, Service::None, Ok(vec![(RAW, 99, 0)])),
            // Names: looked up per protocol, every row that knows it (SCTP has two).
            (0, 0, Service::Name(c"domain"), Ok(vec![(STREAM, TCP, 53), (DGRAM, UDP, 53)])),
            (0, 0, Service::Name(c"http"), Ok(vec![(STREAM, TCP, 80)])),
            (0, 0, Service::Name(c"sctponly"), Ok(vec![(STREAM, SCTP, 9), (SEQ, SCTP, 9)])),
            (DGRAM, 0, Service::Name(c"http"), Err(EAI_SERVICE)),
            (0, 0, Service::Name(c"nosuch"), Err(EAI_SERVICE)),
        ];
        for (socktype, protocol, service, expected) in cases {
            assert_eq!(
                tuples(socktype, protocol, service),
                expected,
                "{socktype} {protocol} {service:?}"
            );
        }
    }

    #[test]
    fn the_services_database_knows_a_standard_name() {
        // /etc/services is part of netbase; skip quietly where it is missing.
        if std::path::Path::new("/etc/services").exists() {
            assert_eq!(getservbyname(c"domain", c"udp"), Some(53));
            assert_eq!(getservbyname(c"no-such-service-xyz", c"tcp"), None);
        }
    }
}
