//! Source addresses for the destination sort ([`crate::order`]), found as glibc finds them:
//! `connect()` a UDP socket to the destination (nothing is sent) and read the local address
//! the kernel chose; prefix length and flags of that address come from the interface list.
//!
//! glibc does this on every call with more than one address. The shim keeps what it learned
//! for one second, so a warm lookup does not pay four system calls per address; routes and
//! addresses changing within that second are the price.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use socket2::{Domain, Socket, Type};

use crate::order::SourceInfo;

/// How long probed sources and the interface list are reused.
const REUSE_FOR: Duration = Duration::from_secs(1);
/// Probed destinations kept at most (the table is cleared when it grows past this).
const MAX_DESTINATIONS: usize = 1024;

/// Linux `IFA_F_OPTIMISTIC`, `IFA_F_HOMEADDRESS`, `IFA_F_DEPRECATED` (`linux/if_addr.h`).
const IFA_F_OPTIMISTIC: u32 = 0x04;
const IFA_F_HOMEADDRESS: u32 = 0x10;
const IFA_F_DEPRECATED: u32 = 0x20;

/// One configured address (IPv4 ones as `::ffff:a.b.c.d`, glibc's `in6addrinfo` form).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct InterfaceAddress {
    addr: Ipv6Addr,
    prefixlen: u8,
    flags: u32,
}

#[derive(Debug, Default)]
struct Table {
    refreshed: Option<Instant>,
    interfaces: Option<Vec<InterfaceAddress>>,
    by_destination: HashMap<SocketAddr, Option<SourceInfo>>,
}

/// Per-process cache of source addresses.
#[derive(Debug, Default)]
pub(crate) struct SourceCache {
    table: Mutex<Table>,
}

impl SourceCache {
    /// The source glibc would find for each destination (`None`: unreachable), written to
    /// `sources` (a caller's buffer, reused between calls).
    pub(crate) fn sources_for(
        &self,
        destinations: &[SocketAddr],
        sources: &mut Vec<Option<SourceInfo>>,
    ) {
        let now = Instant::now();
        let mut table = self.table.lock();
        let stale = table
            .refreshed
            .is_none_or(|when| now.duration_since(when) >= REUSE_FOR);
        if stale || table.by_destination.len() > MAX_DESTINATIONS {
            *table = Table {
                refreshed: Some(now),
                ..Table::default()
            };
        }
        sources.clear();
        let mut prober = Prober::for_destinations(destinations);
        sources.extend(destinations.iter().map(|destination| {
            if let Some(known) = table.by_destination.get(destination) {
                return *known;
            }
            let found = prober.probe(*destination).map(|addr| {
                let interfaces = table.interfaces.get_or_insert_with(read_interfaces);
                describe(addr, interfaces)
            });
            table.by_destination.insert(*destination, found);
            found
        }));
    }
}

/// The source probes of one sort: the local address a UDP socket connected to each
/// destination gets. Connected without a `bind` first, as glibc and musl do: `connect(2)`
/// picks the source address (and a port) by itself. One socket serves every destination, as
/// glibc's does: an IPv6 one when any destination is IPv6, which reaches IPv4 destinations
/// through an IPv4 `sockaddr_in` (Linux routes it as IPv4); between probes, a connect to
/// `AF_UNSPEC` dissolves the association and forgets the source address, so the next
/// connect chooses its own. A socket and a `close` per destination were most of a sort.
struct Prober {
    /// Opened by the first probe.
    socket: Option<Socket>,
    /// The socket is IPv6 (else IPv4, all destinations being IPv4).
    ipv6: bool,
    /// The last connect succeeded: dissolve it before the next.
    connected: bool,
}

impl Prober {
    fn for_destinations(destinations: &[SocketAddr]) -> Self {
        Prober {
            socket: None,
            ipv6: destinations.iter().any(SocketAddr::is_ipv6),
            connected: false,
        }
    }

