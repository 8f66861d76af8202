//! The host's addresses from one netlink `RTM_GETADDR` dump, as glibc's `__check_pf`
//! (`sysdeps/unix/sysv/linux/check_pf.c`) gets them: for `AI_ADDRCONFIG` (which families the
//! host has) and for the destination sort (prefix length and flags of a source address).
//!
//! Why not the `/proc` files resolver-core reads: `/proc/net/fib_trie` alone costs ~15 µs per
//! read on the benchmark VM (the kernel prints both routing tables), `/proc/net/if_inet6`
//! another open/read/close, and the sort used `getifaddrs` on top (glibc's dumps links and
//! addresses over netlink). One dump is five system calls and answers all three (issue 6: the
//! cold lookup). Any failure returns `None` and the callers fall back to the `/proc` files.
//!
//! Messages are read octet by octet from the receive buffer (`from_ne_bytes`), never through
//! casts of the buffer, so alignment and truncated messages cannot cause undefined behaviour.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::raw::c_void;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use resolver_core::addrconfig::FamiliesSeen;

/// `linux/rtnetlink.h` and `linux/netlink.h` values (kernel ABI, stable).
const RTM_NEWADDR: u16 = 20;
const RTM_GETADDR: u16 = 22;
const NLM_F_REQUEST: u16 = 0x1;
const NLM_F_DUMP: u16 = 0x300;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
/// `linux/if_addr.h` attribute types.
const IFA_ADDRESS: u16 = 1;
const IFA_LOCAL: u16 = 2;
const IFA_FLAGS: u16 = 8;
/// `sizeof(struct nlmsghdr)`, `sizeof(struct ifaddrmsg)`, `sizeof(struct rtattr)`.
const HEADER_LEN: usize = 16;
const IFADDRMSG_LEN: usize = 8;
const RTATTR_LEN: usize = 4;
/// Sequence number of our one request (the socket is ours alone, so any value works).
const SEQUENCE: u32 = 1;
/// Receive buffer: the kernel's dump datagrams are at most a page (NLMSG_GOODSIZE) unless a
/// larger receive buffer was seen (it sizes later ones by the largest receive, up to 32 KiB),
/// so one page always suffices; a longer datagram (MSG_TRUNC) makes the dump fail over to
/// `/proc` rather than be misread. glibc uses one page as well. One page, not two: the
/// zeroed buffer is on the stack of a process's first lookup, where every new page is a
/// page fault.
const RECEIVE_BUFFER: usize = 4096;

/// One configured address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct HostAddress {
    /// `IFA_LOCAL` when present (the local end of a point-to-point link), else `IFA_ADDRESS`,
    /// as glibc's `__check_pf` and `getifaddrs` choose.
    pub(crate) addr: IpAddr,
    /// `ifa_prefixlen`.
    pub(crate) prefixlen: u8,
    /// `IFA_FLAGS` when present (32 bits), else `ifa_flags`.
    pub(crate) flags: u32,
}

/// glibc's `AI_ADDRCONFIG` view of `addresses`: IPv4 unless only 127.0.0.1, IPv6 unless only
/// `::1` (check_pf.c compares with exactly those two addresses).
pub(crate) fn families(addresses: &[HostAddress]) -> FamiliesSeen {
    FamiliesSeen {
        ipv4: addresses
            .iter()
            .any(|a| matches!(a.addr, IpAddr::V4(v4) if v4 != Ipv4Addr::LOCALHOST)),
        ipv6: addresses
            .iter()
            .any(|a| matches!(a.addr, IpAddr::V6(v6) if v6 != Ipv6Addr::LOCALHOST)),
    }
}

/// [`families`] from a netlink dump, or from resolver-core's `/proc` reading when netlink
/// is unavailable (seccomp profiles sometimes forbid `AF_NETLINK`). The dump is kept for
/// the sort ([`recent_addresses`]).
pub(crate) fn detect_families() -> FamiliesSeen {
    match addresses() {
        Some(list) => {
            let seen = families(&list);
            remember(list.into());
            seen
        }
        None => resolver_core::addrconfig::detect(),
    }
}

/// How long a dump serves later callers: the shim's address-family and source caches are
/// renewed at most once a second too.
const DUMP_REUSED_FOR: Duration = Duration::from_secs(1);

/// The last successful dump and when it was taken, so that the first sort of a process uses
/// the dump `AI_ADDRCONFIG` took a moment before, as glibc's `__check_pf` serves both from
/// one dump (with a default route every destination has a source, and the sort wants the
/// interface list). Only ever `try_lock`ed: a fork while another thread holds it must not
/// leave the child waiting; a busy lock just means a fresh dump.
static LAST_DUMP: Mutex<Option<(Instant, Arc<[HostAddress]>)>> = Mutex::new(None);