    fn probe(&mut self, destination: SocketAddr) -> Option<IpAddr> {
        if self.socket.is_none() {
            let domain = if self.ipv6 {
                Domain::IPV6
            } else {
                Domain::IPV4
            };
            self.socket = Some(Socket::new(domain, Type::DGRAM, None).ok()?);
        }
        let socket = self.socket.as_ref()?;
        if self.connected {
            disconnect(socket);
            self.connected = false;
        }
        match socket.connect(&destination.into()) {
            Ok(()) => self.connected = true,
            // An IPv6-only socket (`IPV6_V6ONLY`) refuses IPv4 destinations: a socket of
            // their own, as before.
            Err(e) if e.raw_os_error() == Some(libc::EAFNOSUPPORT) => {
                return probe_alone(destination);
            }
            Err(_) => return None,
        }
        // An IPv4 source on an IPv6 socket reads as `::ffff:a.b.c.d`.
        let local = socket.local_addr().ok()?.as_socket()?;
        Some(local.ip().to_canonical())
    }
}

/// `connect(2)` to `AF_UNSPEC`: the socket is no longer connected, and its source address,
/// never bound explicitly, is chosen again by the next connect (udp(7), glibc's reset).
fn disconnect(socket: &Socket) {
    use std::os::fd::AsRawFd;
    // SAFETY: sockaddr is plain data; all zeros with the family set is a valid AF_UNSPEC
    // address, valid for the length given for the whole call.
    unsafe {
        let mut unspec: libc::sockaddr = std::mem::zeroed();
        unspec.sa_family = libc::AF_UNSPEC as libc::sa_family_t;
        libc::connect(
            socket.as_raw_fd(),
            &raw const unspec,
            std::mem::size_of::<libc::sockaddr>() as libc::socklen_t,
        );
    }
}

/// One destination's probe on a socket of its own family.
fn probe_alone(destination: SocketAddr) -> Option<IpAddr> {
    let socket = Socket::new(Domain::for_address(destination), Type::DGRAM, None).ok()?;
    socket.connect(&destination.into()).ok()?;
    let local = socket.local_addr().ok()?.as_socket()?;
    Some(local.ip())
}

/// Prefix length and flags of the source address, as glibc's `__check_pf` list gives them.
fn describe(addr: IpAddr, interfaces: &[InterfaceAddress]) -> SourceInfo {
    let key = match addr {
        // glibc looks loopback sources up as 127.0.0.1: the source can be any 127/8 address.
        IpAddr::V4(v4) if v4.octets()[0] == 127 => Ipv4Addr::LOCALHOST.to_ipv6_mapped(),
        IpAddr::V4(v4) => v4.to_ipv6_mapped(),
        IpAddr::V6(v6) => v6,
    };
    let found = interfaces.iter().find(|i| i.addr == key);
    let flags = found.map_or(0, |i| i.flags);
    SourceInfo {
        addr,
        prefixlen: found.map_or(0, |i| i.prefixlen),
        deprecated: flags & (IFA_F_DEPRECATED | IFA_F_OPTIMISTIC) != 0,
        home: flags & IFA_F_HOMEADDRESS != 0,
    }
}

/// Every configured address, from a netlink dump ([`crate::netlink`], the one
/// `AI_ADDRCONFIG` took when it is recent) when it works.
fn read_interfaces() -> Vec<InterfaceAddress> {
    let Some(list) = crate::netlink::recent_addresses() else {
        return read_interfaces_without_netlink();
    };
    list.iter()
        .map(|host| InterfaceAddress {
            addr: match host.addr {
                IpAddr::V4(v4) => v4.to_ipv6_mapped(),
                IpAddr::V6(v6) => v6,
            },
            prefixlen: host.prefixlen,
            // As before: flags matter for IPv6 sources only (deprecated, home address).
            flags: if host.addr.is_ipv6() { host.flags } else { 0 },
        })
        .collect()
}

/// The fallback: IPv6 from `/proc/net/if_inet6` (which has the flags), IPv4 from `getifaddrs`
/// (which has the netmask).
fn read_interfaces_without_netlink() -> Vec<InterfaceAddress> {
    let mut found = std::fs::read_to_string("/proc/net/if_inet6")
        .map(|text| parse_if_inet6(&text))
        .unwrap_or_default();
    found.extend(ipv4_interfaces());
    found
}

/// Lines are `<32 hex digits> <ifindex> <prefixlen> <scope> <flags> <name>`, numbers in hex.
fn parse_if_inet6(text: &str) -> Vec<InterfaceAddress> {
    text.lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let addr = u128::from_str_radix(fields.next()?, 16).ok()?;
            let _index = fields.next()?;
            let prefixlen = u8::from_str_radix(fields.next()?, 16).ok()?;
            let _scope = fields.next()?;
            let flags = u32::from_str_radix(fields.next()?, 16).ok()?;
            Some(InterfaceAddress {
                addr: Ipv6Addr::from(addr),
                prefixlen,
                flags,
            })
        })
        .collect()
}

fn ipv4_interfaces() -> Vec<InterfaceAddress> {
    let mut found = Vec::new();
    let mut list: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs fills `list` on success; it is freed with freeifaddrs below.
    if unsafe { libc::getifaddrs(&mut list) } != 0 {
        return found;
    }
    let mut entry = list;
    while !entry.is_null() {
        // SAFETY: `entry` is a node of the list getifaddrs returned; its address fields are
        // NULL or point to sockaddrs of the family they announce.
        unsafe {
            let addr = (*entry).ifa_addr;
            let mask = (*entry).ifa_netmask;
            if !addr.is_null() && !mask.is_null() && i32::from((*addr).sa_family) == libc::AF_INET {
                let addr = &*addr.cast::<libc::sockaddr_in>();
                let mask = &*mask.cast::<libc::sockaddr_in>();
                found.push(InterfaceAddress {
                    addr: Ipv4Addr::from(u32::from_be(addr.sin_addr.s_addr)).to_ipv6_mapped(),
                    prefixlen: u32::from_be(mask.sin_addr.s_addr).count_ones() as u8,
                    flags: 0,
                });
            }
            entry = (*entry).ifa_next;
        }
    }
    // SAFETY: `list` came from getifaddrs and is freed once.
    unsafe { libc::freeifaddrs(list) };
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_inet6_lines_parse_with_flags() {
        let text = "00000000000000000000000000000001 01 80 10 80       lo\n\
                    fd000000000000000000000000000002 04 40 00 82     eth0\n\
                    fe8000000000000000fc00fffe000001 04 40 20 a0     eth0\n";
        let parsed = parse_if_inet6(text);
        assert_eq!(parsed.len(), 3);
        assert_eq!(parsed[1].addr, "fd00::2".parse::<Ipv6Addr>().unwrap());
        assert_eq!(parsed[1].prefixlen, 64);
        assert_eq!(parsed[2].flags & IFA_F_DEPRECATED, IFA_F_DEPRECATED);
        let info = describe("fe80::fc:ff:fe00:1".parse().unwrap(), &parsed);
        assert!(info.deprecated);
        assert_eq!(info.prefixlen, 64);
    }

    #[test]
    fn loopback_sources_are_described_as_127_0_0_1() {
        let lo = InterfaceAddress {
            addr: Ipv4Addr::LOCALHOST.to_ipv6_mapped(),
            prefixlen: 8,
            flags: 0,
        };
        let info = describe(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 9)), &[lo]);
        assert_eq!(info.prefixlen, 8);
    }

    #[test]
    fn one_socket_probes_both_families_each_with_its_own_source() {
        let v4: SocketAddr = (Ipv4Addr::new(127, 0, 0, 1), 80).into();
        let v6: SocketAddr = (Ipv6Addr::LOCALHOST, 80).into();
        if std::net::UdpSocket::bind((Ipv6Addr::LOCALHOST, 0)).is_err() {
            eprintln!("skipped: no IPv6 loopback here");
            return;
        }
        let mut prober = Prober::for_destinations(&[v4, v6]);
        // Connected to IPv4 loopback, then to IPv6 loopback: the second source is not the
        // first one's (the disconnect forgot it), and IPv4 comes back as IPv4.
        assert_eq!(prober.probe(v4), Some(IpAddr::V4(Ipv4Addr::LOCALHOST)));
        assert_eq!(prober.probe(v6), Some(IpAddr::V6(Ipv6Addr::LOCALHOST)));
        assert_eq!(prober.probe(v4), Some(IpAddr::V4(Ipv4Addr::LOCALHOST)));
    }

    #[test]
    fn a_loopback_destination_has_a_loopback_source() {
        let cache = SourceCache::default();
        let dest: SocketAddr = (Ipv4Addr::new(127, 0, 0, 1), 80).into();
        let mut sources = Vec::new();
        cache.sources_for(&[dest, dest], &mut sources);
        assert_eq!(sources.len(), 2);
        let first = sources[0].expect("loopback is always routable");
        assert_eq!(first.addr, IpAddr::V4(Ipv4Addr::LOCALHOST));
        assert_eq!(first.prefixlen, 8);
    }
}