fn remember(list: Arc<[HostAddress]>) {
    if let Some(mut last) = LAST_DUMP.try_lock() {
        *last = Some((Instant::now(), list));
    }
}

/// The addresses from a dump less than [`DUMP_REUSED_FOR`] old, else from a new one; `None`
/// when a new dump failed.
pub(crate) fn recent_addresses() -> Option<Arc<[HostAddress]>> {
    if let Some(last) = LAST_DUMP.try_lock()
        && let Some((taken, list)) = last.as_ref()
        && taken.elapsed() < DUMP_REUSED_FOR
    {
        return Some(Arc::clone(list));
    }
    let list: Arc<[HostAddress]> = addresses()?.into();
    remember(Arc::clone(&list));
    Some(list)
}

/// Every IPv4 and IPv6 address of the host's network namespace, or `None` when the dump
/// failed in any way.
pub(crate) fn addresses() -> Option<Vec<HostAddress>> {
    // SAFETY: plain socket(2); the result is checked before use.
    let fd = unsafe {
        libc::socket(
            libc::AF_NETLINK,
            libc::SOCK_RAW | libc::SOCK_CLOEXEC,
            libc::NETLINK_ROUTE,
        )
    };
    if fd < 0 {
        return None;
    }
    // SAFETY: `fd` is a socket we just opened and own; OwnedFd closes it once.
    let socket = unsafe { OwnedFd::from_raw_fd(fd) };
    send_request(&socket)?;
    let mut found = Vec::new();
    let mut buf = [0u8; RECEIVE_BUFFER];
    // Bounded, whatever the kernel sends: the shim must never hang its host process.
    for _ in 0..MAX_DATAGRAMS {
        let len = receive(&socket, &mut buf)?;
        match parse_datagram(buf.get(..len)?, &mut found)? {
            Progress::Done => return Some(found),
            Progress::More => {}
        }
    }
    None
}

/// Datagrams one dump may take (a page each: thousands of addresses) before it is given up
/// for the `/proc` files.
const MAX_DATAGRAMS: usize = 1024;

/// Longest wait for one datagram of the dump, in milliseconds. The kernel answers a dump at
/// once (the first datagram is queued by the request's `sendto`, the next ones by each
/// receive), so a receive finds its datagram waiting; the wait only bounds one that would
/// otherwise block forever (then the `/proc` files are read). Non-blocking receives with a
/// `poll` only when nothing is there, rather than a receive timeout on the socket: one
/// `setsockopt` less per dump.
const RECEIVE_TIMEOUT_MS: libc::c_int = 1000;

/// Waits until `socket` has a datagram; `None` after [`RECEIVE_TIMEOUT_MS`] or on errors.
fn wait_readable(socket: &OwnedFd) -> Option<()> {
    use std::os::fd::AsRawFd;
    let mut poll = libc::pollfd {
        fd: socket.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd for the whole call.
    let ready = unsafe { libc::poll(&raw mut poll, 1, RECEIVE_TIMEOUT_MS) };
    let interrupted =
        ready < 0 && std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted;
    (ready > 0 || interrupted).then_some(())
}

/// `RTM_GETADDR` with `NLM_F_DUMP` for every family, to the kernel (port 0).
fn send_request(socket: &OwnedFd) -> Option<()> {
    use std::os::fd::AsRawFd;
    let mut request = [0u8; HEADER_LEN + IFADDRMSG_LEN];
    let len = u32::try_from(request.len()).ok()?;
    request[0..4].copy_from_slice(&len.to_ne_bytes());
    request[4..6].copy_from_slice(&RTM_GETADDR.to_ne_bytes());
    request[6..8].copy_from_slice(&(NLM_F_REQUEST | NLM_F_DUMP).to_ne_bytes());
    request[8..12].copy_from_slice(&SEQUENCE.to_ne_bytes());
    // Port id 0 (filled in by the kernel), then an ifaddrmsg of zeros: AF_UNSPEC.
    // SAFETY: sockaddr_nl is plain old data; all zeros is a valid value.
    let mut kernel: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
    kernel.nl_family = libc::AF_NETLINK as libc::sa_family_t;
    loop {
        // SAFETY: `request` and `kernel` are valid for the lengths given for the whole call.
        let sent = unsafe {
            libc::sendto(
                socket.as_raw_fd(),
                request.as_ptr().cast::<c_void>(),
                request.len(),
                0,
                (&raw const kernel).cast::<libc::sockaddr>(),
                std::mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t,
            )
        };
        if usize::try_from(sent).ok() == Some(request.len()) {
            return Some(());
        }
        if sent >= 0 || std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted {
            return None;
        }
    }
}

/// One datagram from the kernel into `buf`; its length, `None` on errors and on a datagram
/// longer than `buf` (MSG_TRUNC makes recvfrom report the full length) and when none came
/// within [`RECEIVE_TIMEOUT_MS`].
fn receive(socket: &OwnedFd, buf: &mut [u8]) -> Option<usize> {
    use std::os::fd::AsRawFd;
    // Bounded: an interrupted or early receive, or a stray sender, is retried a few times only.
    for _ in 0..16 {
        // SAFETY: as for send_request.
        let mut from: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
        let mut from_len = std::mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t;
        // SAFETY: `buf`, `from` and `from_len` are valid for writes of the sizes given.
        let received = unsafe {
            libc::recvfrom(
                socket.as_raw_fd(),
                buf.as_mut_ptr().cast::<c_void>(),
                buf.len(),
                libc::MSG_TRUNC | libc::MSG_DONTWAIT,
                (&raw mut from).cast::<libc::sockaddr>(),
                &mut from_len,
            )
        };
        let Ok(len) = usize::try_from(received) else {
            match std::io::Error::last_os_error().kind() {
                std::io::ErrorKind::Interrupted => {}
                std::io::ErrorKind::WouldBlock => wait_readable(socket)?,
                _ => return None,
            }
            continue;
        };
        if from.nl_pid != 0 {
            // Not from the kernel: ignore it (nobody else knows our port, but be strict).
            continue;
        }
        return (len <= buf.len()).then_some(len);
    }
    None
}

/// Whether the dump goes on after a datagram.
#[derive(Debug, PartialEq, Eq)]
enum Progress {
    More,
    Done,
}

/// Reads the messages of one datagram, adding addresses to `found`. `None`: an error message
/// from the kernel, or a malformed one.
fn parse_datagram(datagram: &[u8], found: &mut Vec<HostAddress>) -> Option<Progress> {
    let mut rest = datagram;
    while rest.len() >= HEADER_LEN {
        let len = usize::try_from(read_u32(rest, 0)?).ok()?;
        if len < HEADER_LEN || len > rest.len() {
            return None;
        }
        let kind = read_u16(rest, 4)?;
        let sequence = read_u32(rest, 8)?;
        if sequence == SEQUENCE {
            match kind {
                NLMSG_DONE => return Some(Progress::Done),
                NLMSG_ERROR => return None,
                RTM_NEWADDR => found.extend(parse_address(rest.get(HEADER_LEN..len)?)),
                _ => {}
            }
        }
        // NLMSG_ALIGN: messages start at multiples of four.
        rest = rest.get(align4(len).min(rest.len())..)?;
    }
    Some(Progress::More)
}

/// One `ifaddrmsg` and its attributes; `None` for families other than IPv4/IPv6 or no address.
fn parse_address(body: &[u8]) -> Option<HostAddress> {
    let family = i32::from(*body.first()?);
    let prefixlen = *body.get(1)?;
    let mut flags = u32::from(*body.get(2)?);
    let (mut local, mut address) = (None, None);
    let mut attributes = body.get(IFADDRMSG_LEN..)?;
    while attributes.len() >= RTATTR_LEN {
        let len = usize::from(read_u16(attributes, 0)?);
        if len < RTATTR_LEN || len > attributes.len() {
            break;
        }
        let data = attributes.get(RTATTR_LEN..len)?;
        match read_u16(attributes, 2)? {
            IFA_LOCAL => local = ip_of(family, data),
            IFA_ADDRESS => address = ip_of(family, data),
            IFA_FLAGS => flags = read_u32(data, 0).unwrap_or(flags),
            _ => {}
        }
        attributes = attributes.get(align4(len).min(attributes.len())..)?;
    }
    Some(HostAddress {
        addr: local.or(address)?,
        prefixlen,
        flags,
    })
}

fn ip_of(family: i32, data: &[u8]) -> Option<IpAddr> {
    match family {
        libc::AF_INET => <[u8; 4]>::try_from(data).ok().map(IpAddr::from),
        libc::AF_INET6 => <[u8; 16]>::try_from(data).ok().map(IpAddr::from),
        _ => None,
    }
}

fn align4(len: usize) -> usize {
    len.saturating_add(3) & !3
}

fn read_u16(bytes: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_ne_bytes(bytes.get(at..at + 2)?.try_into().ok()?))
}

fn read_u32(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_ne_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A netlink message: header (type, our sequence) and body, padded to four octets.
    fn message(kind: u16, body: &[u8]) -> Vec<u8> {
        let len = (HEADER_LEN + body.len()) as u32;
        let mut out = Vec::new();
        out.extend_from_slice(&len.to_ne_bytes());
        out.extend_from_slice(&kind.to_ne_bytes());
        out.extend_from_slice(&NLM_F_DUMP.to_ne_bytes());
        out.extend_from_slice(&SEQUENCE.to_ne_bytes());
        out.extend_from_slice(&0u32.to_ne_bytes());
        out.extend_from_slice(body);
        out.resize(align4(out.len()), 0);
        out
    }

    fn attribute(kind: u16, data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&((RTATTR_LEN + data.len()) as u16).to_ne_bytes());
        out.extend_from_slice(&kind.to_ne_bytes());
        out.extend_from_slice(data);
        out.resize(align4(out.len()), 0);
        out
    }

    fn ifaddrmsg(family: i32, prefixlen: u8, flags: u8, attributes: &[Vec<u8>]) -> Vec<u8> {
        let mut out = vec![family as u8, prefixlen, flags, 0, 1, 0, 0, 0];
        attributes.iter().for_each(|a| out.extend_from_slice(a));
        out
    }

    #[test]
    fn addresses_local_first_and_flags() {
        let mut datagram = message(
            RTM_NEWADDR,
            &ifaddrmsg(
                libc::AF_INET,
                24,
                0,
                &[
                    attribute(IFA_ADDRESS, &[198, 18, 0, 1]),
                    attribute(IFA_LOCAL, &[198, 18, 0, 2]),
                ],
            ),
        );
        let v6: Ipv6Addr = "fd00::2".parse().unwrap();
        datagram.extend(message(
            RTM_NEWADDR,
            &ifaddrmsg(
                libc::AF_INET6,
                64,
                0x20,
                &[
                    attribute(IFA_ADDRESS, &v6.octets()),
                    attribute(IFA_FLAGS, &0x220u32.to_ne_bytes()),
                ],
            ),
        ));
        let mut found = Vec::new();
        assert_eq!(parse_datagram(&datagram, &mut found), Some(Progress::More));
        assert_eq!(
            found,
            vec![
                HostAddress {
                    addr: IpAddr::V4(Ipv4Addr::new(198, 18, 0, 2)),
                    prefixlen: 24,
                    flags: 0
                },
                HostAddress {
                    addr: IpAddr::V6(v6),
                    prefixlen: 64,
                    flags: 0x220
                },
            ]
        );
        assert_eq!(
            families(&found),
            FamiliesSeen {
                ipv4: true,
                ipv6: true
            }
        );
        assert_eq!(
            parse_datagram(&message(NLMSG_DONE, &[0; 4]), &mut found),
            Some(Progress::Done)
        );
        assert_eq!(
            parse_datagram(&message(NLMSG_ERROR, &[0; 20]), &mut found),
            None
        );
    }

    #[test]
    fn malformed_messages_are_rejected_not_misread() {
        let good = message(
            RTM_NEWADDR,
            &ifaddrmsg(
                libc::AF_INET,
                8,
                0,
                &[attribute(IFA_LOCAL, &[127, 0, 0, 1])],
            ),
        );
        for cut in 1..good.len() {
            let mut found = Vec::new();
            // A cut message is either refused or yields nothing wrong.
            if parse_datagram(&good[..cut], &mut found).is_some() {
                assert!(found.is_empty(), "cut at {cut}: {found:?}");
            }
        }
        let mut long = good.clone();
        long[0..4].copy_from_slice(&1000u32.to_ne_bytes());
        assert_eq!(parse_datagram(&long, &mut Vec::new()), None);
    }

    #[test]
    fn loopback_only_is_neither_family() {
        let lo = [
            HostAddress {
                addr: IpAddr::V4(Ipv4Addr::LOCALHOST),
                prefixlen: 8,
                flags: 0,
            },
            HostAddress {
                addr: IpAddr::V6(Ipv6Addr::LOCALHOST),
                prefixlen: 128,
                flags: 0,
            },
        ];
        let none = FamiliesSeen {
            ipv4: false,
            ipv6: false,
        };
        assert_eq!(families(&lo), none);
    }

    #[test]
    fn the_sort_reuses_the_dump_addrconfig_took() {
        // One process per test (nextest): nothing else touches LAST_DUMP meanwhile.
        let seen = detect_families();
        let stored = LAST_DUMP
            .try_lock()
            .and_then(|last| last.as_ref().map(|(_, list)| Arc::clone(list)))
            .expect("detect_families keeps its dump");
        assert_eq!(families(&stored), seen);
        let for_sort = recent_addresses().expect("a dump");
        assert!(Arc::ptr_eq(&stored, &for_sort), "a second dump was taken");
    }

    #[test]
    fn the_dump_agrees_with_proc() {
        // The test process's own namespace: both sources describe the same addresses.
        let list = addresses().expect("netlink RTM_GETADDR dump");
        assert!(
            list.iter()
                .any(|a| a.addr == IpAddr::V4(Ipv4Addr::LOCALHOST))
        );
        assert_eq!(families(&list), resolver_core::addrconfig::detect());
    }
}
